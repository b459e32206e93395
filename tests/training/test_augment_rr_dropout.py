"""RR-context dropout: with context channels, a share of windows has its RR context set to on
time (0), so model 2 learns to tell V beats by shape too; leads and templates are augmented
exactly as without it, and windows without context channels are left alone."""

from __future__ import annotations

import numpy as np
import pytest

from ecgtk.export.augment import AugmentConfig, augment

LEADS = 2


@pytest.fixture
def context_windows() -> np.ndarray:
    """Model-2 layout: 2 leads, their 2 templates, 2 RR channels (premature beats: -0.4)."""
    rng = np.random.default_rng(0)
    x = rng.normal(0, 0.3, (400, 300, 2 * LEADS + 2)).astype(np.float32)
    x[:, :, 2 * LEADS:] = -0.4
    return x


def test_every_window_on_time_at_probability_one(context_windows):
    plain = augment(context_windows, 5, AugmentConfig(), signal_leads=LEADS)
    dropped = augment(context_windows, 5, AugmentConfig(rr_dropout_probability=1.0),
                      signal_leads=LEADS)
    assert np.all(dropped[:, :, 2 * LEADS:] == 0.0)
    np.testing.assert_array_equal(dropped[:, :, :2 * LEADS], plain[:, :, :2 * LEADS])


def test_a_share_of_windows_keeps_its_rr_context(context_windows):
    out = augment(context_windows, 1, AugmentConfig(rr_dropout_probability=0.3),
                  signal_leads=LEADS)
    zeroed = np.all(out[:, :, 2 * LEADS:] == 0.0, axis=(1, 2))
    kept = np.all(out[:, :, 2 * LEADS:] == -0.4, axis=(1, 2))
    assert np.all(zeroed | kept)
    assert 0.2 < zeroed.mean() < 0.4


def test_windows_without_context_are_left_alone():
    x = np.random.default_rng(2).normal(0, 0.3, (50, 100, 2)).astype(np.float32)
    a = augment(x, 3, AugmentConfig())
    b = augment(x, 3, AugmentConfig(rr_dropout_probability=1.0))
    np.testing.assert_array_equal(a, b)
