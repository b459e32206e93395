"""The beats table follows ../shared/DESIGN.md, and files are written atomically."""

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ecgtk import tables
from ecgtk.tables import BEATS_SCHEMA, beats_table, write_parquet_atomic

# The contract, spelled out independently of the code under test.
DESIGN_BEATS = {
    "record_id": pa.string(), "sample": pa.int64(), "time_s": pa.float64(),
    "label": pa.string(), "p_beat": pa.float32(), "p_ventricular": pa.float32(),
    "uncertainty": pa.float32(), "cluster": pa.int32(), "rr_prev_s": pa.float32(),
    "rr_next_s": pa.float32(),
}
#: Added by the uncertainty issue (documented in the README's table section).
ADDED_BEATS = {"review": pa.bool_()}
#: Added by issue 36 (supraventricular beats), at the end (docs/design.md, "Parquet contract"):
#: the probability, then its uncertainty.
SUPRAVENTRICULAR_BEATS = {"p_supraventricular": pa.float32(),
                          "uncertainty_supraventricular": pa.float32()}


def test_beats_schema_is_the_design_contract():
    assert {f.name: f.type for f in BEATS_SCHEMA} == {**DESIGN_BEATS, **ADDED_BEATS,
                                                      **SUPRAVENTRICULAR_BEATS}
    assert BEATS_SCHEMA.names == (list(DESIGN_BEATS) + list(ADDED_BEATS)
                                  + list(SUPRAVENTRICULAR_BEATS))  # contract first


def test_beats_table_values():
    table = beats_table("2026/11/p1", np.array([100, 460, 800]), 360.0)
    assert table.schema == BEATS_SCHEMA
    rows = table.to_pylist()
    assert [r["label"] for r in rows] == ["N", "N", "N"]
    assert rows[1]["time_s"] == pytest.approx(460 / 360)
    assert rows[0]["rr_prev_s"] is None or np.isnan(rows[0]["rr_prev_s"])
    assert rows[0]["rr_next_s"] == pytest.approx(1.0)
    assert rows[2]["rr_prev_s"] == pytest.approx(340 / 360)
    assert all(r["p_beat"] is None and r["cluster"] is None for r in rows)


def test_rr_intervals_skip_artefacts():
    table = beats_table("r", np.array([0, 100, 360]), 360.0,
                        labels=np.array(["N", "artefact", "V"]))
    rows = table.to_pylist()
    assert rows[2]["rr_prev_s"] == pytest.approx(1.0)
    assert rows[1]["rr_prev_s"] is None or np.isnan(rows[1]["rr_prev_s"])


def test_beats_table_rejects_bad_input():
    with pytest.raises(ValueError, match="increasing"):
        beats_table("r", np.array([5, 3]), 360.0)
    with pytest.raises(ValueError, match="unknown beat labels"):
        beats_table("r", np.array([1]), 360.0, labels=np.array(["X"]))
    with pytest.raises(ValueError, match="expected 2"):
        beats_table("r", np.array([1, 2]), 360.0, p_beat=np.ones(3))


def test_atomic_write_with_metadata(tmp_path):
    path = write_parquet_atomic(beats_table("r", np.array([1, 2]), 360.0),
                                tmp_path / "beats" / "r.parquet", {"ecgtk_version": "9"})
    assert pq.read_table(path).num_rows == 2
    assert pq.read_metadata(path).metadata[b"ecgtk_version"] == b"9"
    assert [p.name for p in path.parent.iterdir()] == ["r.parquet"]


def test_failed_write_leaves_nothing(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(tables.pq, "write_table", broken)
    with pytest.raises(OSError, match="disk full"):
        write_parquet_atomic(beats_table("r", np.array([1]), 360.0), tmp_path / "r.parquet")
    assert list(tmp_path.iterdir()) == []
