"""ONNX Runtime sessions: providers, the CUDA fallback, metadata and batching, on a tiny model."""

import json
import logging

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from ecgtk.inference.sessions import (
    ModelError,
    open_session,
    predict,
    providers_for,
    read_model_info,
)


def tiny_model(path, length=100, leads=2, meta=None):
    """probabilities = softmax([-m, m]) with m the window's mean: a model with known output."""
    window = helper.make_tensor_value_info("window", TensorProto.FLOAT, [None, length, leads])
    probs = helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, 2])
    nodes = [
        helper.make_node("ReduceMean", ["window"], ["m"], axes=[1, 2], keepdims=0),
        helper.make_node("Unsqueeze", ["m", "one"], ["m1"]),
        helper.make_node("Neg", ["m1"], ["neg"]),
        helper.make_node("Concat", ["neg", "m1"], ["logits"], axis=1),
        helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
    ]
    one = helper.make_tensor("one", TensorProto.INT64, [1], [1])
    graph = helper.make_graph(nodes, "tiny", [window], [probs], initializer=[one])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    meta = meta if meta is not None else {
        "rate_hz": "360", "window_before": str(length // 2),
        "window_after": str(length - length // 2), "classes": json.dumps(["artefact", "beat"]),
        "input_leads": json.dumps(["MLII", "V1"][:leads]), "decision_threshold": "0.4"}
    for key, value in meta.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, path)
    return path


def test_model_info_from_metadata(tmp_path):
    info = read_model_info(tiny_model(tmp_path / "beat.onnx"))
    assert (info.rate_hz, info.before, info.after) == (360.0, 50, 50)
    assert info.classes == ("artefact", "beat") and info.input_leads == 2
    assert info.threshold == 0.4 and info.model_id.startswith("beat@")
    assert len(info.sha256) == 64


def test_incomplete_metadata_is_a_clear_error(tmp_path):
    with pytest.raises(ModelError, match="metadata"):
        read_model_info(tiny_model(tmp_path / "m.onnx", meta={"rate_hz": "360"}))
    with pytest.raises(ModelError, match="not found"):
        read_model_info(tmp_path / "missing.onnx")


def test_predict_in_batches_equals_one_batch(tmp_path):
    session = open_session(tiny_model(tmp_path / "m.onnx"), "cpu")
    windows = np.random.default_rng(0).normal(size=(1000, 100, 2)).astype(np.float32)
    whole = predict(session, windows, batch_size=5000)
    np.testing.assert_allclose(predict(session, windows, batch_size=7), whole, rtol=1e-6)
    m = windows.mean(axis=(1, 2))
    np.testing.assert_allclose(whole[:, 1], 1 / (1 + np.exp(-2 * m)), rtol=1e-5)
    assert predict(session, windows[:0]).shape == (0, 2)
    with pytest.raises(ValueError, match="batch"):
        predict(session, windows, batch_size=0)


def test_providers():
    assert providers_for("cpu") == ["CPUExecutionProvider"]
    chosen = providers_for("cuda", gpu_mem_gb=2.0)
    assert chosen[-1] == "CPUExecutionProvider"
    if len(chosen) == 2:  # onnxruntime-gpu: CUDA first, capped at 2 GB
        name, options = chosen[0]
        assert name == "CUDAExecutionProvider" and options["gpu_mem_limit"] == 2 * 1024**3
    with pytest.raises(ValueError, match="device"):
        providers_for("tpu")
    with pytest.raises(ValueError, match="memory"):
        providers_for("cuda", gpu_mem_gb=0)


def test_cuda_request_falls_back_to_cpu_with_a_warning(tmp_path, caplog):
    import onnxruntime as ort

    path = tiny_model(tmp_path / "m.onnx")
    with caplog.at_level(logging.WARNING):
        session = open_session(path, "cuda")
    windows = np.ones((3, 100, 2), np.float32)
    assert predict(session, windows).shape == (3, 2)
    if "CUDAExecutionProvider" not in session.get_providers():  # no GPU here (as in CI)
        assert session.get_providers() == ["CPUExecutionProvider"]
        assert "CPU" in caplog.text
    assert "CPUExecutionProvider" in ort.get_available_providers()


class _Io:
    def __init__(self, name, shape):
        self.name, self.shape = name, shape


class FakeGpuSession:
    """Doubles its input's mean; fails like ONNX Runtime's CUDA arena above ``limit`` rows."""

    def __init__(self, limit=10_000, providers=("CUDAExecutionProvider",)):
        self.limit, self.providers, self.shapes = limit, list(providers), []

    def get_inputs(self):
        return [_Io("window", ["batch", 4, 1])]

    def get_outputs(self):
        return [_Io("probabilities", ["batch", 2])]

    def get_providers(self):
        return self.providers

    def run(self, outputs, feed):
        x = feed["window"]
        self.shapes.append(x.shape[0])
        if x.shape[0] > self.limit:
            raise RuntimeError("BFCArena::AllocateRawInternal Available memory of 16 is smaller "
                               "than requested bytes of 4096")
        m = x.mean(axis=(1, 2))
        return [np.stack([m, 2 * m], axis=1)]


def test_gpu_batches_are_padded_to_one_shape():
    from ecgtk.inference.sessions import run_batched

    session = FakeGpuSession()
    windows = np.arange(250 * 4, dtype=np.float32).reshape(250, 4, 1)
    out = run_batched(session, windows, 100, ["probabilities"])[0]
    assert session.shapes == [100, 100, 100]  # the last batch of 50 padded to 100
    assert out.shape == (250, 2) and np.allclose(out[:, 0], windows.mean(axis=(1, 2)))
    cpu = FakeGpuSession(providers=("CPUExecutionProvider",))
    run_batched(cpu, windows, 100, ["probabilities"])
    assert cpu.shapes == [100, 100, 50]  # no padding on CPU


def test_gpu_out_of_memory_splits_the_batch(caplog):
    from ecgtk.inference.sessions import run_batched

    session = FakeGpuSession(limit=64)
    windows = np.random.default_rng(0).normal(size=(300, 4, 1)).astype(np.float32)
    with caplog.at_level(logging.WARNING):
        out = run_batched(session, windows, 256, ["probabilities"])[0]
    assert np.allclose(out[:, 0], windows.mean(axis=(1, 2)), atol=1e-6)
    assert max(s for s in session.shapes if s <= 64) == 64 and "GPU memory cap" in caplog.text
    with pytest.raises(RuntimeError, match="Available memory"):
        run_batched(FakeGpuSession(limit=8), windows, 256, ["probabilities"])


def test_idle_threads_do_not_spin_unless_asked(tmp_path):
    """Spinning ONNX Runtime threads take the cores from the work between model calls."""
    path = tmp_path / "m.onnx"
    tiny_model(path)
    quiet = open_session(path, "cpu", threads=2)
    spinning = open_session(path, "cpu", threads=2, spin_threads=True)
    key = "session.intra_op.allow_spinning"
    assert quiet.get_session_options().get_session_config_entry(key) == "0"
    assert spinning.get_session_options().get_session_config_entry(key) == "1"
