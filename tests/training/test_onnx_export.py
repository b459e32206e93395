"""Keras -> ONNX export with the parity check (export/onnx_export.py)."""

import json

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
pytest.importorskip("tf2onnx")

from ecgtk.export import onnx_export  # noqa: E402
from ecgtk.export.architecture import build_model  # noqa: E402
from ecgtk.export.onnx_export import (  # noqa: E402
    cpu_session,
    export_onnx,
    read_onnx_metadata,
    sha256_file,
)
from ecgtk.kernels.normalise import normalise_windows, qrs_scale  # noqa: E402
from ecgtk.kernels.windows import slice_windows  # noqa: E402

try:
    tf.config.threading.set_intra_op_parallelism_threads(2)
    tf.config.threading.set_inter_op_parallelism_threads(2)
except RuntimeError:
    pass

LENGTH, CHANNELS = 100, 2
META = {"classes": ["beat", "artefact"], "input_leads": ["MLII", "V1"],
        "training_data": "unit test", "rate_hz": 360}


@pytest.fixture(scope="module")
def keras_file(tmp_path_factory):
    model = build_model(LENGTH, CHANNELS, block_filters=(8, 16), lstm_units=4)
    path = tmp_path_factory.mktemp("keras") / "tiny.keras"
    model.save(path)
    return path


@pytest.fixture(scope="module")
def random_windows():
    return np.random.default_rng(1).normal(size=(64, LENGTH, CHANNELS)).astype(np.float32)


@pytest.fixture(scope="module")
def exported(keras_file, random_windows, tmp_path_factory):
    out = tmp_path_factory.mktemp("onnx") / "model1.onnx"
    report = export_onnx(keras_file, out, metadata=META, parity_windows=random_windows)
    return out, report


def test_parity_and_report(exported, keras_file):
    out, report = exported
    assert report["max_abs_diff"] <= 1e-4
    assert report["n_windows"] == 64 and report["opset"] == 17
    assert report["sha256"] == sha256_file(out)
    assert report["size_bytes"] == out.stat().st_size
    assert not [p for p in out.parent.iterdir() if p.name != out.name]  # no temp files left


def test_metadata_round_trip(exported, keras_file):
    out, _ = exported
    meta = read_onnx_metadata(out)
    assert all(isinstance(v, str) for v in meta.values())
    assert json.loads(meta["classes"]) == ["beat", "artefact"]
    assert json.loads(meta["input_leads"]) == ["MLII", "V1"]
    assert meta["rate_hz"] == "360"
    assert (meta["window_before"], meta["window_after"]) == ("50", "50")
    assert meta["training_data"] == "unit test"
    assert meta["keras_sha256"] == sha256_file(keras_file)
    assert meta["ecgtk_version"]
    assert read_onnx_metadata(out, decode=True)["classes"] == ["beat", "artefact"]


def test_dynamic_batch_and_names(exported, keras_file, random_windows):
    out, _ = exported
    session = cpu_session(out)
    assert [i.name for i in session.get_inputs()] == ["window"]
    assert [o.name for o in session.get_outputs()] == ["probabilities"]
    model = onnx_export.load_keras_model(keras_file)
    expected = np.asarray(model(random_windows, training=False))
    for batch in (1, 64):
        got = session.run(None, {"window": random_windows[:batch]})[0]
        assert got.shape == (batch, 2)
        np.testing.assert_allclose(got, expected[:batch], atol=1e-4)


def test_parity_on_real_normalised_windows(keras_file, mitdb_excerpt, tmp_path):
    signal, _, beats = mitdb_excerpt("119")
    windows = slice_windows(signal, beats[:40], 50, 50)
    windows = normalise_windows(windows, qrs_scale(signal, beats, 18))
    report = export_onnx(keras_file, tmp_path / "real.onnx", metadata=META,
                         parity_windows=windows)
    assert report["max_abs_diff"] <= 1e-4


def test_failed_parity_writes_nothing(keras_file, random_windows, tmp_path, monkeypatch):
    real = onnx_export._keras_predict
    monkeypatch.setattr(onnx_export, "_keras_predict", lambda m, w: real(m, w) + 0.01)
    out = tmp_path / "bad.onnx"
    with pytest.raises(ValueError, match="parity"):
        export_onnx(keras_file, out, metadata=META, parity_windows=random_windows[:4])
    assert list(tmp_path.iterdir()) == []


def test_rejects_inconsistent_metadata_and_windows(keras_file, random_windows, tmp_path):
    with pytest.raises(ValueError, match="classes"):
        export_onnx(keras_file, tmp_path / "x.onnx", metadata={"classes": ["only one"]},
                    parity_windows=random_windows[:2])
    with pytest.raises(ValueError, match="window_before"):
        export_onnx(keras_file, tmp_path / "x.onnx", metadata={"window_before": 10},
                    parity_windows=random_windows[:2])
    with pytest.raises(ValueError, match="parity_windows"):
        export_onnx(keras_file, tmp_path / "x.onnx", metadata={},
                    parity_windows=random_windows[:2, :50])
    assert list(tmp_path.iterdir()) == []
