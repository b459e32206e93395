"""ecgtk's K-means against scikit-learn's and against plain-numpy references of its steps."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

from ecgtk.kernels.kmeans import (
    _cluster_means,
    kmeans,
    kmeans_plusplus,
    kmeans_reference,
    nearest_centres,
)


def blobs(n_per: int, k: int, features: int = 12, spread: float = 0.3,
          seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``k`` well-separated clusters of ``n_per`` rows each, shuffled: rows and true labels."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 10, (k, features))
    truth = np.repeat(np.arange(k), n_per)
    x = (centres[truth] + rng.normal(0, spread, (len(truth), features))).astype(np.float32)
    order = rng.permutation(len(truth))
    return x[order], truth[order]


def inertia(x: np.ndarray, labels: np.ndarray) -> float:
    """Summed squared distance of each row to its cluster's mean (plain numpy)."""
    return float(sum(((x[labels == c] - x[labels == c].mean(axis=0)) ** 2).sum()
                     for c in np.unique(labels)))


def nearest_reference(x: np.ndarray, centres: np.ndarray) -> np.ndarray:
    return np.array([int(np.argmin([((row - c) ** 2).sum() for c in centres])) for row in x])


@pytest.mark.parametrize("k", [2, 5, 12])
def test_separated_clusters_are_found_as_scikit_learn_finds_them(k):
    x, truth = blobs(60, k, seed=k)
    ours = kmeans(x, k, seed=0)
    theirs = KMeans(n_clusters=k, random_state=0, n_init=3).fit_predict(x)
    assert adjusted_rand_score(truth, ours) == 1.0
    assert adjusted_rand_score(theirs, ours) == 1.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_inertia_on_shapeless_data_is_that_of_scikit_learn(seed):
    # No true clusters: the local optimum found depends on the starts; ours must be as good.
    x = np.random.default_rng(seed).normal(size=(1500, 20)).astype(np.float32)
    ours = inertia(x, kmeans(x, 20, seed=seed))
    theirs = inertia(x, KMeans(n_clusters=20, random_state=seed, n_init=3).fit_predict(x))
    assert ours <= 1.02 * theirs


def test_labels_are_repeatable_and_depend_on_the_seed():
    x = np.random.default_rng(3).normal(size=(800, 10)).astype(np.float32)
    a, b = kmeans(x, 8, seed=4), kmeans(x, 8, seed=4)
    assert np.array_equal(a, b)
    assert a.dtype == np.int64 and a.min() >= 0 and a.max() < 8
    assert not all(np.array_equal(a, kmeans(x, 8, seed=s)) for s in range(5, 9))


def test_long_inputs_seed_on_a_sample_and_assign_every_row():
    x, truth = blobs(2000, 6, seed=5)
    labels = kmeans(x, 6, seed=0, fit_rows=300)
    assert len(labels) == len(x)
    assert adjusted_rand_score(truth, labels) == 1.0


@pytest.mark.parametrize("fit_rows", [10_000, 100])
def test_a_converged_partition_is_its_own_nearest_centres(fit_rows):
    # At convergence each row's cluster is the one whose mean is nearest (Lloyd's fixed point),
    # also when the starts were fitted on a sample of the rows.
    x = np.random.default_rng(6).normal(size=(600, 5))
    labels = kmeans(x, 7, seed=1, tol=0, fit_rows=fit_rows)
    means = np.stack([x[labels == c].mean(axis=0) for c in range(7)])
    assert np.array_equal(nearest_reference(x, means), labels)


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("n, features, k", [(3000, 30, 13), (2000, 120, 20), (400, 3, 7)])
def test_compiled_iterations_give_the_reference_partition(n, features, k, seed):
    # The bounds skip measurements; they must never change a row's cluster.
    x = np.random.default_rng(seed).normal(size=(n, features))
    assert np.array_equal(kmeans(x, k, seed=seed), kmeans_reference(x, k, seed=seed))


