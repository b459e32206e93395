"""The benchmark's 12-lead EDF is a fair 12-lead recording: no lead pinned at the EDF's limits
(the excerpts sit on the ADC's zero, about +5 mV; written uncentred, the leads that add both
excerpt leads clipped at +10 mV most of the time and the detector lost beats on them)."""

import numpy as np
import pytest

pyedflib = pytest.importorskip("pyedflib")

from benchmarks.bench_run import write_tiled_edf12  # noqa: E402
from ecgtk.kernels.rpeaks import detect_rpeaks  # noqa: E402


def test_tiled_edf12_has_no_clipped_lead_and_every_lead_finds_the_beats(tmp_path):
    path = write_tiled_edf12(tmp_path / "tiled12.edf", hours=2 / 60)  # two minutes
    with pyedflib.EdfReader(str(path)) as edf:
        assert edf.signals_in_file == 12
        leads = np.stack([edf.readSignal(i) for i in range(12)], axis=1) / 1000.0  # mV
        limit = edf.getPhysicalMaximum(0) / 1000.0
    assert np.abs(np.median(leads, axis=0)).max() < 1.0  # centred
    at_limit = (np.abs(leads) >= 0.999 * limit).mean(axis=0)
    assert at_limit.max() < 0.001
    all_leads = len(detect_rpeaks(leads, 1000.0))
    two_leads = len(detect_rpeaks(leads[:, :2], 1000.0))
    assert two_leads > 100
    assert abs(all_leads - two_leads) <= 0.02 * two_leads
