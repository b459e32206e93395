"""One-to-one matching of detected beats to reference beats within a tolerance (EC57, bxb)."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["DEFAULT_TOLERANCE_S", "match_beats", "tolerance_samples"]

#: EC57 match window: a detection within this many seconds of a reference beat may match it.
DEFAULT_TOLERANCE_S = 0.15

# Vectorised rounds of the greedy matcher before it finishes the rest in a plain loop.
_MAX_VECTOR_ROUNDS = 16


def tolerance_samples(tolerance: float) -> int:
    """The largest whole number of samples within ``tolerance`` (a number of samples >= 0)."""
    tolerance = float(tolerance)
    if not math.isfinite(tolerance) or tolerance < 0:
        raise ValueError(f"tolerance must be a finite number >= 0, got {tolerance!r}")
    # Samples are integers, so |d| <= tolerance <=> |d| <= floor(tolerance); the epsilon keeps
    # 0.15 s * fs products such as 53.99999999 from losing the edge sample.
    return int(math.floor(tolerance + 1e-6))


def match_beats(
    ref_samples: np.ndarray, test_samples: np.ndarray, tolerance: float
) -> tuple[np.ndarray, np.ndarray]:
    """Pair reference and test beats one-to-one, at most ``tolerance`` samples apart (inclusive).

    Pairs are taken closest first (greedy by increasing distance, like WFDB ``bxb``): a pair is
    made when neither beat is taken yet. Ties in distance go to the earlier reference beat, then
    to the earlier test beat, so the result is deterministic. Inputs need not be sorted.

    Returns ``(ref_idx, test_idx)``: int64 index arrays into the inputs, one entry per pair,
    ordered by ``ref_idx``.

    Cost is O(E log E), E being the number of (reference, test) pairs within the tolerance
    (about the number of beats for any real detector): candidate pairs come from
    :func:`numpy.searchsorted`, and the greedy choice is made in vectorised rounds that accept
    every pair that is the closest for both its beats (such pairs are exactly what the greedy
    would choose); a plain loop finishes whatever long chains of near-ties remain.
    """
    ref = np.asarray(ref_samples, dtype=np.int64).ravel()
    test = np.asarray(test_samples, dtype=np.int64).ravel()
    tol = tolerance_samples(tolerance)
    empty = np.zeros(0, dtype=np.int64)
    if len(ref) == 0 or len(test) == 0:
        return empty, empty.copy()

    r_order = np.argsort(ref, kind="stable")
    t_order = np.argsort(test, kind="stable")
    rs, ts = ref[r_order], test[t_order]

    # every (ref, test) pair within the tolerance, in sorted positions
    lo = np.searchsorted(rs, ts - tol, side="left")
    hi = np.searchsorted(rs, ts + tol, side="right")
    counts = hi - lo
    n_edges = int(counts.sum())
    if n_edges == 0:
        return empty, empty.copy()
    te = np.repeat(np.arange(len(ts), dtype=np.int64), counts)
    first = np.cumsum(counts) - counts
    re = np.repeat(lo - first, counts) + np.arange(n_edges, dtype=np.int64)
    dist = np.abs(rs[re] - ts[te])
    order = np.lexsort((te, re, dist))  # total order: distance, then ref, then test
    re, te = re[order], te[order]

    ref_used = np.zeros(len(rs), dtype=bool)
    test_used = np.zeros(len(ts), dtype=bool)
    out_r: list[np.ndarray] = []
    out_t: list[np.ndarray] = []
    for _ in range(_MAX_VECTOR_ROUNDS):
        if len(re) == 0:
            break
        pos = np.arange(len(re), dtype=np.int64)
        best_r = np.full(len(rs), len(re), dtype=np.int64)
        best_t = np.full(len(ts), len(re), dtype=np.int64)
        np.minimum.at(best_r, re, pos)
        np.minimum.at(best_t, te, pos)
        dominant = (best_r[re] == pos) & (best_t[te] == pos)
        out_r.append(re[dominant])
        out_t.append(te[dominant])
        ref_used[re[dominant]] = True
        test_used[te[dominant]] = True
        keep = ~(ref_used[re] | test_used[te])
        re, te = re[keep], te[keep]
    if len(re):
        tail_r: list[int] = []
        tail_t: list[int] = []
        r_used, t_used = set(), set()  # the edges left touch no beat used so far
        for r, t in zip(re.tolist(), te.tolist(), strict=True):
            if r not in r_used and t not in t_used:
                r_used.add(r)
                t_used.add(t)
                tail_r.append(r)
                tail_t.append(t)
        out_r.append(np.asarray(tail_r, dtype=np.int64))
        out_t.append(np.asarray(tail_t, dtype=np.int64))

    ref_idx = r_order[np.concatenate(out_r)]
    test_idx = t_order[np.concatenate(out_t)]
    by_ref = np.argsort(ref_idx, kind="stable")
    return ref_idx[by_ref].astype(np.int64), test_idx[by_ref].astype(np.int64)
