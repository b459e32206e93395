"""ecgtk.kernels.resample: Numba core vs numpy reference vs scipy.signal.resample_poly."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import scipy.signal

from ecgtk.kernels.resample import (
    design_resample_filter,
    resample_poly,
    resample_poly_reference,
    resample_ratio,
    samples_to_rate,
)

RECORDING_RATES = [128, 200, 250, 256, 500, 1000]
RATIOS = [(45, 16), (9, 5), (36, 25), (45, 32), (18, 25), (9, 25), (1, 3), (3, 1), (2, 1), (7, 3)]


def _rel_err(a: np.ndarray, b: np.ndarray) -> float:
    scale = max(1.0, float(np.abs(b).max()))
    return float(np.abs(a.astype(np.float64) - b).max()) / scale


# --------------------------------------------------------------------------- resample_ratio


@pytest.mark.parametrize("fs_in", RECORDING_RATES)
def test_resample_ratio_recording_rates(fs_in: int) -> None:
    up, down = resample_ratio(fs_in, 360)
    assert Fraction(up, down) == Fraction(360, fs_in)
    assert np.gcd(up, down) == 1
    assert isinstance(up, int) and isinstance(down, int)


def test_resample_ratio_examples() -> None:
    assert resample_ratio(128, 360) == (45, 16)
    assert resample_ratio(128.0, 360.0) == (45, 16)
    assert resample_ratio(250, 360) == (36, 25)
    assert resample_ratio(360, 360) == (1, 1)
    assert resample_ratio(360, 250) == (25, 36)
    assert resample_ratio(1000 / 3, 360) == (27, 25)
    assert resample_ratio(np.float32(500), np.int64(360)) == (18, 25)
    assert resample_ratio(257.5, 360) == (144, 103)


@pytest.mark.parametrize(
    "fs_in, fs_out",
    [
        (0, 360),
        (-250, 360),
        (float("nan"), 360),
        (float("inf"), 360),
        (250, 0),
        (True, 360),
        ("250", 360),
        (None, 360),
    ],
)
def test_resample_ratio_bad_rates(fs_in, fs_out) -> None:
    with pytest.raises(ValueError, match="fs_"):
        resample_ratio(fs_in, fs_out)


def test_resample_ratio_irrational_rate() -> None:
    with pytest.raises(ValueError, match="not a rational"):
        resample_ratio(np.pi * 100, 360)
    assert resample_ratio(np.pi * 100, 360, max_denominator=10**9)[0] > 0


# -------------------------------------------------------------------- design_resample_filter


@pytest.mark.parametrize("up, down", RATIOS)
def test_filter_matches_scipy_firwin(up: int, down: int) -> None:
    max_rate = max(up, down)
    expected = scipy.signal.firwin(2 * 10 * max_rate + 1, 1 / max_rate, window=("kaiser", 5.0))
    h = design_resample_filter(up, down)
    assert h.dtype == np.float64
    assert h.shape == (2 * 10 * max_rate + 1,)
    np.testing.assert_allclose(h, expected * up, rtol=0, atol=1e-13)
    np.testing.assert_allclose(h.sum(), up)
    np.testing.assert_array_equal(h, h[::-1])


def test_filter_options() -> None:
    h = design_resample_filter(3, 2, beta=8.6, half_len=12)
    expected = scipy.signal.firwin(25, 1 / 3, window=("kaiser", 8.6)) * 3
    np.testing.assert_allclose(h, expected, rtol=0, atol=1e-13)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(up=0, down=1),
        dict(up=1, down=-2),
        dict(up=1.5, down=1),
        dict(up=True, down=1),
        dict(up=2, down=1, beta=-1.0),
        dict(up=2, down=1, half_len=0),
    ],
)
def test_filter_bad_inputs(kwargs) -> None:
    with pytest.raises(ValueError):
        design_resample_filter(**kwargs)


# ----------------------------------------------------------------------------- resample_poly


@pytest.mark.parametrize("up, down", RATIOS)
@pytest.mark.parametrize("n", [1, 2, 3, 7, 64, 333, 1001])
def test_resample_matches_reference_and_scipy(up: int, down: int, n: int) -> None:
    rng = np.random.default_rng(n * 1000 + up * 31 + down)
    for shape in [(n,), (n, 1), (n, 3)]:
        x = rng.standard_normal(shape).astype(np.float32)
        got = resample_poly(x, up, down)
        ref = resample_poly_reference(x, up, down)
        sci = scipy.signal.resample_poly(x.astype(np.float64), up, down, axis=0)
        assert got.shape == ref.shape == sci.shape
        assert got.shape[0] == -(-n * up // down)
        assert got.dtype == np.float32 and got.flags.c_contiguous
        assert ref.dtype == np.float32
        assert _rel_err(got, sci) < 1e-6
        assert _rel_err(ref, sci) < 1e-6
        assert _rel_err(got, ref) < 1e-6


@pytest.mark.parametrize("fs_in", RECORDING_RATES)
def test_resample_recording_rates_to_360(fs_in: int) -> None:
    up, down = resample_ratio(fs_in, 360)
    t = np.arange(int(2.5 * fs_in)) / fs_in
    x = np.stack([np.sin(2 * np.pi * 7 * t), 0.3 * np.cos(2 * np.pi * 1.1 * t) + 0.1], axis=1)
    got = resample_poly(x, up, down)
    sci = scipy.signal.resample_poly(x, up, down, axis=0)
    assert got.shape == (int(2.5 * 360), 2)
    assert _rel_err(got, sci) < 1e-5
    # Away from the zero-padded ends the band-limited signal comes through unchanged.
    t_out = np.arange(got.shape[0]) / 360
    middle = slice(90, -90)
    np.testing.assert_allclose(got[middle, 0], np.sin(2 * np.pi * 7 * t_out[middle]), atol=2e-3)


def test_resample_float64_and_integer_input() -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((500, 2))
    sci = scipy.signal.resample_poly(x, 45, 16, axis=0)
    assert _rel_err(resample_poly(x, 45, 16), sci) < 1e-6
    xi = rng.integers(-2000, 2000, size=500).astype(np.int16)
    sci = scipy.signal.resample_poly(xi.astype(np.float64), 9, 5)
    assert _rel_err(resample_poly(xi, 9, 5), sci) < 1e-6


def test_resample_non_reduced_and_identity() -> None:
    rng = np.random.default_rng(2)
    x = rng.standard_normal((100, 2)).astype(np.float32)
    np.testing.assert_array_equal(resample_poly(x, 72, 50), resample_poly(x, 36, 25))
    same = resample_poly(x, 4, 4)
    np.testing.assert_array_equal(same, x)
    assert same is not x and same.dtype == np.float32
    np.testing.assert_array_equal(resample_poly_reference(x, 1, 1), x)


def test_resample_axis_1_and_negative_axis() -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 400)).astype(np.float32)
    sci = scipy.signal.resample_poly(x.astype(np.float64), 36, 25, axis=1)
    for axis in (1, -1):
        got = resample_poly(x, 36, 25, axis=axis)
        assert got.shape == sci.shape and got.flags.c_contiguous
        assert _rel_err(got, sci) < 1e-6
        assert _rel_err(resample_poly_reference(x, 36, 25, axis=axis), sci) < 1e-6
    np.testing.assert_array_equal(resample_poly(x.T, 36, 25, axis=-2), resample_poly(x.T, 36, 25))


def test_resample_non_contiguous_input() -> None:
    rng = np.random.default_rng(4)
    x = rng.standard_normal((600, 4)).astype(np.float32)[::2, 1:3]
    sci = scipy.signal.resample_poly(x.astype(np.float64), 45, 32, axis=0)
    assert _rel_err(resample_poly(x, 45, 32), sci) < 1e-6


def test_resample_large_factor() -> None:
    # 257.3 Hz -> 360 Hz: up/down = 3600/2573, a 72001-tap filter.
    up, down = resample_ratio(257.3, 360)
    assert (up, down) == (3600, 2573)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((800, 2)).astype(np.float32)
    sci = scipy.signal.resample_poly(x.astype(np.float64), up, down, axis=0)
    assert _rel_err(resample_poly(x, up, down), sci) < 1e-6


def test_resample_nan_spreads_locally() -> None:
    x = np.zeros(2000, dtype=np.float32)
    x[1000] = np.nan
    y = resample_poly(x, 36, 25)
    assert np.isnan(y[1440])
    assert not np.isnan(y[:1000]).any() and not np.isnan(y[1900:]).any()


@pytest.mark.parametrize(
    "x, up, down, axis, match",
    [
        (np.zeros(10), 0, 1, 0, "up"),
        (np.zeros(10), 1, 0, 0, "down"),
        (np.zeros(10), 2.5, 1, 0, "up"),
        (np.zeros(10), 2, 1, 1, "axis"),
        (np.zeros(10), 2, 1, 0.0, "axis"),
        (np.zeros(0), 2, 1, 0, "at least one sample"),
        (np.zeros((0, 2)), 2, 1, 0, "at least one sample"),
        (np.zeros((2, 2, 2)), 2, 1, 0, "1-D"),
        (np.zeros(10, dtype=complex), 2, 1, 0, "real"),
        (np.array(["a", "b"]), 2, 1, 0, "real"),
    ],
)
def test_resample_bad_inputs(x, up, down, axis, match) -> None:
    with pytest.raises(ValueError, match=match):
        resample_poly(x, up, down, axis=axis)
    with pytest.raises(ValueError, match=match):
        resample_poly_reference(x, up, down, axis=axis)


# --------------------------------------------------------------------------- samples_to_rate


def test_samples_to_rate_integer_exact() -> None:
    idx = np.array([0, 1, 2, 3, 7, 8, 25, 1000, 21_599_999], dtype=np.int64)
    got = samples_to_rate(idx, 250, 360)
    assert got.dtype == np.int64
    expected = [int(Fraction(int(i) * 36, 25) + Fraction(1, 2)) for i in idx]  # floor(x + 1/2)
    np.testing.assert_array_equal(got, expected)
    # Halves round up: 1 sample at 360 Hz is 0.5 samples at 180 Hz.
    np.testing.assert_array_equal(samples_to_rate(np.array([1, 3, 5]), 360, 180), [1, 2, 3])


@pytest.mark.parametrize("fs", RECORDING_RATES)
def test_samples_to_rate_round_trip(fs: int) -> None:
    idx = np.arange(0, 5 * fs, 7, dtype=np.int32)
    at_360 = samples_to_rate(idx, fs, 360)
    back = samples_to_rate(at_360, 360, fs)
    # Going through 360 Hz moves a position by at most half a sample at each rate.
    assert np.abs(back - idx).max() <= (0 if fs <= 360 else int(np.ceil(fs / 360 / 2)))
    np.testing.assert_allclose(at_360 / 360, idx / fs, atol=0.5 / 360 + 1e-12)


def test_samples_to_rate_matches_resampled_peak() -> None:
    # A spike at sample k of a 250 Hz signal peaks at samples_to_rate(k) after resampling.
    for k in (100, 101, 257, 333):
        x = np.zeros(600, dtype=np.float32)
        x[k] = 1.0
        y = resample_poly(x, *resample_ratio(250, 360))
        assert abs(int(np.argmax(y)) - int(samples_to_rate(np.array([k]), 250, 360)[0])) <= 0


def test_samples_to_rate_float_and_shapes() -> None:
    got = samples_to_rate(np.array([[0.0, 0.7], [10.2, 24.9]]), 250, 360)
    assert got.shape == (2, 2) and got.dtype == np.int64
    np.testing.assert_array_equal(got, np.floor(np.array([[0.0, 0.7], [10.2, 24.9]]) * 1.44 + 0.5))
    empty = samples_to_rate(np.array([], dtype=np.int64), 250, 360)
    assert empty.shape == (0,) and empty.dtype == np.int64


@pytest.mark.parametrize(
    "indices, match",
    [
        (np.array([1.0, np.nan]), "finite"),
        (np.array([True, False]), "integer"),
        (np.array(["1"]), "integer"),
        (np.array([2**62]), "too large"),
    ],
)
def test_samples_to_rate_bad_inputs(indices, match) -> None:
    with pytest.raises(ValueError, match=match):
        samples_to_rate(indices, 250, 360)
    with pytest.raises(ValueError):
        samples_to_rate(np.array([1]), 0, 360)
