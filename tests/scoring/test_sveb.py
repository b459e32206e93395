"""SVEB (EC57) scores of ecgtk.scoring on a tiny hand-made reference."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ecgtk.scoring import evaluate, score_many, score_record
from ecgtk.scoring.reference import Reference
from ecgtk.scoring.report import render_sveb_table

FS = 360.0
# reference symbols at 1-s steps: N A N a J S V N N A
REF_SYMBOLS = ["N", "A", "N", "a", "J", "S", "V", "N", "N", "A"]
REF = Reference("rec", FS, np.arange(1, 11, dtype=np.int64) * 360,
                np.array(REF_SYMBOLS, dtype=object))
# test labels per reference beat: A->S (TP), N->S (Ns), a->S (TP), J->N (FN), S->V (FN),
# V->S (Vs), last A missed (FN); one extra S between beats (Os)
TEST = [(360, "N"), (720, "S"), (1080, "S"), (1440, "S"), (1800, "N"), (2160, "V"),
        (2520, "S"), (2880, "N"), (3060, "S"), (3240, "N")]


def test_sveb_counts_follow_ec57():
    samples = np.array([t[0] for t in TEST])
    labels = [t[1] for t in TEST]
    res = score_record(REF, samples, labels)
    s = res["sveb"]
    assert (s["Ss"], s["SFN"], s["Ns"], s["Vs"], s["Os"]) == (2, 3, 1, 1, 1)
    assert (s["TP"], s["FN"], s["FP"]) == (2, 3, 3)
    assert s["Se"] == pytest.approx(40.0)
    assert s["+P"] == pytest.approx(40.0)
    assert s["F1"] == pytest.approx(40.0)
    # VEB is unchanged by S labels: the V reference beat was called S
    assert res["veb"]["TP"] == 0 and res["veb"]["Sv"] == 1


def test_gross_sveb_sums_counts_over_records():
    samples = np.array([t[0] for t in TEST])
    labels = [t[1] for t in TEST]
    one = score_record(REF, samples, labels)
    gross = score_many({"a": one, "b": one})["gross"]["sveb"]
    assert (gross["TP"], gross["FN"], gross["FP"]) == (4, 6, 6)
    assert gross["F1"] == pytest.approx(40.0)


def test_unlabelled_output_has_no_sveb():
    res = score_record(REF, np.array([t[0] for t in TEST]))
    assert res["sveb"] is None
    assert score_many({"a": res})["gross"]["sveb"] is None


def test_eval_reports_sveb_from_a_beats_file(tmp_path):
    import wfdb

    wfdb.wrann("rec", "atr", REF.samples, symbol=REF_SYMBOLS, fs=FS, write_dir=str(tmp_path))
    (tmp_path / "rec.hea").write_text("rec 1 360 4000\nrec.dat 16 200/mV 16 0 0 0 0 MLII\n")
    n = len(TEST)
    table = pa.table({"record_id": ["rec"] * n, "sample": [t[0] for t in TEST],
                      "label": [t[1] for t in TEST],
                      "p_ventricular": pa.array(np.zeros(n, np.float32))})
    pq.write_table(table, tmp_path / "beats.parquet")
    result = evaluate(tmp_path / "beats.parquet", tmp_path)
    assert result["gross"]["sveb"]["TP"] == 2
    assert render_sveb_table(result) is not None
