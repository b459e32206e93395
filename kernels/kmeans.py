"""K-means for beat templates: greedy k-means++ seeding, then Lloyd's iterations.

Templates group a recording's beats by shape (:mod:`ecgtk.labelling.templates`). The algorithm
is scikit-learn's ``KMeans`` (greedy k-means++ with ``2 + log(k)`` local trials, Lloyd's
iterations, the best of ``n_init`` starts by inertia; the tests compare partitions with it),
without its import: half a second of one core in every ``ecgtk run`` process (scipy.stats and
pandas come with it). The compiled Lloyd iterations keep, for each row, an upper bound on its
distance to its centre and a lower bound on its distance to each other centre (Elkan 2003):
once the centres barely move, the bounds prove most rows stay, so a day's beats (100,000 x
120) are measured against every centre once per start instead of at every iteration; the
seeding skips a row for a trial centre at least twice as far from the row's centre as the row
is (the triangle inequality: it cannot be nearer). The passes release the GIL: the three
seeded groupings of a recording run on threads at once (numpy's BLAS matrix products on three
threads at once slowed each other down several times over). :func:`kmeans_reference` runs
plain Lloyd in numpy, every row measured every iteration; the tests hold the compiled
iterations to it (the same partitions). ``python -m benchmarks.bench_kernels`` times it
against scikit-learn's ``MiniBatchKMeans``.
"""

from __future__ import annotations

from collections.abc import Callable

import numba
import numpy as np

__all__ = ["kmeans", "kmeans_plusplus", "kmeans_reference", "nearest_centres"]

#: Floating-point reassociation lets the compiler vectorise the sums over features.
_FASTMATH = {"reassoc", "contract"}


def kmeans(x: np.ndarray, k: int, seed: int = 0, n_init: int = 3, max_iter: int = 300,
           tol: float = 1e-4, fit_rows: int | None = None) -> np.ndarray:
    """Cluster of each row of ``x`` ``(n, features)`` among ``k``: int64 labels in ``[0, k)``.

    ``n_init`` k-means++ starts from the random state ``seed``, each iterated (Lloyd) until no
    row changes cluster, the centres move less than ``tol`` times the mean variance of the
    features (squared, summed), or ``max_iter`` iterations; the start with the least inertia
    (summed squared distance to the centres) wins. With ``fit_rows`` and more rows than that,
    the starts are fitted on ``fit_rows`` rows drawn at random and the best one's centres then
    iterate over every row until they converge (the templates fit every beat:
    research/kmeans_plan.md measured seeding on a sample to cost V labels). A cluster left
    empty takes the row farthest from its centre; with fewer distinct rows than ``k``, some
    clusters stay empty (their labels unused).

    Examples
    --------
    >>> x = np.array([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.1, 5.0]])
    >>> labels = kmeans(x, 2, seed=0)
    >>> bool(labels[0] == labels[1] != labels[2] == labels[3])
    True
    """
    return _kmeans(x, k, seed, n_init, max_iter, tol, fit_rows, compiled=True)


def kmeans_reference(x: np.ndarray, k: int, seed: int = 0, n_init: int = 3,
                     max_iter: int = 300, tol: float = 1e-4,
                     fit_rows: int | None = None) -> np.ndarray:
    """:func:`kmeans` with its passes in plain numpy (for the tests; slow on long inputs)."""
    return _kmeans(x, k, seed, n_init, max_iter, tol, fit_rows, compiled=False)


def kmeans_plusplus(x: np.ndarray, k: int, rng: np.random.RandomState) -> np.ndarray:
    """``k`` starting centres among the rows of ``x`` by greedy k-means++: the first at random,
    each next the best (least inertia) of ``2 + log(k)`` rows drawn with probability
    proportional to their squared distance from the centres so far (Arthur & Vassilvitskii
    2007, as scikit-learn seeds). Rows already at a centre are not drawn while others are
    left."""
    x = _checked(x)
    return _plusplus(x, _row_norms(x), k, rng, _trials_core)


