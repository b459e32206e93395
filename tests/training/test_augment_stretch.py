"""Time-stretch augmentation: widens or narrows waves about the window's centre; with context
channels the leads' templates are stretched with their leads and the RR channels are not."""

from __future__ import annotations

import numpy as np
import pytest

from ecgtk.export.augment import AugmentConfig, augment, time_stretch


def _pulse(length: int = 301, width: float = 10.0) -> np.ndarray:
    t = np.arange(length) - length // 2
    return np.exp(-0.5 * (t / width) ** 2).astype(np.float32)


def _width_at_half(x: np.ndarray) -> int:
    return int((x >= 0.5 * x.max()).sum())


def test_time_stretch_widens_and_narrows_about_the_centre():
    x = np.stack([_pulse(), _pulse(), _pulse()])[:, :, None]
    out = time_stretch(x, np.array([1.0, 1.5, 0.7]))
    np.testing.assert_allclose(out[0], x[0], atol=1e-6)  # factor 1: unchanged
    widths = [_width_at_half(w[:, 0]) for w in out]
    assert widths[1] == pytest.approx(1.5 * widths[0], rel=0.1)
    assert widths[2] == pytest.approx(0.7 * widths[0], rel=0.1)
    assert all(int(np.argmax(w[:, 0])) == 150 for w in out)  # the peak stays at the centre
    assert out.dtype == np.float32 and out.shape == x.shape


def test_time_stretch_matches_numpy_interp():
    """Reference: np.interp of each window at the stretched positions (edges replicated)."""
    rng = np.random.default_rng(3)
    x = rng.normal(0, 1, (5, 100, 2)).astype(np.float32)
    factors = rng.uniform(0.8, 1.25, 5)
    out = time_stretch(x, factors)
    t = np.arange(100)
    for i, f in enumerate(factors):
        pos = 50 + (t - 50) / f
        for c in range(2):
            np.testing.assert_allclose(out[i, :, c], np.interp(pos, t, x[i, :, c]), atol=1e-5)
    with pytest.raises(ValueError, match="positive"):
        time_stretch(x, np.zeros(5))


def test_stretch_off_by_default_leaves_the_other_draws_unchanged():
    x = np.random.default_rng(0).normal(0, 1, (16, 100, 2)).astype(np.float32)
    same = AugmentConfig(stretch_range=(1.0, 1.0))
    np.testing.assert_array_equal(augment(x, 4), augment(x, 4, same))
    assert not np.array_equal(augment(x, 4), augment(x, 4, AugmentConfig(stretch_range=(0.9, 1.1))))


def test_stretch_moves_templates_with_their_leads_not_rr():
    pulse = _pulse(300)
    x = np.zeros((8, 300, 6), np.float32)
    x[:, :, :4] = pulse[None, :, None]  # two leads and their two templates
    x[:, :, 4:] = 0.3  # RR channels (constant)
    cfg = AugmentConfig(probability=1.0, stretch_range=(1.4, 1.4), max_shift=0,
                        scale_range=(1.0, 1.0), wander_amplitude=0, noise_std=(0, 0))
    out = augment(x, 2, cfg, signal_leads=2)
    stretched = time_stretch(x[:, :, :4], np.full(8, 1.4))
    np.testing.assert_allclose(out[:, :, 2:4], stretched[:, :, 2:4], atol=1e-6)  # templates
    lead = out[0, :, 0]
    assert _width_at_half(lead) == pytest.approx(1.4 * _width_at_half(pulse), rel=0.1)
    np.testing.assert_array_equal(out[:, :, 4:], x[:, :, 4:])


def test_context_windows_take_the_default_config():
    """``config=None`` means the default augmentation on the context path too (it once handed
    None on to the lead augmentation and failed)."""
    x = np.random.default_rng(1).normal(0, 1, (8, 100, 6)).astype(np.float32)
    np.testing.assert_array_equal(augment(x, 3, None, signal_leads=2),
                                  augment(x, 3, AugmentConfig(), signal_leads=2))
