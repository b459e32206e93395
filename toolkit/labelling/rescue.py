"""Beats model 1 rejected, given back by the rhythm around them (rules on model 1's calls).

Model 1 judges each candidate by its 50 + 50-sample window alone; it sometimes rejects a real
beat of an unusual shape. The rhythm can tell: a heart that drops a beat, or goes quiet for
seconds while candidates tick on evenly, is rarer than a model that rejected them. Two rules,
both on the pauses that the accepted beats leave (in units of the local median RR interval,
the median of the ``2 * neighbours + 1`` RR intervals of the accepted beats around it):

- ``pause`` (one beat missing): in a pause of ``min_pause_rr`` to ``max_pause_rr`` median RR,
  the rejected candidate that splits it, at least ``min_split_rr`` median RR from both ends, is
  a beat (of several, the one model 1 scored highest).
- ``run`` (a rhythm missing, e.g. the ventricular escape rhythm of MIT-BIH 207): in a longer
  pause, the rejected candidates are beats when there are at least ``min_run`` of them and,
  with the beats at both ends, they tick evenly: every interval within ``run_rr_s`` seconds,
  and their coefficient of variation at most ``max_run_cv``. Noise is not even; a pause holding
  noise as well as the beats is left alone.
- ``smooth run`` (a rhythm that speeds up or slows down, e.g. 207's escape rhythm after its
  flutter, 2.5 s between beats at first, 0.9 s a minute later): where the run rule finds the
  pause as a whole uneven, each stretch of at least ``min_smooth_run`` consecutive rejected
  candidates whose intervals lie within ``run_rr_s`` and change by at most ``max_smooth_step``
  (a share) from one interval to the next is beats. Noise does not tick smoothly that long.

Everything else (sinus arrest, flutter, noise) stays as model 1 called it. Measured on
out-of-fold calls with ``python -m research.pause_eval``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ecgtk.kernels.medians import running_median


@dataclass(frozen=True)
class PauseRule:
    """Thresholds of the ``pause``, ``run`` and ``smooth run`` rules (RR ratios to the local
    median; seconds; shares).

    The defaults are the setting most folds of the cross-validation chose by beat F1
    (``python -m research.pause_eval``, 0.2.1's detector: all four chose
    ``min_pause_rr`` and ``max_pause_rr``, three of four ``min_split_rr``, ``max_run_cv`` and
    the smooth run rule; the fourth holds 207, the only patient it changes, and so saw a tie).
    A beat dropped from a steady rhythm leaves a pause of 2.0 RR, so ``min_pause_rr`` must sit
    below 2 with room for sinus arrhythmia. ``max_run_cv=None`` turns the run rule off,
    ``min_smooth_run=None`` the smooth run rule.
    """

    min_pause_rr: float = 1.6
    max_pause_rr: float = 3.0
    min_split_rr: float = 0.5
    min_run: int = 3
    max_run_cv: float | None = 0.15
    #: 0.4 s (150/min): faster candidates that tick evenly are more often flutter waves
    run_rr_s: tuple[float, float] = (0.4, 2.0)
    neighbours: int = 8
    #: fewest consecutive candidates of a smooth run (None: the rule is off); 4, 6 and 8 gave
    #: the same beats in cross-validation (python -m research.pause_eval)
    min_smooth_run: int | None = 6
    max_smooth_step: float = 0.15

    def __post_init__(self) -> None:
        if not 1.0 < self.min_pause_rr <= self.max_pause_rr:
            raise ValueError("PauseRule needs 1 < min_pause_rr <= max_pause_rr, got "
                             f"{self.min_pause_rr} and {self.max_pause_rr}")
        if not 0.0 < self.min_split_rr <= self.min_pause_rr / 2:
            raise ValueError("PauseRule.min_split_rr must be in (0, min_pause_rr / 2], got "
                             f"{self.min_split_rr}")
        if self.min_run < 2 or self.neighbours < 1:
            raise ValueError("PauseRule needs min_run >= 2 and neighbours >= 1, got "
                             f"{self.min_run} and {self.neighbours}")
        if self.max_run_cv is not None and self.max_run_cv <= 0:
            raise ValueError(f"PauseRule.max_run_cv must be > 0 or None, got {self.max_run_cv}")
        if self.min_smooth_run is not None and self.min_smooth_run < 3:
            raise ValueError(f"PauseRule.min_smooth_run must be >= 3 or None, got "
                             f"{self.min_smooth_run}")
        if not 0.0 < self.max_smooth_step < 1.0:
            raise ValueError(f"PauseRule.max_smooth_step must be in (0, 1), got "
                             f"{self.max_smooth_step}")
        if not 0.0 < self.run_rr_s[0] < self.run_rr_s[1]:
            raise ValueError(f"PauseRule.run_rr_s must be (low, high) seconds with "
                             f"0 < low < high, got {self.run_rr_s}")


def rescue_pauses(samples: np.ndarray, p_beat: np.ndarray, is_beat: np.ndarray, fs: float,
                  rule: PauseRule) -> np.ndarray:
    """Model 1's ``is_beat`` (bool per candidate) with the ``pause`` and ``run`` rules applied.

    ``samples`` are the candidates' positions (ascending) at ``fs`` Hz, ``p_beat`` model 1's
    probabilities. The input is not changed."""
    samples = np.asarray(samples, dtype=np.int64)
    is_beat = np.asarray(is_beat, dtype=bool)
    out = is_beat.copy()
    beats = np.flatnonzero(is_beat)
    if len(beats) < 3 or len(beats) == len(samples):
        return out
    t = samples[beats]
    rr = np.diff(t).astype(np.float64)
    median = running_median(rr, 2 * rule.neighbours + 1)
    pauses = np.flatnonzero(rr >= rule.min_pause_rr * median)
    first = np.searchsorted(samples, t[pauses], side="right")
    last = np.searchsorted(samples, t[pauses + 1], side="left")
    for g, lo, hi in zip(pauses, first, last, strict=True):
        inside = np.arange(lo, hi)  # all rejected: the pause runs between consecutive beats
        if rr[g] <= rule.max_pause_rr * median[g]:
            margin = rule.min_split_rr * median[g]
            fits = inside[(samples[inside] - t[g] >= margin)
                          & (t[g + 1] - samples[inside] >= margin)]
            if len(fits):
                out[fits[np.argmax(p_beat[fits])]] = True
        elif is_even_run(samples[inside], t[g], t[g + 1], fs, rule):
            out[inside] = True
        elif rule.min_smooth_run is not None:
            for stretch in smooth_stretches(samples[inside], fs, rule):
                out[inside[stretch]] = True
    return out


def smooth_stretches(times: np.ndarray, fs: float, rule: PauseRule) -> list[slice]:
    """The ``smooth run`` rule's stretches of ``times`` (ascending samples at ``fs`` Hz):
    maximal runs of consecutive times whose intervals lie within ``rule.run_rr_s`` seconds and
    change by at most ``rule.max_smooth_step`` from one interval to the next, those with at
    least ``rule.min_smooth_run`` times, as slices of ``times``."""
    if rule.min_smooth_run is None or len(times) < rule.min_smooth_run:
        return []
    intervals = np.diff(np.asarray(times, dtype=np.float64)) / fs
    low, high = rule.run_rr_s
    found, start = [], 0  # the stretch so far: times[start] .. times[k]
    for k, interval in enumerate(intervals):
        if not low <= interval <= high:
            found.append(slice(start, k + 1))
            start = k + 1
        elif k > start and abs(interval / intervals[k - 1] - 1.0) > rule.max_smooth_step:
            found.append(slice(start, k + 1))
            start = k  # times[k] ends one stretch and starts the next
    found.append(slice(start, len(times)))
    return [s for s in found if s.stop - s.start >= rule.min_smooth_run]


def is_even_run(inside: np.ndarray, start: int, end: int, fs: float, rule: PauseRule) -> bool:
    """Whether candidates ``inside`` a pause from beat ``start`` to beat ``end`` (samples at
    ``fs`` Hz) tick evenly enough to be the ``run`` rule's rhythm."""
    if rule.max_run_cv is None or len(inside) < rule.min_run:
        return False
    intervals = np.diff(np.concatenate([[start], inside, [end]])) / fs
    low, high = rule.run_rr_s
    if intervals.min() < low or intervals.max() > high:
        return False
    return bool(intervals.std() <= rule.max_run_cv * intervals.mean())
