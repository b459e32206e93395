"""Detector kernels: each Numba core against its plain reference, and the detector's behaviour
on synthetic signals with known beats (rates, lead loss, NaN, wander, pacing, noise)."""

import numpy as np
import pytest
from synthetic import synthetic_ecg

from ecgtk.kernels import leads, qrs_feature, refine, rpeaks
from ecgtk.kernels import peaks as peak_search
from ecgtk.kernels.quality import unusable_mask, unusable_mask_reference
from ecgtk.kernels.rpeaks import DetectorParams, detect_rpeaks


def score(found: np.ndarray, truth: np.ndarray, fs: float, tolerance_s: float = 0.15):
    """(missed, extra) beats with one-to-one matching within the tolerance."""
    tol = int(tolerance_s * fs)
    used = np.zeros(len(found), bool)
    missed = 0
    for beat in truth:
        candidates = np.flatnonzero(~used & (np.abs(found - beat) <= tol))
        if len(candidates):
            used[candidates[np.argmin(np.abs(found[candidates] - beat))]] = True
        else:
            missed += 1
    return missed, int((~used).sum())


# --- kernels against references ------------------------------------------------------------


@pytest.mark.parametrize("seed", range(3))
def test_qrs_feature_matches_reference(seed):
    y = np.random.default_rng(seed).normal(size=(3000, 2))
    got = qrs_feature.qrs_feature(y, 360.0, 0.1)
    expected = qrs_feature.qrs_feature_reference(y, 360.0, 0.1)
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("lead_in", [0, 7])
def test_block_stats_matches_reference(lead_in):
    rng = np.random.default_rng(lead_in)
    feature = rng.random((1000, 2))
    unusable = rng.random((1000, 2)) < 0.1
    got = leads._block_stats(feature, unusable, 90, lead_in, 3)
    expected = leads.block_stats_reference(feature, unusable, 90, lead_in, 3)
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)


