"""Real nstdb noise in model 2's training windows (``ecgtk.export.real_noise`` and the
``noise`` recipe), on synthetic noise banks: no ../shared data needed."""

from __future__ import annotations

import json
from dataclasses import asdict, replace

import numpy as np
import pytest

from ecgtk.export import evaluate
from ecgtk.export.augment import AugmentConfig, augment
from ecgtk.export.noise import measure_snr_db, signal_power
from ecgtk.export.real_noise import (
    add_real_noise,
    load_noise_bank,
    noise_bank,
    nst_noise_rms,
    proxy_free_parts,
)

FS = 360
LENGTH = 300


def _windows(n: int = 400, leads: int = 2) -> np.ndarray:
    """Context inputs ``(n, 300, 2 * leads + 2)``: a beat of peak-to-peak 1 (as normalised
    windows have) on each lead and its template, RR channels 0.1."""
    t = np.arange(LENGTH)
    beat = np.exp(-(((t - LENGTH // 2) / 6.0) ** 2)).astype(np.float32)
    x = np.zeros((n, LENGTH, 2 * leads + 2), np.float32)
    x[:, :, :2 * leads] = beat[None, :, None]
    x[:, :, 2 * leads:] = 0.1
    return x


def _white_bank(seconds: int = 600, seed: int = 0):
    return noise_bank({"ma": np.random.default_rng(seed).standard_normal((seconds * FS, 2))})


@pytest.mark.parametrize("snr_db", [0.0, 6.0, 12.0])
def test_added_noise_has_the_snr_asked_for(snr_db):
    x = _windows()
    out = add_real_noise(x, np.random.default_rng(1), _white_bank(), 1.0, (snr_db, snr_db), 2)
    added = out[:, :, :2] - x[:, :, :2]
    s_power = signal_power(x[0, :, 2:4], np.array([LENGTH // 2]), FS)  # the template's
    measured = np.array([measure_snr_db(s_power, a) for a in added])
    assert np.allclose(s_power, 1 / 8, rtol=0.02)  # nstdb's S = ptp**2 / 8 with ptp 1
    assert abs(np.median(measured) - snr_db) < 0.3
    assert np.percentile(np.abs(measured - snr_db), 99) < 1.0  # 300 samples of noise each


def test_snr_range_is_drawn_uniformly():
    x = _windows(2000)
    out = add_real_noise(x, np.random.default_rng(2), _white_bank(), 1.0, (0.0, 12.0), 2)
    measured = np.array([measure_snr_db(1 / 8, a)[0] for a in out[:, :, :2] - x[:, :, :2]])
    assert -1 < measured.min() and measured.max() < 13 and abs(np.median(measured) - 6) < 0.7


def test_only_signal_leads_get_noise_context_untouched():
    x = _windows()
    cfg = AugmentConfig(real_noise_probability=1.0)
    out = augment(x, 0, cfg, signal_leads=2, noise=_white_bank())
    assert np.array_equal(out[:, :, 2:], x[:, :, 2:])  # templates and RR context
    raw = add_real_noise(x, np.random.default_rng(0), _white_bank(), 1.0, (0.0, 12.0), 2)
    assert np.array_equal(raw[:, :, 2:], x[:, :, 2:]) and not np.allclose(raw[:, :, :2],
                                                                         x[:, :, :2])


def test_without_context_every_channel_is_noised_and_measured_on_itself():
    x = _windows()[:, :, :2]
    out = add_real_noise(x, np.random.default_rng(0), _white_bank(), 1.0, (6.0, 6.0))
    measured = [measure_snr_db(1 / 8, a) for a in out - x]
    assert abs(np.median(measured) - 6.0) < 0.3


def test_same_seed_same_output_and_probability_zero_changes_nothing():
    x, bank = _windows(), _white_bank()
    cfg = AugmentConfig(real_noise_probability=0.5)
    a = augment(x, 7, cfg, signal_leads=2, noise=bank)
    assert np.array_equal(a, augment(x, 7, cfg, signal_leads=2, noise=bank))
    assert not np.array_equal(a, augment(x, 8, cfg, signal_leads=2, noise=bank))
    noisy = np.any(add_real_noise(x, np.random.default_rng(3), bank, 0.5, (0, 12), 2) != x,
                   axis=(1, 2))
    assert 0.4 < noisy.mean() < 0.6  # the share asked for
    off = AugmentConfig()  # the default: off, and no random number drawn for it
    assert off.real_noise_probability == 0.0
    assert np.array_equal(augment(x, 7, off, signal_leads=2, noise=bank),
                          augment(x, 7, off, signal_leads=2))
    same = add_real_noise(x, np.random.default_rng(3), bank, 0.0, (0, 12), 2)
    assert np.array_equal(same, x)


def test_real_noise_without_a_bank_is_an_error():
    with pytest.raises(ValueError, match="noise bank"):
        augment(_windows(4), 0, AugmentConfig(real_noise_probability=0.5), signal_leads=2)


def test_em_leaves_out_the_stretches_nstdb_118e_119e_carry():
    n = 15 * 60 * FS  # the 15 minutes of em in ../shared/data
    parts = proxy_free_parts("em", n, FS)
    assert [(a / FS / 60, b / FS / 60) for a, b in parts[:3]] == [(0, 5), (7, 9), (11, 13)]
    assert proxy_free_parts("bw", n, FS) == [(0, n)] == proxy_free_parts("ma", n, FS)
    em = np.random.default_rng(0).standard_normal((n, 2))
    for a in range(300 * FS, n, 240 * FS):  # mark what 118e*/119e* carry
        em[a:a + 120 * FS] = 1e4
    bank = noise_bank({"em": em})
    assert max(np.abs(p).max() for p in bank["em"]) < 10
    x = _windows(300)
    out = add_real_noise(x, np.random.default_rng(0), bank, 1.0, (0.0, 0.0), 2)
    assert np.abs(out - x).max() < 5
    whole = noise_bank({"em": em}, spare_proxies=False)
    assert len(whole["em"]) == 1 and len(whole["em"][0]) == n


def test_nst_rms_is_the_trimmed_mean_of_one_second_rms():
    x = np.random.default_rng(0).standard_normal((400 * FS, 2)) * [2.0, 0.5] + 30.0
    assert np.allclose(nst_noise_rms(x, FS), [2.0, 0.5], rtol=0.02)  # offsets do not count


def test_missing_noise_records_are_named(tmp_path):
    (tmp_path / "nstdb").mkdir()
    (tmp_path / "nstdb" / "bw.hea").write_text("bw 2 360 0\n")  # no signal lines, no .dat
    with pytest.raises(FileNotFoundError, match=r"bw\.hea: WFDB header lists 2 signals.*nstdb/em"):
        load_noise_bank([tmp_path])
    with pytest.raises(FileNotFoundError, match="no data folder"):
        load_noise_bank([])
    with pytest.raises(ValueError, match="noise kinds"):
        load_noise_bank([tmp_path], ("hum",))


def test_noise_records_are_read_from_the_data_folder(tmp_path):
    wfdb = pytest.importorskip("wfdb")
    (tmp_path / "nstdb").mkdir()
    rng = np.random.default_rng(0)
    for kind in ("bw", "ma"):
        wfdb.wrsamp(kind, fs=FS, units=["mV", "mV"], sig_name=["noise1", "noise2"],
                    p_signal=rng.standard_normal((330 * FS, 2)) * 0.1, fmt=["16", "16"],
                    adc_gain=[200.0, 200.0], baseline=[0, 0], write_dir=str(tmp_path / "nstdb"))
    bank = load_noise_bank([tmp_path], ("bw", "ma"))
    assert sorted(bank) == ["bw", "ma"] and bank["ma"][0].shape == (330 * FS, 2)
    assert np.allclose(nst_noise_rms(bank["ma"][0], FS), 1.0, rtol=0.05)


def test_the_noise_recipe_puts_real_noise_in_model_2_only():
    from ecgtk.export.train import DEFAULT_AUGMENT, TrainSettings

    assert "noise" in evaluate.RECIPES
    settings = evaluate.recipe_settings("noise", ["../data"])
    v = settings["ventricular"]
    assert v.augment.real_noise_probability == 0.5 and v.augment.real_noise_snr_db == (0, 12)
    assert v.augment.real_noise_kinds == ("bw", "em", "ma") and v.augment.real_noise_spare_proxies
    assert v.augment == replace(DEFAULT_AUGMENT["ventricular"], real_noise_probability=0.5)
    assert settings["beat"].augment == DEFAULT_AUGMENT["beat"]  # model 1 keeps its recipe
    assert v.noise_dirs == ["../data"]
    facts = json.loads(json.dumps(asdict(v)))  # as a .train.json keeps it
    assert TrainSettings(**facts).augment == v.augment


def test_evaluating_the_noise_recipe_without_noise_records_fails_before_training(tmp_path):
    with pytest.raises(FileNotFoundError, match="nstdb/bw"):
        evaluate.evaluate([tmp_path], tmp_path / "out", recipe="noise", designs=("lodo",))
    assert not (tmp_path / "out" / "lodo").exists()
