"""Morphology templates: K-means then merging of look-alike clusters."""

import numpy as np

from ecgtk.labelling.templates import cluster_beats, merge_clusters, zscore_rows


def two_shapes(n_normal=300, n_ventricular=60, seed=0):
    rng = np.random.default_rng(seed)
    t = np.linspace(-1, 1, 60)
    normal = np.exp(-(t / 0.08) ** 2)
    ventricular = -np.exp(-(t / 0.3) ** 2)
    x = np.vstack([normal + rng.normal(0, 0.05, (n_normal, 60)),
                   ventricular + rng.normal(0, 0.05, (n_ventricular, 60))]).astype(np.float32)
    labels = np.array(["N"] * n_normal + ["V"] * n_ventricular, dtype=object)
    return x, labels


def test_two_morphologies_give_two_pure_templates():
    x, labels = two_shapes()
    templates = cluster_beats(x, labels, n_start=12, merge_similarity=0.9)
    assert len(templates.n_beats) == 2
    assert list(templates.labels) == ["N", "V"] and list(templates.n_beats) == [300, 60]
    for c in range(2):
        assert len(set(labels[templates.assignment == c])) == 1  # pure
    assert sorted(sum(templates.merged_from, [])) == list(range(12))
    assert templates.templates.shape == (2, 60)


def test_high_threshold_keeps_more_templates():
    x, labels = two_shapes()
    strict = cluster_beats(x, labels, n_start=12, merge_similarity=0.9999)
    assert len(strict.n_beats) > 2
    assert (np.diff(strict.n_beats) <= 0).all()  # numbered by size


def test_deterministic_and_small_inputs():
    x, labels = two_shapes()
    a, b = cluster_beats(x, labels), cluster_beats(x, labels)
    np.testing.assert_array_equal(a.assignment, b.assignment)
    one = cluster_beats(x[:1], labels[:1])
    assert list(one.n_beats) == [1]
    none = cluster_beats(x[:0], labels[:0])
    assert len(none.n_beats) == 0


def test_merge_clusters_merges_only_similar_pairs():
    shapes = zscore_rows(np.array([[0, 1, 0, 0], [0, 1.1, 0, 0], [1, 0, 0, 0]], np.float32))
    groups = merge_clusters(shapes, np.array([0, 1, 2]), merge_similarity=0.99)
    assert sorted(map(sorted, groups.values())) == [[0, 1], [2]]


def test_cluster_beats_with_its_shapes_given_is_the_same():
    """Groupings that share the z-scored shapes (ecgtk.labelling.classify) get the templates
    they would make alone."""
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.normal(0, 1, (60, 12)), rng.normal(3, 1, (40, 12))])
    rows = np.arange(5, 95)
    labels = np.full(len(rows), "N", dtype=object)
    alone = cluster_beats(x, labels, n_start=6, seed=2, rows=rows)
    shared = cluster_beats(x, labels, n_start=6, seed=2, rows=rows,
                           shapes=zscore_rows(x, rows))
    np.testing.assert_array_equal(alone.assignment, shared.assignment)
    np.testing.assert_array_equal(alone.templates, shared.templates)


def test_zscore_rows_in_column_order_gives_the_same_numbers():
    x = np.random.default_rng(3).normal(size=(5000, 12)).astype(np.float32)
    rows = np.arange(0, 5000, 3)
    c_order = zscore_rows(x, rows)
    f_order = zscore_rows(x, rows, order="F")
    assert f_order.flags.f_contiguous and not f_order.flags.c_contiguous
    np.testing.assert_array_equal(f_order, c_order)


def test_a_run_groups_beats_without_importing_scikit_learn(tmp_path):
    # Importing scikit-learn cost half a second of every ecgtk run process (issue 38); the
    # templates use ecgtk.kernels.kmeans, and nothing else of a run may bring it back.
    import subprocess
    import sys

    code = ("import sys, ecgtk; results = ecgtk.run_archive(out=sys.argv[1], workers=1); "
            "print([r.status for r in results], 'sklearn' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "['ok', 'ok', 'ok'] False"