@pytest.mark.parametrize("lead_in", [0, 7])
def test_combine_leads_matches_reference(lead_in):
    rng = np.random.default_rng(lead_in)
    feature, slope = rng.random((1000, 3)), rng.random((1000, 3))
    gains = rng.random((-(-(1000 + lead_in) // 90), 3))
    got = leads.combine_leads(feature, slope, gains, 90, lead_in)
    expected = leads.combine_leads_reference(feature, slope, gains, 90, lead_in)
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)


@pytest.mark.parametrize("distance", [1, 5, 72])
def test_local_peaks_matches_reference(distance):
    rng = np.random.default_rng(distance)
    f = np.round(rng.normal(size=4000), 1)  # rounding makes ties
    np.testing.assert_array_equal(peak_search.local_peaks(f, distance),
                                  peak_search.local_peaks_reference(f, distance))


def test_local_peaks_on_real_feature(mitdb_excerpt):
    signal, fs, _ = mitdb_excerpt("208")
    feature, _ = qrs_feature.qrs_feature(np.nan_to_num(signal), fs, 0.1)
    np.testing.assert_array_equal(peak_search.local_peaks(feature[:, 0], 72),
                                  peak_search.local_peaks_reference(feature[:, 0], 72))


@pytest.mark.parametrize("seed", range(3))
def test_refine_matches_reference(seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(5000, 2))
    beats = np.sort(rng.choice(np.arange(5000), 80, replace=False))
    leads = rng.integers(0, 2, 80)
    got, got_polarity = refine.refine_peaks(x, beats, leads, 18, 7)
    expected, expected_polarity = refine.refine_peaks_reference(x, beats, leads, 18, 7)
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(got_polarity, expected_polarity)


def test_refine_reads_nan_as_zero():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(3000, 2))
    x[1000:1100, 0] = np.nan
    beats = np.arange(50, 2950, 97)
    leads = np.arange(len(beats)) % 2
    np.testing.assert_array_equal(refine.refine_peaks(x, beats, leads, 18, 7)[0],
                                  refine.refine_peaks(np.nan_to_num(x), beats, leads, 18, 7)[0])
    np.testing.assert_array_equal(refine.refine_peaks(x, beats, leads, 18, 7)[0],
                                  refine.refine_peaks_reference(x, beats, leads, 18, 7)[0])


def test_refine_moves_to_the_extremum_of_the_usual_polarity():
    x = np.zeros((1000, 1))
    for centre in (100, 300, 500):
        x[centre + 5, 0] = 2.0  # upright R 5 samples after the detection
        x[centre - 3, 0] = -1.0  # smaller Q before it
    got, polarity = refine.refine_peaks(x, np.array([100, 300, 500]), np.zeros(3, int), 10, 10)
    np.testing.assert_array_equal(got, [105, 305, 505])
    np.testing.assert_array_equal(polarity, [1.0])
    forced, _ = refine.refine_peaks(x, np.array([100, 300]), np.zeros(2, int), 10, 10, [-1.0])
    np.testing.assert_array_equal(forced, [97, 297])


def _perturbed_signal(seed: int, n: int = 9000, n_leads: int = 2) -> np.ndarray:
    signal, _ = synthetic_ecg(360.0, n / 360.0, seed=seed)
    x = np.ascontiguousarray(np.tile(signal, (1, 2))[:, :n_leads]).astype(np.float32)
    x[1000:1400, 0] = np.nan
    x[3000:3600, -1] = 0.3  # flat: unusable
    x[5000, 0] = np.inf
    return x


@pytest.mark.parametrize("n_leads", [1, 2, 3])
def test_fused_detector_kernels_match_their_parts_bit_for_bit(n_leads):
    """The fused kernels detect_rpeaks runs give what the separate kernels give, exactly."""
    from ecgtk.kernels.filters import bandpass_sos, bandpass_zeroed, sosfiltfilt

    x = _perturbed_signal(n_leads, n_leads=n_leads)
    unusable = unusable_mask(x, 360.0)
    clean = rpeaks._zero_unusable(x, unusable)
    sos = bandpass_sos(3.0, 20.0, 360.0)
    filtered = bandpass_zeroed(sos, x, unusable)
    np.testing.assert_array_equal(filtered, sosfiltfilt(sos, clean))
    block, lead_in = 900, 7
    feature, slope = qrs_feature.qrs_feature(filtered, 360.0, 0.1)
    fused = qrs_feature._qrs_feature_and_block_stats(filtered, unusable, 18, block, lead_in,
                                                leads.block_stats_step(block))
    np.testing.assert_array_equal(fused[0], feature)
    for a, b in zip(fused[1:], leads._block_stats(feature, unusable, block, lead_in, 9),
                    strict=True):
        np.testing.assert_array_equal(a, b)
    weight, level = leads.weights_from_block_stats(*fused[1:], 5, 1.0, 0.5)
    gains = weight / (level + 1e-12)
    combined, combined_slope = leads.combine_leads(feature, slope, gains, block, lead_in)
    peaks, heights, nonzero = peak_search._combined_peaks(feature, gains, block, lead_in, 72)
    np.testing.assert_array_equal(peaks, peak_search.local_peaks(combined, 72))
    np.testing.assert_array_equal(heights, combined[peaks])
    assert nonzero == combined.any()
    np.testing.assert_array_equal(
        peak_search._peak_slopes(filtered, gains, block, lead_in, peaks, 21),
        peak_search.window_max(combined_slope, peaks, 21))
    lead_of_beat = np.arange(len(peaks)) % n_leads
    for polarity in (None, -np.ones(n_leads)):
        got = refine.refine_peaks_zeroed(x, unusable, peaks, lead_of_beat, 18, 7, polarity)
        expected = refine.refine_peaks(clean, peaks, lead_of_beat, 18, 7, polarity)
        for a, b in zip(got, expected, strict=True):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("distance", [1, 5, 72])
def test_combined_peaks_match_local_peaks_with_ties_and_nan(distance):
    rng = np.random.default_rng(distance)
    feature = np.round(rng.random((70000, 2)), 1)  # ties; more than one tile
    feature[40000, 1] = np.nan
    gains = np.round(rng.random((-(-(70000 + 3) // 90), 2)), 1)
    gains[5:9] = 0.0
    combined = leads.combine_leads(feature, feature, gains, 90, 3)[0]
    peaks, heights, nonzero = peak_search._combined_peaks(feature, gains, 90, 3, distance)
    np.testing.assert_array_equal(peaks, peak_search.local_peaks(combined, distance))
    np.testing.assert_array_equal(heights, combined[peaks])
    assert nonzero


def test_classify_peaks_compiled_matches_python():
    signal, truth = synthetic_ecg(360.0, 60, ventricular_every=4, seed=3)
    feature, slope = qrs_feature.qrs_feature(signal.astype(float), 360.0, 0.1)
    f = feature.sum(axis=1)
    peaks = peak_search.local_peaks(f, 72)
    slopes = peak_search.window_max(slope.sum(axis=1), peaks, 21)
    args = (peaks, f[peaks], slopes, 360.0, 0.2, 0.36, 0.5, 1.66, 0.25)
    np.testing.assert_array_equal(rpeaks.classify_peaks(*args),
                                  rpeaks.classify_peaks.py_func(*args))


def test_unusable_mask_matches_reference():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5000, 3)).astype(np.float32)
    x[1000:1600, 0] = 0.3  # flat
    x[2000:2050, 1] = np.nan
    got = unusable_mask(x, 360.0)
    np.testing.assert_array_equal(got, unusable_mask_reference(x, 360.0))
    assert got[1080:1440, 0].all() and not got[:900, 0].any()
    assert got[2000:2050, 1].all() and not got[:, 2].any()


@pytest.mark.parametrize("n_leads", [1, 2, 3, 6])
@pytest.mark.parametrize("clipped_blocks", [0, 1, 2, 3, 6])
def test_unusable_mask_with_clipped_leads_matches_reference(n_leads, clipped_blocks):
    """Leads clipped in some of their 20 half-second blocks (a lead is clipped from 2 of them:
    10 %), with NaN and flat stretches; both kernel layouts (1-4 leads lead by lead, more
    row by row) against the numpy reference."""
    rng = np.random.default_rng(n_leads * 10 + clipped_blocks)
    x = rng.normal(size=(3600, n_leads)).astype(np.float32)
    top = x.max(axis=0)
    for lead in range(0, n_leads, 2):  # every other lead clipped in the first blocks
        x[:180 * clipped_blocks, lead] = np.minimum(x[:180 * clipped_blocks, lead], 0.0)
        x[:180 * clipped_blocks:2, lead] = top[lead]  # half of those blocks at the top
    x[3000:3010, -1] = np.nan
    x[3240:3420, 0] = 0.7  # flat
    got = unusable_mask(x, 360.0)
    np.testing.assert_array_equal(got, unusable_mask_reference(x, 360.0))
    clipped = clipped_blocks >= 2 and n_leads > 1
    assert got[:, 0].all() == clipped
    np.testing.assert_array_equal(got, unusable_mask_reference(x, 360.0, rail_share=2.0)
                                  | (clipped & (np.arange(n_leads) % 2 == 0)))


def test_clipped_lead_beside_a_lead_with_no_number_matches_reference():
    """A lead that is NaN throughout has no extremes (nothing of it is at a limit); the
    clipped lead beside it is left out as usual."""
    rng = np.random.default_rng(4)
    x = rng.normal(size=(3600, 3)).astype(np.float32)
    x[:, 2] = np.nan
    x[:1800, 0] = np.minimum(x[:1800, 0], -0.5)  # clipped from below in half the blocks
    x[:1800, 0] = np.where(x[:1800, 0] <= -0.5, x[:, 0].min(), x[:1800, 0])
    got = unusable_mask(x, 360.0)
    np.testing.assert_array_equal(got, unusable_mask_reference(x, 360.0))
    assert got[:, 0].all() and not got[:, 1].any() and got[:, 2].all()


# --- the detector on synthetic signals -------------------------------------------------------


@pytest.mark.parametrize("fs", [128.0, 200.0, 250.0, 256.0, 360.0, 500.0, 1000.0])
def test_detects_every_beat_at_common_rates(fs):
    signal, truth = synthetic_ecg(fs, 60, heart_rate_bpm=75, ventricular_every=5, seed=int(fs))
    assert score(detect_rpeaks(signal, fs), truth, fs) == (0, 0)


@pytest.mark.parametrize("rate", [40.0, 150.0, 200.0])
def test_slow_and_fast_rhythms(rate):
    signal, truth = synthetic_ecg(360.0, 60, heart_rate_bpm=rate, seed=7)
    assert score(detect_rpeaks(signal, 360.0), truth, 360.0) == (0, 0)


@pytest.fixture(scope="module")
def sample_12_minutes():
    """12 minutes of the shipped sample's two leads (real ECG, MIT-BIH), centred, in mV."""
    from ecgtk.bench.tiling import tiled_signal

    digital, gain = tiled_signal(0.2)
    signal = digital.astype(np.float32) / gain
    return signal - np.median(signal, axis=0)


@pytest.mark.parametrize("side, clipped_share", [("low", 0.9), ("low", 0.6), ("high", 0.8)])
def test_lead_clipped_at_its_limit_is_covered_by_the_other_lead(sample_12_minutes, side,
                                                                 clipped_share):
    """A lead held at its limit most of the time (its offset beyond the recorder's or the
    file's range) is left out, as a lead off is: the beats are those of the unclipped
    signal. Before, its cut-off deflections among the leads cost beats (clipped from below
    at 90 %: 381 of 864 found)."""
    fs = 360.0
    clean = detect_rpeaks(sample_12_minutes, fs)
    signal = sample_12_minutes.copy()
    if side == "low":
        signal[:, 1] = np.maximum(signal[:, 1], np.quantile(signal[:, 1], clipped_share))
    else:
        signal[:, 1] = np.minimum(signal[:, 1], np.quantile(signal[:, 1], 1 - clipped_share))
    assert unusable_mask(signal, fs)[:, 1].all() and not unusable_mask(signal, fs)[:, 0].any()
    missed, extra = score(detect_rpeaks(signal, fs), clean, fs)
    assert missed <= 0.01 * len(clean) and extra <= 0.01 * len(clean)


def test_lead_clipped_for_a_few_seconds_stays_in():
    """A few seconds at the limit in ten minutes (MIT-BIH 116 and 223 have such) is far from
    a clipped lead: the lead stays, its flat stretch flagged as before."""
    fs = 360.0
    signal, _ = synthetic_ecg(fs, 600, seed=5)
    signal[int(100 * fs):int(103 * fs), 1] = signal[:, 1].min()  # 3 s at the lowest value
    mask = unusable_mask(signal, fs)
    np.testing.assert_array_equal(mask, unusable_mask(signal, fs, rail_share=2.0))
    assert not mask[:int(99 * fs)].any() and not mask[:, 0].any()


def test_every_lead_clipped_is_left_to_the_detector():
    fs = 360.0
    signal, _ = synthetic_ecg(fs, 60, seed=6)
    signal = np.minimum(signal, np.quantile(signal, 0.2, axis=0))
    assert not unusable_mask(signal, fs).any()
    assert unusable_mask(signal[:, :1], fs).sum() == 0


def test_lead_dropping_out_is_covered_by_the_other_lead():
    fs = 360.0
    signal, truth = synthetic_ecg(fs, 90, seed=1)
    signal[int(30 * fs):int(60 * fs), 0] = 0.0  # lead off for 30 s
    assert score(detect_rpeaks(signal, fs), truth, fs) == (0, 0)


@pytest.mark.parametrize("seed", range(2))
def test_lead_losing_its_qrs_for_seconds_gives_way_to_the_other(seed):
    """The stronger lead's QRS shrinks to 3 % for 6 s (not flat, so not unusable): its level,
    a median over 12.5 s, still says it is the lead to trust; its block maximum says not."""
    fs = 360.0
    signal, truth = synthetic_ecg(fs, 90, seed=seed)
    signal[:, 1] *= 0.5 / 0.7
    signal[int(30 * fs):int(36 * fs), 0] *= 0.03
    missed, extra = score(detect_rpeaks(signal, fs), truth, fs)
    assert missed <= 1 and extra == 0
    without = DetectorParams(lost_qrs_ratio=0.0)
    assert score(detect_rpeaks(signal, fs, without), truth, fs)[0] >= 5


def test_lost_qrs_drops_only_the_lead_that_lost_it():
    """lead_weights: a lead whose block maximum falls under lost_qrs_ratio of its level gets
    no weight there; when every lead falls (a pause), the weights stay as they were."""
    block, n_blocks = 100, 12
    feature = np.zeros((block * n_blocks, 2))
    feature[50::block, 0], feature[50::block, 1] = 1.0, 0.5  # one QRS per block
    feature[5 * block + 50, 0] = 0.05  # lead 0 lost its QRS in block 5
    feature[8 * block + 50, :] = [0.05, 0.02]  # both leads quiet in block 8
    unusable = np.zeros(feature.shape, dtype=bool)
    args = (feature, unusable, 100.0, 1.0, 5, 1.0)
    before, _ = leads.lead_weights(*args, lost_qrs_ratio=0.0)
    after, _ = leads.lead_weights(*args, lost_qrs_ratio=0.5)
    np.testing.assert_allclose(after[5], [0.0, 1.0])
    assert before[5, 0] > 0.5
    np.testing.assert_allclose(after[8], before[8])
    keep = [b for b in range(n_blocks) if b != 5]
    np.testing.assert_allclose(after[keep], before[keep])


def test_nan_stretch_is_skipped():
    fs = 250.0
    signal, truth = synthetic_ecg(fs, 90, seed=2)
    signal[int(20 * fs):int(40 * fs), 1] = np.nan
    assert score(detect_rpeaks(signal, fs), truth, fs) == (0, 0)


def test_all_leads_missing_gives_no_beats_inside_the_gap():
    fs = 360.0
    signal, truth = synthetic_ecg(fs, 90, seed=4)
    signal[int(30 * fs):int(60 * fs)] = np.nan
    found = detect_rpeaks(signal, fs)
    assert not ((found > 31 * fs) & (found < 59 * fs)).any()
    outside = truth[(truth < 29 * fs) | (truth > 61 * fs)]
    assert score(found[(found < 29 * fs) | (found > 61 * fs)], outside, fs) == (0, 0)


def test_baseline_wander():
    fs = 360.0
    signal, truth = synthetic_ecg(fs, 60, seed=5)
    t = np.arange(len(signal)) / fs
    signal += (1.5 * np.sin(2 * np.pi * 0.3 * t) + 0.5 * t / 60)[:, None].astype(np.float32)
    assert score(detect_rpeaks(signal, fs), truth, fs) == (0, 0)


def test_pacing_spikes_do_not_double_count():
    fs = 360.0
    signal, truth = synthetic_ecg(fs, 60, seed=6)
    for beat in truth:  # a 3 ms, 4 mV pacing spike 40 ms before each QRS
        signal[beat - int(0.04 * fs):beat - int(0.04 * fs) + 1] += 4.0
    assert score(detect_rpeaks(signal, fs), truth, fs) == (0, 0)


def test_noise_burst_in_one_lead():
    fs = 360.0
    signal, truth = synthetic_ecg(fs, 90, seed=8)
    rng = np.random.default_rng(0)
    burst = slice(int(40 * fs), int(50 * fs))
    signal[burst, 1] += rng.normal(0, 1.0, burst.stop - burst.start).astype(np.float32)
    missed, extra = score(detect_rpeaks(signal, fs), truth, fs)
    assert missed == 0 and extra <= 1


def test_detector_input_validation():
    with pytest.raises(ValueError, match="shape"):
        detect_rpeaks(np.zeros((10, 2, 2)), 360.0)
    with pytest.raises(ValueError, match="fs"):
        detect_rpeaks(np.zeros((1000, 1)), 0.0)
    assert len(detect_rpeaks(np.zeros(100), 360.0)) == 0  # shorter than a second
    assert len(detect_rpeaks(np.zeros((5000, 2)), 360.0)) == 0  # flat


def test_params_are_physiological_and_used():
    signal, truth = synthetic_ecg(360.0, 30, heart_rate_bpm=150, seed=9)
    slow_refractory = DetectorParams(refractory_s=0.5)  # a 150 bpm rhythm has 0.4 s RR
    assert len(detect_rpeaks(signal, 360.0, slow_refractory)) < 0.9 * len(truth)


# --- real excerpts ---------------------------------------------------------------------------


@pytest.mark.parametrize("record", ["101", "119", "208"])
def test_real_excerpts(mitdb_excerpt, record):
    signal, fs, reference = mitdb_excerpt(record)
    missed, extra = score(detect_rpeaks(signal, fs), reference, fs)
    assert missed <= 0.005 * len(reference) and extra <= 0.005 * len(reference)
