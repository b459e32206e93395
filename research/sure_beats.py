"""Which detector candidates are beats beyond doubt, so that model 1 need not see them (issue 38).

A candidate is *sure* when the detector found it well above its adaptive threshold
(``ratio >= min_ratio``, see :func:`ecgtk.kernels.rpeaks.detect_with_confidence`), every
weighted lead shows its QRS there (``agreement >= lead_ratio``; ``lead_ratio=None``: not
asked), and both RR intervals next to it lie within ``rr_tolerance`` (a share) of the median of the
``2 * neighbours + 1`` candidate RR intervals around it. The first and last candidates are never
sure. :func:`sure_beats` is vectorised; :func:`sure_beats_reference` is the plain loop the
tests compare it with. Measured with ``python -m research.model1_gating`` (plan and keep rule in
research/model1_gating_plan.md): not kept, so the pipeline does not use it; model 1 sees every
candidate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ecgtk.kernels.medians import running_median


@dataclass(frozen=True)
class SureBeatRule:
    """Thresholds of :func:`sure_beats` (ratios, a share, a count)."""

    min_ratio: float = 2.0
    rr_tolerance: float = 0.15
    neighbours: int = 8
    lead_ratio: float | None = 0.3

    def __post_init__(self) -> None:
        if self.min_ratio <= 0 or not 0 < self.rr_tolerance < 1 or self.neighbours < 1:
            raise ValueError(f"SureBeatRule needs min_ratio > 0, 0 < rr_tolerance < 1 and "
                             f"neighbours >= 1, got {self}")


def _rr_fits(samples: np.ndarray, rule: SureBeatRule) -> np.ndarray:
    """Whether both RR intervals next to each candidate fit the local median (bool per
    candidate; False for the first and last)."""
    n = len(samples)
    fits = np.zeros(n, dtype=bool)
    if n < 3:
        return fits
    rr = np.diff(np.asarray(samples, dtype=np.int64)).astype(np.float64)
    median = running_median(rr, 2 * rule.neighbours + 1)
    # candidate i sits between rr[i - 1] and rr[i]; the median around it: that of rr[i - 1]
    centre = median[:-1]
    prev_ok = np.abs(rr[:-1] / np.maximum(centre, 1e-12) - 1.0) <= rule.rr_tolerance
    next_ok = np.abs(rr[1:] / np.maximum(centre, 1e-12) - 1.0) <= rule.rr_tolerance
    fits[1:-1] = prev_ok & next_ok
    return fits


def sure_beats(samples: np.ndarray, ratio: np.ndarray, agreement: np.ndarray,
               rule: SureBeatRule) -> np.ndarray:
    """The candidates that are beats beyond doubt (bool per candidate).

    Parameters
    ----------
    samples : ndarray
        Candidates' sample indices, ascending (any rate: only ratios of intervals count).
    ratio, agreement : ndarray
        Per candidate, from :func:`ecgtk.kernels.rpeaks.detect_with_confidence`
        (0 where unknown: never sure).
    rule : SureBeatRule
        The thresholds.

    Returns
    -------
    ndarray
        bool per candidate.
    """
    sure = np.asarray(ratio, dtype=np.float64) >= rule.min_ratio
    if rule.lead_ratio is not None:
        sure &= np.asarray(agreement, dtype=np.float64) >= rule.lead_ratio
    return sure & _rr_fits(np.asarray(samples), rule)


def sure_beats_reference(samples: np.ndarray, ratio: np.ndarray, agreement: np.ndarray,
                         rule: SureBeatRule) -> np.ndarray:
    """:func:`sure_beats` as a plain loop (the tests' reference)."""
    s = [int(v) for v in samples]
    n = len(s)
    rr = [float(s[i + 1] - s[i]) for i in range(n - 1)]
    half = rule.neighbours
    out = np.zeros(n, dtype=bool)
    for i in range(1, n - 1):
        # the median of the 2 * half + 1 intervals centred on rr[i - 1], edges repeated
        window = [rr[min(max(k, 0), len(rr) - 1)] for k in range(i - 1 - half, i + half)]
        median = float(np.median(window))
        fits = (abs(rr[i - 1] / median - 1.0) <= rule.rr_tolerance
                and abs(rr[i] / median - 1.0) <= rule.rr_tolerance)
        strong = ratio[i] >= rule.min_ratio
        agrees = rule.lead_ratio is None or agreement[i] >= rule.lead_ratio
        out[i] = bool(fits and strong and agrees)
    return out
