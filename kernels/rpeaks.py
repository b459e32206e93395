"""Adaptive multi-lead R-peak detector.

The steps, each a small function with a Numba core and a plain reference:

1. :func:`qrs_feature` — per lead, the band-passed signal's derivative, squared, averaged over
   a short window and square-rooted: a QRS "energy" in signal units that is high for steep,
   narrow complexes and low for P and T waves and baseline wander.
2. ``leads.lead_weights`` — per block of a few seconds, each lead's QRS and noise level; leads
   are weighted by signal-to-noise and scaled to a common level, so a lead that goes flat or
   noisy stops counting and the other carries the detection (``kernels/leads.py``); a lead
   that loses its QRS for a few seconds (saturated, recovering) gives way at once.
3. :func:`local_peaks` — candidate peaks of the combined feature, one per refractory period.
4. :func:`classify_peaks` — Pan-Tompkins style adaptive signal/noise thresholds with
   search-back for missed beats and T-wave discrimination by slope.
5. ``refine.refine_peaks`` — each beat moved to the R extremum of the raw signal nearby
   (``kernels/refine.py``).

:func:`detect_rpeaks` runs them all. Every time parameter is in seconds; the detector works at
the recording's own rate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from .filters import bandpass_sos, bandpass_zeroed
from .leads import block_stats_step, weights_from_block_stats
from .quality import unusable_mask
from .refine import refine_peaks_zeroed


@dataclass(frozen=True)
class DetectorParams:
    """Physiological parameters of the detector (seconds, Hz, ratios)."""

    band_hz: tuple[float, float] = (3.0, 20.0)  # QRS pass band
    integration_s: float = 0.10  # moving-average window of the QRS feature
    refractory_s: float = 0.20  # no two beats closer than this
    twave_window_s: float = 0.36  # a peak this soon after a beat may be its T wave
    twave_slope_ratio: float = 0.5  # ... and is, when its slope is below this share of the beat's
    searchback_rr_ratio: float = 1.66  # search back when no beat for this many mean RR
    threshold_fraction: float = 0.3  # threshold between noise level (0) and signal level (1)
    block_s: float = 2.5  # blocks in which lead levels are measured
    level_blocks: int = 5  # median over this many blocks gives a lead's QRS and noise level
    min_snr: float = 1.0  # a lead whose QRS/noise ratio is at or below this gets no weight
    #: a lead whose QRS feature in a block stays under this share of its level has lost its QRS
    #: there and gives way to the others (leave-one-record-out on DS1 + paced: 77 -> 65 missed)
    lost_qrs_ratio: float = 0.5
    refine_before_s: float = 0.05  # the R extremum is searched from this long before ...
    refine_after_s: float = 0.02  # ... to this long after the feature's peak


# ---------------------------------------------------------------------------------------------
# 1. QRS feature


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
    no slope array (each slope is recomputed where needed), lead by lead with the running sum
    in a register, each block's statistics gathered as its feature is made (one lead of a
    24-hour recording: 3x faster than the two kernels)."""
    n, n_leads = y.shape
    feature = np.empty((n, n_leads))
    n_blocks = (n + lead_in + block - 1) // block
    maxima = np.zeros((n_blocks, n_leads))
    medians = np.zeros((n_blocks, n_leads))
    bad_share = np.ones((n_blocks, n_leads))
    sampled = np.empty(block // step + 1)
    width = 2 * half + 1
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


# ---------------------------------------------------------------------------------------------
# 2. Candidate peaks


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


# ---------------------------------------------------------------------------------------------
# 3. Adaptive thresholds


@numba.njit(cache=True, nogil=True)
def classify_peaks(peaks: np.ndarray, heights: np.ndarray, slopes: np.ndarray, fs: float,
                   refractory_s: float, twave_window_s: float, twave_slope_ratio: float,
                   searchback_rr_ratio: float, threshold_fraction: float) -> np.ndarray:
    """Which candidate ``peaks`` (ascending sample indices, with their feature ``heights`` and
    QRS ``slopes``) are beats: a boolean mask.

    Pan-Tompkins logic: running signal and noise peak levels (SPK, NPK; initialised from the
    first 2 s), threshold ``NPK + threshold_fraction * (SPK - NPK)``; a peak within
    ``twave_window_s`` of the last beat whose slope is under ``twave_slope_ratio`` of that
    beat's is a T wave; when no beat came for ``searchback_rr_ratio`` times the mean of the last
    8 RR intervals, the largest skipped peak above half the threshold becomes a beat.
    """
    n = peaks.shape[0]
    is_beat = np.zeros(n, dtype=np.bool_)
    if n == 0:
        return is_beat
    init_stop = int(2 * fs)
    top = 0.0
    total = 0.0
    count = 0
    for i in range(n):
        if peaks[i] < init_stop:
            v = heights[i]
            top = max(top, v)
            total += v
            count += 1
    if count == 0:
        top = heights[0]
        total = top
        count = 1
    spk = 0.5 * top
    npk = 0.5 * total / count
    thr = npk + threshold_fraction * (spk - npk)
    rr = np.full(8, 0.8 * fs)
    n_rr = 0
    last = -1
    last_slope = 0.0
    refractory = int(refractory_s * fs)
    twave = int(twave_window_s * fs)
    i = 0
    while i < n:
        p = peaks[i]
        v = heights[i]
        if last >= 0 and p - last > searchback_rr_ratio * rr.mean():
            best = -1
            best_v = 0.0
            for j in range(i - 1, -1, -1):
                q = peaks[j]
                if q <= last + refractory:
                    break
                if not is_beat[j] and heights[j] > 0.5 * thr and heights[j] > best_v:
                    best_v = heights[j]
                    best = j
            if best >= 0:
                is_beat[best] = True
                q = peaks[best]
                rr[n_rr % 8] = q - last
                n_rr += 1
                last = q
                last_slope = slopes[best]
                spk = 0.25 * best_v + 0.75 * spk
                thr = npk + threshold_fraction * (spk - npk)
                continue  # judge peak i again, against the beat just found
        if v > thr and (last < 0 or p - last > refractory):
            if last >= 0 and p - last < twave and slopes[i] < twave_slope_ratio * last_slope:
                npk = 0.125 * v + 0.875 * npk
            else:
                is_beat[i] = True
                if last >= 0:
                    rr[n_rr % 8] = p - last
                    n_rr += 1
                last = p
                last_slope = slopes[i]
                spk = 0.125 * v + 0.875 * spk
        else:
            npk = 0.125 * v + 0.875 * npk
        thr = npk + threshold_fraction * (spk - npk)
        i += 1
    return is_beat


# ---------------------------------------------------------------------------------------------
# The whole detector


def detect_rpeaks(signal: np.ndarray, fs: float, params: DetectorParams | None = None,
                  unusable: np.ndarray | None = None, offset: int = 0,
                  polarity: np.ndarray | None = None,
                  return_polarity: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """R-peak sample indices (ascending int64) of ``signal`` ``(n,)`` or ``(n, leads)`` in mV.

    ``unusable`` ``(n, leads)`` marks samples to ignore (NaN, lead off); computed with
    :func:`ecgtk.kernels.quality.unusable_mask` when not given.

    For chunks of a long recording: ``offset`` is the index of the chunk's first sample in the
    recording, so lead levels are measured on the recording's block grid; ``polarity`` (one
    +1/-1 per lead, as returned with ``return_polarity=True`` for an earlier chunk) keeps every
    chunk's beats aligned on the same wave.
    """
    params = params or DetectorParams()
    x = np.asarray(signal, dtype=np.float32)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[1] == 0:
        raise ValueError(f"signal must be (n,) or (n, leads), got shape {np.shape(signal)}")
    if not fs > 0:
        raise ValueError(f"fs must be positive, got {fs}")
    if unusable is None:
        unusable = unusable_mask(x, fs)
    if unusable.shape != x.shape:
        raise ValueError(f"unusable mask shape {unusable.shape} != signal shape {x.shape}")
    n = len(x)
    none = np.empty(0, dtype=np.int64)
    if n < int(fs):  # less than a second: no beat can be told from noise
        return (none, polarity) if return_polarity else none
    # The steps of the module docstring, fused where a whole-recording array can be spared
    # (each fused kernel gives its parts' results bit for bit; tests/kernels/test_rpeaks.py):
    # the zeroed signal is made inside the filter's buffer, the slope is recomputed where it is
    # needed, the combined feature is made tile by tile while peaks are sought.
    low, high = params.band_hz
    filtered = bandpass_zeroed(bandpass_sos(low, min(high, 0.45 * fs), fs), x, unusable)
    block = max(1, int(round(params.block_s * fs)))
    lead_in = int(offset) % block
    feature, *stats = _qrs_feature_and_block_stats(
        filtered, unusable, max(1, int(round(params.integration_s * fs / 2))), block, lead_in,
        block_stats_step(block))
    weight, level = weights_from_block_stats(*stats, params.level_blocks, params.min_snr,
                                             params.lost_qrs_ratio)
    gains = np.ascontiguousarray(weight / (level + 1e-12), dtype=np.float64)
    peaks, heights, nonzero = _combined_peaks(feature, gains, block, lead_in,
                                              max(1, int(params.refractory_s * fs)))
    if not nonzero:
        return (none, polarity) if return_polarity else none
    slopes = _peak_slopes(filtered, gains, block, lead_in, peaks, int(0.06 * fs))
    is_beat = classify_peaks(peaks, heights, slopes, float(fs), params.refractory_s,
                             params.twave_window_s, params.twave_slope_ratio,
                             params.searchback_rr_ratio, params.threshold_fraction)
    beats = peaks[is_beat]
    lead_of_beat = np.argmax(weight, axis=1)[(beats + lead_in) // block]
    refined, polarity = refine_peaks_zeroed(x, unusable, beats, lead_of_beat,
                                            int(params.refine_before_s * fs),
                                            int(params.refine_after_s * fs), polarity)
    refined = np.unique(refined)
    return (refined, polarity) if return_polarity else refined


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


@numba.njit(cache=True, nogil=True)
def _zero_unusable(x: np.ndarray, unusable: np.ndarray) -> np.ndarray:
    """float64 copy of ``x`` with unusable (and NaN) samples set to 0."""
    out = np.empty(x.shape)
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            v = x[i, j]
            out[i, j] = 0.0 if unusable[i, j] or np.isnan(v) else v
    return out