def test_compiled_iterations_give_the_reference_partition_of_shaped_rows():
    # Beats-like rows: a few shapes, each with noise, float64 so rounding cannot decide.
    x = blobs(300, 8, features=40, spread=3.0, seed=9)[0].astype(np.float64)
    for seed in range(3):
        assert np.array_equal(kmeans(x, 20, seed=seed), kmeans_reference(x, 20, seed=seed))
    assert np.array_equal(kmeans(x, 20, seed=0, fit_rows=500),
                          kmeans_reference(x, 20, seed=0, fit_rows=500))


def test_nearest_centres_matches_the_plain_loop():
    rng = np.random.default_rng(7)
    x, centres = rng.normal(size=(257, 6)), rng.normal(size=(9, 6))
    labels, distances = nearest_centres(x, centres)
    assert np.array_equal(labels, nearest_reference(x, centres))
    np.testing.assert_allclose(distances, ((x - centres[labels]) ** 2).sum(axis=1),
                               rtol=1e-9, atol=1e-9)


def test_cluster_means_relocate_an_empty_cluster_to_the_farthest_row():
    x = np.array([[0.0], [1.0], [2.0], [10.0]])
    labels = np.array([0, 0, 0, 0])
    previous = np.array([[1.0], [50.0]])
    closest = ((x - previous[labels]) ** 2).sum(axis=1)
    sums, counts = np.array([[13.0], [0.0]]), np.array([4, 0])
    means = _cluster_means(x, sums, counts, previous, closest)
    np.testing.assert_allclose(means, [[13.0 / 4], [10.0]])
    np.testing.assert_array_equal(sums, [[13.0], [0.0]])  # the running sums are left alone


def plusplus_reference(x: np.ndarray, k: int, rng: np.random.RandomState) -> np.ndarray:
    """Greedy k-means++ in plain loops, drawing from ``rng`` as the kernel does."""
    n, trials = len(x), 2 + int(np.log(k))
    centres = [x[rng.randint(n)]]
    closest = np.array([((row - centres[0]) ** 2).sum() for row in x])
    for _ in range(1, k):
        cumulative = np.cumsum(closest)
        ids = np.minimum(np.searchsorted(cumulative, rng.uniform(size=trials) * cumulative[-1]),
                         n - 1)
        best_potential = np.inf
        for i in ids:
            d = np.minimum(closest, [((row - x[i]) ** 2).sum() for row in x])
            if d.sum() < best_potential:
                best, best_potential, best_d = i, d.sum(), d
        centres.append(x[best])
        closest = best_d
    return np.array(centres)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_seeding_picks_the_rows_of_the_plain_reference(seed):
    x = np.random.default_rng(seed).normal(size=(200, 4))
    ours = kmeans_plusplus(x, 9, np.random.RandomState(seed))
    np.testing.assert_array_equal(ours, plusplus_reference(x, 9, np.random.RandomState(seed)))


def test_seeding_draws_distinct_rows_while_any_are_left():
    x = np.repeat(np.arange(5.0)[:, None], 40, axis=0)  # 5 distinct rows, 40 copies each
    centres = kmeans_plusplus(x, 5, np.random.RandomState(0))
    assert sorted(centres[:, 0].tolist()) == [0.0, 1.0, 2.0, 3.0, 4.0]


@pytest.mark.parametrize("x", [np.ones((30, 4)), np.repeat(np.eye(3), 10, axis=0)])
def test_fewer_distinct_rows_than_clusters_leave_clusters_empty(x):
    labels = kmeans(x, 20, seed=0)
    assert len(labels) == len(x) and labels.max() < 20
    distinct = np.unique(x, axis=0)
    assert len(np.unique(labels)) == len(distinct)  # identical rows share a cluster


@pytest.mark.parametrize("n, k", [(0, 5), (1, 5), (5, 1), (3, 20)])
def test_tiny_inputs(n, k):
    x = np.random.default_rng(8).normal(size=(n, 4))
    labels = kmeans(x, k, seed=0)
    assert labels.shape == (n,) and (labels < max(1, min(n, k))).all()


@pytest.mark.parametrize("x, k, message", [
    (np.zeros(10), 2, "2-D"),
    (np.array([[0.0, np.nan], [1.0, 2.0]]), 2, "NaN"),
    (np.zeros((4, 2)), 0, "at least 1"),
])
def test_bad_inputs_are_named(x, k, message):
    with pytest.raises(ValueError, match=message):
        kmeans(x, k)
