"""Refinement of detected beats to the R extremum of the raw signal."""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def _window_medians_and_extremes(x: np.ndarray, beats: np.ndarray, lead_of_beat: np.ndarray,
                                 before: int, after: int) -> tuple[np.ndarray, np.ndarray]:
    n = x.shape[0]
    medians = np.zeros(beats.shape[0])
    extremes = np.zeros(beats.shape[0])
    for b in range(beats.shape[0]):
        window = x[max(0, beats[b] - before):min(n, beats[b] + after + 1), lead_of_beat[b]]
        medians[b] = np.median(window)
        for v in window:
            if abs(v - medians[b]) > abs(extremes[b]):
                extremes[b] = v - medians[b]
    return medians, extremes


@numba.njit(cache=True, nogil=True)
def _refine_core(x: np.ndarray, beats: np.ndarray, lead_of_beat: np.ndarray, before: int,
                 after: int, medians: np.ndarray, polarity: np.ndarray) -> np.ndarray:
    n = x.shape[0]
    out = beats.copy()
    for b in range(beats.shape[0]):
        lead = lead_of_beat[b]
        best_dev = -np.inf
        for i in range(max(0, beats[b] - before), min(n, beats[b] + after + 1)):
            dev = polarity[lead] * (x[i, lead] - medians[b])
            if dev > best_dev:
                best_dev = dev
                out[b] = i
    return out


def _polarity_from_extremes(extremes: np.ndarray, lead_of_beat: np.ndarray,
                            n_leads: int) -> np.ndarray:
    """+1 or -1 per lead: the sign most beats' largest deviation has in that lead."""
    polarity = np.ones(n_leads)
    for lead in range(n_leads):
        values = extremes[lead_of_beat == lead]
        if len(values) and np.median(values) < 0:
            polarity[lead] = -1.0
    return polarity


def refine_peaks(signal: np.ndarray, beats: np.ndarray, lead_of_beat: np.ndarray,
                 before: int, after: int,
                 polarity: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Move each beat to its R extremum; returns ``(refined int64 indices, polarity)``.

    From ``before`` samples before to ``after`` samples after each beat, the sample of lead
    ``lead_of_beat[b]`` of ``signal`` ``(n, leads)`` that lies furthest from the window's
    median in the lead's QRS ``polarity`` (+1 or -1 per lead; by default the sign most beats'
    largest deviation has), so that every beat of a lead is aligned on the same wave.
    """
    x = np.ascontiguousarray(signal, dtype=np.float64)
    if not np.isfinite(x).all():  # checking first is 6x cheaper than nan_to_num on clean leads
        x = np.nan_to_num(x)
    beats = np.asarray(beats, dtype=np.int64)
    lead_of_beat = np.asarray(lead_of_beat, dtype=np.int64)
    if before < 0 or after < 0:
        raise ValueError(f"search window must not be negative, got -{before}/+{after} samples")
    medians, extremes = _window_medians_and_extremes(x, beats, lead_of_beat, before, after)
    if polarity is None:
        polarity = _polarity_from_extremes(extremes, lead_of_beat, x.shape[1])
    polarity = np.asarray(polarity, dtype=np.float64)
    if polarity.shape != (x.shape[1],):
        raise ValueError(f"polarity must have one value per lead, got shape {polarity.shape}")
    refined = _refine_core(x, beats, lead_of_beat, int(before), int(after), medians, polarity)
    return refined, polarity


@numba.njit(cache=True, nogil=True)
def _gather_zeroed_windows(x: np.ndarray, unusable: np.ndarray, beats: np.ndarray,
                           lead_of_beat: np.ndarray, before: int,
                           after: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each beat's search window of its lead as float64, unusable and NaN samples 0 and
    infinities as ``np.nan_to_num`` makes them, one after the other in ``values``; with each
    window's first sample index and offset into ``values`` (one more offset at the end)."""
    n = x.shape[0]
    starts = np.empty(beats.shape[0], dtype=np.int64)
    offsets = np.zeros(beats.shape[0] + 1, dtype=np.int64)
    for b in range(beats.shape[0]):
        starts[b] = max(0, beats[b] - before)
        offsets[b + 1] = offsets[b] + max(0, min(n, beats[b] + after + 1) - starts[b])
    values = np.empty(offsets[-1])
    top = np.finfo(np.float64).max
    for b in range(beats.shape[0]):
        lead = lead_of_beat[b]
        for k in range(offsets[b + 1] - offsets[b]):
            v = np.float64(x[starts[b] + k, lead])
            if unusable[starts[b] + k, lead] or np.isnan(v):
                v = 0.0
            elif v == np.inf:
                v = top
            elif v == -np.inf:
                v = -top
            values[offsets[b] + k] = v
    return values, starts, offsets


