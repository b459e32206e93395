"""ecgtk.kernels.windows: Numba cores must equal the numpy references exactly."""

from __future__ import annotations

import numpy as np
import pytest

from ecgtk.kernels.windows import (
    context_stack,
    context_stack_reference,
    rr_intervals,
    rr_intervals_reference,
    slice_windows,
    slice_windows_reference,
)

# ----------------------------------------------------------------------------- slice_windows


def _check_windows(signal, centers, before, after) -> np.ndarray:
    got = slice_windows(signal, centers, before, after)
    ref = slice_windows_reference(signal, centers, before, after)
    n_ch = 1 if np.ndim(signal) == 1 else np.shape(signal)[1]
    assert got.shape == ref.shape == (len(centers), before + after, n_ch)
    assert got.dtype == ref.dtype == np.float32
    assert got.flags.c_contiguous and ref.flags.c_contiguous
    np.testing.assert_array_equal(got, ref)
    return got


@pytest.mark.parametrize("n", [1, 2, 5, 99, 100, 101, 1000])
@pytest.mark.parametrize("n_ch", [None, 1, 2, 12])
@pytest.mark.parametrize("before, after", [(50, 50), (150, 150), (0, 1), (1, 0), (3, 7), (0, 9)])
def test_slice_windows_random(n: int, n_ch: int | None, before: int, after: int) -> None:
    rng = np.random.default_rng(n * 7 + (n_ch or 0) * 13 + before * 3 + after)
    shape = (n,) if n_ch is None else (n, n_ch)
    signal = rng.standard_normal(shape).astype(np.float32)
    edge_cases = np.array([0, n - 1, -1, n, -before - after - 5, n + before + after + 5, n // 2])
    centers = np.concatenate(
        [rng.integers(-2 * before - 3, n + 2 * after + 3, size=40), edge_cases]
    )
    _check_windows(signal, centers, before, after)


def test_slice_windows_layout_and_values() -> None:
    signal = np.arange(1000, dtype=np.float32)
    out = _check_windows(signal, np.array([500]), 50, 50)
    assert out.shape == (1, 100, 1)
    assert out[0, 50, 0] == 500  # the centre sits at index `before`
    np.testing.assert_array_equal(out[0, :, 0], np.arange(450, 550))
    two = np.stack([signal, -signal], axis=1)
    out = _check_windows(two, np.array([10, 20]), 2, 3)
    np.testing.assert_array_equal(out[1, :, 0], [18, 19, 20, 21, 22])
    np.testing.assert_array_equal(out[1, :, 1], [-18, -19, -20, -21, -22])


def test_slice_windows_edge_replication() -> None:
    signal = np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0], [4.0, 40.0]])
    out = _check_windows(signal, np.array([0, 3, -10, 50]), 2, 2)
    np.testing.assert_array_equal(out[0, :, 0], [1, 1, 1, 2])
    np.testing.assert_array_equal(out[1, :, 1], [20, 30, 40, 40])
    np.testing.assert_array_equal(out[2, :, 0], [1, 1, 1, 1])
    np.testing.assert_array_equal(out[3, :, 1], [40, 40, 40, 40])


def test_slice_windows_one_sample_signal() -> None:
    out = _check_windows(np.array([7.5]), np.array([0, -3, 4]), 2, 3)
    assert np.all(out == 7.5)


def test_slice_windows_empty_centers() -> None:
    signal = np.ones((50, 3), dtype=np.float32)
    for centers in (np.array([], dtype=np.int64), np.array([])):
        out = _check_windows(signal, centers, 50, 50)
        assert out.shape == (0, 100, 3)


