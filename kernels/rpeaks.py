"""Adaptive multi-lead R-peak detector.

The steps, each a small function with a Numba core and a plain reference:

1. :func:`qrs_feature` — per lead, the band-passed signal's derivative, squared, averaged over
   a short window and square-rooted: a QRS "energy" in signal units that is high for steep,
   narrow complexes and low for P and T waves and baseline wander.
2. :func:`lead_weights` — per block of a few seconds, each lead's QRS level and noise level;
   leads are weighted by their signal-to-noise ratio and scaled to a common level, so a lead that
   goes flat or noisy stops counting and the other carries the detection.
3. :func:`local_peaks` — candidate peaks of the combined feature, one per refractory period.
4. :func:`classify_peaks` — Pan-Tompkins style adaptive signal/noise thresholds with
   search-back for missed beats and T-wave discrimination by slope.
5. :func:`refine_peaks` — each beat moved to the R extremum of the raw signal nearby.

:func:`detect_rpeaks` runs them all. Every time parameter is in seconds; the detector works at
the recording's own rate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from .filters import bandpass_sos, sosfiltfilt
from .quality import unusable_mask


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
    refine_before_s: float = 0.05  # the R extremum is searched from this long before ...
    refine_after_s: float = 0.02  # ... to this long after the feature's peak


# ---------------------------------------------------------------------------------------------
# 1. QRS feature


@numba.njit(cache=True)
def _qrs_feature_core(y: np.ndarray, half: int) -> tuple[np.ndarray, np.ndarray]:
    n, n_leads = y.shape
    feature = np.empty((n, n_leads))
    slope = np.zeros((n, n_leads))
    width = 2 * half + 1
    for lead in range(n_leads):
        for i in range(1, n - 1):
            slope[i, lead] = 0.5 * abs(y[i + 1, lead] - y[i - 1, lead])
        # centred moving average of slope**2 (window clipped at the ends, divided by width)
        acc = 0.0
        for i in range(min(half, n)):
            acc += slope[i, lead] ** 2
        for i in range(n):
            if i + half < n:
                acc += slope[i + half, lead] ** 2
            if i - half - 1 >= 0:
                acc -= slope[i - half - 1, lead] ** 2
            feature[i, lead] = np.sqrt(max(acc, 0.0) / width)
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


# ---------------------------------------------------------------------------------------------
# 2. Lead weighting


def _running_median(values: np.ndarray, size: int) -> np.ndarray:
    """Median over ``size`` neighbouring rows (edges use the nearest rows), per column."""
    half = size // 2
    padded = np.concatenate([np.repeat(values[:1], half, 0), values,
                             np.repeat(values[-1:], half, 0)])
    windows = np.lib.stride_tricks.sliding_window_view(padded, size, axis=0)
    return np.median(windows, axis=-1)


def lead_weights(feature: np.ndarray, unusable: np.ndarray, fs: float, block_s: float,
                 level_blocks: int, min_snr: float,
                 lead_in: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Per-block weight and QRS level of each lead, both ``(n_blocks, leads)``.

    Blocks start ``lead_in`` samples before the first sample, so that a caller can lay the
    same block grid over every chunk of a recording.

    In each block of ``block_s`` seconds a lead's QRS level is the median (over
    ``level_blocks`` neighbouring blocks) of the block maxima of its feature, its noise level
    the median of block medians. Its weight is ``(level / noise - min_snr)**2``, zero where
    more than half the block is unusable; weights sum to one in each block (or are all zero).
    Multiplying the feature by ``weight / level`` puts every lead's QRS near 1 and lets the
    cleanest lead dominate.
    """
    block = max(1, int(round(block_s * fs)))
    maxima, medians, bad_share = _block_stats(np.ascontiguousarray(feature),
                                              np.ascontiguousarray(unusable), block,
                                              int(lead_in), max(1, block // 100))
    size = min(level_blocks, len(maxima)) | 1
    level = _running_median(maxima, size)
    noise = _running_median(medians, size)
    weight = np.clip(level / (noise + 1e-12) - min_snr, 0, None) ** 2
    weight[(bad_share > 0.5) | (level <= 1e-9)] = 0.0
    total = weight.sum(axis=1, keepdims=True)
    weight = np.divide(weight, total, out=np.zeros_like(weight), where=total > 0)
    return weight, level


@numba.njit(cache=True)
def _block_stats(feature: np.ndarray, unusable: np.ndarray, block: int, lead_in: int,
                 step: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per block and lead: the feature's maximum, the median of every ``step``-th sample (the
    feature is smooth over its integration window, so that is the block's median), and the
    share of unusable samples among the block's samples that exist (the first block starts
    ``lead_in`` samples before sample 0, the last may end early)."""
    n, n_leads = feature.shape
    n_blocks = (n + lead_in + block - 1) // block
    maxima = np.zeros((n_blocks, n_leads))
    medians = np.zeros((n_blocks, n_leads))
    bad_share = np.ones((n_blocks, n_leads))
    for b in range(n_blocks):
        lo = max(0, b * block - lead_in)
        hi = min(n, (b + 1) * block - lead_in)
        for lead in range(n_leads):
            top = 0.0
            bad = 0
            for i in range(lo, hi):
                top = max(top, feature[i, lead])
                bad += unusable[i, lead]
            maxima[b, lead] = top
            medians[b, lead] = np.median(feature[lo:hi:step, lead])
            bad_share[b, lead] = bad / (hi - lo)
    return maxima, medians, bad_share


def block_stats_reference(feature: np.ndarray, unusable: np.ndarray, block: int, lead_in: int,
                          step: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Plain numpy version of :func:`_block_stats`, for tests."""
    n, n_leads = feature.shape
    n_blocks = -(-(n + lead_in) // block)
    maxima, medians = np.zeros((n_blocks, n_leads)), np.zeros((n_blocks, n_leads))
    bad_share = np.ones((n_blocks, n_leads))
    for b in range(n_blocks):
        lo, hi = max(0, b * block - lead_in), min(n, (b + 1) * block - lead_in)
        maxima[b] = np.maximum(feature[lo:hi].max(axis=0), 0.0)
        medians[b] = np.median(feature[lo:hi:step], axis=0)
        bad_share[b] = unusable[lo:hi].mean(axis=0)
    return maxima, medians, bad_share


# ---------------------------------------------------------------------------------------------
# 3. Candidate peaks


@numba.njit(cache=True)
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


# ---------------------------------------------------------------------------------------------
# 4. Adaptive thresholds


@numba.njit(cache=True)
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
# 5. Refinement to the R extremum


@numba.njit(cache=True)
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


@numba.njit(cache=True)
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
    x = np.ascontiguousarray(np.nan_to_num(signal), dtype=np.float64)
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
    clean = _zero_unusable(x, unusable)
    low, high = params.band_hz
    filtered = sosfiltfilt(bandpass_sos(low, min(high, 0.45 * fs), fs), clean)
    feature, slope = qrs_feature(filtered, fs, params.integration_s)
    block = max(1, int(round(params.block_s * fs)))
    lead_in = int(offset) % block
    weight, level = lead_weights(feature, unusable, fs, params.block_s, params.level_blocks,
                                 params.min_snr, lead_in)
    combined, combined_slope = combine_leads(feature, slope, weight / (level + 1e-12), block,
                                             lead_in)
    if not combined.any():
        return (none, polarity) if return_polarity else none
    peaks = local_peaks(combined, max(1, int(params.refractory_s * fs)))
    slopes = window_max(combined_slope, peaks, int(0.06 * fs))
    is_beat = classify_peaks(peaks, combined[peaks], slopes, float(fs), params.refractory_s,
                             params.twave_window_s, params.twave_slope_ratio,
                             params.searchback_rr_ratio, params.threshold_fraction)
    beats = peaks[is_beat]
    lead_of_beat = np.argmax(weight, axis=1)[(beats + lead_in) // block]
    refined, polarity = refine_peaks(clean, beats, lead_of_beat,
                                     int(params.refine_before_s * fs),
                                     int(params.refine_after_s * fs), polarity)
    refined = np.unique(refined)
    return (refined, polarity) if return_polarity else refined


@numba.njit(cache=True)
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


@numba.njit(cache=True)
def _zero_unusable(x: np.ndarray, unusable: np.ndarray) -> np.ndarray:
    """float64 copy of ``x`` with unusable (and NaN) samples set to 0."""
    out = np.empty(x.shape)
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            v = x[i, j]
            out[i, j] = 0.0 if unusable[i, j] or np.isnan(v) else v
    return out


@numba.njit(cache=True)
def _combine_leads_core(feature: np.ndarray, slope: np.ndarray, gains: np.ndarray, block: int,
                        lead_in: int) -> tuple[np.ndarray, np.ndarray]:
    n, n_leads = feature.shape
    combined = np.zeros(n)
    combined_slope = np.zeros(n)
    for i in range(n):
        g = (i + lead_in) // block
        for lead in range(n_leads):
            combined[i] += gains[g, lead] * feature[i, lead]
            combined_slope[i] += gains[g, lead] * slope[i, lead]
    return combined, combined_slope


def combine_leads(feature: np.ndarray, slope: np.ndarray, gains: np.ndarray, block: int,
                  lead_in: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Gain-weighted sums over leads of the feature and the slope, both ``(n,)``.

    ``gains`` ``(n_blocks, leads)`` hold one gain per block of ``block`` samples; the first
    block starts ``lead_in`` samples before sample 0 (see :func:`lead_weights`).
    """
    return _combine_leads_core(np.ascontiguousarray(feature), np.ascontiguousarray(slope),
                               np.ascontiguousarray(gains, dtype=np.float64), int(block),
                               int(lead_in))


def combine_leads_reference(feature: np.ndarray, slope: np.ndarray, gains: np.ndarray,
                            block: int, lead_in: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Plain numpy version of :func:`combine_leads`, for tests."""
    per_sample = np.repeat(gains, block, axis=0)[lead_in:lead_in + len(feature)]
    return (feature * per_sample).sum(axis=1), (slope * per_sample).sum(axis=1)
