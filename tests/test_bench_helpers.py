"""Helpers of the benchmarks: the GPU memory poller (without a GPU)."""

import subprocess
import time

from ecgtk.benchmarks import pipeline
from ecgtk.benchmarks.pipeline import GpuMemoryPeak


def test_gpu_memory_peak_without_nvidia_smi(monkeypatch):
    monkeypatch.setattr(pipeline.shutil, "which", lambda name: None)
    with GpuMemoryPeak(0.01) as gpu:
        time.sleep(0.02)
    assert gpu.peak_mb is None


def test_gpu_memory_peak_keeps_the_largest_reading(monkeypatch):
    readings = iter(["100\n", "900\n", "300\n"] + ["200\n"] * 1000)

    def fake_run(args, **kwargs):
        assert args[0] == "nvidia-smi"
        return subprocess.CompletedProcess(args, 0, stdout=next(readings), stderr="")

    monkeypatch.setattr(pipeline.shutil, "which", lambda name: "/usr/bin/nvidia-smi")
    monkeypatch.setattr(pipeline.subprocess, "run", fake_run)
    with GpuMemoryPeak(0.001) as gpu:
        time.sleep(0.05)
    assert gpu.peak_mb == 900.0


def test_bench_command_reports_documented_keys(tmp_path):
    import json

    from typer.testing import CliRunner

    from ecgtk.cli import app

    out = tmp_path / "bench.json"
    result = CliRunner().invoke(app, ["bench", "--hours", "0.05", "--records", "1",
                                      "--no-baseline", "--json", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    for key in ("device", "providers", "records", "recordings_per_hour",
                "seconds_per_24h_recording", "beats_per_second", "stage_seconds", "peak_rss_mb",
                "peak_gpu_mb", "baseline"):
        assert key in report
    assert report["providers"] == ["CPUExecutionProvider"] and report["peak_gpu_mb"] is None
    assert {"detect", "model1", "model2", "templates"} <= set(report["stage_seconds"])
    assert report["beats_per_second"] > 0
