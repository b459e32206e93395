"""Training-set builders, noise at a given SNR, patient-wise splits, augmentation.

Uses the 2-minute MIT-BIH excerpts in tests/data and synthetic signals only.
"""

from __future__ import annotations

import numpy as np
import pytest

from ecgtk.export import dataset as ds
from ecgtk.export.augment import AugmentConfig, augment
from ecgtk.export.noise import (
    add_noise_stretches,
    measure_snr_db,
    noise_power,
    scale_noise,
    signal_power,
)
from ecgtk.inference.inputs import BEAT_WINDOW, VENTRICULAR_WINDOW
from tests.synthetic import synthetic_ecg

FS = 360.0


def _noises(n: int = 60 * 360, seed: int = 1) -> dict[str, np.ndarray]:
    """Stand-ins for the nstdb noise records: wander, white noise, and spiky motion."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / FS
    bw = np.stack([np.sin(2 * np.pi * 0.3 * t), np.cos(2 * np.pi * 0.2 * t)], 1)
    ma = rng.normal(0, 1, (n, 2))
    em = np.cumsum(rng.normal(0, 1, (n, 2)), axis=0) * 0.05 + rng.normal(0, 1, (n, 2))
    return {"bw": bw.astype(np.float32), "ma": ma.astype(np.float32),
            "em": em.astype(np.float32)}


# ---------------------------------------------------------------------------------------------
# patients and splits


def test_patient_of():
    assert ds.patient_of("118e06") == "118"
    assert ds.patient_of("119e_6") == "119"
    assert ds.patient_of("mitdb/101") == "101"
    assert ds.patient_of("bw") == "bw"


@pytest.mark.parametrize("k", [2, 4, 5])
def test_kfold_never_shares_a_patient(k):
    records = list(ds.ALL_RECORDS) + list(ds.NSTDB_RECORDS)
    folds = ds.kfold_by_patient(records, k, seed=3)
    assert len(folds) == k
    seen_test = []
    for train, test in folds:
        assert set(train) | set(test) == set(records)
        assert not set(train) & set(test)
        assert not {ds.patient_of(r) for r in train} & {ds.patient_of(r) for r in test}
        seen_test += test
    assert sorted(seen_test) == sorted(records)  # every record held out exactly once
    # 118e06 goes wherever 118 goes
    for _, test in folds:
        assert ("118" in test) == ("118e06" in test)


def test_split_validation_is_patient_wise_and_seeded():
    records = list(ds.DS1) + list(ds.NSTDB_RECORDS)
    train, val = ds.split_validation(records, 0.2, seed=0)
    assert not {ds.patient_of(r) for r in train} & {ds.patient_of(r) for r in val}
    assert set(train) | set(val) == set(records)
    assert (train, val) == ds.split_validation(records, 0.2, seed=0)


def test_subsample_patients_keeps_records_of_a_patient_together_and_is_seeded():
    from ecgtk.export.records import subsample_patients

    records = ["101", "106", "118", "118e06", "119", "119e_6", "203", "217"]
    half = subsample_patients(records, 3, seed=0)
    assert len({ds.patient_of(r) for r in half}) == 3
    assert ("118" in half) == ("118e06" in half) and ("119" in half) == ("119e_6" in half)
    assert half == [r for r in records if r in half]  # the given order
    assert half == subsample_patients(records, 3, seed=0)
    assert {tuple(subsample_patients(records, 3, seed=s)) for s in range(10)} != {tuple(half)}
    assert subsample_patients(records, 6, seed=1) == records  # every patient
    for bad in (0, 7):
        with pytest.raises(ValueError, match="n_patients"):
            subsample_patients(records, bad)


# ---------------------------------------------------------------------------------------------
# noise


@pytest.mark.parametrize("snr", [24, 12, 0, -6])
def test_noise_scaled_to_requested_snr(snr):
    signal, beats = synthetic_ecg(FS, 30, n_leads=2, noise_mv=0.0, seed=0)
    s = signal_power(signal, beats)
    # S = ptp^2 / 8 with the synthetic beat's QRS peak-to-peak (lead 1 scaled by 0.7)
    assert s[1] == pytest.approx(s[0] * 0.49, rel=1e-3)
    noise = np.random.default_rng(0).normal(3.0, 2.0, (len(signal), 2))  # mean is removed
    scaled = scale_noise(noise, s, snr)
    measured = 10 * np.log10(s / noise_power(scaled))
    np.testing.assert_allclose(measured, snr, atol=1e-3)
    assert abs(scaled.mean()) < 1e-3


def test_add_noise_stretches_measures_at_requested_snr():
    signal, beats = synthetic_ecg(FS, 60, n_leads=2, noise_mv=0.0, seed=1)
    stretches = [(0, 7200, "em", 6.0), (14400, 21600, "ma", -6.0)]
    noisy, log = add_noise_stretches(signal, beats, _noises(), stretches,
                                     np.random.default_rng(0))
    assert noisy.shape == signal.shape and noisy.dtype == np.float32
    s = signal_power(signal, beats)
    for entry, (start, stop, _, snr) in zip(log, stretches, strict=True):
        np.testing.assert_allclose(entry["measured_snr_db"], snr, atol=0.01)
        np.testing.assert_allclose(measure_snr_db(s, noisy[start:stop] - signal[start:stop]),
                                   snr, atol=0.01)
    np.testing.assert_array_equal(noisy[7200:14400], signal[7200:14400])  # untouched


# ---------------------------------------------------------------------------------------------
# records and builders


def test_load_record_and_candidates(data_dir):
    rd = ds.load_record(data_dir, "119")
    assert rd.signal.dtype == np.float32 and rd.signal.shape[1] == 2
    assert rd.fs == FS and rd.record_fs == FS and rd.patient == "119"
    cands = ds.detector_candidates(rd.signal)
    ri, _ = __import__("ecgtk.scoring", fromlist=["match_beats"]).match_beats(
        rd.samples, cands, 54)
    assert len(ri) >= 0.98 * len(rd.samples)


def test_load_record_resamples_to_model_rate(tmp_path):
    wfdb = pytest.importorskip("wfdb")
    fs_in = 250
    signal, beats = synthetic_ecg(fs_in, 40, n_leads=2, seed=2)
    wfdb.wrsamp("syn", fs=fs_in, units=["mV", "mV"], sig_name=["MLII", "V1"],
                p_signal=signal.astype(np.float64), fmt=["16", "16"], write_dir=str(tmp_path))
    wfdb.wrann("syn", "atr", beats, symbol=["N"] * len(beats), write_dir=str(tmp_path))
    rd = ds.load_record(tmp_path, "syn")
    assert rd.record_fs == fs_in and rd.fs == FS
    assert abs(len(rd.signal) - len(signal) * FS / fs_in) <= 1
    np.testing.assert_array_equal(rd.samples, np.floor(beats * FS / fs_in + 0.5).astype(int))
    back = ds.to_record_rate(rd.samples, fs_in)
    assert np.abs(back - beats).max() <= 1
    cands = ds.detector_candidates(rd.signal)
    assert abs(len(cands) - len(beats)) <= 2


def test_beat_builder_shapes_labels_groups(data_dir):
    rd = ds.load_record(data_dir, "119")
    cfg = ds.BeatConfig(positives_clean=50, positives_noisy=40, random_per_variant=20)
    ws = ds.build_beat_record(rd, _noises(), seed=0, config=cfg)
    # 2 leads, their templates and the 2 RR channels (context_inputs); leads() the leads alone
    assert ws.x.shape == (len(ws), sum(BEAT_WINDOW), 6) and ws.x.dtype == np.float32
    assert ws.leads(2).shape == (len(ws), sum(BEAT_WINDOW), 2)
    np.testing.assert_array_equal(ws.context_inputs(2), ws.x)
    assert set(np.unique(ws.y)) == {0, 1}
    assert set(ws.record) == {"119"} and set(ws.patient) == {"119"}
    assert set(ws.variant) == {0, 1, 2}
    pos = ws.y == 1
    # positives: detector candidates within 150 ms of an annotated beat
    d = np.abs(ws.sample[pos][:, None] - rd.samples[None, :]).min(axis=1)
    assert d.max() <= 54
    assert (ws.source[pos] == ds.SOURCE_CANDIDATE).all()
    assert ((ws.variant == 0) & pos).sum() == 50
    # random negatives are >= 200 ms from every beat
    rand = ws.source == ds.SOURCE_RANDOM
    assert rand.any() and (ws.y[rand] == 0).all()
    d = np.abs(ws.sample[rand][:, None] - rd.samples[None, :]).min(axis=1)
    assert d.min() >= 72
    # noisy copies: their positives lie in noisy stretches, which carry an SNR
    assert np.isfinite(ws.snr_db[pos & (ws.variant > 0)]).all()
    assert np.isnan(ws.snr_db[ws.variant == 0]).all()
    assert np.isfinite(ws.x).all() and np.abs(ws.x).max() <= 20


def test_vf_windows_are_negatives():
    signal, beats = synthetic_ecg(FS, 60, seed=4)
    keep = (beats < 20 * FS) | (beats > 40 * FS)
    rd = ds.RecordData("999", signal, beats[keep], np.array(["N"] * keep.sum()),
                       np.array([[int(20 * FS), int(40 * FS)]]), FS)
    ws = ds.build_beat_record(rd, None, seed=0, config=ds.BeatConfig(random_per_variant=0))
    vf = ws.source == ds.SOURCE_VF
    assert vf.sum() == 200  # every 100 ms over 20 s
    assert (ws.y[vf] == 0).all()


def test_nstdb_record_snr_map():
    m = ds._nstdb_snr_map(int(20 * 60 * FS), FS, "118e06")
    assert np.isnan(m[: int(300 * FS)]).all()
    assert (m[int(300 * FS): int(420 * FS)] == 6).all()
    assert np.isnan(m[int(420 * FS): int(540 * FS)]).all()
    assert (ds._nstdb_snr_map(100000, FS, "119e_6")[int(301 * FS):int(302 * FS)] == -6).all()


def test_ventricular_builder_labels(data_dir):
    rd = ds.load_record(data_dir, "208")
    ws = ds.build_ventricular_record(rd, seed=0, config=ds.VentricularConfig(max_normal=40))
    assert ws.x.shape == (len(ws), sum(VENTRICULAR_WINDOW), 6)  # 2 leads + context
    assert ws.context_inputs(2).shape == ws.x.shape and ws.context_inputs(1).shape[2] == 4
    rr_before = ws.x[:, 0, 4]
    assert rr_before[ws.y == 1].mean() < rr_before[ws.y == 0].mean() - 0.1  # V beats early
    assert set(ws.symbol) <= set(ds.VENTRICULAR_SYMBOLS) | set(ds.NON_VENTRICULAR_SYMBOLS)
    np.testing.assert_array_equal(ws.y == 1, np.isin(ws.symbol, ds.VENTRICULAR_SYMBOLS))
    assert (ws.y == 1).sum() == np.isin(rd.symbols, ds.VENTRICULAR_SYMBOLS).sum()
    assert (np.isin(ws.symbol, ds.NON_VENTRICULAR_SYMBOLS[:5])).sum() <= 40
    assert "F" in set(rd.symbols) and "F" not in set(ws.symbol)  # fusion left out
    # windows are centred on the detector candidate matched to the beat
    cands = ds.detector_candidates(rd.signal)
    found = ws.source == ds.SOURCE_CANDIDATE
    assert found.mean() > 0.95
    assert np.isin(ws.sample[found], cands).all()


def test_ventricular_builder_can_train_fusion_beats_as_ventricular(data_dir):
    """With ``fusion_as_ventricular`` the F beats of 208 come in as class 1 and nothing else
    changes: the same V and non-V windows, the same normal beats drawn."""
    rd = ds.load_record(data_dir, "208")
    plain = ds.build_ventricular_record(rd, seed=0, config=ds.VentricularConfig(max_normal=40))
    fused = ds.build_ventricular_record(rd, seed=0, config=ds.VentricularConfig(
        max_normal=40, fusion_as_ventricular=True))
    is_f = fused.symbol == "F"
    assert is_f.sum() == (rd.symbols == "F").sum() > 0 and (fused.y[is_f] == 1).all()
    np.testing.assert_array_equal(fused.sample[~is_f], plain.sample)
    np.testing.assert_array_equal(fused.y[~is_f], plain.y)
    np.testing.assert_array_equal(fused.x[~is_f], plain.x)


def test_ventricular_builder_can_cap_v_beats_per_record(data_dir):
    """``max_ventricular`` keeps a random subset of a record's V beats and changes nothing else:
    the same non-V windows, the same normal beats drawn; a cap above the count keeps them all."""
    rd = ds.load_record(data_dir, "208")
    plain = ds.build_ventricular_record(rd, seed=0, config=ds.VentricularConfig(max_normal=40))
    capped = ds.build_ventricular_record(rd, seed=0, config=ds.VentricularConfig(
        max_normal=40, max_ventricular=10))
    assert (plain.y == 1).sum() > 10 and (capped.y == 1).sum() == 10
    assert np.isin(capped.sample[capped.y == 1], plain.sample[plain.y == 1]).all()
    np.testing.assert_array_equal(capped.sample[capped.y == 0], plain.sample[plain.y == 0])
    roomy = ds.build_ventricular_record(rd, seed=0, config=ds.VentricularConfig(
        max_normal=40, max_ventricular=10**6))
    np.testing.assert_array_equal(roomy.sample, plain.sample)


def test_snap_to_candidates():
    beats = np.array([100, 500, 900])
    cands = np.array([104, 560, 2000])
    np.testing.assert_array_equal(ds.snap_to_candidates(beats, cands, FS), [104, 500, 900])
    np.testing.assert_array_equal(ds.snap_to_candidates(beats, np.array([530]), FS),
                                  [100, 530, 900])


def test_build_windows_caches_per_record(data_dir, tmp_path):
    cfg = ds.VentricularConfig(max_normal=30)
    a = ds.build_windows("ventricular", data_dir, ["101", "119"], cache_dir=tmp_path,
                         ventricular_config=cfg)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert len(files) == 2 and all(f.startswith("ventricular_") for f in files)
    b = ds.build_windows("ventricular", data_dir, ["101", "119"], cache_dir=tmp_path,
                         ventricular_config=cfg)
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.record, b.record)
    assert set(a.record) == {"101", "119"}
    assert a.leads(1).shape == (len(a), 300, 1)
    assert set(a.of_patients(["119"]).record) == {"119"}
    with pytest.raises(ValueError):
        ds.build_windows("other", data_dir, ["101"])


# ---------------------------------------------------------------------------------------------
# augmentation


def test_augment_keeps_shape_dtype_and_is_seeded():
    x = np.random.default_rng(0).normal(0, 1, (64, 100, 2)).astype(np.float32)
    a = augment(x, 7)
    assert a.shape == x.shape and a.dtype == np.float32
    np.testing.assert_array_equal(a, augment(x, 7))
    np.testing.assert_array_equal(a, augment(x, np.random.default_rng(7)))
    assert not np.array_equal(a, augment(x, 8))
    assert not np.array_equal(a, x)
    np.testing.assert_allclose(np.median(a, axis=1), 0, atol=1e-6)  # inputs stay centred
    assert np.abs(a).max() <= 20
    x_copy = x.copy()
    augment(x, 1)
    np.testing.assert_array_equal(x, x_copy)  # input untouched


def test_augment_options():
    x = np.random.default_rng(0).normal(0, 1, (16, 50, 2)).astype(np.float32)
    x -= np.median(x, axis=1, keepdims=True)
    off = AugmentConfig(probability=0.0, wander_amplitude=0, noise_std=(0, 0), max_shift=0)
    np.testing.assert_allclose(augment(x, 0, off), x, atol=1e-6)
    flip = AugmentConfig(probability=0.0, flip_probability=1.0)
    np.testing.assert_allclose(augment(x, 0, flip), -x, atol=1e-6)
    swap = AugmentConfig(probability=0.0, swap_probability=1.0)
    np.testing.assert_allclose(augment(x, 0, swap), x[:, :, ::-1], atol=1e-6)
    assert augment(np.zeros((0, 50, 1), np.float32), 0).shape == (0, 50, 1)


def test_augment_with_context_changes_only_the_leads():
    """Context channels (templates, RR) stay as measured, and follow a lead reversal."""
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, (32, 100, 6)).astype(np.float32)
    cfg = AugmentConfig(swap_probability=0.5)
    out = augment(x, 5, cfg, signal_leads=2)
    np.testing.assert_array_equal(out[:, :, :2], augment(x[:, :, :2], 5, cfg))  # same draws
    np.testing.assert_array_equal(out[:, :, 4:], x[:, :, 4:])  # RR channels untouched
    swapped = (out[:, :, 2:4] != x[:, :, 2:4]).any(axis=(1, 2))
    assert 0 < swapped.sum() < len(x)  # about half the windows had their leads reversed
    np.testing.assert_array_equal(out[swapped, :, 2:4], x[swapped][:, :, 2:4][:, :, ::-1])
    np.testing.assert_array_equal(out[~swapped, :, 2:4], x[~swapped, :, 2:4])
    with pytest.raises(ValueError, match="signal_leads"):
        augment(x, 0, cfg, signal_leads=4)
