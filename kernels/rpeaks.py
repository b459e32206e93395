"""Adaptive multi-lead R-peak detector.

The steps, each a small function with a Numba core and a plain reference:

1. ``qrs_feature.qrs_feature`` — per lead, the band-passed signal's derivative, squared,
   averaged over a short window and square-rooted: a QRS "energy" in signal units that is
   high for steep, narrow complexes and low for P and T waves and baseline wander.
2. ``leads.lead_weights`` — per block of a few seconds, each lead's QRS and noise level; leads
   are weighted by signal-to-noise and scaled to a common level, so a lead that goes flat or
   noisy stops counting and the other carries the detection (``kernels/leads.py``); a lead
   that loses its QRS for a few seconds (saturated, recovering) gives way at once.
3. ``peaks.local_peaks`` — candidate peaks of the combined feature, one per refractory period.
4. :func:`classify_peaks` — Pan-Tompkins style adaptive signal/noise thresholds with
   search-back for missed beats and T-wave discrimination by slope.
5. ``refine.refine_peaks`` — each beat moved to the R extremum of the raw signal nearby
   (``kernels/refine.py``).

:func:`detect_rpeaks` runs them all; :func:`detect_with_confidence` also says how sure the
detector is of each beat (its height over the adaptive threshold, the leads' agreement). Every
time parameter is in seconds; the detector works at the recording's own rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numba
import numpy as np

from .filters import bandpass_sos, bandpass_zeroed
from .leads import block_stats_step, lead_agreement, weights_from_block_stats
from .peaks import _combined_peaks, _peak_slopes
from .qrs_feature import _qrs_feature_and_block_stats
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


#: Half-width (seconds) of the window in which each lead's own QRS feature is read for
#: :func:`detect_with_confidence`'s lead agreement.
AGREEMENT_HALF_S = 0.05


# ---------------------------------------------------------------------------------------------
# 1. QRS feature


# ---------------------------------------------------------------------------------------------
# 2. Candidate peaks


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
    return classify_peaks_with_ratio(peaks, heights, slopes, fs, refractory_s, twave_window_s,
                                     twave_slope_ratio, searchback_rr_ratio,
                                     threshold_fraction)[0]


@numba.njit(cache=True, nogil=True)
def classify_peaks_with_ratio(peaks: np.ndarray, heights: np.ndarray, slopes: np.ndarray,
                              fs: float, refractory_s: float, twave_window_s: float,
                              twave_slope_ratio: float, searchback_rr_ratio: float,
                              threshold_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """:func:`classify_peaks`' mask and, per peak, its height over the threshold it was
    accepted against (0 for peaks that are not beats and for beats found by search-back): how
    sure the detector is of each beat (:func:`detect_with_confidence`)."""
    n = peaks.shape[0]
    is_beat = np.zeros(n, dtype=np.bool_)
    ratio = np.zeros(n)
    if n == 0:
        return is_beat, ratio
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
                ratio[best] = 0.0
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
                ratio[i] = v / thr if thr > 0 else 0.0
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
    return is_beat, ratio


# ---------------------------------------------------------------------------------------------
# The whole detector


def detect_rpeaks(signal: np.ndarray, fs: float, params: DetectorParams | None = None,
                  unusable: np.ndarray | None = None, offset: int = 0,
                  polarity: np.ndarray | None = None,
                  return_polarity: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """R-peak sample indices (ascending int64) of ``signal`` ``(n,)`` or ``(n, leads)`` in mV.

    ``unusable`` ``(n, leads)`` marks samples to ignore (NaN, lead off, a lead clipped at its
    limit); computed with :func:`ecgtk.kernels.quality.unusable_mask` when not given.

    For chunks of a long recording: ``offset`` is the index of the chunk's first sample in the
    recording, so lead levels are measured on the recording's block grid; ``polarity`` (one
    +1/-1 per lead, as returned with ``return_polarity=True`` for an earlier chunk) keeps every
    chunk's beats aligned on the same wave.
    """
    found = detect_with_confidence(signal, fs, params, unusable, offset, polarity,
                                   agreement=False)
    return (found.beats, found.polarity) if return_polarity else found.beats


class Detected(NamedTuple):
    """:func:`detect_with_confidence`'s answer: the beats and how sure the detector is of each."""

    beats: np.ndarray  # int64 R-peak indices, ascending (those of detect_rpeaks)
    polarity: np.ndarray | None  # +1/-1 per lead, for the next chunk
    #: float64 per beat: the combined feature's height over the adaptive threshold it was
    #: accepted against (0: found by search-back)
    ratio: np.ndarray
    #: float64 per beat: the weakest weighted lead's own QRS feature around the beat in units
    #: of its block level (:func:`ecgtk.kernels.leads.lead_agreement`); empty when not asked
    agreement: np.ndarray


def detect_with_confidence(signal: np.ndarray, fs: float, params: DetectorParams | None = None,
                           unusable: np.ndarray | None = None, offset: int = 0,
                           polarity: np.ndarray | None = None,
                           agreement: bool = True) -> Detected:
    """:func:`detect_rpeaks` (the same arguments) with each beat's ``ratio`` and, when
    ``agreement``, its lead ``agreement`` (:class:`Detected`): how sure the detector is of it
    (issue 38: research/sure_beats.py measured sparing model 1 the sure ones; not kept)."""
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
    none = Detected(np.empty(0, dtype=np.int64), polarity, np.empty(0), np.empty(0))
    if n < int(fs):  # less than a second: no beat can be told from noise
        return none
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
        return none
    slopes = _peak_slopes(filtered, gains, block, lead_in, peaks, int(0.06 * fs))
    is_beat, ratio = classify_peaks_with_ratio(
        peaks, heights, slopes, float(fs), params.refractory_s, params.twave_window_s,
        params.twave_slope_ratio, params.searchback_rr_ratio, params.threshold_fraction)
    beats = peaks[is_beat]
    agrees = (lead_agreement(feature, np.ascontiguousarray(weight), np.ascontiguousarray(level),
                             beats, block, lead_in, int(AGREEMENT_HALF_S * fs))
              if agreement else None)
    lead_of_beat = np.argmax(weight, axis=1)[(beats + lead_in) // block]
    refined, polarity = refine_peaks_zeroed(x, unusable, beats, lead_of_beat,
                                            int(params.refine_before_s * fs),
                                            int(params.refine_after_s * fs), polarity)
    refined, first = np.unique(refined, return_index=True)  # two beats refined onto one: once
    return Detected(refined, polarity, ratio[is_beat][first],
                    agrees[first] if agrees is not None else np.empty(0))


@numba.njit(cache=True, nogil=True)
def _zero_unusable(x: np.ndarray, unusable: np.ndarray) -> np.ndarray:
    """float64 copy of ``x`` with unusable (and NaN) samples set to 0."""
    out = np.empty(x.shape)
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            v = x[i, j]
            out[i, j] = 0.0 if unusable[i, j] or np.isnan(v) else v
    return out
