"""RR irregularity per window of intervals, for atrial fibrillation detection.

For every interval ``k`` of a series of usable RR intervals ``rr`` (s), the window of ``width``
intervals centred on it (clipped at the ends of the series, so every window holds ``width``
intervals when the series does) gives two statistics:

- *irregularity*: the median over the window's successive pairs of
  ``|rr[i + 1] - rr[i]| / ((rr[i + 1] + rr[i]) / 2)``, the normalised successive difference.
  A median, so that a few ectopic intervals in sinus rhythm do not raise it.
- *sample entropy* (Richman & Moorman 2000) with template length 1 of the window's intervals
  divided by their median: ``B`` counts the pairs of intervals ``(i, j)``, ``i < j`` (both
  followed by one more in the window), within ``tolerance`` of each other, ``A`` those pairs
  whose next intervals are within ``tolerance`` too; the entropy is ``-ln(A / B)``, and
  ``ln(B)`` when ``A`` is 0 (as if one pair matched), NaN when ``B`` is 0. Patterned ectopy
  (bigeminy, trigeminy) is predictable and scores low; atrial fibrillation scores high.

:func:`window_irregularity` runs the Numba kernel; :func:`window_irregularity_reference` is
the same in plain numpy, which the tests compare it with. Imports nothing of ecgtk.
"""

from __future__ import annotations

import math

import numba
import numpy as np


def _bounds(n: int, k: int, width: int) -> tuple[int, int]:
    lo = min(max(k - width // 2, 0), max(n - width, 0))
    return lo, min(lo + width, n)


def _centres(n: int, step: int) -> np.ndarray:
    """The intervals whose windows are computed: every ``step``-th, and the last."""
    return np.unique(np.append(np.arange(0, n, step), n - 1)) if n else np.empty(0, np.int64)


def _spread(values: np.ndarray, centres: np.ndarray, n: int) -> np.ndarray:
    """Each interval takes the values of the nearest computed window (the earlier on a tie)."""
    k = np.arange(n)
    j = np.clip(np.searchsorted(centres, k), 1, max(centres.size - 1, 1))
    nearer_left = (k - centres[j - 1]) <= (centres[np.minimum(j, centres.size - 1)] - k)
    return values[np.where(nearer_left, j - 1, j)] if centres.size > 1 else values[
        np.zeros(n, np.int64)]


@numba.njit(cache=True, nogil=True)
def _kernel(rr: np.ndarray, centres: np.ndarray, width: int,
            tolerance: float) -> tuple[np.ndarray, np.ndarray]:
    n = rr.shape[0]
    irregularity = np.full(centres.shape[0], np.nan)
    entropy = np.full(centres.shape[0], np.nan)
    if n < 3:
        return irregularity, entropy
    diffs = np.empty(width)
    x = np.empty(width)
    for c in range(centres.shape[0]):
        k = centres[c]
        lo = min(max(k - width // 2, 0), max(n - width, 0))
        hi = min(lo + width, n)
        m = hi - lo
        for i in range(m - 1):
            a = rr[lo + i]
            b = rr[lo + i + 1]
            diffs[i] = abs(b - a) / (0.5 * (a + b))
        irregularity[c] = np.median(diffs[:m - 1])
        med = np.median(rr[lo:hi])
        for i in range(m):
            x[i] = rr[lo + i] / med
        count_b = 0
        count_a = 0
        for i in range(m - 1):
            for j in range(i + 1, m - 1):
                near = abs(x[i] - x[j]) < tolerance
                count_b += near
                count_a += near & (abs(x[i + 1] - x[j + 1]) < tolerance)
        if count_b == 0:
            entropy[c] = np.nan
        elif count_a == 0:
            entropy[c] = math.log(count_b)
        else:
            entropy[c] = -math.log(count_a / count_b)
    return irregularity, entropy


def _check(rr, width: int, tolerance: float) -> np.ndarray:
    rr = np.ascontiguousarray(rr, dtype=np.float64)
    if rr.ndim != 1:
        raise ValueError(f"rr must be 1-D, got shape {rr.shape}")
    if int(width) < 3:
        raise ValueError(f"width must be at least 3 intervals, got {width!r}")
    if not tolerance > 0:
        raise ValueError(f"tolerance must be > 0, got {tolerance!r}")
    if rr.size and not (np.isfinite(rr).all() and (rr > 0).all()):
        raise ValueError("rr must be finite and > 0")
    return rr


def window_irregularity(rr: np.ndarray, width: int, tolerance: float,
                        step: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """``(irregularity, sample entropy)`` of the window centred on each interval of ``rr``
    (see the module docstring); NaN for a series of fewer than 3 intervals. With ``step``
    > 1 only the windows centred on every ``step``-th interval (and the last) are computed,
    and each interval takes the values of the nearest one: ``step`` times faster."""
    rr = _check(rr, width, tolerance)
    centres = _centres(rr.size, max(int(step), 1))
    irregularity, entropy = _kernel(rr, centres, int(width), float(tolerance))
    return _spread(irregularity, centres, rr.size), _spread(entropy, centres, rr.size)


def window_irregularity_reference(rr: np.ndarray, width: int, tolerance: float,
                                  step: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Plain numpy version of :func:`window_irregularity`, for the tests."""
    rr = _check(rr, width, tolerance)
    n = rr.size
    centres = _centres(n, max(int(step), 1))
    irregularity = np.full(centres.size, np.nan)
    entropy = np.full(centres.size, np.nan)
    if n < 3:
        return _spread(irregularity, centres, n), _spread(entropy, centres, n)
    for c, k in enumerate(centres.tolist()):
        lo, hi = _bounds(n, k, int(width))
        w = rr[lo:hi]
        irregularity[c] = np.median(np.abs(np.diff(w)) / (0.5 * (w[1:] + w[:-1])))
        x = w / np.median(w)
        head, nxt = x[:-1], x[1:]
        close = np.abs(head[:, None] - head[None, :]) < tolerance
        close_next = np.abs(nxt[:, None] - nxt[None, :]) < tolerance
        upper = np.triu(np.ones(close.shape, dtype=bool), 1)
        count_b = int((close & upper).sum())
        count_a = int((close & close_next & upper).sum())
        if count_b == 0:
            continue
        entropy[c] = math.log(count_b) if count_a == 0 else -math.log(count_a / count_b)
    return _spread(irregularity, centres, n), _spread(entropy, centres, n)
