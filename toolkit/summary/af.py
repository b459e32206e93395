"""Atrial fibrillation episodes from labelled beats: RR irregularity with ectopy left out.

Atrial fibrillation (AF) shows in the ventricular rhythm as an irregularly irregular RR
series. Ectopic beats make sinus rhythm irregular too, so the method first keeps only the RR
intervals that tell the atrial rhythm apart:

1. *Usable intervals*: RR intervals between two consecutive beats that are both ``N``, with no
   artefact candidate between them, ``min_rr_s`` to ``max_rr_s`` long. V beats and the two
   intervals next to each are left out (a V beat's coupling interval and pause say nothing of
   the atria), and so is noise. Supraventricular ectopics are labelled ``N``: a short interval
   followed by a long one at the same beat (under ``premature`` and over ``compensatory`` x
   the local median) is left out too, with its follower.
2. For each usable interval, the window of ``window_intervals`` consecutive usable intervals
   centred on it gives (:mod:`ecgtk.kernels.af`) the *irregularity*, the median normalised
   successive difference ``|RR[i+1] - RR[i]| / mean(RR[i], RR[i+1])``, robust to a few
   supraventricular ectopics because it is a median, and the *sample entropy* (template
   length 1, tolerance ``tolerance`` of the window's median RR), low for patterned ectopy
   (bigeminy, trigeminy) and high for AF's random intervals. The interval is *AF-like* when
   both reach their thresholds.
3. AF-like intervals form an episode while the next one starts at most ``max_gap_s`` after
   the previous one ends (V beats and short noise in AF do not break it); episodes less than
   ``merge_gap_s`` apart are joined, and episodes shorter than ``min_duration_s`` are dropped.

This is an RR-based detector: it sees no P waves. Irregularity statistics of this kind
(normalised successive differences with entropy checks: Dash et al., Ann Biomed Eng
37:1701, 2009; sample entropy: Richman & Moorman, Am J Physiol 278:H2039, 2000; Lake &
Moorman, Am J Physiol 300:H319, 2011) are the usual RR-based AF statistics.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ecgtk.kernels.af import window_irregularity

__all__ = ["AFSettings", "DEFAULT_AF", "af_episodes", "af_features", "episodes_from_flags",
           "usable_intervals"]


@dataclass(frozen=True)
class AFSettings:
    """Every threshold of :func:`af_episodes`, with its unit and reason."""

    #: Shortest usable RR interval, s: shorter ones are double detections (300 beats/min).
    min_rr_s: float = 0.2
    #: Longest usable RR interval, s: longer ones are pauses or missed beats (20 beats/min).
    max_rr_s: float = 3.0
    #: Supraventricular ectopics, labelled N, show as a short interval followed by a long one:
    #: an interval under ``premature`` x the median of the ``local_intervals`` usable
    #: intervals around it, followed at the same beat by one over ``compensatory`` x that
    #: median, is left out with its follower (as V beats are; 1 turns this off).
    premature: float = 0.85
    compensatory: float = 1.15
    local_intervals: int = 9
    #: Usable intervals per window: about 30 s of AF at 60 to 100 beats/min, enough for a
    #: stable median and entropy, short enough to follow a 30-s episode.
    window_intervals: int = 32
    #: The windows are computed centred on every this many usable intervals, each interval
    #: taking the nearest window's statistics: 8 times less work, and a quarter window
    #: (about 6 s) is finer than the 30-s episodes need.
    step_intervals: int = 8
    #: Sample entropy tolerance, as a share of the window's median RR (Lake & Moorman use a
    #: fixed 30 ms, about 0.04 of 0.75 s; a share keeps the test the same at every rate).
    tolerance: float = 0.1
    #: A window is AF-like when its median normalised successive difference reaches this
    #: (sinus rhythm stays near 0.02 to 0.05, AF near 0.15 to 0.3),
    min_irregularity: float = 0.11
    #: and its sample entropy reaches this (sinus rhythm and patterned ectopy stay under
    #: 0.5, AF above 1). Both thresholds: the rule of research/af_tuning.py on MIT-BIH DS1.
    min_entropy: float = 0.9
    #: Longest time between two consecutive AF-like usable intervals in one episode, s.
    max_gap_s: float = 6.0
    #: Episodes closer than this are joined, s.
    merge_gap_s: float = 10.0
    #: Shortest episode, s (the clinical definition of an AF episode: 30 s).
    min_duration_s: float = 30.0

    def __post_init__(self) -> None:
        if not 0 < self.min_rr_s < self.max_rr_s:
            raise ValueError("need 0 < min_rr_s < max_rr_s")
        if self.window_intervals < 3:
            raise ValueError("window_intervals must be at least 3")
        if self.step_intervals < 1:
            raise ValueError("step_intervals must be at least 1")
        for name in ("tolerance", "min_irregularity", "min_entropy", "max_gap_s",
                     "merge_gap_s", "min_duration_s"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be >= 0, got {value!r}")


DEFAULT_AF = AFSettings()


def usable_intervals(samples: np.ndarray, labels: np.ndarray, fs: float,
                     settings: AFSettings = DEFAULT_AF) -> tuple[np.ndarray, np.ndarray]:
    """``(start, end)`` sample of every usable RR interval (both int64, ascending)."""
    samples = np.asarray(samples, dtype=np.int64)
    labels = np.asarray(labels, dtype=object)
    is_art = labels == "artefact"
    beat_pos = np.flatnonzero(~is_art)
    if beat_pos.size < 2:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    beats = samples[beat_pos]
    is_n = labels[beat_pos] == "N"
    art_before = np.cumsum(is_art)[beat_pos]
    rr = np.diff(beats) / float(fs)
    ok = ((np.diff(art_before) == 0) & is_n[:-1] & is_n[1:]
          & (rr >= settings.min_rr_s) & (rr <= settings.max_rr_s))
    start, end = beats[:-1][ok], beats[1:][ok]
    if settings.premature < 1 and start.size > settings.local_intervals:
        keep = ~_premature_pairs(start, end, settings)
        start, end = start[keep], end[keep]
    return start, end


def _premature_pairs(start: np.ndarray, end: np.ndarray, settings: AFSettings) -> np.ndarray:
    """True for both intervals of each short-long pair: an interval under ``premature`` x
    the local median followed, at the same beat, by one over ``compensatory`` x it."""
    rr = (end - start).astype(np.float64)
    half = settings.local_intervals // 2
    padded = np.pad(rr, half, mode="edge")
    local = np.median(np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1), axis=1)
    pair = ((end[:-1] == start[1:]) & (rr[:-1] < settings.premature * local[:-1])
            & (rr[1:] > settings.compensatory * local[:-1]))
    out = np.zeros(rr.size, dtype=bool)
    out[:-1] |= pair
    out[1:] |= pair
    return out


def _runs(flag: np.ndarray, start_s: np.ndarray, end_s: np.ndarray,
          max_gap_s: float) -> list[list[int]]:
    """[first, last] index of each run of flagged intervals, each within ``max_gap_s`` of
    the previous one."""
    idx = np.flatnonzero(flag)
    if idx.size == 0:
        return []
    breaks = np.flatnonzero(start_s[idx[1:]] - end_s[idx[:-1]] > max_gap_s)
    firsts = np.concatenate([[idx[0]], idx[breaks + 1]])
    lasts = np.concatenate([idx[breaks], [idx[-1]]])
    return [[int(a), int(b)] for a, b in zip(firsts, lasts, strict=True)]


def af_episodes(samples: np.ndarray, labels: np.ndarray, fs: float,
                settings: AFSettings = DEFAULT_AF) -> list[tuple[int, int]]:
    """``(start_sample, end_sample)`` of each AF episode, ascending: the first and last beat
    of its AF-like usable intervals (see the module docstring).

    ``samples``: ascending sample indices of the candidates at ``fs`` Hz; ``labels``: ``N``,
    ``V`` or ``artefact`` for each."""
    start, end, irregularity, entropy = af_features(samples, labels, fs, settings)
    with np.errstate(invalid="ignore"):
        flag = (irregularity >= settings.min_irregularity) & (entropy >= settings.min_entropy)
    return episodes_from_flags(start, end, flag, fs, settings)


def af_features(samples: np.ndarray, labels: np.ndarray, fs: float,
                settings: AFSettings = DEFAULT_AF
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(start, end, irregularity, entropy)`` of each usable interval: its bounding beats
    (samples) and its window's statistics (NaN for all when there are fewer usable intervals
    than ``window_intervals``)."""
    start, end = usable_intervals(samples, labels, fs, settings)
    if start.size < settings.window_intervals:
        nan = np.full(start.size, np.nan)
        return start, end, nan, nan.copy()
    irregularity, entropy = window_irregularity((end - start) / float(fs),
                                                settings.window_intervals, settings.tolerance,
                                                settings.step_intervals)
    return start, end, irregularity, entropy


def episodes_from_flags(start: np.ndarray, end: np.ndarray, flag: np.ndarray, fs: float,
                        settings: AFSettings = DEFAULT_AF) -> list[tuple[int, int]]:
    """Step 3 of the method: episodes from the AF-like flag of each usable interval."""
    fs = float(fs)
    start_s, end_s = start / fs, end / fs
    merged: list[list[int]] = []
    for first, last in _runs(flag, start_s, end_s, settings.max_gap_s):
        if merged and start_s[first] - end_s[merged[-1][1]] <= settings.merge_gap_s:
            merged[-1][1] = last
        else:
            merged.append([first, last])
    return [(int(start[a]), int(end[b])) for a, b in merged
            if end_s[b] - start_s[a] >= settings.min_duration_s]
