"""ecgtk.summary.rhythm: the rhythm summary on synthetic beat sequences with known events."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pytest

from ecgtk.kernels.heart_rate import minute_coverage
from ecgtk.summary import rhythm
from ecgtk.summary.rhythm import (
    EVENTS_SCHEMA,
    RHYTHM_COLUMNS,
    events_table,
    summarise_rhythm,
)

FS = 300.0  # every RR below is a whole number of samples at this rate

LABEL = {"N": "N", "V": "V", "A": "artefact"}


def build(spec: str, rr, t0: float = 2.0):
    """``spec``: one letter per candidate (N, V, A = artefact); ``rr``: seconds between
    successive candidates (a number, or one per gap). Returns (samples, labels)."""
    n = len(spec)
    rr = np.broadcast_to(np.asarray(rr, dtype=np.float64), (max(n - 1, 0),))
    times = t0 + np.concatenate([[0.0], np.cumsum(rr)])[:n]
    samples = np.round(times * FS).astype(np.int64)
    return samples, np.array([LABEL[c] for c in spec], dtype=object)


def summarise(spec: str, rr=1.0, duration_s: float | None = None, t0: float = 2.0):
    samples, labels = build(spec, rr, t0)
    if duration_s is None:
        duration_s = (samples[-1] / FS if len(samples) else 0.0) + 2.0
    return summarise_rhythm(samples, labels, FS, duration_s), samples


def kinds(summary):
    return [ev.kind for ev in summary.events]


# ----------------------------------------------------------------------------- ectopy


def test_isolated_v():
    s, _ = summarise("NNNNVNNNN")
    c = s.columns
    assert (c["n_v_isolated"], c["n_v_couplets"], c["n_v_triplets"], c["n_v_runs"]) == (1, 0, 0, 0)
    assert c["longest_v_run_beats"] == 1
    assert s.events == []


def test_couplet_and_triplet():
    s, _ = summarise("NNNVVNNNNNVVVNNN")
    c = s.columns
    assert (c["n_v_isolated"], c["n_v_couplets"], c["n_v_triplets"]) == (0, 1, 1)
    assert c["n_v_runs"] == 1 and c["n_vt_runs"] == 0 and c["longest_v_run_beats"] == 3
    # the triplet (at 60 bpm) is a v_run event; the couplet is counted only
    assert kinds(s) == ["v_run"] and s.events[0].n_beats == 3


def test_vt_and_slow_v_run():
    spec = "N" * 10 + "V" * 5 + "N" * 10 + "V" * 4 + "N" * 10
    rr = np.ones(len(spec) - 1)
    rr[10:14] = 0.4  # between the 5 V beats: 150 bpm
    rr[25:28] = 60 / 90  # between the 4 V beats: 90 bpm
    s, samples = summarise(spec, rr)
    c = s.columns
    assert c["n_v_runs"] == 2 and c["n_vt_runs"] == 1 and c["n_v_triplets"] == 0
    assert c["longest_v_run_beats"] == 5 and c["n_v_isolated"] == 0
    vt, slow = s.events
    assert (vt.kind, vt.n_beats, vt.start_sample, vt.end_sample) == (
        "vt", 5, samples[10], samples[14])
    assert vt.rate_bpm == pytest.approx(150.0)
    assert vt.start_s == pytest.approx(samples[10] / FS) and vt.end_s == pytest.approx(
        samples[14] / FS)
    assert (slow.kind, slow.n_beats, slow.start_sample, slow.end_sample) == (
        "v_run", 4, samples[25], samples[28])
    assert slow.rate_bpm == pytest.approx(90.0)


def test_runs_at_start_and_end_of_recording():
    s, samples = summarise("VVVNNNNNVVVV", rr=0.5)
    assert s.columns["n_v_runs"] == 2 and s.columns["n_vt_runs"] == 2
    assert [(ev.start_sample, ev.n_beats) for ev in s.events] == [(samples[0], 3),
                                                                  (samples[8], 4)]
    assert s.events[-1].end_sample == samples[-1]


def test_artefact_breaks_a_run():
    s, _ = summarise("NNNVVAVVNNN", rr=0.5)
    assert s.columns["n_v_couplets"] == 2 and s.columns["n_v_runs"] == 0


def test_bigeminy_four_cycles():
    s, samples = summarise("NNNN" + "NV" * 4 + "NNNN")
    c = s.columns
    assert c["n_bigeminy_episodes"] == 1 and c["n_trigeminy_episodes"] == 0
    assert c["n_v_isolated"] == 4
    (ev,) = s.events
    assert (ev.kind, ev.n_beats, ev.start_sample, ev.end_sample) == (
        "bigeminy", 8, samples[4], samples[11])
    assert ev.rate_bpm == pytest.approx(60.0)


def test_trigeminy_three_cycles():
    s, samples = summarise("NNN" + "NNV" * 3 + "NNN")
    c = s.columns
    assert c["n_trigeminy_episodes"] == 1 and c["n_bigeminy_episodes"] == 0
    (ev,) = s.events
    assert (ev.kind, ev.n_beats, ev.start_sample, ev.end_sample) == (
        "trigeminy", 9, samples[3], samples[11])


def test_too_few_cycles_and_patterns_at_the_edges():
    s, _ = summarise("NNNNVNVNNNNNVNNVNNN")  # 2 cycles each: neither
    assert s.columns["n_bigeminy_episodes"] == s.columns["n_trigeminy_episodes"] == 0
    s, _ = summarise("NVNVNV" + "NNNN" + "NNVNNVNNV")  # at the very start and end
    assert kinds(s) == ["bigeminy", "trigeminy"]
    s, _ = summarise("NVNVANVNV")  # an artefact splits 4 cycles into 2 + 2
    assert s.columns["n_bigeminy_episodes"] == 0


# ----------------------------------------------------------------------------- pauses, noise


def test_pause_of_2_5_s():
    rr = np.ones(9)
    rr[4] = 2.5
    rr[6] = 2.0  # exactly 2 s: not a pause
    s, samples = summarise("N" * 10, rr)
    assert s.columns["n_pauses"] == 1
    assert s.columns["longest_rr_s"] == pytest.approx(2.5)
    (ev,) = s.events
    assert (ev.kind, ev.start_sample, ev.end_sample, ev.n_beats) == (
        "pause", samples[4], samples[5], 2)
    assert ev.end_s - ev.start_s == pytest.approx(2.5) and math.isnan(ev.rate_bpm)
    assert s.columns["artefact_share"] == 0.0


def test_gap_with_an_artefact_is_not_a_pause():
    rr = np.ones(9)
    rr[4], rr[5] = 1.2, 1.3  # N ... N [1.2 s] A [1.3 s] N: a 2.5 s gap holding an artefact
    s, samples = summarise("NNNNNANNNN", rr, duration_s=20.0)
    assert s.columns["n_pauses"] == 0 and s.events == []
    assert s.columns["longest_rr_s"] == pytest.approx(1.0)
    assert s.columns["artefact_share"] == pytest.approx(2.5 / 20.0)


def test_artefact_share_at_the_ends_and_all_artefact():
    # artefacts before the first beat: noise from 0 s; after the last beat: noise to the end
    s, samples = summarise("ANNNA", rr=1.0, t0=2.0, duration_s=10.0)
    assert s.columns["artefact_share"] == pytest.approx((3.0 + (10.0 - 5.0)) / 10.0)
    s, _ = summarise("AAAA", duration_s=10.0)
    c = s.columns
    assert c["artefact_share"] == 1.0
    assert c["n_pauses"] == 0 and math.isnan(c["hr_mean_bpm"]) and math.isnan(c["longest_rr_s"])


# ----------------------------------------------------------------------------- HRV


def test_sdnn_rmssd_known_series():
    s, _ = summarise("NNNNNN", [0.8, 0.9, 0.85, 1.0, 0.95])
    # mean 0.9; squared deviations sum 0.025 -> SDNN sqrt(0.025 / 4) s
    assert s.columns["sdnn_ms"] == pytest.approx(1e3 * math.sqrt(0.025 / 4))  # 79.06 ms
    # successive differences 0.1, -0.05, 0.15, -0.05 -> RMSSD sqrt(0.0375 / 4) s
    assert s.columns["rmssd_ms"] == pytest.approx(1e3 * math.sqrt(0.0375 / 4))  # 96.82 ms


def test_hrv_leaves_out_v_artefact_and_out_of_range_intervals():
    # NN intervals: 0.8, 0.9 | N-V, V-N out | 1.0 | artefact gap out | 2.5 s out | 1.1
    spec = "NNNVNNANNN"
    rr = [0.8, 0.9, 0.5, 1.3, 1.0, 0.4, 0.4, 2.5, 1.1]
    s, _ = summarise(spec, rr)
    nn = np.array([0.8, 0.9, 1.0, 1.1])
    assert s.columns["sdnn_ms"] == pytest.approx(1e3 * np.std(nn, ddof=1))
    # only 0.8 -> 0.9 are successive NN intervals (share a beat)
    assert s.columns["rmssd_ms"] == pytest.approx(100.0)
    assert s.columns["n_pauses"] == 1


# ----------------------------------------------------------------------------- heart rate


def test_hourly_trend_over_three_hours():
    # 60 bpm for 1.5 h, then 75 bpm (0.8 s) to the end of 3 h
    n_slow = 5400
    n_fast = int((10800 - 5400) / 0.8)  # up to 10799.2 s
    rr = np.concatenate([np.ones(n_slow), np.full(n_fast - 1, 0.8)])
    s, samples = summarise("N" * (n_slow + n_fast), rr, t0=0.0, duration_s=10800.0)
    c = s.columns
    hourly = c["hr_hourly_bpm"]
    assert len(hourly) == 3
    assert hourly[0] == pytest.approx(60.0)
    assert 60.0 < hourly[1] < 75.0 and hourly[1] == pytest.approx(67.5, abs=0.05)
    assert hourly[2] == pytest.approx(75.0)
    assert c["hr_min_bpm"] == pytest.approx(60.0) and c["hr_max_bpm"] == pytest.approx(75.0)
    assert c["hr_mean_bpm"] == pytest.approx(67.5, abs=0.05)
    assert c["sdnn_ms"] == pytest.approx(1e3 * np.std(rr, ddof=1))


def test_hour_without_beats_is_nan_and_sparse_minutes_are_left_out():
    # 60 bpm for the first 20 minutes of a 2-hour recording, then 3 lone beats 10 s apart
    samples, labels = build("N" * 1201, 1.0, t0=0.0)
    samples = np.concatenate([samples, np.array([4000, 4010, 4020]) * int(FS)])
    labels = np.concatenate([labels, ["N", "N", "N"]])
    s = summarise_rhythm(samples, labels, FS, 7200.0)
    hourly = s.columns["hr_hourly_bpm"]
    assert len(hourly) == 2 and math.isnan(hourly[1])
    # minutes in the 2800-s gap, or with 2 beats, are not analysable and drop out
    assert hourly[0] == pytest.approx(60.0)
    assert s.columns["hr_min_bpm"] == pytest.approx(60.0)
    assert s.columns["hr_mean_bpm"] == pytest.approx(60.0)
    assert s.columns["n_pauses"] == 3 and s.columns["longest_rr_s"] == pytest.approx(2800.0)


def test_noisy_minute_is_left_out():
    # minutes 0 and 2 at 60 bpm; minute 1: 45 s of noise (artefacts), then 15 s at 120 bpm
    spec = "N" * 61 + "A" * 44 + "N" * 30 + "N" * 60
    rr = np.concatenate([np.ones(60), np.ones(45), np.full(29, 0.5), np.ones(60)])
    s, samples = summarise(spec, rr, t0=0.0, duration_s=180.0)
    assert samples[61 + 44] == 105 * FS
    c = s.columns
    assert c["hr_max_bpm"] == pytest.approx(60.0) and c["hr_min_bpm"] == pytest.approx(60.0)
    assert c["artefact_share"] == pytest.approx(45 / 180)


def _coverage_reference(t, clean, n_min):
    covered, count = np.zeros(n_min), np.zeros(n_min)
    for k in range(n_min):
        for j in range(len(t) - 1):
            if clean[j]:
                overlap = min(t[j + 1], 60.0 * (k + 1)) - max(t[j], 60.0 * k)
                if overlap > 0:
                    covered[k] += overlap
                    count[k] += overlap / (t[j + 1] - t[j])
    return covered, count


@pytest.mark.parametrize("seed", range(5))
def test_minute_coverage_matches_plain_python(seed):
    rng = np.random.default_rng(seed)
    t = np.cumsum(rng.uniform(0.2, 40.0 if seed % 2 else 3.0, size=60))
    clean = rng.random(59) > 0.2
    n_min = int(t[-1] // 60) + 2
    got = minute_coverage(t, clean, n_min)
    ref = _coverage_reference(t, clean, n_min)
    np.testing.assert_allclose(got[0], ref[0], atol=1e-9)
    np.testing.assert_allclose(got[1], ref[1], atol=1e-9)


# ----------------------------------------------------------------------------- edge cases


def _assert_empty(c, n_hours):
    for name, _ in RHYTHM_COLUMNS:
        if name.startswith(("n_", "longest_v")):
            assert c[name] == 0 and isinstance(c[name], int), name
    for name in ("hr_mean_bpm", "hr_min_bpm", "hr_max_bpm", "longest_rr_s", "sdnn_ms",
                 "rmssd_ms"):
        assert math.isnan(c[name]), name
    assert len(c["hr_hourly_bpm"]) == n_hours and all(map(math.isnan, c["hr_hourly_bpm"]))


def test_empty_input():
    s = summarise_rhythm(np.empty(0, np.int64), np.empty(0, object), FS, 3600.0)
    _assert_empty(s.columns, 1)
    assert s.columns["artefact_share"] == 0.0 and s.events == []
    table = events_table("r", s.events)
    assert table.num_rows == 0 and table.schema == EVENTS_SCHEMA
    s = summarise_rhythm([], [], FS, 0.0)
    _assert_empty(s.columns, 0)
    assert math.isnan(s.columns["artefact_share"])


def test_one_beat():
    s = summarise_rhythm(np.array([300]), np.array(["V"], dtype=object), FS, 10.0)
    c = s.columns
    assert c["n_v_isolated"] == 1 and c["longest_v_run_beats"] == 1
    assert math.isnan(c["hr_mean_bpm"]) and math.isnan(c["longest_rr_s"])
    assert c["artefact_share"] == 0.0 and s.events == []


@pytest.mark.parametrize(("samples", "labels", "fs", "duration"), [
    ([10, 5], ["N", "N"], FS, 10.0),
    ([10, 10], ["N", "N"], FS, 10.0),
    ([10, 20], ["N"], FS, 10.0),
    ([10, 20], ["N", "X"], FS, 10.0),
    ([10.5, 20.0], ["N", "N"], FS, 10.0),
    ([10, 20], ["N", "N"], 0.0, 10.0),
    ([10, 20], ["N", "N"], FS, -1.0),
])
def test_bad_input(samples, labels, fs, duration):
    with pytest.raises(ValueError):
        summarise_rhythm(np.asarray(samples), np.asarray(labels, dtype=object), fs, duration)


# ----------------------------------------------------------------------------- tables


def test_columns_follow_rhythm_columns_and_fit_their_types():
    s, _ = summarise("NNNVVVNNNNV", rr=0.9, duration_s=120.0)
    assert list(s.columns) == [name for name, _ in RHYTHM_COLUMNS]
    schema = pa.schema(RHYTHM_COLUMNS)
    table = pa.Table.from_pylist([s.columns], schema=schema)
    assert table.num_rows == 1
    assert str(schema.field("hr_hourly_bpm").type) == "list<item: float>"
    assert {str(t) for name, t in RHYTHM_COLUMNS if name.startswith("n_")} == {"int64"}


def test_events_table():
    spec = "NNNN" + "V" * 5 + "NNNNNN"
    rr = np.ones(len(spec) - 1)
    rr[4:8] = 0.4
    rr[11] = 3.0
    s, samples = summarise(spec, rr)
    table = events_table("2026/11/p1", s.events)
    assert table.schema == EVENTS_SCHEMA and EVENTS_SCHEMA.names[0] == "record_id"
    rows = table.to_pylist()
    assert [r["kind"] for r in rows] == ["vt", "pause"]
    assert rows[0]["record_id"] == "2026/11/p1" and rows[0]["start_sample"] == samples[4]
    assert rows[0]["rate_bpm"] == pytest.approx(150.0)
    assert rows[1]["rate_bpm"] is None and rows[1]["n_beats"] == 2


def test_docstring_documents_every_column():
    doc = rhythm.__doc__
    for name in [n for n, _ in RHYTHM_COLUMNS] + EVENTS_SCHEMA.names:
        assert f"``{name}``" in doc, name
    for kind in rhythm.EVENT_KINDS:
        assert f"``{kind}``" in doc, kind


def _patterns_reference(spec: str):
    """Plain-Python runs and episodes over a candidate string (N, V, A)."""
    beats = []  # (label, artefact before it)
    noise = False
    for c in spec:
        if c == "A":
            noise = True
        else:
            beats.append((c, noise and bool(beats)))
            noise = False
    runs, episodes = [], {"NV": 0, "NNV": 0}
    i = 0
    while i < len(beats):
        if beats[i][0] == "V":
            k = 1
            while i + k < len(beats) and beats[i + k] == ("V", False):
                k += 1
            runs.append(k)
            i += k
        else:
            i += 1
    for pattern in episodes:
        size, i = len(pattern), 0
        while i + size <= len(beats):
            cycles = 0
            while (i + (cycles + 1) * size <= len(beats)
                   and all(beats[i + cycles * size + m][0] == pattern[m]
                           for m in range(size))
                   and not any(beats[i + cycles * size + m][1] for m in range(1, size))
                   and not (cycles and beats[i + cycles * size][1])):
                cycles += 1
            if cycles >= 3:
                episodes[pattern] += 1
            i += max(cycles * size, 1)
    return runs, episodes


@pytest.mark.parametrize("seed", range(20))
def test_runs_and_episodes_match_plain_python(seed):
    rng = np.random.default_rng(seed)
    if seed % 2:  # pattern-rich: chunks of bigeminy, trigeminy and noise
        spec = "".join(rng.choice(["NV", "NV", "NNV", "NNV", "N", "V", "A"], size=100))
    else:
        spec = "".join(rng.choice(list("NNNVVA"), size=rng.integers(0, 300)))
    s, _ = summarise(spec, rr=0.5)
    runs, episodes = _patterns_reference(spec)
    c = s.columns
    assert c["n_v_isolated"] == runs.count(1) and c["n_v_couplets"] == runs.count(2)
    assert c["n_v_triplets"] == runs.count(3)
    assert c["n_v_runs"] == sum(k >= 3 for k in runs) == c["n_vt_runs"]  # all at 120 bpm
    assert c["longest_v_run_beats"] == max(runs, default=0)
    assert c["n_bigeminy_episodes"] == episodes["NV"]
    assert c["n_trigeminy_episodes"] == episodes["NNV"]
    in_runs = sum(ev.n_beats for ev in s.events if ev.kind in ("v_run", "vt"))
    assert c["n_v_isolated"] + 2 * c["n_v_couplets"] + in_runs == spec.count("V")
