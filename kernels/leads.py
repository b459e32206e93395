"""Lead weighting for the R-peak detector: which lead to trust, block by block.

In each block of a few seconds every lead's QRS level and noise level are measured on its QRS
feature; leads are weighted by their signal-to-noise ratio and scaled to a common level, so a
lead that goes flat or noisy stops counting and the other carries the detection.
"""

from __future__ import annotations

import numba
import numpy as np

from ecgtk.kernels.medians import running_median


def lead_weights(feature: np.ndarray, unusable: np.ndarray, fs: float, block_s: float,
                 level_blocks: int, min_snr: float,
                 lead_in: int = 0, lost_qrs_ratio: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Per-block weight and QRS level of each lead, both ``(n_blocks, leads)``.

    Blocks start ``lead_in`` samples before the first sample, so that a caller can lay the
    same block grid over every chunk of a recording.

    In each block of ``block_s`` seconds a lead's QRS level is the median (over
    ``level_blocks`` neighbouring blocks) of the block maxima of its feature, its noise level
    the median of block medians. Its weight is ``(level / noise - min_snr)**2``, zero where
    more than half the block is unusable; weights sum to one in each block (or are all zero).
    Multiplying the feature by ``weight / level`` puts every lead's QRS near 1 and lets the
    cleanest lead dominate.

    The level follows a lead over ``level_blocks`` blocks (12.5 s by default), too slowly for a
    lead that loses its QRS for a few seconds (an amplifier saturated and recovering, a loose
    electrode): a lead whose own maximum in a block is under ``lost_qrs_ratio`` of its level
    gets no weight in that block, as long as another lead keeps its QRS there (when none does,
    as in a pause, the weights stay as they were).
    """
    block = max(1, int(round(block_s * fs)))
    maxima, medians, bad_share = _block_stats(np.ascontiguousarray(feature),
                                              np.ascontiguousarray(unusable), block,
                                              int(lead_in), block_stats_step(block))
    return weights_from_block_stats(maxima, medians, bad_share, level_blocks, min_snr,
                                    lost_qrs_ratio)


def block_stats_step(block: int) -> int:
    """Every how many samples a block's median is taken (:func:`_block_stats`)."""
    return max(1, block // 100)


def weights_from_block_stats(maxima: np.ndarray, medians: np.ndarray, bad_share: np.ndarray,
                             level_blocks: int, min_snr: float,
                             lost_qrs_ratio: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """:func:`lead_weights` from the block statistics of :func:`_block_stats`."""
    size = min(level_blocks, len(maxima)) | 1
    level = running_median(maxima, size)
    noise = running_median(medians, size)
    weight = np.clip(level / (noise + 1e-12) - min_snr, 0, None) ** 2
    weight[(bad_share > 0.5) | (level <= 1e-9)] = 0.0
    kept = np.where(maxima < lost_qrs_ratio * level, 0.0, weight)
    weight = np.where(kept.sum(axis=1, keepdims=True) > 0, kept, weight)
    total = weight.sum(axis=1, keepdims=True)
    weight = np.divide(weight, total, out=np.zeros_like(weight), where=total > 0)
    return weight, level


@numba.njit(cache=True, nogil=True)
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




@numba.njit(cache=True, nogil=True)
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


@numba.njit(cache=True, nogil=True)
def lead_agreement(feature: np.ndarray, weight: np.ndarray, level: np.ndarray,
                   beats: np.ndarray, block: int, lead_in: int, half: int) -> np.ndarray:
    """Per beat, the smallest ``max(feature[beat +- half, lead]) / level[block, lead]`` over the
    leads with weight in the beat's block (0 when none has weight): whether every lead the
    detector listens to there shows its own QRS (``feature`` ``(n, leads)``; ``weight`` and
    ``level`` ``(n_blocks, leads)`` of :func:`weights_from_block_stats`; blocks of ``block``
    samples, the first starting ``lead_in`` samples before sample 0)."""
    n = feature.shape[0]
    out = np.zeros(beats.shape[0])
    for k in range(beats.shape[0]):
        b = beats[k]
        g = (b + lead_in) // block
        worst = np.inf
        for lead in range(feature.shape[1]):
            if weight[g, lead] <= 0.0 or level[g, lead] <= 0.0:
                continue
            m = 0.0
            for j in range(max(0, b - half), min(n, b + half + 1)):
                m = max(m, feature[j, lead])
            worst = min(worst, m / level[g, lead])
        out[k] = worst if worst < np.inf else 0.0
    return out
