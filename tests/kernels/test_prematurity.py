"""ecgtk.kernels.prematurity against its plain-Python references."""

import numpy as np
import pytest

from ecgtk.kernels.prematurity import (
    prematurity,
    prematurity_reference,
    shape_features,
    shape_features_reference,
)


@pytest.mark.parametrize("n", [0, 1, 2, 3, 10, 57])
@pytest.mark.parametrize("neighbours", [1, 4, 8])
def test_prematurity_matches_the_reference(n, neighbours):
    rng = np.random.default_rng(n + 100 * neighbours)
    beats = np.cumsum(rng.integers(100, 500, size=n))
    np.testing.assert_allclose(prematurity(beats, neighbours),
                               prematurity_reference(beats, neighbours), atol=1e-12)


def test_a_premature_beat_is_early_and_followed_by_a_pause():
    beats = np.arange(0, 30 * 300, 300)
    beats[15] -= 100  # 200 after the previous beat, 400 before the next
    f = prematurity(beats)
    assert f[15, 0] == pytest.approx(np.log(200 / 300))
    assert f[15, 1] == pytest.approx(np.log(400 / 200))
    assert f[15, 3] == pytest.approx(np.log(200 / 300))
    assert f[16, 5] == pytest.approx(np.log(200 / 300))  # the next beat follows an early one
    assert np.allclose(f[:14], 0) and np.allclose(f[18:], 0)


def test_log_ratios_are_clipped():
    f = prematurity(np.array([0, 10, 1000, 1010]), neighbours=1)
    assert np.abs(f).max() <= np.log(5.0) + 1e-12


@pytest.mark.parametrize("n", [0, 1, 7])
def test_shape_features_match_the_reference(n):
    rng = np.random.default_rng(n)
    windows = rng.normal(size=(n, 2, 60)).astype(np.float32)
    windows[:1, 1, 10:30] = 0.0  # a flat region: correlation 0
    templates = rng.normal(size=(3, 2, 60))
    which = rng.integers(0, 3, size=n)
    got = shape_features(windows, templates, which, (12, 25), (26, 35))
    want = shape_features_reference(windows, templates, which, (12, 25), (26, 35))
    np.testing.assert_allclose(got, want, atol=1e-9)


def test_a_beat_like_its_template_scores_as_its_template():
    rng = np.random.default_rng(0)
    template = rng.normal(size=(1, 2, 60))
    f = shape_features(template.copy(), template, np.zeros(1, int), (12, 25), (26, 35))
    assert f[0, 0] == pytest.approx(1.0) and f[0, 3] == pytest.approx(1.0)
    assert f[0, 1] == pytest.approx(0.0) and f[0, 2] == pytest.approx(0.0)
