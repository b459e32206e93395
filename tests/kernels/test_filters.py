"""The Numba band-pass against scipy, the reference implementation."""

import numpy as np
import pytest
import scipy.signal

from ecgtk.kernels import filters
from ecgtk.kernels.filters import bandpass_sos, butter2_sos, sos_initial_state, sosfiltfilt


@pytest.mark.parametrize("fs", [128.0, 250.0, 360.0, 1000.0])
@pytest.mark.parametrize("kind,cutoff", [("highpass", 3.0), ("lowpass", 20.0)])
def test_butter2_matches_scipy_design(fs, kind, cutoff):
    expected = scipy.signal.butter(2, cutoff, btype=kind, fs=fs, output="sos")
    np.testing.assert_allclose(butter2_sos(cutoff, fs, kind), expected, rtol=1e-10, atol=1e-12)


def test_initial_state_matches_scipy():
    sos = bandpass_sos(3.0, 20.0, 360.0)
    np.testing.assert_allclose(sos_initial_state(sos), scipy.signal.sosfilt_zi(sos), atol=1e-12)


@pytest.mark.parametrize("shape", [(5000,), (5000, 1), (3000, 3), (20, 2)])
def test_sosfiltfilt_matches_scipy(shape):
    rng = np.random.default_rng(1)
    x = rng.normal(size=shape).cumsum(axis=0)
    sos = bandpass_sos(3.0, 20.0, 250.0)
    expected = scipy.signal.sosfiltfilt(sos, x, axis=0)
    np.testing.assert_allclose(sosfiltfilt(sos, x), expected, rtol=1e-9, atol=1e-9)


def test_sosfiltfilt_short_signal_uses_shorter_pad():
    sos = bandpass_sos(3.0, 20.0, 360.0)
    x = np.random.default_rng(2).normal(size=(8, 2))
    expected = scipy.signal.sosfiltfilt(sos, x, axis=0, padlen=7)
    np.testing.assert_allclose(sosfiltfilt(sos, x), expected, atol=1e-9)


def test_band_edges_are_checked():
    with pytest.raises(ValueError, match="cutoff"):
        butter2_sos(200.0, 360.0, "lowpass")
    with pytest.raises(ValueError, match="increase"):
        bandpass_sos(20.0, 3.0, 360.0)
    with pytest.raises(ValueError, match="kind"):
        butter2_sos(3.0, 360.0, "bandstop")


@pytest.mark.parametrize("sections", [1, 2, 3])
@pytest.mark.parametrize("n", [5, 4000])
@pytest.mark.parametrize("n_leads", [1, 2, 12])
def test_bandpass_zeroed_is_sosfiltfilt_of_the_zeroed_signal_bit_for_bit(sections, n, n_leads):
    """The two-section paths (one lead: lead by lead; several: row by row) build the zeroed,
    odd-extended signal on the fly inside their forward pass; every path must give
    sosfiltfilt of the zeroed signal exactly."""
    rng = np.random.default_rng(sections * 7 + n + n_leads)
    x = rng.normal(size=(n, n_leads)).astype(np.float32)
    unusable = np.zeros(x.shape, bool)
    unusable[n // 3: n // 2, -1] = True
    x[n // 4, 0] = np.nan
    x[n - 1, -1] = np.nan  # at the very end: the odd extension reads it
    sos = np.vstack([filters.bandpass_sos(3.0, 20.0, 360.0)] * 2)[:sections]
    clean = np.where(unusable | np.isnan(x), 0.0, x.astype(np.float64))
    np.testing.assert_array_equal(filters.bandpass_zeroed(sos, x, unusable),
                                  filters.sosfiltfilt(sos, clean))
