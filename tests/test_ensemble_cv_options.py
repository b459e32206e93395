"""``python -m ecgtk.benchmarks.ensemble_cv``: its window options reach VentricularConfig."""

import argparse

from ecgtk.benchmarks.ensemble_cv import _windows_config
from ecgtk.export.dataset import VentricularConfig


def test_window_options_become_ventricular_config_fields():
    plain = argparse.Namespace(fusion_as_v=False, max_v=None)
    assert _windows_config(plain) is None  # the default windows, as the shipped members
    both = _windows_config(argparse.Namespace(fusion_as_v=True, max_v=200))
    assert both == {"fusion_as_ventricular": True, "max_ventricular": 200}
    assert VentricularConfig(**both).max_ventricular == 200
