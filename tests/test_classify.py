"""From the models' calls to labels, calibrated p_ventricular, uncertainty and review flags."""

from dataclasses import replace

import numpy as np
import pytest

from ecgtk.beat_models import ChunkCalls
from ecgtk.classify import classify_calls, cluster_mean_uncertainty
from ecgtk.uncertainty import calibrate, dropout_spread


@pytest.fixture
def calls_and_samples():
    """60 beats every 300 samples; beats 20 and 40 premature, ectopic-shaped, p_model high;
    candidate 50 an artefact, candidate 55 a tiny QRS."""
    n = 60
    samples = np.arange(1000, 1000 + 300 * n, 300)
    samples[[20, 40]] -= 100
    t = np.linspace(0, 1, 60)
    morphology = np.tile(np.sin(2 * np.pi * t), (n, 1)).astype(np.float32)
    morphology[[20, 40]] = np.cos(6 * np.pi * t)
    morphology += np.random.default_rng(0).normal(0, 0.01, morphology.shape).astype(np.float32)
    p_model = np.full(n, 0.2, dtype=np.float32)
    p_model[[20, 40]] = 0.9
    is_beat = np.ones(n, dtype=bool)
    is_beat[50] = False
    amplitude = np.ones(n, dtype=np.float32)
    amplitude[55] = 0.05
    passes = np.repeat(p_model[:, None], 8, axis=1)
    passes[20] = np.linspace(0.05, 0.95, 8)  # the model is unsure about beat 20
    p_model[50] = np.nan
    passes[50] = np.nan
    calls = ChunkCalls(np.where(is_beat, 0.9, 0.1).astype(np.float32), is_beat, p_model,
                       morphology, amplitude, passes.astype(np.float32))
    return samples, calls


def test_labels_calibration_uncertainty_and_review(calls_and_samples):
    samples, calls = calls_and_samples
    out = classify_calls(samples, calls, 0.5, calibration=(0.5, -1.0), review_threshold=0.05)
    assert out.labels[50] == "artefact" and out.labels[55] == "artefact"  # model 1; small QRS
    assert np.isnan(out.p_ventricular[50]) and out.cluster[50] == -1
    assert set(np.flatnonzero(out.labels == "V")) == {20, 40}
    assert out.p_ventricular[40] == pytest.approx(calibrate(np.float32(0.9), (0.5, -1.0)))
    assert out.uncertainty[20] > 0.05 and out.review[20]
    assert np.nanmax(np.delete(out.uncertainty, 20)) < 1e-6  # identical passes: no spread
    assert out.review.sum() == 1
    labels_of_clusters = dict(enumerate(out.templates.labels))
    assert labels_of_clusters[out.cluster[20]] == "V" and labels_of_clusters[out.cluster[5]] == "N"
    mean = cluster_mean_uncertainty(out)
    assert mean.shape == out.templates.n_beats.shape
    assert mean[out.cluster[20]] > mean[out.cluster[5]]


def test_no_calibration_no_review(calls_and_samples):
    samples, calls = calls_and_samples
    out = classify_calls(samples, calls, 0.95)
    assert not (out.labels == "V").any() and not out.review.any()
    assert out.p_ventricular[20] == pytest.approx(0.9)
    assert out.changed["small"] == 1


def test_template_vote_relabels_an_odd_beat_and_its_template(calls_and_samples):
    """Beat 5 called V (p 0.6) but shaped like the 50-odd normal beats of its template: the
    template vote makes it N, and the template stays N."""
    from ecgtk.validation import ValidationRules

    samples, calls = calls_and_samples
    calls.p_ventricular[5] = 0.6
    calls.p_passes[5] = 0.6
    only_vote = ValidationRules(normal_similarity=None, on_time_similarity=None)
    out = classify_calls(samples, calls, 0.5, rules=only_vote)
    assert out.labels[5] == "N" and out.changed["template_vote"] == 1
    assert out.templates.labels[out.cluster[5]] == "N"
    assert set(np.flatnonzero(out.labels == "V")) == {20, 40}
    off = replace(only_vote, template_normal_below=None, template_ventricular_above=None)
    kept = classify_calls(samples, calls, 0.5, rules=off)
    assert kept.labels[5] == "V" and kept.changed["template_vote"] == 0


def test_calibrate_and_spread():
    p = np.array([0.1, 0.5, 0.9, np.nan], dtype=np.float32)
    assert np.array_equal(calibrate(p, None), p, equal_nan=True)
    assert np.allclose(calibrate(p, (1.0, 0.0))[:3], p[:3], atol=1e-6)
    shifted = calibrate(p, (1.0, -1.0))
    assert (shifted[:3] < p[:3]).all() and np.isnan(shifted[3])
    assert calibrate(p, (2.0, 0.0))[2] > 0.9  # sharper
    spread = dropout_spread(np.array([[0.2, 0.2], [0.0, 1.0]]))
    assert spread.tolist() == [0.0, 0.5]
    assert np.isnan(dropout_spread(np.zeros((3, 0)))).all()
