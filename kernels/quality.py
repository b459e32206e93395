"""Flags for stretches of a lead that carry no ECG: NaN samples and flat lines (lead off)."""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def _unusable_core(x: np.ndarray, window: int, min_range: float) -> np.ndarray:
    # Block by block, every lead at each sample: the (n, leads) signal is read row by row
    # once (12 leads at 1 kHz: 2x faster than lead by lead).
    n, n_leads = x.shape
    bad = np.zeros((n, n_leads), dtype=np.bool_)
    lo = np.empty(n_leads)  # float64, as the scalars lead by lead were: the same ranges
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
