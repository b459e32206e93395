"""Helpers of the benchmarks: the GPU memory poller (without a GPU)."""

import subprocess
import time

from ecgtk.bench import pipeline
from ecgtk.bench.pipeline import GpuMemoryPeak


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
    assert report["lanes"] >= 1
    assert report["beats_per_second"] > 0


def test_keras_baseline_times_both_runtimes_on_the_same_windows(tmp_path, monkeypatch):
    """The ONNX/Keras ratio comes from interleaved repeats on the same real windows."""
    import pytest

    pytest.importorskip("tensorflow")
    from ecgtk.engines.local import models_for
    from ecgtk.inference.models import ModelSettings

    monkeypatch.setattr(pipeline, "BASELINE_WINDOWS", 300)
    calls = []
    real_seconds = pipeline._seconds
    monkeypatch.setattr(pipeline, "_seconds", lambda work, *a, **k: calls.append(
        getattr(getattr(work, "func", work), "__name__", "?")) or real_seconds(work, *a, **k))
    source = pipeline.tiled_archive(tmp_path, 1, 0.1)[0]
    out = pipeline.keras_baseline(models_for(ModelSettings(lanes=2)), source)
    assert set(out) == {"beat", "ventricular"}
    for figures in out.values():
        assert figures["windows"] == 300 and figures["repeats"] == pipeline.BASELINE_REPEATS
        assert figures["onnx_windows_per_s"] > 0 and figures["keras_windows_per_s"] > 0
        assert figures["ratio"] == round(figures["onnx_windows_per_s"]
                                         / figures["keras_windows_per_s"], 2)
        assert (figures["onnx_lanes"], figures["keras_batch"]) == (2, pipeline.KERAS_BATCH)
    assert calls == ["predict_in_lanes", "predict"] * (2 * pipeline.BASELINE_REPEATS)


def test_predict_in_lanes_gives_the_probabilities_of_one_call():
    import numpy as np

    from ecgtk.inference.sessions import open_session, predict, shipped_model_path

    session = open_session(shipped_model_path("beat"))
    windows = np.random.default_rng(0).normal(size=(101, 100, 2)).astype(np.float32)
    np.testing.assert_array_equal(pipeline.predict_in_lanes(session, windows, 16, 3),
                                  predict(session, windows, 16))



def test_tiled_wfdb_with_noise_repeats_no_beat_exactly(tmp_path):
    # Clustering a recording whose beats repeat exactly is easier than a real one's: the
    # benchmark can add noise so that no two copies of the sample are alike.
    import numpy as np
    import wfdb

    from ecgtk.bench.tiling import tiled_signal, write_tiled_wfdb

    clean, gain = tiled_signal(0.5)
    cycle = 3 * 5 * 60 * 360  # the three 5-minute sample excerpts
    assert np.array_equal(clean[:1000], clean[cycle:cycle + 1000])
    header = write_tiled_wfdb(tmp_path, "noisy", 0.5, noise_mv=0.02)
    noisy = wfdb.rdrecord(str(header.with_suffix("")), physical=False).d_signal
    assert noisy.shape == clean.shape
    assert 0.015 < ((noisy - clean.astype(float)) / gain).std() < 0.025
    assert not np.array_equal(noisy[:1000], noisy[cycle:cycle + 1000])
