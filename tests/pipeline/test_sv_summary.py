"""S beats in the Holter summary and the tables: counts, couplets, runs, sv_run events."""

from __future__ import annotations

import numpy as np
import pytest

from ecgtk.summary.rhythm import EVENT_KINDS, events_table, summarise_rhythm
from ecgtk.tables import BEAT_LABELS, BEATS_SCHEMA, RECORDS_SCHEMA, beats_table

FS = 360.0
SV_COLUMNS = ("n_supraventricular", "n_sv_couplets", "n_sv_runs", "longest_sv_run_beats")


def _summary(labels: list[str]):
    samples = np.arange(1, len(labels) + 1, dtype=np.int64) * 360
    return summarise_rhythm(samples, np.array(labels, dtype=object), FS, len(labels) + 1.0)


def test_isolated_couplets_and_runs_are_counted():
    #        isolated    couplet        run of 3            run of 4 (fast? no: 60 bpm)
    labels = ["N", "S", "N", "S", "S", "N", "S", "S", "S", "N", "S", "S", "S", "S", "N"]
    summary = _summary(labels)
    c = summary.columns
    assert [c[k] for k in SV_COLUMNS] == [10, 1, 2, 4]
    runs = [ev for ev in summary.events if ev.kind == "sv_run"]
    assert [(ev.start_sample, ev.end_sample, ev.n_beats) for ev in runs] == [
        (7 * 360, 9 * 360, 3), (11 * 360, 14 * 360, 4)]
    assert runs[0].rate_bpm == pytest.approx(60.0)
    assert "sv_run" in EVENT_KINDS
    assert set(events_table("r", summary.events).column("kind").to_pylist()) == {"sv_run"}


def test_an_artefact_breaks_a_run():
    labels = ["N", "S", "S", "artefact", "S", "S", "N"]
    c = _summary(labels).columns
    assert [c[k] for k in SV_COLUMNS] == [4, 2, 0, 2]


def test_no_s_beats_gives_zeros_and_v_columns_ignore_s():
    c = _summary(["N"] * 10).columns
    assert [c[k] for k in SV_COLUMNS] == [0, 0, 0, 0]
    c = _summary(["N", "S", "V", "V", "S", "N"]).columns
    assert c["n_v_couplets"] == 1 and c["n_supraventricular"] == 2


def test_s_beats_leave_nn_intervals_out_of_the_hrv():
    samples = np.arange(1, 21, dtype=np.int64) * 360
    samples[10] -= 144  # premature: 0.6 s after the previous beat, 1.4 s before the next
    labels = np.array(["N"] * 20, dtype=object)
    as_n = summarise_rhythm(samples, labels, FS, 21.0).columns
    labels[10] = "S"
    as_s = summarise_rhythm(samples, labels, FS, 21.0).columns
    assert as_n["sdnn_ms"] > 50
    assert as_s["sdnn_ms"] == pytest.approx(0.0)


def test_tables_carry_the_s_label_and_columns():
    assert "S" in BEAT_LABELS
    names = BEATS_SCHEMA.names
    # added at the end (docs/design.md)
    assert names[-2:] == ["p_supraventricular", "uncertainty_supraventricular"]
    assert str(BEATS_SCHEMA.field("p_supraventricular").type) == "float"
    assert str(BEATS_SCHEMA.field("uncertainty_supraventricular").type) == "float"
    for name in SV_COLUMNS:
        assert str(RECORDS_SCHEMA.field(name).type) == "int64"
    table = beats_table("r", np.array([1, 2, 3]), FS, labels=np.array(["N", "S", "V"]),
                        p_supraventricular=np.array([0.1, 0.9, np.nan]),
                        uncertainty_supraventricular=np.array([0.01, 0.2, np.nan]))
    assert table.column("p_supraventricular").to_pylist()[2] is None
    assert table.column("uncertainty_supraventricular").to_pylist()[2] is None
    assert beats_table("r", np.array([1]), FS).column("uncertainty_supraventricular").null_count
    assert table.column("label").to_pylist() == ["N", "S", "V"]
