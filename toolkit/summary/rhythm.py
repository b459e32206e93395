"""The per-recording Holter rhythm summary: heart rate, ventricular ectopy, pauses, HRV, AF.

Pure functions over one recording's labelled beats (``samples`` at the recording's rate ``fs``,
``labels`` ``N`` / ``S`` / ``V`` / ``artefact``): :func:`summarise_rhythm` gives a
:class:`RhythmSummary` whose ``columns`` extend the ``records/`` row and whose ``events`` are
the rows of the ``events/`` dataset (:func:`events_table`). Everything is vectorised numpy
(no loop runs per beat) but the atrial fibrillation windows of :mod:`ecgtk.summary.af`.

Definitions
-----------

- A *beat* is a candidate labelled ``N``, ``S`` or ``V``; ``artefact`` candidates are never
  beats. Supraventricular (``S``) beats count as non-ventricular beats everywhere but in the
  HRV (which takes N-N intervals only) and the columns of :mod:`ecgtk.summary.supraventricular`.
- An *RR interval* joins two consecutive beats. It is *clean* when no artefact candidate lies
  between them. An interval that holds artefact candidates is noise: beats may be hidden in
  it, so it is never a pause, never an HRV interval and never part of a heart rate.
- Beats are *adjacent* when the interval between them is clean. V runs, couplets, bigeminy and
  trigeminy are counted over adjacent beats only: an artefact candidate ends a run or pattern.
- The heart rate over a stretch of time is ``60 * n / T``: ``T`` is the time in it covered by
  clean intervals, ``n`` the number of those intervals, each counted by the share of its
  length that falls inside (at a steady 1 s RR a whole minute gives n = 60, T = 60 s). A
  1-minute window ``[60 k, 60 k + 60)`` s is *analysable* when ``T >= 30`` s and at least 10
  beats lie in it: minutes mostly lost to noise or without beats (a flat, lead-off stretch,
  say) are left out of every heart rate. Windows run from 0 s to ``duration_s`` (extended to
  the last beat, if later).

Contract: ``records/`` columns (appended to the row, in this order; see ``RHYTHM_COLUMNS``)
------------------------------------------------------------------------------------------

- ``hr_mean_bpm`` float64 — mean heart rate over the analysable minutes (``60 * n / T`` of
  all their clean intervals together), beats/min; NaN if no minute is analysable.
- ``hr_min_bpm``, ``hr_max_bpm`` float64 — lowest and highest heart rate of an analysable
  minute, beats/min; NaN if none.
- ``hr_hourly_bpm`` list<float32> — heart rate of each hour ``[3600 h, 3600 h + 3600)`` s
  from the start of the recording, over that hour's analysable minutes, beats/min; NaN for an
  hour without one (an hour with no beats, say). One value per started hour (none for a 0-s
  recording).
- ``n_v_isolated`` int64 — V beats whose adjacent beats are not V (a V next to an artefact or
  at either end of the recording counts, if not next to another V; the V beats of bigeminy
  and trigeminy count too). Isolated + 2 x couplets + the beats of all V runs = all V beats.
- ``n_v_couplets`` int64 — runs of exactly 2 adjacent V beats.
- ``n_v_triplets`` int64 — runs of exactly 3 adjacent V beats (these are also V runs).
- ``n_v_runs`` int64 — runs of 3 or more adjacent V beats, VT included; each is an event.
- ``n_vt_runs`` int64 — the V runs whose rate is at least 100 beats/min (ventricular
  tachycardia).
- ``longest_v_run_beats`` int64 — beats in the longest run of adjacent V beats (1 for
  isolated V only, 0 without V).
- ``n_bigeminy_episodes`` int64 — stretches of at least 3 adjacent ``N V`` cycles; each is an
  event.
- ``n_trigeminy_episodes`` int64 — stretches of at least 3 adjacent ``N N V`` cycles; each is
  an event.
- ``n_pauses`` int64 — clean RR intervals longer than 2.0 s; each is an event.
- ``longest_rr_s`` float64 — the longest clean RR interval, s; NaN without one.
- ``artefact_share`` float64 — the share (0 to 1) of the recording that is noise: the summed
  length of the gaps between consecutive beats that hold artefact candidates (before the first
  beat the gap starts at 0 s, after the last beat it ends at ``duration_s``; with no beat at
  all, the whole recording), divided by ``duration_s``; 0 without artefacts, NaN when
  ``duration_s`` is 0.
- ``sdnn_ms`` float64 — standard deviation (n - 1 denominator) of the NN intervals, ms;
  NaN with fewer than 2. NN intervals are clean RR intervals between two N beats (neither S
  nor V), from 0.3 to 2.0 s long.
- ``rmssd_ms`` float64 — root mean square of the differences between successive NN intervals
  (two NN intervals that share a beat), ms; NaN without such a pair.
- ``n_af_episodes`` int64 — atrial fibrillation episodes (:mod:`ecgtk.summary.af`: at least
  30 s of irregularly irregular RR intervals between N beats, V beats and noise left out);
  each is an event.
- ``af_burden`` float64 — the share (0 to 1) of the analysable time in AF: the clean RR
  intervals inside AF episodes, summed, divided by the *analysable* time, ``duration_s``
  less the noisy time of ``artefact_share`` (``duration_s * (1 - artefact_share)``); 0
  without AF, NaN when no time is analysable (``duration_s`` 0, or all of it noise).
- ``n_supraventricular``, ``n_sv_couplets``, ``n_sv_runs``, ``longest_sv_run_beats`` int64
  — S beats, couplets and runs (:mod:`ecgtk.summary.supraventricular`).

Counts are 0 and rates, times and HRV are NaN where there is nothing to measure (no beats).

Contract: ``events/`` — one row per rhythm event, one file per recording (``EVENTS_SCHEMA``)
------------------------------------------------------------------------------------------

``record_id`` string (as in ``beats/``), ``kind`` string (``v_run``: 3 or more adjacent V
beats under 100 beats/min; ``vt``: the same at 100 beats/min or more, never also a
``v_run``; ``bigeminy``; ``trigeminy``; ``pause``; ``af``: an atrial fibrillation episode;
``sv_run``: 3 or more adjacent S beats, at any rate), ``start_sample``, ``end_sample``
int64 (the event's first and last beat, at the recording's own rate; for a pause the two
beats that bound it; for AF the first and last beat of its irregular N-N intervals),
``start_s``, ``end_s`` float64 (the same, s from the start of the recording), ``n_beats``
int32 (beats in the event: the run's V or S beats; 2 x or 3 x the cycles of a bigeminy or
trigeminy, from the first cycle's first N to the last cycle's V; 2 for a pause; every N, S
and V beat from the first to the last for AF), ``rate_bpm`` float32 (``60 * (n_beats - 1)
/ (end_s - start_s)``, beats/min, for runs and episodes, for AF the mean ventricular rate;
null for a pause). Rows are ordered by ``start_sample``. Couplets are counted
only, never events.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ecgtk.kernels.heart_rate import heart_rates, hrv_ms
from ecgtk.summary.af import af_episodes
from ecgtk.summary.supraventricular import adjacent_runs, supraventricular_columns
from ecgtk.tables import EVENTS_SCHEMA, RHYTHM_COLUMNS

__all__ = [
    "EVENTS_SCHEMA",
    "EVENT_KINDS",
    "RHYTHM_COLUMNS",
    "RhythmEvent",
    "RhythmSummary",
    "events_table",
    "summarise_rhythm",
]

#: A clean RR interval longer than this is a pause, s.
PAUSE_S = 2.0
#: A V run at this rate or faster is ventricular tachycardia, beats/min.
VT_BPM = 100.0
#: Fewest consecutive cycles that make a bigeminy or trigeminy episode.
MIN_CYCLES = 3
#: NN intervals outside this range (s) are left out of the HRV.
NN_RANGE_S = (0.3, 2.0)
#: A 1-minute window is analysable when clean RR intervals cover at least this much of it, s,
MIN_MINUTE_COVERAGE_S = 30.0
#: and it holds at least this many beats.
MIN_MINUTE_BEATS = 10

EVENT_KINDS = ("v_run", "vt", "bigeminy", "trigeminy", "pause", "af", "sv_run")

_NAN = float("nan")


@dataclass(frozen=True)
class RhythmEvent:
    """One rhythm event (a row of ``events/`` without the ``record_id``)."""

    kind: str
    start_sample: int
    end_sample: int
    start_s: float
    end_s: float
    n_beats: int
    rate_bpm: float  # NaN for a pause


@dataclass(frozen=True)
class RhythmSummary:
    """``columns``: the ``RHYTHM_COLUMNS`` values by name, in order (Python scalars, and a
    list of floats for ``hr_hourly_bpm``); ``events``: ordered by ``start_sample``."""

    columns: dict[str, float | int | list[float]]
    events: list[RhythmEvent]


# ----------------------------------------------------------------------------- input


def _check_inputs(samples, labels, fs, duration_s):
    samples = np.asarray(samples)
    if samples.ndim != 1:
        raise ValueError(f"samples must be 1-D, got shape {samples.shape}")
    if samples.size and not np.issubdtype(samples.dtype, np.integer):
        raise ValueError(f"samples must be integer sample indices, got dtype {samples.dtype}")
    samples = samples.astype(np.int64, copy=False)
    if samples.size and (samples[0] < 0 or (np.diff(samples) <= 0).any()):
        raise ValueError("samples must be >= 0 and strictly increasing")
    labels = np.asarray(labels, dtype=object)
    if labels.shape != samples.shape:
        raise ValueError(f"expected {samples.size} labels, got shape {labels.shape}")
    unknown = set(labels.tolist()) - {"N", "S", "V", "artefact"}
    if unknown:
        raise ValueError(f"unknown beat labels {sorted(map(str, unknown))}; "
                         "allowed: N, S, V, artefact")
    fs = float(fs)
    if not (math.isfinite(fs) and fs > 0):
        raise ValueError(f"fs must be a positive number of Hz, got {fs!r}")
    duration_s = float(duration_s)
    if not (math.isfinite(duration_s) and duration_s >= 0):
        raise ValueError(f"duration_s must be >= 0, got {duration_s!r}")
    return samples, labels, fs, duration_s


# ----------------------------------------------------------------------------- pieces


def _episodes(is_v: np.ndarray, noisy: np.ndarray, pattern: tuple[bool, ...],
              min_cycles: int = MIN_CYCLES) -> list[tuple[int, int]]:
    """(first, last) beat index of each maximal repeat of ``pattern`` (True = V) over
    adjacent beats, at least ``min_cycles`` cycles long. Cycles of N V or N N V never overlap,
    so neither do the episodes."""
    size = len(pattern)
    n_pos = is_v.size - size + 1
    if n_pos < 1:
        return []
    cycle = np.ones(n_pos, dtype=bool)  # cycle[i]: beats i .. i + size - 1 match, adjacent
    for k, want_v in enumerate(pattern):
        cycle &= is_v[k:k + n_pos] == want_v
    for k in range(size - 1):
        cycle &= ~noisy[k:k + n_pos]
    found = []
    for offset in range(size):
        pos = np.arange(offset, n_pos, size)
        sub = cycle[offset::size]
        if sub.size == 0:
            continue
        linked = np.zeros(sub.size, dtype=bool)  # cycle q follows cycle q - 1 directly
        linked[1:] = sub[1:] & sub[:-1] & ~noisy[pos[1:] - 1]
        starts = np.flatnonzero(sub & ~linked)
        ends = np.flatnonzero(sub & ~np.append(linked[1:], False))
        for s, e in zip(starts, ends, strict=True):
            if e - s + 1 >= min_cycles:
                found.append((int(pos[s]), int(pos[e]) + size - 1))
    return found


def _rate(first_sample: int, last_sample: int, n_beats: int, fs: float) -> float:
    span = (last_sample - first_sample) / fs
    return 60.0 * (n_beats - 1) / span if n_beats >= 2 and span > 0 else _NAN


# ----------------------------------------------------------------------------- public


def summarise_rhythm(samples: np.ndarray, labels: np.ndarray, fs: float,
                     duration_s: float, af: list[tuple[int, int]] | None = None
                     ) -> RhythmSummary:
    """The Holter rhythm summary of one recording (see the module docstring for every column).

    ``samples``: int sample indices of the beats and rejected candidates at the recording's
    rate ``fs`` Hz, strictly ascending; ``labels``: ``"N"``, ``"S"``, ``"V"`` or
    ``"artefact"`` for each; ``duration_s``: the recording's length; ``af``: the AF episodes
    (:func:`ecgtk.summary.af.af_episodes`) when already known, else found here with S beats
    taken as N. ValueError on bad input.

    Pauses are clean RR intervals longer than 2.0 s. An interval between two beats that holds
    artefact candidates is *not* a pause, however long: the signal was noisy there and beats
    may be hidden in it. It counts towards ``artefact_share`` instead, is left out of
    ``longest_rr_s``, the heart rates and the HRV, and breaks V runs, bigeminy and trigeminy.
    """
    samples, labels, fs, duration_s = _check_inputs(samples, labels, fs, duration_s)
    is_art = labels == "artefact"
    beat_pos = np.flatnonzero(~is_art)
    beats = samples[beat_pos]
    is_v = (labels[beat_pos] == "V").astype(bool)
    is_s = (labels[beat_pos] == "S").astype(bool)
    n_beats = beats.size

    # Artefact candidates before each beat; a gap is noisy when that number goes up.
    art_before = np.cumsum(is_art)[beat_pos] if n_beats else np.empty(0, np.int64)
    noisy = np.diff(art_before) > 0  # gap j joins beat j and beat j + 1
    rr = np.diff(beats) / fs
    clean = ~noisy

    events: list[RhythmEvent] = []

    def add(kind: str, first: int, last: int, n: int, rate: float) -> None:
        s, e = int(beats[first]), int(beats[last])
        events.append(RhythmEvent(kind, s, e, s / fs, e / fs, int(n), rate))

    # Ventricular ectopy.
    starts, ends = adjacent_runs(is_v, noisy)  # runs of adjacent V beats
    lengths = ends - starts + 1
    n_vt = 0
    for s, e, k in zip(starts, ends, lengths, strict=True):
        if k >= 3:
            rate = _rate(beats[s], beats[e], k, fs)
            is_vt = rate >= VT_BPM
            n_vt += int(is_vt)
            add("vt" if is_vt else "v_run", s, e, k, rate)

    # Bigeminy and trigeminy.
    bigeminy = _episodes(is_v, noisy, (False, True))
    trigeminy = _episodes(is_v, noisy, (False, False, True))
    for kind, found in (("bigeminy", bigeminy), ("trigeminy", trigeminy)):
        for first, last in found:
            n = last - first + 1
            add(kind, first, last, n, _rate(beats[first], beats[last], n, fs))

    # Pauses and the longest clean interval.
    pauses = np.flatnonzero(clean & (rr > PAUSE_S))
    for j in pauses:
        add("pause", j, j + 1, 2, _NAN)
    longest_rr = float(rr[clean].max()) if clean.any() else _NAN

    # Noise: the gaps between beats that hold artefacts, and the ends if they do.
    if n_beats:
        noisy_s = float(rr[noisy].sum())
        n_art = int(is_art.sum())
        if art_before[0] > 0:
            noisy_s += beats[0] / fs
        if art_before[-1] < n_art:
            noisy_s += max(duration_s - beats[-1] / fs, 0.0)
    else:
        noisy_s = duration_s if is_art.any() else 0.0
    artefact_share = min(noisy_s / duration_s, 1.0) if duration_s > 0 else _NAN

    # Atrial fibrillation: its clean time over the time that is not noise.
    if af is None:
        af = af_episodes(samples, np.where(labels == "S", "N", labels), fs)
    af_s = 0.0
    for first_sample, last_sample in af:
        first, last = np.searchsorted(beats, [first_sample, last_sample])
        af_s += float(rr[first:last][clean[first:last]].sum())
        n = last - first + 1
        add("af", first, last, n, _rate(beats[first], beats[last], n, fs))
    analysable_s = duration_s - min(noisy_s, duration_s)
    af_burden = min(af_s / analysable_s, 1.0) if analysable_s > 0 else _NAN

    # Heart rates and HRV.
    hr_mean, hr_min, hr_max, hourly = heart_rates(beats / fs, clean, duration_s,
                                                  MIN_MINUTE_COVERAGE_S, MIN_MINUTE_BEATS)
    ectopic = is_v | is_s
    nn = (clean & ~ectopic[:-1] & ~ectopic[1:] & (rr >= NN_RANGE_S[0])
          & (rr <= NN_RANGE_S[1]))

    # Supraventricular ectopy.
    sv_columns, sv_runs = supraventricular_columns(is_s, noisy)
    for first, last, n in sv_runs:
        add("sv_run", first, last, n, _rate(beats[first], beats[last], n, fs))
    sdnn, rmssd = hrv_ms(rr, nn)

    columns = {
        "hr_mean_bpm": hr_mean,
        "hr_min_bpm": hr_min,
        "hr_max_bpm": hr_max,
        "hr_hourly_bpm": hourly,
        "n_v_isolated": int((lengths == 1).sum()),
        "n_v_couplets": int((lengths == 2).sum()),
        "n_v_triplets": int((lengths == 3).sum()),
        "n_v_runs": int((lengths >= 3).sum()),
        "n_vt_runs": n_vt,
        "longest_v_run_beats": int(lengths.max()) if lengths.size else 0,
        "n_bigeminy_episodes": len(bigeminy),
        "n_trigeminy_episodes": len(trigeminy),
        "n_pauses": int(pauses.size),
        "longest_rr_s": longest_rr,
        "artefact_share": float(artefact_share),
        "sdnn_ms": sdnn,
        "rmssd_ms": rmssd,
        "n_af_episodes": len(af),
        "af_burden": float(af_burden),
        **sv_columns,
    }
    order = {kind: i for i, kind in enumerate(EVENT_KINDS)}
    events.sort(key=lambda ev: (ev.start_sample, order[ev.kind]))
    return RhythmSummary(columns=columns, events=events)


def events_table(record_id: str, events: list[RhythmEvent]) -> pa.Table:
    """The ``events/`` rows of one recording (``EVENTS_SCHEMA``); a NaN rate becomes null."""
    n = len(events)
    unknown = {ev.kind for ev in events} - set(EVENT_KINDS)
    if unknown:
        raise ValueError(f"unknown event kinds {sorted(unknown)}; allowed: {EVENT_KINDS}")
    return pa.Table.from_arrays([
        pa.array([record_id] * n, type=pa.string()),
        pa.array([ev.kind for ev in events], type=pa.string()),
        pa.array(np.array([ev.start_sample for ev in events], dtype=np.int64)),
        pa.array(np.array([ev.end_sample for ev in events], dtype=np.int64)),
        pa.array(np.array([ev.start_s for ev in events], dtype=np.float64)),
        pa.array(np.array([ev.end_s for ev in events], dtype=np.float64)),
        pa.array(np.array([ev.n_beats for ev in events], dtype=np.int32)),
        pa.array(np.array([ev.rate_bpm for ev in events], dtype=np.float32), from_pandas=True),
    ], schema=EVENTS_SCHEMA)
