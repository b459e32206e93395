"""Peak search of the R-peak detector (step 3 of :mod:`ecgtk.kernels.rpeaks`).

:func:`local_peaks`: candidate peaks of a feature, one per refractory period (with a plain
reference). The detector runs :func:`_combined_peaks`, which finds the same peaks of the
leads' gain-weighted combined feature a tile at a time without building it whole, and
:func:`_peak_slopes`, the combined slope's maximum around each peak (:func:`window_max` of it).
Tests compare each fused kernel with the plain kernels, bit for bit.
"""

from __future__ import annotations

import numba
import numpy as np

from .qrs_feature import _slope_at


@numba.njit(cache=True, nogil=True)
def _local_peaks_core(f: np.ndarray, distance: int) -> np.ndarray:
    n = f.shape[0]
    out = np.empty(max(16, n // max(distance, 1) + 16), dtype=np.int64)
    k = 0
    for i in range(1, n - 1):
        if not (f[i] > f[i - 1] and f[i] >= f[i + 1]):
            continue
        is_peak = True
        for j in range(max(0, i - distance), min(n, i + distance + 1)):
            if f[j] > f[i] or (f[j] == f[i] and j < i):
                is_peak = False
                break
        if is_peak:
            if k == out.shape[0]:
                grown = np.empty(2 * k, dtype=np.int64)
                grown[:k] = out
                out = grown
            out[k] = i
            k += 1
    return out[:k]



def local_peaks(f: np.ndarray, distance: int) -> np.ndarray:
    """Indices of strict local maxima of ``f`` that are the largest within ``distance``
    samples on either side (ties go to the earliest sample), ascending int64."""
    if distance < 1:
        raise ValueError(f"distance must be >= 1 sample, got {distance}")
    return _local_peaks_core(np.ascontiguousarray(f, dtype=np.float64), int(distance))



def local_peaks_reference(f: np.ndarray, distance: int) -> np.ndarray:
    """Plain numpy version of :func:`local_peaks`, for tests."""
    f = np.asarray(f, dtype=np.float64)
    found = []
    for i in range(1, len(f) - 1):
        if f[i] > f[i - 1] and f[i] >= f[i + 1]:
            lo, hi = max(0, i - distance), min(len(f), i + distance + 1)
            window = f[lo:hi]
            if window.max() <= f[i] and not (f[lo:i] == f[i]).any():
                found.append(i)
    return np.array(found, dtype=np.int64)



@numba.njit(cache=True, nogil=True)
def _combined_peaks(feature: np.ndarray, gains: np.ndarray, block: int, lead_in: int,
                    distance: int) -> tuple[np.ndarray, np.ndarray, bool]:
    """``local_peaks(combined, distance)``, ``combined[peaks]`` and ``combined.any()`` for
    ``combined = combine_leads(feature, ., gains, block, lead_in)[0]``, bit for bit, the
    combined feature made tile by tile in a small buffer instead of a whole-recording array.

    A local maximum is tested against the other local maxima within ``distance`` and the
    window's two end samples only: the earliest maximum of a window's part left or right of
    the candidate is one of those (it rises from its left neighbour and is not below its
    right one), so the answer is that of :func:`local_peaks`, which reads every sample of the
    window (10x as many comparisons on a Holter feature). A tile holding a NaN (inputs with
    infinities) is searched as :func:`local_peaks` does, where that argument fails.
    """
    n, n_leads = feature.shape
    tile = 1 << 15
    buf = np.empty(tile + 2 * distance + 2)
    cand = np.empty(tile // 2 + distance + 3, dtype=np.int64)
    out = np.empty(max(16, n // max(distance, 1) + 16), dtype=np.int64)
    heights = np.empty(out.shape[0])
    k = 0
    nonzero = False
    for t0 in range(0, n, tile):
        t1 = min(n, t0 + tile)
        lo = max(0, t0 - distance - 1)
        hi = min(n, t1 + distance + 1)
        j = lo
        while j < hi:  # block by block, so the gains stay put in the inner loops
            g = (j + lead_in) // block
            stop = min(hi, (g + 1) * block - lead_in)
            for jj in range(j, stop):
                buf[jj - lo] = 0.0
            for lead in range(n_leads):
                gain = gains[g, lead]
                for jj in range(j, stop):
                    buf[jj - lo] += gain * feature[jj, lead]
            j = stop
        has_nan = False
        for j in range(t0 - lo, t1 - lo):
            nonzero |= buf[j] != 0
        for j in range(hi - lo):
            has_nan |= np.isnan(buf[j])
        # local maxima of the buffer, as buffer offsets
        m = 0
        for j in range(max(1, lo) - lo, min(hi, n - 1) - lo):
            cand[m] = j  # kept when a local maximum: no branch to mispredict
            m += (buf[j] > buf[j - 1]) & (buf[j] >= buf[j + 1])
        for c in range(m):
            i = cand[c] + lo
            if i < t0 or i >= t1:
                continue
            f_i = buf[i - lo]
            a = max(0, i - distance) - lo
            b = min(n - 1, i + distance) - lo
            if has_nan:
                is_peak = True
                for j in range(a, b + 1):
                    if buf[j] > f_i or (buf[j] == f_i and j < i - lo):
                        is_peak = False
                        break
            else:
                is_peak = not (buf[a] >= f_i or buf[b] > f_i)
                e = c - 1
                while is_peak and e >= 0 and cand[e] > a:
                    is_peak = buf[cand[e]] < f_i
                    e -= 1
                e = c + 1
                while is_peak and e < m and cand[e] < b:
                    is_peak = buf[cand[e]] <= f_i
                    e += 1
            if is_peak:
                if k == out.shape[0]:
                    grown = np.empty(2 * k, dtype=np.int64)
                    grown[:k] = out
                    out = grown
                    grown_h = np.empty(2 * k)
                    grown_h[:k] = heights
                    heights = grown_h
                out[k] = i
                heights[k] = f_i
                k += 1
    return out[:k].copy(), heights[:k].copy(), nonzero



@numba.njit(cache=True, nogil=True)
def _peak_slopes(y: np.ndarray, gains: np.ndarray, block: int, lead_in: int,
                 centres: np.ndarray, half: int) -> np.ndarray:
    """``window_max(combined_slope, centres, half)`` for ``combined_slope`` the gain-weighted
    sum of :func:`qrs_feature`'s slope of ``y`` (as :func:`combine_leads` makes it), bit for
    bit, computed only in the windows."""
    n, n_leads = y.shape
    out = np.empty(centres.shape[0])
    for k in range(centres.shape[0]):
        c = centres[k]
        m = -np.inf
        j0 = max(0, c - half)
        g = (j0 + lead_in) // block
        g_end = (g + 1) * block - lead_in  # first sample of the next block
        for j in range(j0, min(n, c + half + 1)):
            if j == g_end:
                g += 1
                g_end += block
            s = 0.0
            for lead in range(n_leads):
                s += gains[g, lead] * _slope_at(y, j, lead)
            m = max(m, s)
        out[k] = m
    return out



@numba.njit(cache=True, nogil=True)
def window_max(x: np.ndarray, centres: np.ndarray, half: int) -> np.ndarray:
    """Maximum of ``x`` over ``centre +- half`` samples, for each of ``centres``."""
    n = x.shape[0]
    out = np.empty(centres.shape[0])
    for k in range(centres.shape[0]):
        c = centres[k]
        m = -np.inf
        for j in range(max(0, c - half), min(n, c + half + 1)):
            m = max(m, x[j])
        out[k] = m
    return out
