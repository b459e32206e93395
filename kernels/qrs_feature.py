"""The QRS feature of the R-peak detector (step 1 of :mod:`ecgtk.kernels.rpeaks`).

Per lead, the band-passed signal's derivative, squared, averaged over a short window and
square-rooted: a QRS "energy" in signal units that is high for steep, narrow complexes and low
for P and T waves and baseline wander. :func:`qrs_feature` has a plain reference; the detector
runs :func:`_qrs_feature_and_block_stats`, the same numbers fused with the per-block lead
statistics of ``leads.lead_weights``, bit for bit (tests compare them).
"""

from __future__ import annotations

import numba
import numpy as np

#: Up to this many leads the feature is made lead by lead, beyond it row by row (measured on
#: 10-minute chunks: python -m benchmarks.bench_lead_layout).
LEAD_BY_LEAD_UP_TO = 2


@numba.njit(cache=True, nogil=True)
def _qrs_feature_core(y: np.ndarray, half: int) -> tuple[np.ndarray, np.ndarray]:
    # Samples in the outer loop, leads in the inner one: the arrays are (n, leads) row-major,
    # so every pass reads memory in order (3.1x faster on 12 leads than lead by lead). Each
    # lead's running sum sees the same operations in the same order either way.
    n, n_leads = y.shape
    feature = np.empty((n, n_leads))
    slope = np.zeros((n, n_leads))
    width = 2 * half + 1
    for i in range(1, n - 1):
        for lead in range(n_leads):
            slope[i, lead] = 0.5 * abs(y[i + 1, lead] - y[i - 1, lead])
    # centred moving average of slope**2 (window clipped at the ends, divided by width)
    acc = np.zeros(n_leads)
    for i in range(min(half, n)):
        for lead in range(n_leads):
            acc[lead] += slope[i, lead] ** 2
    for i in range(n):
        for lead in range(n_leads):
            if i + half < n:
                acc[lead] += slope[i + half, lead] ** 2
            if i - half - 1 >= 0:
                acc[lead] -= slope[i - half - 1, lead] ** 2
            feature[i, lead] = np.sqrt(max(acc[lead], 0.0) / width)
    return feature, slope



def qrs_feature(filtered: np.ndarray, fs: float, integration_s: float) -> tuple[np.ndarray,
                                                                                  np.ndarray]:
    """QRS feature and absolute slope of band-passed leads ``(n, leads)``, both ``(n, leads)``.

    ``slope[i] = |y[i+1] - y[i-1]| / 2`` (signal units per sample) and
    ``feature[i] = sqrt(mean(slope**2 over i +- integration_s / 2))``.
    """
    y = np.ascontiguousarray(filtered, dtype=np.float64)
    half = max(1, int(round(integration_s * fs / 2)))
    return _qrs_feature_core(y, half)



