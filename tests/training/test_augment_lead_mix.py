"""Lead mixing: each lead plus a share of the others, the leads' templates mixed by the same
matrix, the RR channels and single-lead windows left alone, nothing drawn when off."""

from __future__ import annotations

import numpy as np
import pytest

from ecgtk.export.augment import AugmentConfig, augment, mix_leads

#: Only lead mixing on, so its effect can be checked exactly.
MIX_ONLY = AugmentConfig(probability=1.0, lead_mix=0.3, max_shift=0, scale_range=(1.0, 1.0),
                         wander_amplitude=0.0, noise_std=(0.0, 0.0))


@pytest.fixture
def context_windows() -> np.ndarray:
    """Two leads, their two templates, two constant RR channels; 300 samples."""
    rng = np.random.default_rng(5)
    x = rng.normal(0, 1, (12, 300, 6)).astype(np.float32)
    x[:, :, 4:] = 0.4
    return x


def test_mix_leads_matches_a_loop_over_windows():
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, (4, 50, 5)).astype(np.float32)
    m = rng.uniform(-1, 1, (4, 2, 2)).astype(np.float32)
    out = mix_leads(x, m, groups=2)
    for i in range(4):
        np.testing.assert_allclose(out[i, :, 0:2], x[i, :, 0:2] @ m[i].T, atol=1e-5)
        np.testing.assert_allclose(out[i, :, 2:4], x[i, :, 2:4] @ m[i].T, atol=1e-5)
    np.testing.assert_array_equal(out[:, :, 4], x[:, :, 4])
    with pytest.raises(ValueError, match="do not fit"):
        mix_leads(x, m, groups=3)


def test_templates_are_mixed_with_their_leads_rr_kept(context_windows):
    x = context_windows
    out = augment(x, 7, MIX_ONLY, signal_leads=2)
    # one matrix per window: recover it from the leads (the median removal after mixing only
    # shifts each lead, hence the constant column) and check the templates went through it
    for i in range(len(x)):
        design = np.column_stack([x[i, :, :2], np.ones(len(x[i]))])
        fit, *_ = np.linalg.lstsq(design, out[i, :, :2], rcond=None)
        m = fit[:2]
        np.testing.assert_allclose(np.diag(m), 1.0, atol=1e-4)
        assert np.all(np.abs(m - np.eye(2)) <= 0.3 + 1e-4)
        np.testing.assert_allclose(out[i, :, 2:4], x[i, :, 2:4] @ m, atol=1e-4)
    assert not np.allclose(out[:, :, :2], x[:, :, :2] - np.median(x[:, :, :2], axis=1,
                                                                   keepdims=True))
    np.testing.assert_array_equal(out[:, :, 4:], x[:, :, 4:])


def test_off_by_default_and_draws_nothing(context_windows):
    x = context_windows
    np.testing.assert_array_equal(augment(x, 3, None, signal_leads=2),
                                  augment(x, 3, AugmentConfig(lead_mix=0.0), signal_leads=2))
    assert not np.array_equal(augment(x, 3, None, signal_leads=2),
                              augment(x, 3, AugmentConfig(lead_mix=0.3), signal_leads=2))


def test_one_lead_is_left_alone():
    x = np.random.default_rng(2).normal(0, 1, (6, 100, 1)).astype(np.float32)
    np.testing.assert_array_equal(augment(x, 1, AugmentConfig(lead_mix=0.3)),
                                  augment(x, 1, AugmentConfig()))
