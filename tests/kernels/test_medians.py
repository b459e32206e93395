"""ecgtk.kernels.medians: the sorted-window Numba core must give np.median's numbers exactly."""

from __future__ import annotations

import numpy as np
import pytest

from ecgtk.kernels.medians import (
    running_median,
    running_median_reference,
    sliding_median,
    sliding_median_reference,
)


def _same(got: np.ndarray, expected: np.ndarray) -> None:
    assert got.shape == expected.shape
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)  # NaN where NaN, bit for bit elsewhere


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size", [1, 2, 3, 8, 17, 128])
@pytest.mark.parametrize("columns", [None, 3])
def test_sliding_median_equals_numpy(dtype, size, columns) -> None:
    rng = np.random.default_rng(size)
    shape = (300,) if columns is None else (300, columns)
    values = rng.normal(size=shape).astype(dtype)
    _same(sliding_median(values, size), sliding_median_reference(values, size))


@pytest.mark.parametrize("size", [4, 5])
def test_ties_and_integers(size) -> None:
    rng = np.random.default_rng(1)
    values = rng.integers(0, 4, size=200)  # many equal values; ints give float64
    got = sliding_median(values, size)
    assert got.dtype == np.float64
    _same(got, sliding_median_reference(values, size))


@pytest.mark.parametrize("size", [3, 6])
def test_a_window_with_a_nan_is_nan(size) -> None:
    values = np.arange(40, dtype=np.float64)
    values[[5, 30, 31]] = np.nan
    got = sliding_median(values, size)
    _same(got, sliding_median_reference(values, size))
    nan_rows = np.flatnonzero(np.isnan(got))
    assert nan_rows.min() == 5 - size + 1 and not np.isnan(got[6:30 - size + 1]).any()


def test_shorter_than_the_window() -> None:
    _same(sliding_median(np.ones(3), 5), sliding_median_reference(np.ones(3), 5))
    assert sliding_median(np.ones((3, 2)), 5).shape == (0, 2)
    _same(sliding_median(np.empty(0), 3), sliding_median_reference(np.empty(0), 3))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_running_median_is_centred_with_repeated_edges(dtype) -> None:
    rng = np.random.default_rng(0)
    values = rng.normal(size=40).astype(dtype)
    padded = np.pad(values, 3, mode="edge")
    expected = np.array([np.median(padded[i:i + 7]) for i in range(40)], dtype=dtype)
    _same(running_median(values, 7), expected)
    _same(running_median(values, 7), running_median_reference(values, 7))
    table = rng.normal(size=(30, 3))  # per column
    _same(running_median(table, 5)[:, 1], running_median(table[:, 1], 5))
    assert running_median(np.empty(0), 5).shape == (0,)


def test_an_outlier_does_not_move_the_level() -> None:
    rr = np.full(50, 0.8)
    rr[20] = 0.4  # one premature beat
    np.testing.assert_array_equal(running_median(rr, 17), np.full(50, 0.8))


@pytest.mark.parametrize(("values", "size", "match"), [
    (np.ones((3, 2, 2)), 3, "1-D or 2-D"),
    (np.ones(5), 0, "at least 1 row"),
])
def test_bad_inputs(values, size, match) -> None:
    with pytest.raises(ValueError, match=match):
        sliding_median(values, size)
    with pytest.raises(ValueError, match=match):
        running_median(values, size)
