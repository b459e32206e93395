"""Chunk lanes: the model calls of several chunks at once, the same calls as one at a time."""

import threading
import time
from dataclasses import fields

import numpy as np
import pytest

from ecgtk.inference.models import CPU_BATCH, GPU_BATCH, BeatModels, ModelSettings, worker_layout
from ecgtk.pipeline import ModelInput, call_concurrently, call_recording
from ecgtk.readers import read_recording
from ecgtk.timing import StageClock


@pytest.fixture(scope="module")
def recording(data_dir):
    return read_recording(data_dir / "mitdb" / "208.hea")


def test_two_lanes_give_exactly_the_calls_of_one(recording):
    # 20 s chunks: the 2-minute excerpt makes 6, so chunks really do run side by side
    one = call_recording(recording, BeatModels(ModelSettings(lanes=1)), chunk_s=20.0)
    clock = StageClock()
    two = call_recording(recording, BeatModels(ModelSettings(lanes=2)), clock, chunk_s=20.0)
    np.testing.assert_array_equal(one[0], two[0])
    for field in fields(one[1]):
        np.testing.assert_array_equal(getattr(one[1], field.name), getattr(two[1], field.name))
    assert {"read", "detect", "model1", "model2"} <= set(clock.seconds)


class _SlowModels:
    """Stands in for BeatModels: each call takes a while and records how many overlap."""

    def __init__(self, fail_at: int | None = None) -> None:
        self.running = self.most_running = 0
        self.lock = threading.Lock()
        self.fail_at = fail_at

    def call_chunk(self, signal, fs, candidates, clock):
        with self.lock:
            self.running += 1
            self.most_running = max(self.most_running, self.running)
        time.sleep(0.02)
        with self.lock:
            self.running -= 1
        if self.fail_at is not None and int(signal[0, 0]) == self.fail_at:
            raise ValueError(f"chunk {self.fail_at} is broken")
        return int(signal[0, 0])


def _inputs(n: int, produced: list):
    for i in range(n):
        produced.append(i)
        yield ModelInput(np.full((4, 1), i, np.float32), np.array([1]), start=10 * i)


def test_lanes_run_at_once_keep_order_and_bound_the_chunks_in_memory():
    models, produced = _SlowModels(), []
    yielded = []
    for samples, calls in call_concurrently(_inputs(12, produced), models, 360.0, lanes=3):
        yielded.append(calls)
        assert samples.tolist() == [10 * calls + 1]
        assert len(produced) - len(yielded) <= 3 + 1  # read ahead: at most lanes + 1 chunks
    assert yielded == list(range(12))
    assert models.most_running == 3


def test_a_failing_chunk_fails_the_recording():
    with pytest.raises(ValueError, match="chunk 4 is broken"):
        list(call_concurrently(_inputs(10, []), _SlowModels(fail_at=4), 360.0, lanes=2))


def test_worker_layout_uses_lanes_on_the_cpu_and_threads_on_a_gpu():
    assert worker_layout("cpu", 2) == {"threads": 1, "lanes": 2, "batch_size": CPU_BATCH}
    assert worker_layout("cuda", 8) == {"threads": 8, "lanes": 1, "batch_size": GPU_BATCH}
    assert worker_layout("auto", 0) == {"threads": 1, "lanes": 1, "batch_size": GPU_BATCH}
    assert worker_layout("cuda", 16, lanes=8, batch_size=1024) == {
        "threads": 16, "lanes": 8, "batch_size": 1024}
    assert worker_layout("cpu", 2, lanes=3)["lanes"] == 3
    assert worker_layout("cpu", 2, lanes=1, batch_size=256) == {  # the layout before lanes
        "threads": 2, "lanes": 1, "batch_size": 256}


def test_the_batch_size_does_not_change_the_calls(recording):
    one = call_recording(recording, BeatModels(ModelSettings(batch_size=7)), chunk_s=60.0)
    two = call_recording(recording, BeatModels(ModelSettings(batch_size=256)), chunk_s=60.0)
    np.testing.assert_array_equal(one[1].p_ventricular, two[1].p_ventricular)
    np.testing.assert_array_equal(one[1].p_beat, two[1].p_beat)


def test_settings_reject_no_lanes():
    with pytest.raises(ValueError, match="lanes"):
        ModelSettings(lanes=0)
    with pytest.raises(ValueError, match="batch_size"):
        ModelSettings(batch_size=0)


def test_detecting_chunks_at_once_finds_the_same_peaks(recording, tmp_path):
    import json

    from ecgtk.detection.chunked import iter_detections

    def peaks(rec, workers):
        return [found for _, found in iter_detections(rec, chunk_s=15.0, workers=workers)]

    one = peaks(recording, 1)
    assert len(one) == 8 and all(len(p) for p in one)
    for got, want in zip(peaks(recording, 3), one, strict=True):
        np.testing.assert_array_equal(got, want)
    # a flat first minute: the polarity is learnt later, on the first chunk with beats
    signal = recording.read(0, recording.n_samples).astype(np.float32)
    flat = np.concatenate([np.zeros((int(60 * recording.fs), signal.shape[1]), np.float32),
                           signal])
    np.save(tmp_path / "flat.npy", flat)
    (tmp_path / "flat.json").write_text(json.dumps({"fs": recording.fs}))
    late = read_recording(tmp_path / "flat.npy")
    one, three = peaks(late, 1), peaks(late, 3)
    assert not len(one[0]) and sum(map(len, one)) > 100
    for got, want in zip(three, one, strict=True):
        np.testing.assert_array_equal(got, want)


def test_bench_workers_runs_an_archive_with_the_asked_lanes():
    from benchmarks.bench_workers import bench_workers

    result = bench_workers(records=1, workers=1, device="cpu", hours=0.05, gpu_mem_gb=6.0,
                           lanes=2, batch_size=16)
    assert result["exit_code"] == 0 and result["status"] == ["ok"]
    assert (result["lanes"], result["batch_size"]) == (2, 16)
