import numpy as np
import pytest

from ecgtk.kernels.normalise import normalise_windows, normalise_windows_reference, qrs_scale


def test_normalise_matches_reference():
    rng = np.random.default_rng(0)
    windows = rng.normal(size=(50, 100, 2)).astype(np.float32) * 3
    windows[3, 10:20, 1] = np.nan
    windows[4, :, 0] = np.nan
    scale = np.array([0.5, 2.0], np.float32)
    np.testing.assert_allclose(normalise_windows(windows, scale),
                               normalise_windows_reference(windows, scale), rtol=1e-6, atol=1e-6)


def test_qrs_scale_is_median_peak_to_peak():
    x = np.zeros((1000, 2), np.float32)
    for beat, amp in zip((100, 300, 500), (1.0, 2.0, 3.0), strict=True):
        x[beat, 0] = amp
        x[beat, 1] = -amp / 2
    np.testing.assert_allclose(qrs_scale(x, np.array([100, 300, 500]), 10), [2.0, 1.0])
    np.testing.assert_allclose(qrs_scale(np.zeros((100, 1)), np.array([50]), 5), [0.05])
    np.testing.assert_allclose(qrs_scale(x, np.array([], dtype=np.int64), 5), [1.0, 1.0])


def test_normalise_checks_shapes():
    with pytest.raises(ValueError, match="fit"):
        normalise_windows(np.zeros((2, 10, 2)), np.ones(3))
    with pytest.raises(ValueError, match="positive"):
        normalise_windows(np.zeros((2, 10, 1)), np.zeros(1))
