"""Model-input normalisation: windows in units of the recording's typical QRS amplitude.

Both models see each window with its per-lead median removed (baseline) and divided by the
lead's QRS scale: the median peak-to-peak amplitude of the recording's beats. Amplitude stays
comparable between a patient's beats (a ventricular beat is often larger than a normal one), but
not between patients or recorders, whose gains differ.
"""

from __future__ import annotations

import warnings

import numba
import numpy as np


def qrs_scale(signal: np.ndarray, beats: np.ndarray, half_width: int,
              floor: float = 0.05) -> np.ndarray:
    """Per lead, the median peak-to-peak amplitude (signal units) within ``half_width``
    samples of each beat; at least ``floor`` (so a flat lead does not blow up). ``(leads,)``."""
    x = np.asarray(signal, dtype=np.float32)
    x = x[:, None] if x.ndim == 1 else x
    beats = np.asarray(beats, dtype=np.int64)
    beats = beats[(beats >= 0) & (beats < len(x))]
    if len(beats) == 0:
        return np.full(x.shape[1], 1.0, dtype=np.float32)
    ptp = _ptp_around(np.ascontiguousarray(x), beats, int(half_width))
    return np.maximum(np.nanmedian(ptp, axis=0), floor).astype(np.float32)


@numba.njit(cache=True, nogil=True)
def _ptp_around(x: np.ndarray, beats: np.ndarray, half: int) -> np.ndarray:
    n, n_leads = x.shape
    out = np.empty((beats.shape[0], n_leads), dtype=np.float32)
    for b in range(beats.shape[0]):
        lo, hi = max(0, beats[b] - half), min(n, beats[b] + half + 1)
        for lead in range(n_leads):
            top, bottom = -np.inf, np.inf
            for i in range(lo, hi):
                v = x[i, lead]
                if not np.isnan(v):
                    top = max(top, v)
                    bottom = min(bottom, v)
            out[b, lead] = top - bottom if top >= bottom else np.nan
    return out


@numba.njit(cache=True, nogil=True)
def _normalise_core(windows: np.ndarray, scale: np.ndarray, clip: float) -> np.ndarray:
    n, length, channels = windows.shape
    out = np.empty_like(windows)
    for w in range(n):
        for c in range(channels):
            centre = np.nanmedian(windows[w, :, c]) if length else 0.0
            if np.isnan(centre):
                centre = 0.0
            for i in range(length):
                v = (windows[w, i, c] - centre) / scale[c]
                if np.isnan(v):
                    v = 0.0
                out[w, i, c] = min(max(v, -clip), clip)
    return out


def normalise_windows(windows: np.ndarray, scale: np.ndarray, clip: float = 20.0) -> np.ndarray:
    """``(windows - per-window, per-lead median) / scale``, NaN -> 0, clipped to ``+-clip``.

    ``windows`` float32 ``(n, L, leads)``, ``scale`` ``(leads,)`` from :func:`qrs_scale`.
    """
    windows = np.ascontiguousarray(windows, dtype=np.float32)
    scale = np.asarray(scale, dtype=np.float32)
    if windows.ndim != 3 or scale.shape != (windows.shape[2],):
        raise ValueError(f"windows {windows.shape} and scale {scale.shape} do not fit")
    if not (scale > 0).all():
        raise ValueError("scale must be positive")
    return _normalise_core(windows, scale, np.float32(clip))


def normalise_windows_reference(windows: np.ndarray, scale: np.ndarray,
                                clip: float = 20.0) -> np.ndarray:
    """Plain numpy version of :func:`normalise_windows`, for tests."""
    windows = np.asarray(windows, dtype=np.float32)
    with warnings.catch_warnings():  # an all-NaN window has no median: centre it at 0
        warnings.simplefilter("ignore", RuntimeWarning)
        centre = np.nan_to_num(np.nanmedian(windows, axis=1, keepdims=True))
    out = np.nan_to_num((windows - centre) / np.asarray(scale, np.float32))
    return np.clip(out, -clip, clip).astype(np.float32)
