"""ecgtk.scoring.af and ecgtk eval's AF duration scores, on a tiny fake run output."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ecgtk.scoring import Reference, evaluate
from ecgtk.scoring.af import af_scores, sum_af_scores
from ecgtk.scoring.reference import load_reference, rhythm_intervals
from ecgtk.scoring.report import render_af_table
from ecgtk.tables import EVENTS_SCHEMA, beats_table

FS = 360


def test_rhythm_intervals():
    samples = np.array([0, 100, 200, 300, 400, 500])
    symbols = np.array(["+", "N", "+", "+", "N", "+"], dtype=object)
    aux = np.array(["(AFIB", "", "(AFL", "(AFIB", "", "(AFIB"], dtype=object)
    assert rhythm_intervals(samples, symbols, aux, 900, "(AFIB").tolist() == [[0, 200],
                                                                            [300, 900]]
    assert rhythm_intervals(samples, symbols, aux, 900, "(AFL").tolist() == [[200, 300]]


def test_af_scores_leave_flutter_out():
    ref = Reference("r", FS, np.zeros(0, np.int64), np.zeros(0, str),
                    af=np.array([[0, 10 * FS]]), flutter=np.array([[10 * FS, 15 * FS]]))
    got = af_scores(ref, np.array([[5 * FS, 20 * FS]]))
    # annotated 10 s, found 5 s; detected 15 s less 5 s of flutter = 10 s, 5 s of them false
    assert (got["annotated_s"], got["found_s"], got["detected_s"], got["false_s"]) == (
        10, 5, 10, 5)
    assert got["Se"] == pytest.approx(50) and got["+P"] == pytest.approx(50)
    none = af_scores(ref, np.zeros((0, 2)))
    assert none["Se"] == 0 and none["+P"] is None and none["n_episodes"] == 0
    clean = Reference("c", FS, np.zeros(0, np.int64), np.zeros(0, str))
    gross = sum_af_scores([got, af_scores(clean, np.array([[0, 2 * FS]]))])
    assert gross["false_s"] == 7 and gross["+P"] == pytest.approx(100 * 5 / 12)


def _fake_run(root, data_dir, af_events):
    """An 'ecgtk run' folder for the excerpt af/201: its reference beats as the beats table
    (V for V, N for the rest) and ``af_events`` as its events."""
    ref = load_reference(data_dir / "af" / "201")
    labels = np.where(np.isin(ref.symbols, ["V", "E"]), "V", "N")
    beats = beats_table("201", ref.samples, FS, labels=labels,
                        p_ventricular=(labels == "V").astype(np.float32))
    (root / "beats").mkdir(parents=True)
    (root / "events").mkdir()
    pq.write_table(beats, root / "beats" / "201.parquet")
    n = len(af_events)
    events = pa.Table.from_pylist([
        {"record_id": "201", "kind": "af", "start_sample": a, "end_sample": b,
         "start_s": a / FS, "end_s": b / FS, "n_beats": 10, "rate_bpm": 80.0}
        for a, b in af_events], schema=EVENTS_SCHEMA) if n else EVENTS_SCHEMA.empty_table()
    pq.write_table(events, root / "events" / "201.parquet")
    return root


def test_eval_scores_af_of_a_run(tmp_path, data_dir):
    run = _fake_run(tmp_path / "run", data_dir, [(0, int(100 * FS)), (int(140 * FS),
                                                                      int(150 * FS))])
    result = evaluate(run, data_dir / "af")
    af = result["records"][0]["af"]
    assert af["annotated_s"] == pytest.approx(128.4, abs=0.1)
    assert af["found_s"] == pytest.approx(100) and af["false_s"] == pytest.approx(10)
    assert result["gross"]["af"]["Se"] == pytest.approx(100 * 100 / af["annotated_s"])
    assert result["gross"]["af"]["+P"] == pytest.approx(100 * 100 / 110)
    assert render_af_table(result) is not None


def test_eval_skips_af_without_events(tmp_path, data_dir):
    run = _fake_run(tmp_path / "run", data_dir, [])
    beats_file = run / "beats" / "201.parquet"
    result = evaluate(beats_file, data_dir / "af")  # a beats file: no events folder
    assert result["records"][0]["af"] is None and result["gross"]["af"] is None
    assert render_af_table(result) is None
    empty = evaluate(run, data_dir / "af")  # a run without AF events: all missed
    assert empty["gross"]["af"]["Se"] == 0 and empty["gross"]["af"]["+P"] is None
