"""The morphological validation rules, each on a case built to trigger it (or not)."""

import numpy as np

from ecgtk.labelling.rules import (
    ValidationRules,
    distinct_templates,
    dominant_normal_shape,
    early_templates,
    qrs_amplitude,
    rr_ratio,
    similarity_to,
    validate_calls,
    vote_by_template,
)

T = np.linspace(-1, 1, 60)
NORMAL = np.exp(-(T / 0.08) ** 2)
WIDE = -np.exp(-(T / 0.3) ** 2)


def calls(n_normal=20):
    rng = np.random.default_rng(0)
    morphology = np.vstack([NORMAL + rng.normal(0, 0.02, (n_normal, 60)),
                            NORMAL + rng.normal(0, 0.02, (1, 60)),  # called V, looks normal
                            WIDE + rng.normal(0, 0.02, (1, 60)),  # a real V
                            WIDE + rng.normal(0, 0.02, (1, 60))])  # called N, looks ventricular
    labels = np.array(["N"] * n_normal + ["V", "V", "N"], dtype=object)
    p_v = np.array([0.01] * n_normal + [0.6, 0.95, 0.4], dtype=np.float32)
    return labels, p_v, morphology.astype(np.float32), np.ones(len(labels), np.float32)


LIKE_NORMAL = ValidationRules(normal_similarity=0.8)


def test_like_normal_turns_a_normal_looking_v_into_n_when_on():
    labels, p_v, morphology, amplitude = calls()
    new, changes = validate_calls(labels, p_v, morphology, amplitude, LIKE_NORMAL)
    assert new[-3] == "N" and new[-2] == "V"
    assert changes == {"small": 0, "like_normal": 1, "on_time": 0, "unlike_normal": 0}
    assert ValidationRules().normal_similarity is None  # off by default
    same, _ = validate_calls(labels, p_v, morphology, amplitude, ValidationRules())
    assert same[-3] == "V"


def test_unlike_normal_is_off_by_default_and_works_when_on():
    labels, p_v, morphology, amplitude = calls()
    rules = ValidationRules(ventricular_similarity=0.5, min_p_ventricular=0.3)
    new, changes = validate_calls(labels, p_v, morphology, amplitude, rules)
    assert new[-1] == "V" and changes["unlike_normal"] == 1


def test_small_beats_become_artefacts_and_rules_can_be_switched_off():
    labels, p_v, morphology, amplitude = calls()
    amplitude[3] = 0.05
    new, changes = validate_calls(labels, p_v, morphology, amplitude, ValidationRules())
    assert new[3] == "artefact" and changes["small"] == 1
    off = ValidationRules(min_qrs_amplitude=None, normal_similarity=None)
    same, changes = validate_calls(labels, p_v, morphology, amplitude, off)
    assert list(same) == list(labels) and not any(changes.values())


def test_features():
    windows = np.zeros((2, 100, 2), np.float32)
    windows[0, 50, 0], windows[0, 45, 1] = 1.0, -0.5
    windows[1, 5, 0] = 9.0  # far from the centre: not the QRS
    np.testing.assert_allclose(qrs_amplitude(windows, 18), [1.0, 0.0])
    shape = dominant_normal_shape(np.vstack([NORMAL, NORMAL]), np.array([True, True]))
    np.testing.assert_allclose(similarity_to(shape, np.vstack([NORMAL, -NORMAL])), [1, -1],
                               atol=1e-4)
    assert dominant_normal_shape(np.vstack([NORMAL]), np.array([False])) is None


def test_all_beats_called_v_on_time_become_n():
    """A normal recording that the model calls all V (e.g. an unusual lead): the on-time
    beats define the dominant shape, and V calls that look like it become N."""
    rng = np.random.default_rng(2)
    morphology = (NORMAL + rng.normal(0, 0.02, (30, 60))).astype(np.float32)
    labels = np.array(["V"] * 30, dtype=object)
    samples = np.arange(30) * 300
    new, changes = validate_calls(labels, np.full(30, 0.9), morphology, np.ones(30),
                                  LIKE_NORMAL, samples)
    assert (new == "N").all() and changes["like_normal"] == 30


