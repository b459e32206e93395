"""Per-beat features of supraventricular ectopy: prematurity and the P-wave region's shape.

A supraventricular ectopic beat (AAMI S) comes early, usually with a narrow, normal-looking
QRS, after an abnormal or hidden P wave. Two groups of features tell it from a normal beat:

- :func:`prematurity`: the beat's timing against the local rhythm. With ``rr_prev`` the
  interval before the beat, ``rr_next`` the one after and ``local`` the median of the
  ``2 * neighbours`` intervals around the beat (``neighbours`` on each side, the series'
  first and last intervals repeated at its ends): ``log(rr_prev / local)`` (negative when
  early), ``log(rr_next / rr_prev)`` (positive after a compensatory pause) and
  ``log(rr_next / local)``; then the longer context: ``log(rr_prev / long)`` and
  ``log(rr_next / long)``, ``long`` the median of the ``2 * long_neighbours`` intervals
  around every ``long_step``-th beat (each beat takes that of the last such beat at or
  before it: the sinus rate outside most runs of ectopic beats), and ``log(rr_prevprev /
  local)``, the previous beat's RR before over the local median (is the beat in a run).
  Each is clipped to ``+-log(5)``. A missing ``rr_prev`` (the first beat) takes ``rr_next``
  and the reverse (``rr_prevprev`` takes ``rr_prev``); with fewer than two beats every value
  is 0.
- :func:`shape_features`: the beat's coarse window against its typical beat (a template),
  per lead over two regions of sample indices (the P-wave region, ``p_region``, and the QRS,
  ``qrs_region``), then averaged over the leads: the Pearson correlation of the P regions
  (each less its mean; 0 where either is flat), ``log`` of the ratio of their standard
  deviations (``eps`` added to both), the root mean square difference of the P regions
  (each less its mean) and the correlation of the QRS regions.

Both are vectorised numpy (no loop per beat; the window medians by
:func:`ecgtk.kernels.medians.sliding_median`); :func:`prematurity_reference` and
:func:`shape_features_reference` are the same in plain Python, which the tests compare with.
"""

from __future__ import annotations

import math

import numpy as np

from ecgtk.kernels.medians import sliding_median

#: Log ratios are clipped to +- this.
LOG_LIMIT = math.log(5.0)
#: Names of the columns of :func:`prematurity` and :func:`shape_features`, in order.
PREMATURITY_NAMES = ("log_rr_prev_local", "log_rr_next_prev", "log_rr_next_local",
                     "log_rr_prev_long", "log_rr_next_long", "log_rr_prevprev_local")
SHAPE_NAMES = ("p_corr", "p_log_energy", "p_rms_diff", "qrs_corr")


def _window_medians(rr: np.ndarray, centres: np.ndarray, half: int) -> np.ndarray:
    """Median of intervals ``c - half .. c + half - 1`` (indices clipped to the series) for
    each ``c`` of ``centres``."""
    padded = np.concatenate([np.repeat(rr[:1], half), rr, np.repeat(rr[-1:], half)])
    return sliding_median(padded, 2 * half)[centres]


