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