def test_on_time_rule_needs_both_shape_and_timing():
    rng = np.random.default_rng(1)
    n = 40
    morphology = np.vstack([NORMAL + rng.normal(0, 0.02, (n, 60)) for _ in range(1)])
    bbb = 0.7 * NORMAL + 0.3 * WIDE  # wide-ish, still much like the dominant shape
    morphology[[10, 20]] = bbb
    samples = np.arange(n) * 300
    samples[20] -= 120  # beat 20 comes early: a real premature beat
    labels = np.array(["N"] * n, dtype=object)
    labels[[10, 20]] = "V"
    rules = ValidationRules(normal_similarity=None, on_time_similarity=0.5)
    new, changes = validate_calls(labels, np.zeros(n), morphology.astype(np.float32),
                                  np.ones(n), rules, samples)
    assert new[10] == "N" and new[20] == "V" and changes["on_time"] == 1
    same, _ = validate_calls(labels, np.zeros(n), morphology.astype(np.float32), np.ones(n),
                             rules)  # without positions the timing rule is skipped
    assert same[10] == "V"


def test_rr_ratio():
    ratio = rr_ratio(np.array([0, 100, 200, 250, 400, 500]), 2)
    assert ratio[3] == 0.5 and ratio[1] == 1.0


def test_template_vote_gives_a_clear_templates_label_to_its_odd_beats():
    """Template 0: 1 V in 10 (10 % < 0.2) -> N; template 1: 8 V in 10 (80 % > 0.6) -> the two
    N become V; template 2: half and half, left alone."""
    assignment = np.repeat([0, 1, 2], 10)
    labels = np.array(["V"] + ["N"] * 9 + ["N"] * 2 + ["V"] * 8 + ["N", "V"] * 5, dtype=object)
    both_ways = ValidationRules(template_normal_below=0.2, template_ventricular_above=0.6)
    new, changed = vote_by_template(labels, assignment, both_ways)
    assert changed == 3
    assert (new[:20] == np.array(["N"] * 10 + ["V"] * 10, dtype=object)).all()
    assert (new[20:] == labels[20:]).all()
    assert labels[0] == "V"  # the input is not modified


def test_template_vote_can_be_switched_off_one_side_at_a_time():
    assignment = np.repeat([0, 1], 10)
    labels = np.array(["V"] + ["N"] * 9 + ["N"] * 2 + ["V"] * 8, dtype=object)
    only_to_v = ValidationRules(template_normal_below=None, template_ventricular_above=0.6)
    new, changed = vote_by_template(labels, assignment, only_to_v)
    assert changed == 2 and new[0] == "V" and (new[10:] == "V").all()
    off = ValidationRules(template_normal_below=None, template_ventricular_above=None)
    assert vote_by_template(labels, assignment, off)[1] == 0
    assert vote_by_template(labels[:0], assignment[:0], ValidationRules())[1] == 0


def test_blend_with_template():
    from ecgtk.labelling.rules import blend_with_template

    p = np.array([0.1, 0.3, 0.9, 0.5], dtype=np.float32)
    assignment = np.array([0, 0, 1, 1])
    np.testing.assert_allclose(blend_with_template(p, assignment, 0.0), [0.2, 0.2, 0.7, 0.7])
    np.testing.assert_allclose(blend_with_template(p, assignment, 1.0), p)
    np.testing.assert_allclose(blend_with_template(p, assignment, 0.5), [0.15, 0.25, 0.8, 0.6])
    assert blend_with_template(p[:0], assignment[:0], 0.0).shape == (0,)
    # two groupings: each beat's template mean averaged over them
    other = np.array([0, 1, 1, 1])  # beat 0 alone, the rest together (mean 0.567)
    both = blend_with_template(p, np.stack([assignment, other]), 0.0)
    np.testing.assert_allclose(both, [(0.2 + 0.1) / 2, (0.2 + 1.7 / 3) / 2,
                                      (0.7 + 1.7 / 3) / 2, (0.7 + 1.7 / 3) / 2], rtol=1e-6)
    import pytest

    with pytest.raises(ValueError, match="beat_probability_weight"):
        blend_with_template(p, assignment, 1.5)


def test_template_starts_are_one_or_more_positive_counts():
    import pytest

    for bad in ((), (20, 0)):
        with pytest.raises(ValueError, match="template_starts"):
            ValidationRules(template_starts=bad)
    rules = ValidationRules(template_starts=[20, 30])  # a list from JSON becomes a tuple
    assert rules.template_starts == (20, 30) and rules.template_runs == 2
    assert ValidationRules().template_runs == len(ValidationRules().template_starts)


def early_case():
    """60 beats every 300 samples, template 0 (the dominant one) at p 0.005; template 1: five
    premature beats (RR 200, then a 400 pause) at p 0.35; template 2: five such beats at p 0.2;
    template 3: five beats on time at p 0.35."""
    rr = np.full(60, 300)
    assignment = np.zeros(60, dtype=np.int64)
    p = np.full(60, 0.005)
    for template, first, p_template in ((1, 5, 0.35), (2, 6, 0.2)):
        beats = np.arange(first, 60, 10)[:5]
        rr[beats], rr[beats + 1] = 200, 400
        assignment[beats], p[beats] = template, p_template
    on_time = np.arange(9, 60, 10)[:5]
    assignment[on_time], p[on_time] = 3, 0.35
    return p, assignment, np.cumsum(rr)


