"""Flags for stretches of a lead that carry no ECG: NaN samples and flat lines (lead off)."""

from __future__ import annotations

import numba
import numpy as np

#: Up to this many leads the mask is made lead by lead, beyond it row by row (measured on
#: 10-minute chunks: python -m benchmarks.bench_lead_layout).
LEAD_BY_LEAD_UP_TO = 4


@numba.njit(cache=True, nogil=True)
def _unusable_core(x: np.ndarray, window: int, min_range: float) -> np.ndarray:
    if x.shape[1] <= LEAD_BY_LEAD_UP_TO:
        return _unusable_lead_by_lead(x, window, min_range)
    return _unusable_row_by_row(x, window, min_range)


@numba.njit(cache=True, nogil=True)
def _unusable_lead_by_lead(x: np.ndarray, window: int, min_range: float) -> np.ndarray:
    n, n_leads = x.shape
    bad = np.zeros((n, n_leads), dtype=np.bool_)
    for lead in range(n_leads):
        for start in range(0, n, window):
            stop = min(n, start + window)
            lo = np.inf
            hi = -np.inf
            has_nan = False
            for i in range(start, stop):
                v = x[i, lead]
                if np.isnan(v):
                    has_nan = True
                    bad[i, lead] = True
                else:
                    lo = min(lo, v)
                    hi = max(hi, v)
            if not has_nan and hi - lo < min_range:
                for i in range(start, stop):
                    bad[i, lead] = True
    return bad


@numba.njit(cache=True, nogil=True)
def _unusable_row_by_row(x: np.ndarray, window: int, min_range: float) -> np.ndarray:
    # Block by block, every lead at each sample: the (n, leads) signal is read row by row
    # once, not once per lead; the same ranges, in float64, as lead by lead.
    n, n_leads = x.shape
    bad = np.zeros((n, n_leads), dtype=np.bool_)
    lo = np.empty(n_leads)
    hi = np.empty(n_leads)
    has_nan = np.empty(n_leads, dtype=np.bool_)
    for start in range(0, n, window):
        stop = min(n, start + window)
        lo[:] = np.inf
        hi[:] = -np.inf
        has_nan[:] = False
        for i in range(start, stop):
            for lead in range(n_leads):
                v = x[i, lead]
                if np.isnan(v):
                    has_nan[lead] = True
                    bad[i, lead] = True
                else:
                    lo[lead] = min(lo[lead], v)
                    hi[lead] = max(hi[lead], v)
        for lead in range(n_leads):
            if not has_nan[lead] and hi[lead] - lo[lead] < min_range:
                bad[start:stop, lead] = True
    return bad


def unusable_mask(signal: np.ndarray, fs: float, window_s: float = 0.5,
                  min_range_mv: float = 0.01) -> np.ndarray:
    """Boolean ``(n, leads)``: True where a sample is NaN, or lies in a block of ``window_s``
    seconds whose peak-to-peak range is below ``min_range_mv`` (a flat line: lead off).

    Blocks are laid from sample 0; a block with any NaN flags only its NaN samples.
    """
    x = _as_2d(signal)
    window = max(1, int(round(window_s * fs)))
    return _unusable_core(x, window, float(min_range_mv))


def unusable_mask_reference(signal: np.ndarray, fs: float, window_s: float = 0.5,
                            min_range_mv: float = 0.01) -> np.ndarray:
    """Plain numpy version of :func:`unusable_mask`, for tests."""
    x = _as_2d(signal)
    window = max(1, int(round(window_s * fs)))
    bad = np.isnan(x)
    for start in range(0, len(x), window):
        block = x[start:start + window]
        flat = ~np.isnan(block).any(axis=0) & (np.ptp(block, axis=0) < min_range_mv)
        bad[start:start + window, flat] = True
    return bad


def _as_2d(signal: np.ndarray) -> np.ndarray:
    x = np.asarray(signal, dtype=np.float32)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise ValueError(f"signal must be (n,) or (n, leads), got shape {x.shape}")
    return np.ascontiguousarray(x)