def nearest_centres(x: np.ndarray, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of each row's nearest of ``centres`` (int64, the first on a tie) and its squared
    distance to it (float64)."""
    x = _checked(x)
    centres = np.ascontiguousarray(centres, dtype=x.dtype)
    labels = np.empty(len(x), dtype=np.int64)
    upper, lower = np.empty(len(x)), np.empty((len(x), len(centres)))
    _assign_all(x, _row_norms(x), centres, labels, upper, lower,
                np.zeros((len(centres), x.shape[1])), np.zeros(len(centres), dtype=np.int64))
    return labels, upper ** 2


# ---------------------------------------------------------------- the algorithm, either backend

def _checked(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"x must be 2-D (rows x features), got shape {x.shape}")
    x = np.ascontiguousarray(x, dtype=np.float32 if x.dtype == np.float32 else np.float64)
    if not np.isfinite(x).all():
        raise ValueError("x holds NaN or infinite values")
    return x


def _kmeans(x: np.ndarray, k: int, seed: int, n_init: int, max_iter: int, tol: float,
            fit_rows: int | None, compiled: bool) -> np.ndarray:
    x = _checked(x)
    n, k = len(x), int(k)
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    if n == 0 or k == 1:
        return np.zeros(n, dtype=np.int64)
    rng = np.random.RandomState(seed)
    fit = (x if fit_rows is None or n <= fit_rows
           else x[np.sort(rng.choice(n, fit_rows, replace=False))])
    k = min(k, len(fit))
    threshold = tol * float(np.mean(np.var(fit, axis=0))) if tol > 0 else 0.0
    lloyd = _lloyd_bounded if compiled else _lloyd_plain
    trials = _trials_core if compiled else _trials_numpy
    norms = _row_norms(fit)
    best_centres, best_inertia, best_labels = None, np.inf, None
    for _ in range(max(1, n_init)):
        centres = _plusplus(fit, norms, k, rng, trials)
        centres, labels, inertia = lloyd(fit, norms, centres, max_iter, threshold)
        if inertia < best_inertia:
            best_centres, best_inertia, best_labels = centres, inertia, labels
    if fit is not x:  # from the sample's centres, on to a local optimum of every row
        best_centres, best_labels, _ = lloyd(x, _row_norms(x), best_centres, max_iter,
                                             threshold)
    return best_labels


def _plusplus(x: np.ndarray, norms: np.ndarray, k: int, rng: np.random.RandomState,
              trials: Callable[..., None]) -> np.ndarray:
    """Greedy k-means++ (:func:`kmeans_plusplus`) of rows ``x`` with squared ``norms``;
    ``trials`` measures the trial centres (compiled or numpy)."""
    n = len(x)
    n_trials = 2 + int(np.log(k))
    centres = np.empty((k, x.shape[1]), dtype=x.dtype)
    first = rng.randint(n)
    centres[0] = x[first]
    nearest = np.zeros(n, dtype=np.int64)  # each row's nearest centre so far
    candidates, potentials = np.empty((1, n)), np.empty(1)
    trials(x, norms, np.array([first]), np.full(n, np.inf), nearest, centres[:0], candidates,
           potentials)
    closest, potential = candidates[0], potentials[0]
    candidates, potentials = np.empty((n_trials, n)), np.empty(n_trials)
    for c in range(1, k):
        if potential > 0:
            cumulative = np.cumsum(closest)
            ids = np.searchsorted(cumulative, rng.uniform(size=n_trials) * cumulative[-1])
            ids = np.minimum(ids, n - 1)
        else:  # every row sits on a centre: any row will do
            ids = rng.randint(n, size=n_trials)
        trials(x, norms, ids, closest, nearest, centres[:c], candidates, potentials)
        best = int(np.argmin(potentials))
        centres[c] = x[ids[best]]
        nearest[candidates[best] < closest] = c
        closest[:] = candidates[best]
        potential = potentials[best]
    return centres


def _lloyd_plain(x: np.ndarray, norms: np.ndarray, centres: np.ndarray, max_iter: int,
                 threshold: float) -> tuple[np.ndarray, np.ndarray, float]:
    """Lloyd's iterations from ``centres``, every row measured each time (the reference):
    the centres, the labels and their inertia (``norms`` unused)."""
    labels = np.full(len(x), -1, dtype=np.int64)
    for _ in range(max(1, max_iter)):
        new, closest = _nearest_numpy(x, centres)
        if np.array_equal(new, labels):
            break  # no row moved: the centres are their clusters' means already
        labels = new
        sums = np.zeros((len(centres), x.shape[1]), dtype=np.float64)
        np.add.at(sums, labels, x)
        moved = _cluster_means(x, sums, np.bincount(labels, minlength=len(centres)), centres,
                               closest)
        shift = float(((moved - centres) ** 2).sum())
        centres = moved
        if shift <= threshold:
            labels, closest = _nearest_numpy(x, centres)
            break
    return centres, labels, float(closest.sum())


def _lloyd_bounded(x: np.ndarray, norms: np.ndarray, centres: np.ndarray, max_iter: int,
                   threshold: float) -> tuple[np.ndarray, np.ndarray, float]:
    """Lloyd's iterations from ``centres`` with Elkan's bounds (the same steps as
    :func:`_lloyd_plain`, distances that cannot change a row's cluster not measured);
    ``norms``: the rows' squared norms."""
    n, k = len(x), len(centres)
    labels = np.empty(n, dtype=np.int64)
    upper, lower = np.empty(n), np.empty((n, k))
    sums = np.zeros((k, x.shape[1]), dtype=np.float64)
    counts = np.zeros(k, dtype=np.int64)
    _assign_all(x, norms, centres, labels, upper, lower, sums, counts)
    drift = np.zeros(k)
    for _ in range(max(1, max_iter) - 1):
        moved = _cluster_means(x, sums, counts, centres, (upper + drift[labels]) ** 2)
        step = np.sqrt(((moved.astype(np.float64) - centres) ** 2).sum(axis=1))
        drift += step
        centres = moved
        changed = _assign_bounded(x, norms, centres, drift, labels, upper, lower, sums, counts)
        if changed == 0 or float((step ** 2).sum()) <= threshold:
            break
    return centres, labels, _inertia(x, norms, centres, labels)


def _cluster_means(x: np.ndarray, sums: np.ndarray, counts: np.ndarray, previous: np.ndarray,
                   closest: np.ndarray) -> np.ndarray:
    """Each cluster's mean row from its ``sums`` and ``counts``; an empty cluster takes the
    rows farthest from their centres (``closest``: squared distances), one each, as
    scikit-learn relocates them (it keeps its centre when every row sits on one)."""
    sums, counts = sums.copy(), counts.astype(np.float64)
    empty = np.flatnonzero(counts == 0)
    if len(empty):
        far = np.argsort(-closest, kind="stable")[:len(empty)]
        far = far[closest[far] > 0]
        sums[empty[:len(far)]] = x[far]
        counts[empty[:len(far)]] = 1
        stay = empty[len(far):]
        sums[stay], counts[stay] = previous[stay], 1
    return (sums / counts[:, None]).astype(x.dtype)


# ---------------------------------------------------------------- the passes: compiled, numpy

@numba.njit(cache=True, nogil=True, fastmath=_FASTMATH)
def _dot(x, i, y, j):
    """Dot product of row ``x[i]`` and row ``y[j]``, summed in the rows' precision (float32
    rows vectorise 8 wide), as float64."""
    acc = x.dtype.type(0)
    for f in range(x.shape[1]):
        acc += x[i, f] * y[j, f]
    return np.float64(acc)


@numba.njit(cache=True, nogil=True, inline="always")
def _from_dot(x_norm, y_norm, dot):
    """Squared distance of two rows from their squared norms and dot product
    (``|x|^2 + |y|^2 - 2 x.y``; clipped at 0 against rounding)."""
    return max(0.0, x_norm + y_norm - 2.0 * dot)


@numba.njit(cache=True, nogil=True)
def _squared_distance(x, x_norms, i, y, y_norms, j):
    """Squared distance of row ``x[i]`` to row ``y[j]`` through their squared norms (one
    multiply-add a feature)."""
    return _from_dot(x_norms[i], y_norms[j], _dot(x, i, y, j))


@numba.njit(cache=True, nogil=True)
def _move_row(x, i, old, new, sums, counts):
    for f in range(x.shape[1]):
        if old >= 0:
            sums[old, f] -= x[i, f]
        sums[new, f] += x[i, f]
    if old >= 0:
        counts[old] -= 1
    counts[new] += 1


@numba.njit(cache=True, nogil=True, fastmath=_FASTMATH)
def _dots4(x, i, y, j):
    """Dot products of row ``x[i]`` with rows ``y[j:j + 4]``: one read of ``x[i]`` for four."""
    a0 = a1 = a2 = a3 = x.dtype.type(0)
    for f in range(x.shape[1]):
        v = x[i, f]
        a0 += v * y[j, f]
        a1 += v * y[j + 1, f]
        a2 += v * y[j + 2, f]
        a3 += v * y[j + 3, f]
    return np.float64(a0), np.float64(a1), np.float64(a2), np.float64(a3)


@numba.njit(cache=True, nogil=True)
def _assign_all(x, norms, centres, labels, upper, lower, sums, counts):
    """Every row measured against every centre: its nearest (the first on a tie), the
    distances (not squared) to it (``upper``) and to each centre (``lower``), each cluster's
    sum and count."""
    k = centres.shape[0]
    centre_norms = _row_norms(centres)
    squared = np.empty(k)
    for i in range(x.shape[0]):
        j = 0
        while j + 4 <= k:
            dots = _dots4(x, i, centres, j)
            for q in range(4):
                squared[j + q] = _from_dot(norms[i], centre_norms[j + q], dots[q])
            j += 4
        for rest in range(j, k):
            squared[rest] = _squared_distance(x, norms, i, centres, centre_norms, rest)
        arg = int(np.argmin(squared))
        for j in range(k):
            lower[i, j] = np.sqrt(squared[j])
        labels[i], upper[i] = arg, np.sqrt(squared[arg])
        _move_row(x, i, -1, arg, sums, counts)


@numba.njit(cache=True, nogil=True)
def _assign_bounded(x, norms, centres, drift, labels, upper, lower, sums, counts):
    """Elkan's assignment after the centres moved (``drift``: each centre's summed moves so
    far, distances): a row's distance to its centre is at most ``upper + drift[own]`` and to
    centre ``j`` at least ``lower[j] - drift[j]`` (the bounds are stored against the drift,
    so a move costs nothing until a row is looked at); a centre is measured only when the
    bounds and half the distance between the two centres leave it a chance to be nearer.
    Rows that change cluster move between the sums and counts. Returns how many changed."""
    k = centres.shape[0]
    centre_norms = _row_norms(centres)
    half_apart = np.zeros((k, k))
    half_gap = np.full(k, np.inf)
    for j in range(k):
        for other in range(k):
            if other != j:
                half_apart[j, other] = 0.5 * np.sqrt(_squared_distance(
                    centres, centre_norms, j, centres, centre_norms, other))
                half_gap[j] = min(half_gap[j], half_apart[j, other])
    changed = 0
    for i in range(x.shape[0]):
        own = labels[i]
        bound = upper[i] + drift[own]
        if bound < half_gap[own]:
            continue
        nearest, tight = own, False
        for j in range(k):
            if (j == nearest or bound < lower[i, j] - drift[j]
                    or bound < half_apart[nearest, j]):
                continue
            if not tight:  # the upper bound made exact once
                bound = np.sqrt(_squared_distance(x, norms, i, centres, centre_norms, nearest))
                lower[i, nearest] = bound + drift[nearest]
                tight = True
                if bound < lower[i, j] - drift[j] or bound < half_apart[nearest, j]:
                    continue
            distance = np.sqrt(_squared_distance(x, norms, i, centres, centre_norms, j))
            lower[i, j] = distance + drift[j]
            if distance < bound or (distance == bound and j < nearest):
                nearest, bound = j, distance
        upper[i] = bound - drift[nearest]
        if nearest != own:
            labels[i] = nearest
            _move_row(x, i, own, nearest, sums, counts)
            changed += 1
    return changed


@numba.njit(cache=True, nogil=True)
def _inertia(x, norms, centres, labels):
    """Summed squared distance of the rows to their centres."""
    centre_norms = _row_norms(centres)
    total = 0.0
    for i in range(x.shape[0]):
        total += _squared_distance(x, norms, i, centres, centre_norms, labels[i])
    return total


@numba.njit(cache=True, nogil=True)
def _row_norms(x):
    norms = np.empty(x.shape[0])
    for i in range(x.shape[0]):
        norms[i] = _dot(x, i, x, i)
    return norms


@numba.njit(cache=True, nogil=True)
def _trials_core(x, norms, ids, closest, nearest, centres, out, potentials):
    """``out[t, i]``: the squared distance of row ``i`` to row ``ids[t]``, or ``closest[i]``
    (its squared distance to its ``nearest`` of ``centres``) when that is less: each trial
    centre's new distances for k-means++. A trial at least twice as far from a row's centre
    as the row is cannot be nearer to it (triangle inequality): that row is not measured.
    ``potentials[t]``: the sum of ``out[t]``."""
    n_trials = len(ids)
    trial = np.empty((n_trials, x.shape[1]), dtype=x.dtype)
    for t in range(n_trials):
        trial[t] = x[ids[t]]
    trial_norms = norms[ids]
    centre_norms = _row_norms(centres)
    apart = np.empty((n_trials, centres.shape[0]))  # squared distance, trial to centre
    for t in range(n_trials):
        for m in range(centres.shape[0]):
            apart[t, m] = _squared_distance(trial, trial_norms, t, centres, centre_norms, m)
    potentials[:] = 0.0
    for i in range(x.shape[0]):
        for t in range(n_trials):
            if centres.shape[0] and apart[t, nearest[i]] >= 4.0 * closest[i]:
                out[t, i] = closest[i]
            else:
                out[t, i] = min(closest[i],
                                _squared_distance(x, norms, i, trial, trial_norms, t))
            potentials[t] += out[t, i]


def _nearest_numpy(x: np.ndarray, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    d = ((x[:, None, :].astype(np.float64) - centres[None].astype(np.float64)) ** 2).sum(axis=2)
    labels = np.argmin(d, axis=1)
    return labels, d[np.arange(len(x)), labels]


def _trials_numpy(x: np.ndarray, norms: np.ndarray, ids: np.ndarray, closest: np.ndarray,
                  nearest: np.ndarray, centres: np.ndarray, out: np.ndarray,
                  potentials: np.ndarray) -> None:
    for t, row in enumerate(ids):
        d = ((x.astype(np.float64) - x[row].astype(np.float64)) ** 2).sum(axis=1)
        out[t] = np.minimum(closest, d)
    potentials[:] = out.sum(axis=1)