def test_an_early_template_far_above_the_dominant_one_is_ventricular():
    p, assignment, samples = early_case()
    early = early_templates(p, assignment, samples, ValidationRules())
    np.testing.assert_array_equal(np.flatnonzero(early), np.flatnonzero(assignment == 1))
    # below the floor (min_p) it is not, nor on time (template 3): both stay as they are
    assert not early[(assignment == 2) | (assignment == 3)].any()
    lower = ValidationRules(early_template_min_p=0.15)
    assert early_templates(p, assignment, samples, lower)[assignment == 2].all()


def test_an_early_template_needs_the_dominant_template_far_below_it():
    p, assignment, samples = early_case()
    p[assignment == 0] = 0.02  # 30 x 0.02 = 0.6 > 0.35: a noisy or badly calibrated record
    assert not early_templates(p, assignment, samples, ValidationRules()).any()
    assert early_templates(p, assignment, samples,
                           ValidationRules(early_template_gain=10.0))[assignment == 1].all()


def test_the_early_template_rule_can_be_switched_off():
    p, assignment, samples = early_case()
    off = ValidationRules(early_template_rr_ratio=None)
    assert not early_templates(p, assignment, samples, off).any()
    assert early_templates(p[:1], assignment[:1], samples[:1], ValidationRules()).shape == (1,)


def distinct_case():
    """Template 0 (dominant) at p 0.002 (logit -6.2); template 1 at p 0.55, template 2 at 0.45
    and template 3 at 0.2 (logits 0.2, -0.2, -1.39); a threshold of 0.75 (logit 1.1)."""
    assignment = np.repeat([0, 1, 2, 3], [40, 5, 5, 5])
    p = np.repeat([0.002, 0.55, 0.45, 0.2], [40, 5, 5, 5])
    return p, assignment


def test_a_template_just_below_the_threshold_far_above_the_dominant_is_ventricular():
    p, assignment = distinct_case()
    rules = ValidationRules(distinct_template_margin=1.5, distinct_template_gap=5.0)
    got = distinct_templates(p, assignment, 0.75, rules)
    # templates 1 and 2 lie within 1.5 logits of the threshold; 3 does not (1.1 + 1.39 = 2.5)
    np.testing.assert_array_equal(got, np.isin(assignment, [1, 2]))
    # 3 within 3 logits, but only 4.8 above the dominant template
    wider = ValidationRules(distinct_template_margin=3.0, distinct_template_gap=5.0)
    np.testing.assert_array_equal(distinct_templates(p, assignment, 0.75, wider),
                                  np.isin(assignment, [1, 2]))
    wider_and_closer = ValidationRules(distinct_template_margin=3.0, distinct_template_gap=4.5)
    assert distinct_templates(p, assignment, 0.75, wider_and_closer)[assignment > 0].all()


def test_a_distinct_template_needs_the_dominant_template_far_below_it():
    p, assignment = distinct_case()
    p[assignment == 0] = 0.05  # logit -2.9: template 1 is only 3.1 above it, template 2 2.7
    rules = ValidationRules(distinct_template_margin=1.5, distinct_template_gap=5.0)
    assert not distinct_templates(p, assignment, 0.75, rules).any()
    closer = ValidationRules(distinct_template_margin=1.5, distinct_template_gap=3.0)
    np.testing.assert_array_equal(distinct_templates(p, assignment, 0.75, closer),
                                  assignment == 1)


def test_the_distinct_template_rule_is_off_by_default_and_takes_empty_input():
    p, assignment = distinct_case()
    assert ValidationRules().distinct_template_margin is None
    assert not distinct_templates(p, assignment, 0.75, ValidationRules()).any()
    rules = ValidationRules(distinct_template_margin=1.0)
    assert distinct_templates(p[:0], assignment[:0], 0.75, rules).shape == (0,)


def test_dominant_normal_shape_is_the_median_of_the_z_scored_reference_beats():
    from ecgtk.labelling.templates import zscore_rows

    rng = np.random.default_rng(5)
    morphology = rng.normal(size=(2001, 30)).astype(np.float32)
    reference = rng.random(2001) < 0.5  # an odd or even count: both medians checked below
    for chosen in (reference, reference & (np.arange(2001) != np.flatnonzero(reference)[0])):
        expected = np.median(zscore_rows(morphology, np.flatnonzero(chosen)), axis=0)
        np.testing.assert_array_equal(dominant_normal_shape(morphology, chosen), expected)