def test_slice_windows_nan_kept_and_dtypes() -> None:
    signal = np.array([0.0, np.nan, 2.0, 3.0])
    out = _check_windows(signal, np.array([1]), 1, 2)
    np.testing.assert_array_equal(out[0, :, 0], [0.0, np.nan, 2.0])
    ints = np.arange(30, dtype=np.int16).reshape(15, 2)
    for centers in (np.array([3, 9], dtype=np.int32), np.array([3, 9], dtype=np.uint16)):
        out = _check_windows(ints, centers, 2, 2)
        np.testing.assert_array_equal(out[0, :, 1], [3, 5, 7, 9])
    f64 = np.random.default_rng(0).standard_normal((40, 2))
    out = _check_windows(f64, np.array([20]), 4, 4)
    np.testing.assert_array_equal(out[0], f64[16:24].astype(np.float32))


def test_slice_windows_non_contiguous_signal() -> None:
    base = np.random.default_rng(1).standard_normal((300, 6)).astype(np.float32)
    signal = base[::3, ::2]
    out = _check_windows(signal, np.array([0, 50, 99]), 10, 10)
    np.testing.assert_array_equal(out[1], signal[40:60])


@pytest.mark.parametrize(
    "signal, centers, before, after, match",
    [
        (np.zeros((10, 2, 2)), np.array([1]), 1, 1, "signal must be 1-D"),
        (np.zeros(()), np.array([1]), 1, 1, "signal must be 1-D"),
        (np.zeros(0), np.array([1]), 1, 1, "at least one sample"),
        (np.zeros((5, 0)), np.array([1]), 1, 1, "at least one channel"),
        (np.zeros(5, dtype=complex), np.array([1]), 1, 1, "real"),
        (np.zeros(5), np.array([1.0]), 1, 1, "integer"),
        (np.zeros(5), np.array([True]), 1, 1, "integer"),
        (np.zeros(5), np.array([[1]]), 1, 1, "centers must be 1-D"),
        (np.zeros(5), np.array(1), 1, 1, "centers must be 1-D"),
        (np.zeros(5), np.array([1]), -1, 1, "before"),
        (np.zeros(5), np.array([1]), 1, -1, "after"),
        (np.zeros(5), np.array([1]), 1.0, 1, "before"),
        (np.zeros(5), np.array([1]), 0, 0, ">= 1"),
        (np.zeros(5), np.array([2**63 - 1]), 1, 1, "too far"),
    ],
)
def test_slice_windows_bad_inputs(signal, centers, before, after, match) -> None:
    with pytest.raises(ValueError, match=match):
        slice_windows(signal, centers, before, after)
    with pytest.raises(ValueError, match=match):
        slice_windows_reference(signal, centers, before, after)


# ------------------------------------------------------------------------------ rr_intervals


def _check_rr(samples, fs) -> tuple[np.ndarray, np.ndarray]:
    prev, nxt = rr_intervals(samples, fs)
    ref_prev, ref_next = rr_intervals_reference(samples, fs)
    for got, ref in ((prev, ref_prev), (nxt, ref_next)):
        assert got.dtype == ref.dtype == np.float32
        assert got.shape == ref.shape == (len(samples),)
        assert got.flags.c_contiguous
        np.testing.assert_array_equal(got, ref)
    return prev, nxt


@pytest.mark.parametrize("n", [0, 1, 2, 3, 1000])
@pytest.mark.parametrize("fs", [128, 250, 360.0, 1000 / 3])
def test_rr_intervals_random(n: int, fs: float) -> None:
    rng = np.random.default_rng(n + int(fs))
    samples = np.cumsum(rng.integers(1, int(2 * fs), size=n)).astype(np.int64)
    prev, nxt = _check_rr(samples, fs)
    if n:
        assert np.isnan(prev[0]) and np.isnan(nxt[-1])
        np.testing.assert_array_equal(prev[1:], nxt[:-1])
        np.testing.assert_allclose(prev[1:], np.diff(samples) / fs, rtol=1e-7)
    _check_rr(samples.astype(np.float64) + 0.25, fs)


