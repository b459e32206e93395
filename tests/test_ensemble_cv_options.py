"""``python -m ecgtk.benchmarks.ensemble_cv``: its window and augmentation options reach
VentricularConfig and AugmentConfig."""

import argparse

import pytest

from ecgtk.benchmarks.ensemble_cv import _augment_config, _windows_config
from ecgtk.export.dataset import TRAINING_WINDOWS, VentricularConfig, training_window_fields


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