def prematurity(beats: np.ndarray, neighbours: int = 8, long_neighbours: int = 64,
                long_step: int = 16) -> np.ndarray:
    """``(n, 6)`` float64 timing features of each beat (see the module docstring).

    ``beats``: ascending sample indices of the beats (any rate: only ratios are kept)."""
    beats = np.asarray(beats, dtype=np.float64)
    n = beats.size
    out = np.zeros((n, len(PREMATURITY_NAMES)))
    if n < 2:
        return out
    rr = np.maximum(np.diff(beats), 1.0)
    prev = np.concatenate([rr[:1], rr])  # beat j: interval j - 1 (the first takes its next)
    nxt = np.concatenate([rr, rr[-1:]])
    prevprev = np.concatenate([prev[:1], prev[:-1]])
    local = _window_medians(rr, np.arange(n), neighbours)
    steps = np.arange(0, n, long_step)
    long = _window_medians(rr, steps, long_neighbours)[np.arange(n) // long_step]
    out[:, 0] = np.log(prev / local)
    out[:, 1] = np.log(nxt / prev)
    out[:, 2] = np.log(nxt / local)
    out[:, 3] = np.log(prev / long)
    out[:, 4] = np.log(nxt / long)
    out[:, 5] = np.log(prevprev / local)
    return np.clip(out, -LOG_LIMIT, LOG_LIMIT)


def prematurity_reference(beats: list[int] | np.ndarray, neighbours: int = 8,
                          long_neighbours: int = 64, long_step: int = 16) -> np.ndarray:
    """:func:`prematurity` in plain Python, one beat at a time."""
    beats = [float(b) for b in beats]
    n = len(beats)
    out = np.zeros((n, len(PREMATURITY_NAMES)))
    if n < 2:
        return out
    rr = [max(beats[k + 1] - beats[k], 1.0) for k in range(n - 1)]

    def median_around(c, half):
        return float(np.median([rr[min(max(k, 0), n - 2)] for k in range(c - half, c + half)]))

    for j in range(n):
        prev = rr[j - 1] if j > 0 else rr[0]
        nxt = rr[j] if j < n - 1 else rr[-1]
        prevprev = rr[j - 2] if j > 1 else prev
        local = median_around(j, neighbours)
        long = median_around(j // long_step * long_step, long_neighbours)
        values = (math.log(prev / local), math.log(nxt / prev), math.log(nxt / local),
                  math.log(prev / long), math.log(nxt / long), math.log(prevprev / local))
        out[j] = [min(max(v, -LOG_LIMIT), LOG_LIMIT) for v in values]
    return out


def _centred(x: np.ndarray) -> np.ndarray:
    return x - x.mean(axis=-1, keepdims=True)


def _corr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = _centred(a), _centred(b)
    den = np.sqrt((a * a).sum(axis=-1) * (b * b).sum(axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (a * b).sum(axis=-1) / np.where(den > 0, den, 1.0), 0.0)


def shape_features(windows: np.ndarray, templates: np.ndarray, which: np.ndarray,
                   p_region: tuple[int, int], qrs_region: tuple[int, int],
                   eps: float = 1e-3) -> np.ndarray:
    """``(n, 4)`` float64 shape features of each beat (see the module docstring).

    ``windows``: ``(n, leads, length)`` the beats' coarse windows; ``templates``: ``(k,
    leads, length)`` typical beats; ``which``: ``(n,)`` the template of each beat;
    ``p_region``, ``qrs_region``: ``[start, stop)`` sample indices into ``length``."""
    windows = np.asarray(windows, dtype=np.float64)
    n = windows.shape[0]
    if n == 0:
        return np.zeros((0, 4))
    which = np.asarray(which, dtype=np.int64)
    p0, p1 = p_region
    q0, q1 = qrs_region
    beat_p = windows[:, :, p0:p1]
    tmpl_p = np.asarray(templates, dtype=np.float64)[:, :, p0:p1][which]
    beat_q = windows[:, :, q0:q1]
    tmpl_q = np.asarray(templates, dtype=np.float64)[:, :, q0:q1][which]
    out = np.empty((n, 4))
    out[:, 0] = _corr(beat_p, tmpl_p).mean(axis=1)
    out[:, 1] = np.log((beat_p.std(axis=-1) + eps) / (tmpl_p.std(axis=-1) + eps)).mean(axis=1)
    diff = _centred(beat_p) - _centred(tmpl_p)
    out[:, 2] = np.sqrt((diff * diff).mean(axis=-1)).mean(axis=1)
    out[:, 3] = _corr(beat_q, tmpl_q).mean(axis=1)
    return out


def shape_features_reference(windows: np.ndarray, templates: np.ndarray, which: np.ndarray,
                             p_region: tuple[int, int], qrs_region: tuple[int, int],
                             eps: float = 1e-3) -> np.ndarray:
    """:func:`shape_features` in plain Python, one beat and lead at a time."""

    def mean(v):
        return sum(v) / len(v)

    def centred(v):
        m = mean(v)
        return [x - m for x in v]

    def corr(a, b):
        a, b = centred(a), centred(b)
        den = math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))
        return sum(x * y for x, y in zip(a, b, strict=True)) / den if den > 0 else 0.0

    def std(v):
        return math.sqrt(mean([x * x for x in centred(v)]))

    out = np.zeros((len(windows), 4))
    for i, window in enumerate(windows):
        tmpl = templates[int(which[i])]
        rows = []
        for lead in range(len(window)):
            bp = [float(x) for x in window[lead][p_region[0]:p_region[1]]]
            tp = [float(x) for x in tmpl[lead][p_region[0]:p_region[1]]]
            bq = [float(x) for x in window[lead][qrs_region[0]:qrs_region[1]]]
            tq = [float(x) for x in tmpl[lead][qrs_region[0]:qrs_region[1]]]
            d = [x - y for x, y in zip(centred(bp), centred(tp), strict=True)]
            rows.append((corr(bp, tp), math.log((std(bp) + eps) / (std(tp) + eps)),
                         math.sqrt(mean([x * x for x in d])), corr(bq, tq)))
        out[i] = [mean([r[k] for r in rows]) for k in range(4)]
    return out
