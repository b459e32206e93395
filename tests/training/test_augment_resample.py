"""The sampling-rate round trip: a window resampled to a recorder's rate and back keeps what
that recorder keeps (the band below its Nyquist rate) and loses the rest."""

import numpy as np
import pytest

from ecgtk.export.augment import AugmentConfig, augment, rate_round_trip

FS = 360.0


def _sines(*hz: float, length: int = 300) -> np.ndarray:
    t = np.arange(length) / FS
    return np.stack([np.sin(2 * np.pi * f * t) for f in hz], -1)[None].astype(np.float32)


@pytest.mark.parametrize("rate", [128.0, 250.0, 500.0])
def test_the_band_below_the_recorders_nyquist_rate_survives(rate):
    x = _sines(5.0, 40.0)
    y = rate_round_trip(x, rate, FS)
    assert y.shape == x.shape and y.dtype == np.float32
    np.testing.assert_allclose(y[0, 20:-20], x[0, 20:-20], atol=0.02)


def test_what_a_128_hz_recorder_cannot_hold_is_gone():
    x = _sines(100.0)
    assert np.abs(rate_round_trip(x, 128.0, FS)[0, 20:-20]).max() < 0.05
    assert np.abs(rate_round_trip(x, 250.0, FS)[0, 20:-20]).max() > 0.9


def test_the_model_rate_itself_changes_nothing():
    x = _sines(100.0)
    np.testing.assert_array_equal(rate_round_trip(x, FS, FS), x)


def test_off_by_default_and_draws_nothing_when_off():
    windows = np.random.default_rng(0).normal(size=(40, 300, 6)).astype(np.float32)
    assert AugmentConfig().resample_rates == ()
    plain = augment(windows, 1, AugmentConfig(), signal_leads=2)
    np.testing.assert_array_equal(plain, augment(windows, 1, AugmentConfig(resample_rates=()),
                                                 signal_leads=2))


def test_leads_and_their_templates_go_together_rr_context_stays():
    rng = np.random.default_rng(1)
    windows = rng.normal(size=(30, 300, 6)).astype(np.float32)
    cfg = AugmentConfig(probability=0.0, resample_rates=(128.0,), resample_probability=1.0,
                        max_shift=0, wander_amplitude=0.0, noise_std=(0.0, 0.0))
    out = augment(windows, 2, cfg, signal_leads=2)
    expected = rate_round_trip(windows[:, :, :4], 128.0)
    # the leads are re-centred on their median as the normaliser does; templates are not
    leads = expected[:, :, :2] - np.median(expected[:, :, :2], axis=1, keepdims=True)
    np.testing.assert_allclose(out[:, :, :2], np.clip(leads, -20, 20), atol=1e-5)
    np.testing.assert_allclose(out[:, :, 2:4], expected[:, :, 2:4], atol=1e-5)
    np.testing.assert_array_equal(out[:, :, 4:], windows[:, :, 4:])
