"""Rule 8 (``noisy_on_time``): an on-time V call among rejected candidates is N."""

from dataclasses import replace

import numpy as np
import pytest

import ecgtk
import ecgtk.pipeline as pipeline
from ecgtk.engines.archive import sample_archive
from ecgtk.inference.models import ChunkCalls
from ecgtk.labelling.classify import decide_labels
from ecgtk.labelling.rules import (
    ValidationRules,
    noisy_on_time,
    noisy_templates,
    rr_ratio,
    rr_ratio_to_normal,
)
from ecgtk.labelling.templates import Templates

FS = 360.0
RULES = ValidationRules()


def reference(samples, labels, fs, rules):
    """Plain-Python rule 8: count the artefacts within the window around each V call."""
    beats = [i for i, label in enumerate(labels) if label != "artefact"]
    ratio = dict(zip(beats, rr_ratio(np.asarray(samples)[beats], rules.rr_neighbours),
                     strict=True))
    late = np.inf if rules.noise_late_rr_ratio is None else rules.noise_late_rr_ratio
    out = []
    for i, label in enumerate(labels):
        nearby = sum(1 for j, other in enumerate(labels) if other == "artefact"
                     and abs(samples[j] - samples[i]) <= rules.noise_window_s * fs)
        out.append(label == "V" and nearby >= rules.noise_min_rejected
                   and rules.on_time_rr_ratio <= ratio[i] <= late)
    return np.array(out)


def rhythm(n=40, rr=300):
    """``n`` beats every ``rr`` samples (0.83 s at 360 Hz), all N."""
    return np.arange(1000, 1000 + rr * n, rr), np.full(n, "N", dtype=object)


def with_artefacts(samples, labels, at):
    """Rejected candidates added at the sample positions ``at``."""
    order = np.argsort(np.r_[samples, at], kind="stable")
    return (np.r_[samples, at][order],
            np.r_[labels, np.full(len(at), "artefact", dtype=object)][order])


@pytest.mark.parametrize("seed", range(5))
def test_matches_the_plain_reference(seed):
    rng = np.random.default_rng(seed)
    samples = np.cumsum(rng.integers(80, 400, 300))
    labels = rng.choice(np.array(["N", "V", "artefact"], dtype=object), 300, p=[0.6, 0.2, 0.2])
    for rules in (RULES, replace(RULES, noise_min_rejected=1),
                  replace(RULES, noise_late_rr_ratio=1.1, noise_window_s=2.0)):
        np.testing.assert_array_equal(noisy_on_time(samples, labels, FS, rules),
                                      reference(samples, labels, FS, rules))


def test_an_on_time_v_call_among_three_rejected_candidates_is_noise():
    samples, labels = rhythm()
    labels[20] = "V"  # on time
    noisy_s, noisy_l = with_artefacts(samples, labels, samples[20] + np.array([-500, 150, 900]))
    v = np.flatnonzero(noisy_l == "V")
    assert noisy_on_time(noisy_s, noisy_l, FS, RULES)[v].all()
    two_s, two_l = with_artefacts(samples, labels, samples[20] + np.array([150, 900]))
    assert not noisy_on_time(two_s, two_l, FS, RULES).any()  # two are not enough
    far_s, far_l = with_artefacts(samples, labels,
                                  samples[20] + np.array([1, 2, 3]) * 100 + 5 * FS)
    assert not noisy_on_time(far_s, far_l, FS, RULES).any()  # more than 5 s away
    assert not noisy_on_time(noisy_s, noisy_l, FS, replace(RULES, noise_window_s=None)).any()


def test_a_premature_v_call_in_noise_stays_v():
    samples, labels = rhythm()
    samples[20] -= 120  # 0.6 of the RR: premature, as ectopic beats are
    labels[20] = "V"
    noisy_s, noisy_l = with_artefacts(samples, labels, samples[20] + np.array([-500, 150, 900]))
    assert not noisy_on_time(noisy_s, noisy_l, FS, RULES).any()


