"""research/noise_rule.py and research/em_heldout.py: the settings they take, the runs they
find, and the noise they add (synthetic signals)."""

from __future__ import annotations

import numpy as np
import pytest

from ecgtk.export.noise import noise_power, signal_power
from ecgtk.export.real_noise import nst_noise_rms
from research.em_heldout import add_em
from research.noise_rule import parse_setting, run_designs

FS = 360.0


def test_parse_setting_reads_rule_fields_only():
    assert parse_setting("noise_min_rejected=3") == ("noise_min_rejected", 3)
    assert parse_setting("noise_late_rr_ratio=1.1") == ("noise_late_rr_ratio", 1.1)
    assert parse_setting("noise_window_s=none") == ("noise_window_s", None)
    with pytest.raises(SystemExit, match="ValidationRules"):
        parse_setting("no_such_rule=1")


def test_run_designs_finds_the_designs_each_run_holds(tmp_path):
    (tmp_path / "a" / "cv").mkdir(parents=True)
    (tmp_path / "a" / "lodo").mkdir()
    (tmp_path / "b" / "lodo").mkdir(parents=True)
    found = list(run_designs([tmp_path / "a", tmp_path / "b"]))
    assert [name for name, _ in found] == ["a/cv", "a/lodo", "b/lodo"]


@pytest.fixture
def beating():
    """Two leads of 10 min: a 1 mV (lead 0) and 0.5 mV (lead 1) spike a second."""
    n = int(600 * FS)
    beats = np.arange(int(FS // 2), n, int(FS))
    x = np.zeros((n, 2), np.float32)
    x[beats] = [1.0, 0.5]
    return x, beats


@pytest.mark.parametrize("scaling", ["record", "nst"])
def test_add_em_starts_at_the_onset_at_the_snr_asked(beating, scaling):
    x, beats = beating
    em = np.random.default_rng(0).normal(0, 0.2, (int(120 * FS), 2)) + 3.0  # offset removed
    noisy = add_em(x, beats, em, FS, snr_db=6.0, onset_s=300.0, scaling=scaling)
    onset = int(300 * FS)
    np.testing.assert_array_equal(noisy[:onset], x[:onset])  # clean before the onset
    added = noisy[onset:] - x[onset:]
    rms = np.sqrt(noise_power(em)) if scaling == "record" else nst_noise_rms(em, FS)
    gain = np.sqrt(signal_power(x, beats, FS) / (rms ** 2 * 10 ** 0.6))
    np.testing.assert_allclose(added[: len(em)], (em - em.mean(axis=0)) * gain, atol=1e-5)
    np.testing.assert_allclose(added[len(em): 2 * len(em)], added[: len(em)], atol=1e-6)  # wraps


def test_add_em_refuses_an_unknown_scaling(beating):
    x, beats = beating
    with pytest.raises(ValueError, match="scaling"):
        add_em(x, beats, np.ones((100, 2)), FS, scaling="loud")
