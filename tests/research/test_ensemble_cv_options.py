"""``python -m research.ensemble_cv``: its window and augmentation options reach
VentricularConfig and AugmentConfig; ``--train-share`` trains on a subset of the patients."""

import argparse
import json

import pytest

from ecgtk.export.dataset import TRAINING_WINDOWS, VentricularConfig, training_window_fields
from research.ensemble_cv import _augment_config, _windows_config, main


def test_window_options_become_ventricular_config_fields():
    plain = argparse.Namespace(fusion_as_v=False, max_v=None)
    assert _windows_config(plain) is None  # the shipped training windows
    assert training_window_fields("ventricular", None) == TRAINING_WINDOWS
    both = _windows_config(argparse.Namespace(fusion_as_v=True, max_v=150))
    assert both == {"fusion_as_ventricular": True, "max_ventricular": 150}
    assert VentricularConfig(**training_window_fields("ventricular", both)).max_ventricular == 150


def test_max_v_zero_keeps_every_v_beat():
    fields = training_window_fields("ventricular", _windows_config(
        argparse.Namespace(fusion_as_v=False, max_v=0)))
    assert VentricularConfig(**fields) == VentricularConfig()  # the pre-0.2.5 windows


def test_augment_options_become_augment_config_fields():
    def options(stretch=None, rr_dropout=None, lead_mix=None):
        return argparse.Namespace(stretch=stretch, rr_dropout=rr_dropout, lead_mix=lead_mix)

    assert _augment_config(options()) is None
    every = _augment_config(options([0.9, 1.1], 0.5, 0.3))
    assert every == {"stretch_range": (0.9, 1.1), "rr_dropout_probability": 0.5, "lead_mix": 0.3}
    with pytest.raises(SystemExit, match="rr-dropout"):
        _augment_config(options(rr_dropout=1.5))
    with pytest.raises(SystemExit, match="lead-mix"):
        _augment_config(options(lead_mix=2.0))


def test_train_share_names_the_subset_and_the_patients_left_out():
    from ecgtk.export.ensemble_crossval import _patient_subset

    train = ["101", "106", "108", "109", "112", "102", "104"]  # 7 patients
    half = _patient_subset(train, 0.5, seed=0)
    assert len(half["train_records"]) == 3  # int(7 * 0.5)
    assert sorted(half["train_records"] + half["train_subset"]["left_out"]) == sorted(train)
    assert half["train_subset"]["share"] == 0.5 and half["train_subset"]["seed"] == 0
    assert _patient_subset(train, 0.5, seed=1) != half  # another draw
    assert len(_patient_subset(train, 0.01, seed=0)["train_records"]) == 1  # at least one
    assert _patient_subset(train, 1.0, seed=0)["train_records"] == train


def test_ensemble_fold_trains_on_the_subset_and_writes_it_for_the_refit(tmp_path, monkeypatch):
    """The subset reaches the training windows (the refit reads the fold's train_records)."""
    from ecgtk.export import dataset
    from ecgtk.export.ensemble_crossval import ensemble_fold

    fold = tmp_path / "cv" / "fold0"
    fold.mkdir(parents=True)
    train = ["101", "106", "108", "109"]
    (fold / "fold.json").write_text(json.dumps({
        "fold": 0, "test_records": ["208"], "train_records": train, "val_records": ["119"],
        "thresholds": {"beat": 0.5, "ventricular": 0.5}, "records": {}}))
    seen = []

    class Stop(Exception):
        pass

    def fake_windows(kind, data_dirs, records, windows=None):
        seen.append(list(records))
        raise Stop

    monkeypatch.setattr(dataset, "build_training_windows", fake_windows)
    with pytest.raises(Stop):
        ensemble_fold(fold, tmp_path / "out", [tmp_path], [1], train_share=0.5, subset_seed=3)
    from ecgtk.export.ensemble_crossval import _patient_subset

    assert seen == [_patient_subset(train, 0.5, 3)["train_records"]] and len(seen[0]) == 2


def test_train_share_outside_zero_one_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["--data", str(tmp_path), "--baseline", str(tmp_path), "--out", str(tmp_path),
              "--train-share", "1.5"])
    assert "--train-share must be in (0, 1]" in capsys.readouterr().err