def qrs_feature_reference(filtered: np.ndarray, fs: float,
                          integration_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Plain numpy version of :func:`qrs_feature`, for tests."""
    y = np.asarray(filtered, dtype=np.float64)
    half = max(1, int(round(integration_s * fs / 2)))
    slope = np.zeros_like(y)
    slope[1:-1] = 0.5 * np.abs(y[2:] - y[:-2])
    csum = np.vstack([np.zeros((1, y.shape[1])), np.cumsum(slope**2, axis=0)])
    idx = np.arange(len(y))
    lo = np.clip(idx - half, 0, len(y))
    hi = np.clip(idx + half + 1, 0, len(y))
    return np.sqrt(np.maximum(csum[hi] - csum[lo], 0) / (2 * half + 1)), slope



@numba.njit(cache=True, nogil=True, inline="always")
def _slope_at(y: np.ndarray, i: int, lead: int) -> float:
    n = y.shape[0]
    if i < 1 or i > n - 2:
        return 0.0
    return 0.5 * abs(y[i + 1, lead] - y[i - 1, lead])



@numba.njit(cache=True, nogil=True)
def _qrs_feature_and_block_stats(
        y: np.ndarray, unusable: np.ndarray, half: int, block: int, lead_in: int,
        step: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``qrs_feature(y, ...)[0]`` and ``leads._block_stats`` of it, bit for bit, in one pass:
    no slope array (each slope is recomputed where needed), each block's statistics gathered
    as its feature is made. Up to ``LEAD_BY_LEAD_UP_TO`` leads: :func:`_feature_lead_by_lead`
    (the running sum in a register; one lead 3x faster than the two kernels); more:
    :func:`_feature_row_by_row`."""
    if y.shape[1] <= LEAD_BY_LEAD_UP_TO:
        return _feature_lead_by_lead(y, unusable, half, block, lead_in, step)
    return _feature_row_by_row(y, unusable, half, block, lead_in, step)


@numba.njit(cache=True, nogil=True, inline="always")
def _outputs(n: int, n_leads: int, block: int, lead_in: int, step: int) -> tuple:
    """The feature ``(n, leads)``, the per-block maxima, medians and unusable shares
    ``(blocks, leads)``, and a buffer for one block's sampled feature values."""
    n_blocks = (n + lead_in + block - 1) // block
    return (np.empty((n, n_leads)), np.zeros((n_blocks, n_leads)),
            np.zeros((n_blocks, n_leads)), np.ones((n_blocks, n_leads)),
            np.empty(block // step + 1))


@numba.njit(cache=True, nogil=True)
def _feature_row_by_row(
        y: np.ndarray, unusable: np.ndarray, half: int, block: int, lead_in: int,
        step: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_feature_lead_by_lead` with every lead at each sample: each lead's running sum
    sees the same operations in the same order (the same numbers bit for bit), and the
    ``(n, leads)`` arrays are read row by row once, not once per lead (12 leads at 1 kHz:
    2.5x faster; two leads at 360 Hz: 15 % slower)."""
    n, n_leads = y.shape
    feature, maxima, medians, bad_share, sampled = _outputs(n, n_leads, block, lead_in, step)
    n_blocks, width = len(maxima), 2 * half + 1
    acc = np.zeros(n_leads)
    top = np.empty(n_leads)
    bad = np.empty(n_leads, dtype=np.int64)
    for i in range(min(half, n)):
        for lead in range(n_leads):
            acc[lead] += _slope_at(y, i, lead) ** 2
    for b in range(n_blocks):
        lo = max(0, b * block - lead_in)
        hi = min(n, (b + 1) * block - lead_in)
        top[:] = 0.0
        bad[:] = 0
        inside = lo - half - 1 >= 1 and hi - 1 + half <= n - 2  # no end to watch for
        for i in range(lo, hi):
            for lead in range(n_leads):
                a = acc[lead]
                if inside:
                    a += (0.5 * abs(y[i + half + 1, lead] - y[i + half - 1, lead])) ** 2
                    a -= (0.5 * abs(y[i - half, lead] - y[i - half - 2, lead])) ** 2
                else:
                    if i + half < n:
                        a += _slope_at(y, i + half, lead) ** 2
                    if i - half - 1 >= 0:
                        a -= _slope_at(y, i - half - 1, lead) ** 2
                acc[lead] = a
                f = np.sqrt(max(a, 0.0) / width)
                feature[i, lead] = f
                top[lead] = max(top[lead], f)
                bad[lead] += unusable[i, lead]
        for lead in range(n_leads):
            m = 0
            for i in range(lo, hi, step):
                sampled[m] = feature[i, lead]
                m += 1
            maxima[b, lead] = top[lead]
            medians[b, lead] = np.median(sampled[:m])
            bad_share[b, lead] = bad[lead] / (hi - lo)
    return feature, maxima, medians, bad_share


@numba.njit(cache=True, nogil=True)
def _feature_lead_by_lead(
        y: np.ndarray, unusable: np.ndarray, half: int, block: int, lead_in: int,
        step: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_qrs_feature_and_block_stats` lead by lead, the running sum in a register."""
    n, n_leads = y.shape
    feature, maxima, medians, bad_share, sampled = _outputs(n, n_leads, block, lead_in, step)
    n_blocks, width = len(maxima), 2 * half + 1
    for lead in range(n_leads):
        acc = 0.0
        for i in range(min(half, n)):
            acc += _slope_at(y, i, lead) ** 2
        for b in range(n_blocks):
            lo = max(0, b * block - lead_in)
            hi = min(n, (b + 1) * block - lead_in)
            top = 0.0
            m = 0
            if lo - half - 1 >= 1 and hi - 1 + half <= n - 2:
                # inside the signal: no end to watch for (the same operations, faster)
                for i in range(lo, hi):
                    acc += (0.5 * abs(y[i + half + 1, lead] - y[i + half - 1, lead])) ** 2
                    acc -= (0.5 * abs(y[i - half, lead] - y[i - half - 2, lead])) ** 2
                    f = np.sqrt(max(acc, 0.0) / width)
                    feature[i, lead] = f
                    top = max(top, f)
            else:
                for i in range(lo, hi):
                    if i + half < n:
                        acc += _slope_at(y, i + half, lead) ** 2
                    if i - half - 1 >= 0:
                        acc -= _slope_at(y, i - half - 1, lead) ** 2
                    f = np.sqrt(max(acc, 0.0) / width)
                    feature[i, lead] = f
                    top = max(top, f)
            for i in range(lo, hi, step):
                sampled[m] = feature[i, lead]
                m += 1
            bad = 0
            for i in range(lo, hi):
                bad += unusable[i, lead]
            maxima[b, lead] = top
            medians[b, lead] = np.median(sampled[:m])
            bad_share[b, lead] = bad / (hi - lo)
    return feature, maxima, medians, bad_share