def test_decide_labels_applies_rule_8_only_with_the_rate():
    samples, labels = rhythm()
    samples, labels = with_artefacts(samples, labels, samples[20] + np.array([-500, 150, 900]))
    n = len(samples)
    v = int(np.flatnonzero(samples == rhythm()[0][20])[0])
    t = np.linspace(0, 1, 60)
    morphology = np.tile(np.sin(2 * np.pi * t), (n, 1)).astype(np.float32)
    morphology[v] = np.cos(6 * np.pi * t)  # a shape of its own: a template of its own
    morphology += np.random.default_rng(0).normal(0, 0.01, morphology.shape).astype(np.float32)
    p = np.where(np.arange(n) == v, 0.95, 0.05).astype(np.float32)
    is_beat = labels != "artefact"
    calls = ChunkCalls(np.where(is_beat, 0.9, 0.1).astype(np.float32), is_beat, p, morphology,
                       np.ones(n, np.float32), np.zeros((n, 0), np.float32))
    without = decide_labels(samples, calls, 0.5)
    assert without.labels[v] == "V" and without.changed["noisy_on_time"] == 0
    with_rate = decide_labels(samples, calls, 0.5, fs=FS)
    assert with_rate.labels[v] == "N" and with_rate.changed["noisy_on_time"] == 1
    assert (with_rate.labels[np.arange(n) != v] == without.labels[np.arange(n) != v]).all()


def test_the_pipeline_gives_rule_8_the_recording_rate(monkeypatch):
    seen = []
    original = pipeline.classify_calls

    def spy(*args, **kwargs):
        seen.append(kwargs.get("fs"))
        return original(*args, **kwargs)

    monkeypatch.setattr(pipeline, "classify_calls", spy)
    ecgtk.analyse(sample_archive() / "119.hea")
    assert seen == [360.0]


# ------------------------------------------------------------------ rule 9 (off by default)
def rr_to_normal_reference(samples, normal, neighbours):
    """Plain Python: RR over the median of the nearest N-N intervals (by interval index)."""
    rr = [samples[1] - samples[0]] + [samples[i] - samples[i - 1] for i in range(1, len(samples))]
    both = [k for k in range(len(samples) - 1) if normal[k] and normal[k + 1]]
    nn = [samples[k + 1] - samples[k] for k in both]
    out = []
    for i in range(len(samples)):
        interval = max(i - 1, 0)  # the interval ending at beat i (the first beat: its next)
        j = min(int(np.searchsorted(both, interval)), len(both) - 1)
        lo, hi = j - neighbours, j + neighbours + 1
        window = [nn[max(0, min(len(nn) - 1, m))] for m in range(lo, hi)]
        out.append(rr[i] / np.median(window))
    return np.array(out)


def test_rr_ratio_to_normal_matches_the_plain_reference():
    rng = np.random.default_rng(3)
    samples = np.cumsum(rng.integers(150, 400, 200)).astype(float)
    normal = rng.random(200) > 0.2
    np.testing.assert_allclose(rr_ratio_to_normal(samples, normal, 8),
                               rr_to_normal_reference(samples, normal, 8))


def test_a_ventricular_run_is_early_against_the_normal_rhythm():
    rr = np.r_[np.full(30, 300), np.full(12, 150), np.full(30, 300)]
    samples = np.cumsum(rr).astype(float)
    normal = np.ones(len(samples), bool)
    normal[30:42] = False  # the run
    run = slice(33, 40)
    assert (rr_ratio(samples, 8)[run] > 0.9).all()  # on time against itself
    assert (rr_ratio_to_normal(samples, normal, 8)[run] < 0.6).all()


def _grouped(n, on_time_v, rng):
    """Beats every 300 samples (one early V at 20 when not ``on_time_v``); two templates."""
    samples = np.arange(1000, 1000 + 300 * n, 300).astype(float)
    if not on_time_v:
        samples[20] -= 120
    assignment = np.zeros(n, np.int32)
    assignment[20] = 1
    centres = np.stack([np.zeros(60), np.ones(60)]).astype(np.float32)
    morphology = centres[assignment] + rng.normal(0, 0.3, (n, 60)).astype(np.float32)
    templates = Templates(assignment, np.bincount(assignment).astype(np.int64),
                          np.array(["N", "V"], dtype=object), centres, [[0], [1]])
    return samples, morphology, templates


def test_rule_9_takes_on_time_templates_among_scattered_beats_only():
    rng = np.random.default_rng(0)
    on = replace(RULES, noise_spread=0.12)
    samples, morphology, templates = _grouped(41, True, rng)
    assert noisy_templates(samples, morphology, templates, on)[20]  # noisy, on time
    late_bound = replace(on, noise_template_late_ratio=0.98)  # 1.0 counts as late here
    assert not noisy_templates(samples, morphology, templates, late_bound)[20]
    off = replace(RULES, noise_spread=None)
    assert not noisy_templates(samples, morphology, templates, off).any()
    assert RULES.noise_spread == 0.15  # on by default since 0.3.1 (experiment 12)
    quiet = templates.templates[templates.assignment]  # no spread around the templates
    assert not noisy_templates(samples, quiet, templates, on).any()
    early_s, early_m, early_t = _grouped(41, False, rng)
    assert not noisy_templates(early_s, early_m, early_t, on)[20]  # an early template stays
