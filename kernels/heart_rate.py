"""Heart rate per minute and hour, and HRV, from beat times: pure numpy over arrays.

The definitions (clean intervals, analysable minutes) are those of :mod:`ecgtk.summary.rhythm`,
which
calls these for the ``records/`` row. Everything is vectorised: no loop runs per beat.
"""

from __future__ import annotations

import math

import numpy as np

_NAN = float("nan")


def minute_coverage(t: np.ndarray, clean: np.ndarray,
                    n_minutes: int) -> tuple[np.ndarray, np.ndarray]:
    """Per 1-minute window ``[60 k, 60 k + 60)`` s: the time covered by clean intervals (s),
    and the number of clean intervals, each counted by the share of its length inside.

    ``t``: beat times in s, ascending; ``clean``: one bool per interval (``len(t) - 1``).
    """
    covered = np.zeros(n_minutes)
    count = np.zeros(n_minutes)
    if t.size < 2 or n_minutes == 0:
        return covered, count
    rr = np.diff(t)
    # Cumulative covered time and count at each beat, then at each window edge.
    cum_t = np.concatenate([[0.0], np.cumsum(np.where(clean, rr, 0.0))])
    cum_n = np.concatenate([[0.0], np.cumsum(clean.astype(np.float64))])
    edges = 60.0 * np.arange(n_minutes + 1)
    j = np.searchsorted(t, edges, side="right") - 1  # the last beat at or before each edge
    at = np.clip(j, 0, t.size - 1)
    gap = np.clip(j, 0, t.size - 2)
    inside = (j >= 0) & (j < t.size - 1) & clean[gap]  # the edge falls inside a clean gap
    part = np.where(inside, edges - t[gap], 0.0)
    c_t = np.where(j >= 0, cum_t[at], 0.0) + part
    c_n = np.where(j >= 0, cum_n[at], 0.0) + part / rr[gap]
    return np.diff(c_t), np.diff(c_n)


def heart_rates(t: np.ndarray, clean: np.ndarray, horizon_s: float, min_coverage_s: float,
                min_beats: int) -> tuple[float, float, float, list[float]]:
    """(mean, min, max, hourly) heart rate in beats/min over the analysable minutes.

    ``t`` beat times (s) and ``clean`` per interval as for :func:`minute_coverage`; minutes run
    from 0 to ``horizon_s`` (extended to the last beat). A minute is analysable when clean
    intervals cover at least ``min_coverage_s`` of it and at least ``min_beats`` beats lie in
    it. The rates are ``60 * n / T`` (intervals over covered time); NaN without an analysable
    minute (each hour's, without one in that hour).
    """
    n_min = math.ceil(horizon_s / 60.0)
    if t.size:
        n_min = max(n_min, int(t[-1] // 60.0) + 1)
    covered, count = minute_coverage(t, clean, n_min)
    beats = np.bincount((t // 60.0).astype(np.int64), minlength=n_min)
    ok = (covered >= min_coverage_s) & (beats >= min_beats)
    n_hours = math.ceil(n_min / 60)
    hour = np.arange(n_min) // 60
    hour_count = np.bincount(hour[ok], weights=count[ok], minlength=n_hours)
    hour_covered = np.bincount(hour[ok], weights=covered[ok], minlength=n_hours)
    with np.errstate(divide="ignore", invalid="ignore"):
        hourly = np.where(hour_covered > 0, 60.0 * hour_count / hour_covered, np.nan)
    hourly = [float(x) for x in hourly]
    if not ok.any():
        return _NAN, _NAN, _NAN, hourly
    per_minute = 60.0 * count[ok] / covered[ok]
    mean = 60.0 * count[ok].sum() / covered[ok].sum()
    return float(mean), float(per_minute.min()), float(per_minute.max()), hourly


def hrv_ms(rr: np.ndarray, nn: np.ndarray) -> tuple[float, float]:
    """(SDNN, RMSSD) in ms of the intervals ``rr`` (s) where ``nn`` (bool) holds; RMSSD over
    pairs of successive NN intervals. NaN where there are too few."""
    values = rr[nn]
    sdnn = float(np.std(values, ddof=1) * 1e3) if values.size >= 2 else _NAN
    pair = nn[:-1] & nn[1:]
    if pair.any():
        diffs = (rr[1:] - rr[:-1])[pair]
        rmssd = float(np.sqrt(np.mean(diffs * diffs)) * 1e3)
    else:
        rmssd = _NAN
    return sdnn, rmssd
