"""Flags for stretches of a lead that carry no ECG: NaN samples, flat lines (lead off), and a
lead held at its limit (the recorder's or the file's range: clipped, the ECG lost)."""

from __future__ import annotations

import warnings

import numba
import numpy as np

#: Up to this many leads the mask is made lead by lead, beyond it row by row (measured on
#: 10-minute chunks: python -m benchmarks.bench_lead_layout).
LEAD_BY_LEAD_UP_TO = 4


@numba.njit(cache=True, nogil=True)
def _unusable_core(x: np.ndarray, window: int,
                   min_range: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The NaN and flat-line flags, and each block's lowest and highest value per lead (over
    its samples that are not NaN; +-inf when there are none), which the clipped-lead check
    reuses."""
    if x.shape[1] <= LEAD_BY_LEAD_UP_TO:
        return _unusable_lead_by_lead(x, window, min_range)
    return _unusable_row_by_row(x, window, min_range)


@numba.njit(cache=True, nogil=True, inline="always")
def _mask_outputs(n: int, n_leads: int, window: int) -> tuple:
    """The flags ``(n, leads)`` (all False), and each block's lowest and highest value per
    lead ``(blocks, leads)`` (+inf and -inf: none yet)."""
    n_blocks = (n + window - 1) // window
    return (np.zeros((n, n_leads), dtype=np.bool_), np.full((n_blocks, n_leads), np.inf),
            np.full((n_blocks, n_leads), -np.inf))


@numba.njit(cache=True, nogil=True)
def _unusable_lead_by_lead(x: np.ndarray, window: int,
                           min_range: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n, n_leads = x.shape
    bad, block_lo, block_hi = _mask_outputs(n, n_leads, window)
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
            block_lo[start // window, lead] = lo
            block_hi[start // window, lead] = hi
    return bad, block_lo, block_hi


@numba.njit(cache=True, nogil=True)
def _unusable_row_by_row(x: np.ndarray, window: int,
                         min_range: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    # Block by block, every lead at each sample: the (n, leads) signal is read row by row
    # once, not once per lead; the same ranges, in float64, as lead by lead.
    n, n_leads = x.shape
    bad, block_lo, block_hi = _mask_outputs(n, n_leads, window)
    has_nan = np.empty(n_leads, dtype=np.bool_)
    for start in range(0, n, window):
        stop = min(n, start + window)
        lo, hi = block_lo[start // window], block_hi[start // window]  # filled in place
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
    return bad, block_lo, block_hi


@numba.njit(cache=True, nogil=True)
def _mark_clipped_leads(x: np.ndarray, window: int, share: float, lead_share: float,
                        bad: np.ndarray, block_lo: np.ndarray, block_hi: np.ndarray) -> None:
    """Flag in ``bad`` every sample of each lead of which at least ``lead_share`` of the
    blocks have at least ``share`` of their samples exactly at the lead's lowest or highest
    value in ``x``, unless every lead is so. ``block_lo``/``block_hi``: each block's extremes
    per lead (:func:`_unusable_core`'s); only the blocks that reach a lead's extremes can hold
    samples at them, so only those are read again (in an unclipped recording, a handful)."""
    n, n_leads = x.shape
    low = np.full(n_leads, np.inf)
    high = np.full(n_leads, -np.inf)
    for b in range(block_lo.shape[0]):
        for lead in range(n_leads):
            low[lead] = min(low[lead], block_lo[b, lead])
            high[lead] = max(high[lead], block_hi[b, lead])
    n_blocks = (n + window - 1) // window
    railed_blocks = np.zeros(n_leads, dtype=np.int64)
    at_rail = np.empty(n_leads, dtype=np.int64)
    touches = np.empty(n_leads, dtype=np.bool_)
    for start in range(0, n, window):
        b = start // window
        for lead in range(n_leads):  # a lead with no number at all has no extremes to hold
            touches[lead] = np.isfinite(low[lead]) and (block_lo[b, lead] == low[lead]
                                                        or block_hi[b, lead] == high[lead])
        if not touches.any():
            continue
        stop = min(n, start + window)
        at_rail[:] = 0
        for i in range(start, stop):
            for lead in range(n_leads):
                v = x[i, lead]
                if touches[lead] and (v == low[lead] or v == high[lead]):
                    at_rail[lead] += 1
        for lead in range(n_leads):
            if at_rail[lead] >= share * (stop - start):
                railed_blocks[lead] += 1
    clipped = railed_blocks >= lead_share * n_blocks
    if not clipped.all():  # with every lead clipped, the detector has nothing better
        for lead in range(n_leads):
            if clipped[lead]:
                bad[:, lead] = True


def unusable_mask(signal: np.ndarray, fs: float, window_s: float = 0.5,
                  min_range_mv: float = 0.01, rail_share: float = 0.5,
                  railed_lead_share: float = 0.1) -> np.ndarray:
    """Boolean ``(n, leads)``: True where a sample is NaN, or lies in a block of ``window_s``
    seconds whose peak-to-peak range is below ``min_range_mv`` (a flat line: lead off); and
    every sample of a clipped lead: one of whose blocks at least ``railed_lead_share`` have
    at least ``rail_share`` of their samples exactly at the lead's lowest or highest value in
    ``signal`` (held at its recorder's or file's limit, its QRS complexes cut off: among
    other leads it drowned their beats, and flagging only its clipped blocks left steps that
    did the same). Not when every lead is clipped: the detector has nothing better.
    ``rail_share > 1`` turns clipping off.

    Blocks are laid from sample 0; a block with any NaN flags only its NaN samples. A QRS
    clipped for a few samples is far from the shares, and so is a lead at its limit for a
    few seconds of ten minutes (MIT-BIH 116 and 223), which the detector handles as it is.
    """
    x = _as_2d(signal)
    window = max(1, int(round(window_s * fs)))
    bad, block_lo, block_hi = _unusable_core(x, window, float(min_range_mv))
    if rail_share <= 1.0 and len(x) and x.shape[1] > 1:  # one lead: it is every lead
        _mark_clipped_leads(x, window, float(rail_share), float(railed_lead_share), bad,
                            block_lo, block_hi)
    return bad


def unusable_mask_reference(signal: np.ndarray, fs: float, window_s: float = 0.5,
                            min_range_mv: float = 0.01, rail_share: float = 0.5,
                            railed_lead_share: float = 0.1) -> np.ndarray:
    """Plain numpy version of :func:`unusable_mask`, for tests."""
    x = _as_2d(signal)
    window = max(1, int(round(window_s * fs)))
    bad = np.isnan(x)
    with warnings.catch_warnings():  # an all-NaN lead has no extremes
        warnings.simplefilter("ignore", RuntimeWarning)
        low, high = np.nanmin(x, axis=0), np.nanmax(x, axis=0)
    starts = range(0, len(x), window)
    at_rail = np.array([((x[s:s + window] == low) | (x[s:s + window] == high)).sum(axis=0)
                        for s in starts]).reshape(len(starts), x.shape[1])
    sizes = np.array([len(x[s:s + window]) for s in starts])[:, None]
    clipped = (at_rail >= rail_share * sizes).sum(axis=0) >= railed_lead_share * len(starts)
    if rail_share <= 1.0 and not clipped.all():
        bad[:, clipped] = True
    for start in starts:
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