def test_rr_intervals_values() -> None:
    prev, nxt = _check_rr(np.array([100, 460, 640], dtype=np.int32), 360)
    np.testing.assert_array_equal(prev, np.array([np.nan, 1.0, 0.5], dtype=np.float32))
    np.testing.assert_array_equal(nxt, np.array([1.0, 0.5, np.nan], dtype=np.float32))
    prev, nxt = _check_rr(np.array([5]), 250)
    assert np.isnan(prev[0]) and np.isnan(nxt[0])
    prev, nxt = _check_rr(np.array([], dtype=np.int64), 250)
    assert prev.shape == nxt.shape == (0,)


@pytest.mark.parametrize(
    "samples, fs, match",
    [
        (np.array([3, 2]), 250, "ascending"),
        (np.array([1, 2, 2, 5]), 250, "ascending"),
        (np.array([1.0, np.nan]), 250, "finite"),
        (np.array([[1, 2]]), 250, "1-D"),
        (np.array([True, False]), 250, "numeric"),
        (np.array(["a"]), 250, "numeric"),
        (np.array([1, 2]), 0, "fs"),
        (np.array([1, 2]), -250, "fs"),
        (np.array([1, 2]), float("nan"), "fs"),
        (np.array([1, 2]), "250", "fs"),
    ],
)
def test_rr_intervals_bad_inputs(samples, fs, match) -> None:
    with pytest.raises(ValueError, match=match):
        rr_intervals(samples, fs)
    with pytest.raises(ValueError, match=match):
        rr_intervals_reference(samples, fs)


# ----------------------------------------------------------------------------- context_stack


@pytest.mark.parametrize("n_rows, leads, n_extra", [(0, 2, 2), (1, 1, 2), (37, 2, 2), (50, 3, 0)])
def test_context_stack_matches_reference(n_rows: int, leads: int, n_extra: int) -> None:
    rng = np.random.default_rng(n_rows + 10 * leads)
    windows = rng.standard_normal((20, 30, leads)).astype(np.float32)
    templates = rng.standard_normal((3, 30, leads)).astype(np.float32)
    rows = rng.integers(0, 20, n_rows)  # repeats allowed
    template_of = rng.integers(-1, 3, n_rows)  # -1: no template (zeros)
    extra = rng.standard_normal((n_rows, n_extra)).astype(np.float32)
    got = context_stack(windows, rows, templates, template_of, extra)
    ref = context_stack_reference(windows, rows, templates, template_of, extra)
    assert got.shape == ref.shape == (n_rows, 30, 2 * leads + n_extra)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, ref)


def test_context_stack_layout() -> None:
    windows = np.arange(2 * 4 * 2, dtype=np.float32).reshape(2, 4, 2)
    templates = np.full((1, 4, 2), 7.0, np.float32)
    out = context_stack(windows, np.array([1, 0]), templates, np.array([0, -1]),
                        np.array([[0.5, -0.5], [1.0, 2.0]], np.float32))
    np.testing.assert_array_equal(out[0, :, :2], windows[1])
    np.testing.assert_array_equal(out[1, :, :2], windows[0])
    assert (out[0, :, 2:4] == 7.0).all() and (out[1, :, 2:4] == 0.0).all()
    np.testing.assert_array_equal(out[:, :, 4:], [[[0.5, -0.5]] * 4, [[1.0, 2.0]] * 4])


@pytest.mark.parametrize("rows, template_of, match", [
    (np.array([5]), np.array([0]), "outside"),
    (np.array([0]), np.array([2]), "outside"),
    (np.array([0]), np.array([-2]), "outside"),
    (np.array([0, 1]), np.array([0]), "one entry per output row"),
])
def test_context_stack_bad_inputs(rows, template_of, match) -> None:
    windows = np.zeros((2, 4, 1), np.float32)
    with pytest.raises(ValueError, match=match):
        context_stack(windows, rows, np.zeros((1, 4, 1), np.float32), template_of,
                      np.zeros((1, 2), np.float32))
