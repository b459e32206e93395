"""From the models' calls to labels, calibrated p_ventricular, uncertainty and review flags."""

from dataclasses import replace

import numpy as np
import pytest

from ecgtk.inference.models import ChunkCalls
from ecgtk.labelling.classify import (
    classify_calls,
    cluster_mean_uncertainty,
    decide_labels,
    group_beats,
)
from ecgtk.labelling.rules import ValidationRules
from ecgtk.labelling.templates import Templates
from ecgtk.labelling.uncertainty import calibrate, dropout_spread


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
    """Beats decided alone: beat 5, called V (p 0.6) but shaped like the 50-odd normal beats of
    its template, is made N by the template vote, and the template stays N."""
    samples, calls = calls_and_samples
    calls.p_ventricular[5] = 0.6
    alone = ValidationRules(normal_similarity=None, beat_probability_weight=1.0,
                            template_normal_below=0.2)
    out = classify_calls(samples, calls, 0.5, rules=alone)
    assert out.labels[5] == "N" and out.changed["template_vote"] == 1
    assert out.templates.labels[out.cluster[5]] == "N"
    assert set(np.flatnonzero(out.labels == "V")) == {20, 40}
    off = replace(alone, template_normal_below=None)
    kept = classify_calls(samples, calls, 0.5, rules=off)
    assert kept.labels[5] == "V" and kept.changed["template_vote"] == 0


def test_beats_of_one_shape_share_the_templates_decision(calls_and_samples):
    """By default a beat's V decision is its template's mean probability: ectopic beat 40 with
    a low p of its own (0.3) is V like its twin 20 (0.9), mean 0.6; normal beat 5 with p 0.6
    stays N. The reported p_ventricular is still each beat's own."""
    samples, calls = calls_and_samples
    calls.p_ventricular[5], calls.p_ventricular[40] = 0.6, 0.3
    out = classify_calls(samples, calls, 0.5)
    assert set(np.flatnonzero(out.labels == "V")) == {20, 40}
    assert out.p_ventricular[40] == pytest.approx(0.3) and out.labels[5] == "N"
    assert out.changed["template_vote"] == 0  # the decision itself, not the vote
    own = classify_calls(samples, calls, 0.5, rules=ValidationRules(
        normal_similarity=None, template_normal_below=None, beat_probability_weight=1.0))
    assert set(np.flatnonzero(own.labels == "V")) == {5, 20}


def test_an_early_template_below_the_threshold_is_ventricular(calls_and_samples):
    """Ectopic beats 20 and 40 (premature, their own template) at p 0.4 against a threshold of
    0.75, the normal beats at 0.005: rule 6 calls them V, and counts them."""
    samples, calls = calls_and_samples
    calls.p_ventricular[:] = np.where(np.isin(np.arange(len(samples)), [20, 40]), 0.4, 0.005)
    out = decide_labels(samples, calls, 0.75)
    assert set(np.flatnonzero(out.labels == "V")) == {20, 40}
    assert out.changed["early_template"] == 2
    off = decide_labels(samples, calls, 0.75, ValidationRules(early_template_rr_ratio=None))
    assert not (off.labels == "V").any() and off.changed["early_template"] == 0


def test_a_distinct_template_just_below_the_threshold_is_ventricular(calls_and_samples):
    """Rule 7 in the decision: beats 20 and 40 (their own template) at p 0.5 against a
    threshold of 0.75 (logit 1.1 -> 0), the normal beats at 0.001 (logit -6.9): V whatever
    their timing once the rule is on, counted apart from rule 6 (whose floor, 0.3, is off)."""
    samples, calls = calls_and_samples
    calls.p_ventricular[:] = np.where(np.isin(np.arange(len(samples)), [20, 40]), 0.5, 0.001)
    without_6 = ValidationRules(early_template_rr_ratio=None)
    assert not (decide_labels(samples, calls, 0.75, without_6).labels == "V").any()
    on = replace(without_6, distinct_template_margin=1.5, distinct_template_gap=5.0)
    out = decide_labels(samples, calls, 0.75, on)
    assert set(np.flatnonzero(out.labels == "V")) == {20, 40}
    assert out.changed["distinct_template"] == 2 and out.changed["early_template"] == 0


def test_the_decision_averages_template_runs_and_the_first_gives_the_templates(
        calls_and_samples):
    """The groupings of ``template_starts`` with seeds 0, 1, 2: the decision's template mean
    is their average, the templates are seed 0's, and a beat-by-beat decision needs only one."""
    samples, calls = calls_and_samples
    asked = []

    def group(rows, seed, n_start):
        asked.append((seed, n_start))
        if seed == 0:
            return group_beats(calls.morphology[rows], seed)
        return Templates(np.zeros(len(rows), np.int32), np.array([len(rows)]),  # all in one
                         np.array(["N"], object), calls.morphology[rows].mean(0)[None], [[0]])

    rules = ValidationRules(normal_similarity=None, template_normal_below=None)
    out = decide_labels(samples, calls, 0.5, rules, group=group)
    assert asked == [(0, 20), (1, 20), (2, 20)]
    np.testing.assert_array_equal(out.templates.assignment,
                                  group_beats(calls.morphology[out.rows]).assignment)
    # beats 20 and 40: (0.9 + 2 * mean over all beats) / 3 < 0.5, so none is V any more
    assert not (out.labels == "V").any()
    one = decide_labels(samples, calls, 0.5, replace(rules, template_starts=(20,)), group=group)
    assert set(np.flatnonzero(one.labels == "V")) == {20, 40}
    asked.clear()
    decide_labels(samples, calls, 0.5, replace(rules, beat_probability_weight=1.0), group=group)
    assert asked == [(0, 20)]
    asked.clear()
    decide_labels(samples, calls, 0.5, replace(rules, template_starts=(20, 15, 40)), group=group)
    assert asked == [(0, 20), (1, 15), (2, 40)]


def test_group_beats_starts_from_the_clusters_it_is_given(calls_and_samples):
    """One starting cluster: one template; eight: the two shapes of the fixture apart."""
    _, calls = calls_and_samples
    one = group_beats(calls.morphology, 0, n_start=1)
    assert len(one.n_beats) == 1 and (one.assignment == 0).all()
    eight = group_beats(calls.morphology, 0, n_start=8).assignment
    assert eight[20] == eight[40] and not np.isin(eight[[20, 40]], np.delete(eight, [20, 40])).any()


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
