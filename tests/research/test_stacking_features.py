"""The stacked context-model experiment's features and model (research/)."""

import json

import numpy as np
import pytest

from research.stacking_features import (
    FEATURES,
    ContextModel,
    beat_context,
    cluster_medians,
    context_features,
    logit_of,
)


@pytest.fixture
def rhythm():
    """Beats every 300 samples, with beat 20 and 40 premature by 100 samples."""
    beats = np.arange(1000, 1000 + 300 * 60, 300)
    beats[[20, 40]] -= 100
    return beats


@pytest.fixture
def beats_with_context(rhythm):
    """Morphology: normal beats share one shape, the two premature ones another."""
    n = len(rhythm)
    t = np.linspace(0, 1, 60)
    normal, ectopic = np.sin(2 * np.pi * t), np.cos(6 * np.pi * t)
    morphology = np.tile(normal, (n, 1)).astype(np.float32)
    morphology[[20, 40]] = ectopic
    morphology += np.random.default_rng(1).normal(0, 0.01, morphology.shape).astype(np.float32)
    assignment = np.zeros(n, dtype=np.int64)
    assignment[[20, 40]] = 1
    amplitude = np.ones(n, dtype=np.float32)
    return beat_context(rhythm, morphology, amplitude, assignment)


def test_beat_context_features(beats_with_context):
    context = beats_with_context
    p_model = np.full(len(context.assignment), 0.1, dtype=np.float32)
    p_model[[20, 40]] = 0.9
    x = context_features(context, p_model)
    assert x.shape == (len(p_model), len(FEATURES)) and x.dtype == np.float32
    column = dict(zip(FEATURES, x.T, strict=True))
    assert column["log_rr_prev_ratio"][20] < -0.3 and column["log_rr_next_ratio"][20] > 0.2
    assert column["similarity"][5] > 0.95 and column["similarity"][20] < 0.5
    assert column["cluster_logit_p_model"][20] == pytest.approx(float(logit_of([0.9])[0]))
    assert column["log_cluster_share"][20] == pytest.approx(np.log(2 / len(p_model)))
    # Monte-Carlo passes: one feature matrix per pass
    passes = np.stack([p_model, p_model * 0.5])
    assert context_features(context, passes).shape == (2, len(p_model), len(FEATURES))


def test_beat_context_rejects_misaligned_inputs():
    with pytest.raises(ValueError, match="align"):
        beat_context(np.arange(3), np.zeros((2, 4)), np.ones(3), np.zeros(3))


def test_cluster_medians():
    values = np.array([[1.0], [3.0], [10.0], [20.0], [30.0]])
    out = cluster_medians(values, np.array([0, 0, 1, 1, 1]))
    assert out[:, 0].tolist() == [2.0, 2.0, 20.0, 20.0, 20.0]


def _model(threshold=0.5):
    weights = np.zeros(len(FEATURES))
    weights[1] = -2.0  # premature -> ventricular
    return ContextModel(tuple(weights), -1.0, tuple(np.zeros(len(FEATURES))),
                        tuple(np.ones(len(FEATURES))), threshold)


def test_context_model_probability_and_json(tmp_path):
    model = _model()
    x = np.zeros((3, len(FEATURES)))
    x[:, 1] = [-1.0, 0.0, 1.0]
    p = model.probability(x)
    expected = 1 / (1 + np.exp(-(-2.0 * x[:, 1] - 1.0)))
    assert np.allclose(p, expected, atol=1e-6) and p[0] > p[1] > p[2]
    path = tmp_path / "context.json"
    model.to_json(path, note="unit test")
    assert json.loads(path.read_text())["note"] == "unit test"
    assert ContextModel.from_json(path) == model


def test_context_model_refuses_other_features():
    with pytest.raises(ValueError, match="features"):
        ContextModel((0.0,) * 10, 0.0, (0.0,) * 10, (1.0,) * 10,
                     features=tuple(reversed(FEATURES)))
    with pytest.raises(ValueError, match="one value per feature"):
        ContextModel((0.0,) * 3, 0.0, (0.0,) * 10, (1.0,) * 10)
