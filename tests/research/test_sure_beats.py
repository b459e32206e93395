"""The detector's confidence per beat and the sure-beat rule (issue 38, research on gating model
1): same beats as the detector, each kernel against its plain reference, and the cases the rule
must refuse (weak peaks, a lead without its QRS, a premature beat, the ends)."""

import numpy as np
import pytest
from synthetic import synthetic_ecg

from ecgtk.kernels import rpeaks
from ecgtk.kernels.leads import lead_agreement
from ecgtk.kernels.rpeaks import DetectorParams, detect_rpeaks, detect_with_confidence
from research.sure_beats import SureBeatRule, sure_beats, sure_beats_reference


@pytest.mark.parametrize(("seed", "noise"), [(0, 0.02), (1, 0.3), (2, 0.8)])
def test_same_beats_as_the_detector(seed, noise):
    x, _ = synthetic_ecg(360.0, 60.0, noise_mv=noise, ventricular_every=5, seed=seed)
    beats, polarity, ratio, agreement = detect_with_confidence(x, 360.0, offset=123)
    expected, expected_polarity = detect_rpeaks(x, 360.0, offset=123, return_polarity=True)
    np.testing.assert_array_equal(beats, expected)
    np.testing.assert_array_equal(polarity, expected_polarity)
    assert len(ratio) == len(agreement) == len(beats)
    assert (ratio >= 0).all() and (agreement >= 0).all()


def test_classify_peaks_with_ratio_gives_classify_peaks_mask():
    rng = np.random.default_rng(3)
    peaks = np.cumsum(rng.integers(40, 400, size=500)).astype(np.int64)
    heights = rng.gamma(2.0, 1.0, size=500)
    slopes = rng.random(500)
    p = DetectorParams()
    args = (peaks, heights, slopes, 360.0, p.refractory_s, p.twave_window_s,
            p.twave_slope_ratio, p.searchback_rr_ratio, p.threshold_fraction)
    mask, ratio = rpeaks.classify_peaks_with_ratio(*args)
    np.testing.assert_array_equal(mask, rpeaks.classify_peaks(*args))
    assert (ratio[~mask] == 0).all()
    assert (ratio[mask & (ratio > 0)] > 1).all()  # accepted above the threshold


def test_clean_beats_are_sure_and_noisy_ones_less():
    clean, _ = synthetic_ecg(360.0, 120.0, noise_mv=0.01, seed=4)
    noisy, _ = synthetic_ecg(360.0, 120.0, noise_mv=0.8, seed=4)
    rule = SureBeatRule(min_ratio=1.5)  # a clean synthetic beat stands ~1.55 over the threshold
    shares = []
    for x in (clean, noisy):
        beats, _, ratio, agreement = detect_with_confidence(x, 360.0)
        shares.append(sure_beats(beats, ratio, agreement, rule).mean())
    assert shares[0] > 0.9
    assert shares[1] < 0.2


def test_a_lead_without_its_qrs_breaks_agreement():
    feature = np.zeros((400, 2))
    feature[100, 0], feature[110, 1] = 1.0, 0.1  # lead 2 hardly shows beat 1's QRS
    feature[300, 0], feature[290, 1] = 1.0, 0.8
    beats = np.array([100, 300])
    level = np.ones((1, 2))
    both = lead_agreement(feature, np.full((1, 2), 0.5), level, beats, 400, 0, 18)
    np.testing.assert_allclose(both, [0.1, 0.8])
    lead1_only = lead_agreement(feature, np.array([[1.0, 0.0]]), level, beats, 400, 0, 18)
    np.testing.assert_allclose(lead1_only, [1.0, 1.0])  # a lead with no weight does not count
    none = lead_agreement(feature, np.zeros((1, 2)), level, beats, 400, 0, 18)
    np.testing.assert_allclose(none, [0.0, 0.0])


def test_premature_beat_weak_peak_and_ends_are_not_sure():
    samples = np.arange(20) * 300
    samples[10] -= 100  # premature: its RR intervals 200 and 400 against 300
    ratio = np.full(20, 3.0)
    ratio[5] = 1.2  # weak
    agreement = np.full(20, 0.9)
    agreement[7] = 0.1  # a lead disagrees
    rule = SureBeatRule(min_ratio=2.0, rr_tolerance=0.15, lead_ratio=0.3)
    sure = sure_beats(samples, ratio, agreement, rule)
    assert not sure[[0, 19, 5, 7, 9, 10, 11]].any()  # 9 and 11 sit next to the premature one
    assert sure[[2, 3, 4, 6, 8, 13, 14]].all()
    assert sure_beats(samples, ratio, agreement,
                      SureBeatRule(min_ratio=2.0, lead_ratio=None))[7]


@pytest.mark.parametrize("seed", range(4))
def test_sure_beats_matches_reference(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 200))
    samples = np.cumsum(rng.integers(150, 450, size=n)).astype(np.int64)
    ratio, agreement = rng.uniform(0, 4, n), rng.uniform(0, 1, n)
    rule = SureBeatRule(min_ratio=float(rng.uniform(1, 3)),
                        rr_tolerance=float(rng.uniform(0.05, 0.4)),
                        neighbours=int(rng.integers(1, 10)),
                        lead_ratio=None if seed % 2 else 0.3)
    np.testing.assert_array_equal(sure_beats(samples, ratio, agreement, rule),
                                  sure_beats_reference(samples, ratio, agreement, rule))


def test_rule_checks_its_thresholds():
    with pytest.raises(ValueError):
        SureBeatRule(rr_tolerance=0.0)
    with pytest.raises(ValueError):
        SureBeatRule(neighbours=0)
