"""ecgtk.kernels.af: the Numba window statistics against their plain numpy reference."""

from __future__ import annotations

import numpy as np
import pytest

from ecgtk.kernels.af import window_irregularity, window_irregularity_reference


@pytest.mark.parametrize("n", [0, 1, 2, 3, 7, 40, 201])
@pytest.mark.parametrize("step", [1, 3, 8])
def test_kernel_matches_reference(n, step):
    rng = np.random.default_rng(n + step)
    rr = rng.uniform(0.4, 1.2, n)
    rr[::5] = 0.8  # some exact ties
    got = window_irregularity(rr, 16, 0.1, step)
    want = window_irregularity_reference(rr, 16, 0.1, step)
    for a, b in zip(got, want, strict=True):
        assert a.shape == (n,)
        np.testing.assert_allclose(a, b, equal_nan=True)


def test_values_by_hand():
    rr = np.array([1.0, 1.0, 1.0, 1.0, 1.0])
    irregularity, entropy = window_irregularity(rr, 5, 0.1)
    assert (irregularity == 0).all()
    assert np.allclose(entropy, 0.0)  # every pair matches, and so does the next: -ln(1)
    rr = np.array([0.5, 1.0, 0.5, 1.0, 0.5, 1.0])  # bigeminy: predictable
    irregularity, entropy = window_irregularity(rr, 6, 0.1)
    assert np.allclose(irregularity, 0.5 / 0.75) and np.allclose(entropy, 0.0)


def test_bad_input():
    with pytest.raises(ValueError):
        window_irregularity(np.ones((2, 2)), 8, 0.1)
    with pytest.raises(ValueError):
        window_irregularity(np.array([1.0, -1.0, 1.0]), 8, 0.1)
    with pytest.raises(ValueError):
        window_irregularity(np.ones(5), 2, 0.1)
