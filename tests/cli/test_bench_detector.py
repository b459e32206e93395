"""The detector-against-sleepecg benchmark runs (a few seconds of signal; needs the bench
extra)."""

import json

import pytest

pytest.importorskip("sleepecg")

from benchmarks import bench_detector_vs_sleepecg  # noqa: E402


def test_bench_detector_vs_sleepecg_runs(tmp_path):
    out = tmp_path / "bench.json"
    result = bench_detector_vs_sleepecg.main(["--hours", "0.02", "--repeat", "2", "--json",
                                              str(out)])
    assert json.loads(out.read_text()) == result
    assert len(result["seconds"]["ecgtk"]) == len(result["seconds"]["sleepecg"]) == 2
    assert result["n_beats"]["ecgtk"] > 50 and result["n_beats"]["sleepecg"] > 50
    assert result["ratio_sleepecg_over_ecgtk"] > 0
    assert result["ecgtk_both_leads_median_seconds"] > 0
