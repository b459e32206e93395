"""Fitting the ventricular context model (export/context_fit.py) on synthetic rows."""

import numpy as np
import pytest

pytest.importorskip("sklearn")

from research.stacking_eval import expected_calibration_error, fit  # noqa: E402
from research.stacking_features import FEATURES  # noqa: E402


def test_expected_calibration_error():
    p = np.array([0.05, 0.05, 0.95, 0.95])
    assert expected_calibration_error(p, np.array([0, 0, 1, 1])) == pytest.approx(0.05)
    assert expected_calibration_error(p, np.array([1, 1, 0, 0])) == pytest.approx(0.95)


def _rows(seed, n_records=4, n=400):
    """Records whose V beats come early (feature 1 negative); labels unknown (-1) ignored."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n_records):
        target = (rng.random(n) < 0.1).astype(np.int8)
        x = rng.normal(0, 0.3, (n, len(FEATURES))).astype(np.float32)
        x[:, 1] -= 1.5 * target
        target[:5] = -1
        rows.append({"features": x, "target": target})
    return rows


def test_fit_learns_the_rule_and_is_calibrated():
    model = fit(_rows(0), "synthetic")
    assert model.weights[1] < 0 and model.fitted_on == "synthetic"
    assert 0.2 <= model.threshold <= 0.8
    test = _rows(1)
    x = np.concatenate([r["features"] for r in test])
    y = np.concatenate([r["target"] for r in test])
    p = model.probability(x)[y >= 0]
    y = y[y >= 0]
    called = p >= model.threshold
    f1 = 2 * (called & (y == 1)).sum() / (called.sum() + (y == 1).sum())
    assert f1 > 0.8
    assert expected_calibration_error(p, y) < 0.05