@numba.njit(cache=True, nogil=True)
def _medians_and_extremes_packed(values: np.ndarray,
                                 offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_window_medians_and_extremes` on windows packed by :func:`_gather_zeroed_windows`."""
    m = offsets.shape[0] - 1
    medians = np.zeros(m)
    extremes = np.zeros(m)
    longest = 0
    for b in range(m):
        longest = max(longest, offsets[b + 1] - offsets[b])
    ordered = np.empty(longest)
    for b in range(m):
        window = values[offsets[b]:offsets[b + 1]]
        # np.median as Numba computes it (middle value, or the mean of the middle two as
        # (a + b) / 2), by insertion sort: the windows are short and NaN-free
        w = window.shape[0]
        for i in range(w):
            v = window[i]
            j = i
            while j > 0 and ordered[j - 1] > v:
                ordered[j] = ordered[j - 1]
                j -= 1
            ordered[j] = v
        if w == 0:
            medians[b] = np.nan
        elif w % 2:
            medians[b] = ordered[w // 2]
        else:
            medians[b] = (ordered[w // 2 - 1] + ordered[w // 2]) / 2
        for v in window:
            if abs(v - medians[b]) > abs(extremes[b]):
                extremes[b] = v - medians[b]
    return medians, extremes


@numba.njit(cache=True, nogil=True)
def _refine_packed(values: np.ndarray, starts: np.ndarray, offsets: np.ndarray,
                   beats: np.ndarray, lead_of_beat: np.ndarray, medians: np.ndarray,
                   polarity: np.ndarray) -> np.ndarray:
    """:func:`_refine_core` on windows packed by :func:`_gather_zeroed_windows`."""
    out = beats.copy()
    for b in range(beats.shape[0]):
        best_dev = -np.inf
        for k in range(offsets[b + 1] - offsets[b]):
            dev = polarity[lead_of_beat[b]] * (values[offsets[b] + k] - medians[b])
            if dev > best_dev:
                best_dev = dev
                out[b] = starts[b] + k
    return out


def refine_peaks_zeroed(signal: np.ndarray, unusable: np.ndarray, beats: np.ndarray,
                        lead_of_beat: np.ndarray, before: int, after: int,
                        polarity: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """:func:`refine_peaks` of ``signal`` with its ``unusable`` and NaN samples set to 0, the
    same result, reading only the beats' windows (no zeroed float64 copy of the signal)."""
    x = np.ascontiguousarray(signal)
    beats = np.asarray(beats, dtype=np.int64)
    lead_of_beat = np.asarray(lead_of_beat, dtype=np.int64)
    if before < 0 or after < 0:
        raise ValueError(f"search window must not be negative, got -{before}/+{after} samples")
    if unusable.shape != x.shape:
        raise ValueError(f"unusable mask shape {unusable.shape} != signal shape {x.shape}")
    values, starts, offsets = _gather_zeroed_windows(
        x, np.ascontiguousarray(unusable, dtype=np.bool_), beats, lead_of_beat, int(before),
        int(after))
    medians, extremes = _medians_and_extremes_packed(values, offsets)
    if polarity is None:
        polarity = _polarity_from_extremes(extremes, lead_of_beat, x.shape[1])
    polarity = np.asarray(polarity, dtype=np.float64)
    if polarity.shape != (x.shape[1],):
        raise ValueError(f"polarity must have one value per lead, got shape {polarity.shape}")
    refined = _refine_packed(values, starts, offsets, beats, lead_of_beat, medians, polarity)
    return refined, polarity


def refine_peaks_reference(signal: np.ndarray, beats: np.ndarray, lead_of_beat: np.ndarray,
                           before: int, after: int) -> tuple[np.ndarray, np.ndarray]:
    """Plain numpy version of :func:`refine_peaks` (polarity estimated), for tests."""
    x = np.nan_to_num(np.asarray(signal, dtype=np.float64))
    beats = np.asarray(beats, dtype=np.int64)
    lead_of_beat = np.asarray(lead_of_beat, dtype=np.int64)
    starts = np.maximum(0, beats - before)
    windows = [x[lo:c + after + 1, lead] - np.median(x[lo:c + after + 1, lead])
               for lo, c, lead in zip(starts, beats, lead_of_beat, strict=True)]
    extremes = np.array([w[np.argmax(np.abs(w))] for w in windows])
    polarity = np.ones(x.shape[1])
    for lead in range(x.shape[1]):
        if (lead_of_beat == lead).any() and np.median(extremes[lead_of_beat == lead]) < 0:
            polarity[lead] = -1.0
    refined = [lo + int(np.argmax(polarity[lead] * w))
               for lo, w, lead in zip(starts, windows, lead_of_beat, strict=True)]
    return np.array(refined, dtype=np.int64), polarity
