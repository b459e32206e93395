"""Morphology templates: K-means on the beats' coarse windows, then merging look-alike clusters.

Beats are compared on their normalised model-2 window kept at every 5th sample (72 Hz), each
z-normalised so that clustering follows shape, not amplitude. K-means
(:func:`ecgtk.kernels.kmeans.kmeans`, on every beat however long the recording) starts with
``n_start`` clusters; then the two clusters whose centroids are most alike are merged, again
and again, while their cosine similarity is at least ``merge_similarity``. Each template is
labelled by the majority of its beats.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ecgtk.kernels.kmeans import kmeans

#: Defaults chosen by measurement on DS1 + paced (python -m research.templates_eval):
#: median 10 templates per record, median purity 99.4 % against the reference classes.
N_START = 20
MERGE_SIMILARITY = 0.93
#: K-means starts per grouping (the decision averages three groupings, each its own seed): one
#: labelled as well as the best of three on unseen patients, at a third of the time
#: (research/kmeans_plan.md, experiment 3).
KMEANS_STARTS = 1


@dataclass(frozen=True)
class Templates:
    """Clusters of one recording's beats."""

    assignment: np.ndarray  # int32 cluster per beat, clusters numbered by size (0 largest)
    n_beats: np.ndarray  # int64 per cluster
    labels: np.ndarray  # object: majority beat label per cluster
    templates: np.ndarray  # float32 (n_clusters, features): mean coarse window
    merged_from: list[list[int]]  # K-means clusters each final cluster was merged from


#: Rows z-normalised at a time: the temporaries stay small whatever the recording's length.
ZSCORE_BLOCK = 4096


def zscore_rows(x: np.ndarray, rows: np.ndarray | None = None,
                order: str = "C") -> np.ndarray:
    """Each row of ``x`` (of ``x[rows]`` when given) minus its mean, over its standard
    deviation: float32, computed a block of rows at a time (a week-long recording's beats
    would otherwise need several copies of their morphology at once). ``order="F"`` lays each
    column out contiguously (the same numbers), for statistics down the columns."""
    x = np.asarray(x)
    n = len(x) if rows is None else len(rows)
    out = np.empty((n,) + x.shape[1:], dtype=np.float32, order=order)
    for start in range(0, n, ZSCORE_BLOCK):
        stop = min(n, start + ZSCORE_BLOCK)
        block = np.asarray(x[start:stop] if rows is None else x[rows[start:stop]],
                           dtype=np.float32)
        centred = block - block.mean(axis=1, keepdims=True)
        np.divide(centred, centred.std(axis=1, keepdims=True) + 1e-6, out=out[start:stop])
    return out


def cluster_beats(morphology: np.ndarray, labels: np.ndarray, n_start: int = N_START,
                  merge_similarity: float = MERGE_SIMILARITY, seed: int = 0,
                  rows: np.ndarray | None = None,
                  shapes: np.ndarray | None = None) -> Templates:
    """Templates of beats ``morphology`` ``(n, features)`` with their ``labels`` (N/V); with
    ``rows``, of the beats ``morphology[rows]`` (without copying them). ``shapes``: their
    :func:`zscore_rows`, when already made (several groupings of the same beats share them)."""
    n = len(morphology) if rows is None else len(rows)
    labels = np.asarray(labels, dtype=object)
    if n == 0:
        return Templates(np.empty(0, np.int32), np.empty(0, np.int64), np.empty(0, object),
                         np.empty((0, morphology.shape[1]), np.float32), [])
    shapes = zscore_rows(morphology, rows) if shapes is None else shapes
    initial = _kmeans(shapes, min(n_start, n), seed)
    groups = merge_clusters(shapes, initial, merge_similarity)
    order = sorted(groups, key=lambda g: (-int(np.isin(initial, groups[g]).sum()), g))
    assignment = np.empty(n, dtype=np.int32)
    for new, key in enumerate(order):
        assignment[np.isin(initial, groups[key])] = new
    sizes = np.bincount(assignment, minlength=len(order)).astype(np.int64)
    majority = majority_labels(assignment, labels, len(order))
    index = np.arange(n) if rows is None else np.asarray(rows)
    means = np.stack([morphology[index[assignment == c]].mean(axis=0)
                      for c in range(len(order))])
    return Templates(assignment, sizes, majority, means.astype(np.float32),
                     [sorted(int(k) for k in groups[key]) for key in order])


def majority_labels(assignment: np.ndarray, labels: np.ndarray, n_clusters: int) -> np.ndarray:
    """The most common of ``labels`` in each of ``n_clusters`` clusters (object array)."""
    labels = np.asarray(labels, dtype=object)
    return np.array([_majority(labels[assignment == c]) for c in range(n_clusters)],
                    dtype=object)


def merge_clusters(shapes: np.ndarray, assignment: np.ndarray,
                   merge_similarity: float) -> dict[int, list[int]]:
    """Repeatedly merge the most similar pair of clusters (cosine similarity of their mean
    shapes, recomputed after each merge) while it is ``>= merge_similarity``.

    Returns ``{kept cluster id: [original cluster ids]}``.
    """
    groups = {int(c): [int(c)] for c in np.unique(assignment)}
    sums = {c: shapes[assignment == c].sum(axis=0).astype(np.float64) for c in groups}
    while len(groups) > 1:
        keys = sorted(groups)
        centroids = np.stack([sums[k] for k in keys])
        unit = centroids / (np.linalg.norm(centroids, axis=1, keepdims=True) + 1e-12)
        similarity = unit @ unit.T
        np.fill_diagonal(similarity, -np.inf)
        i, j = np.unravel_index(np.argmax(similarity), similarity.shape)
        if similarity[i, j] < merge_similarity:
            break
        keep, gone = keys[min(i, j)], keys[max(i, j)]
        groups[keep] += groups.pop(gone)
        sums[keep] += sums.pop(gone)
    return groups


def _kmeans(shapes: np.ndarray, k: int, seed: int) -> np.ndarray:
    """K-means cluster of each of ``shapes`` among ``k``, one k-means++ start from ``seed``."""
    return kmeans(shapes, k, seed, n_init=KMEANS_STARTS)


def _majority(labels: np.ndarray) -> str:
    values, counts = np.unique(labels.astype(str), return_counts=True)
    return str(values[np.argmax(counts)]) if len(values) else "N"
