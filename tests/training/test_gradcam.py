"""Grad-CAM (export/gradcam.py): the numpy arithmetic, TensorFlow, and the ONNX graph."""

import numpy as np
import pytest

from ecgtk.export.gradcam import heatmap_from_activations


def test_heatmap_matches_hand_computation():
    acts = np.array([[1.0, 2.0], [3.0, 0.0]])
    grads = np.array([[1.0, -1.0], [3.0, 1.0]])
    # weights = time-mean of grads = [2, 0]; cam = ReLU([2, 6]); steps sit at samples
    # (t + 0.5) * 4 / 2 - 0.5 = 0.5, 2.5 -> samples 0..3 read cam at 0, .25, .75, 1 (clamped).
    heat = heatmap_from_activations(acts, grads, 4)
    assert heat.dtype == np.float32 and heat.shape == (4,)
    np.testing.assert_allclose(heat, np.array([2, 3, 5, 6]) / 6, rtol=1e-6)
    batch = heatmap_from_activations(np.stack([acts, acts]), np.stack([grads, -grads]), 4)
    np.testing.assert_allclose(batch[0], heat)
    # -grads: weights [-2, 0], cam = ReLU([-2, -6]) = 0 everywhere -> an all-zero heatmap
    np.testing.assert_array_equal(batch[1], np.zeros(4, np.float32))


def test_heatmap_range_and_upsampling():
    rng = np.random.default_rng(0)
    acts = np.maximum(rng.normal(size=(5, 25, 8)), 0)
    grads = rng.normal(size=(5, 25, 8))
    heat = heatmap_from_activations(acts, grads, 100)
    assert heat.shape == (5, 100)
    assert heat.min() >= 0 and heat.max() <= 1
    for row in heat:
        assert row.max() == 1.0 or not row.any()
    with pytest.raises(ValueError):
        heatmap_from_activations(acts, grads[:, :3], 100)


tf = pytest.importorskip("tensorflow")
pytest.importorskip("tf2onnx")

from ecgtk.export.architecture import build_model  # noqa: E402
from ecgtk.export.gradcam import (  # noqa: E402
    export_gradcam_onnx,
    gradcam_keras,
    gradcam_onnx,
)
from ecgtk.export.onnx_export import cpu_session, read_onnx_metadata  # noqa: E402

try:
    tf.config.threading.set_intra_op_parallelism_threads(2)
    tf.config.threading.set_inter_op_parallelism_threads(2)
except RuntimeError:
    pass

LENGTH = 32  # short: the Grad-CAM graph unrolls the LSTM, conversion time grows with length


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    model = build_model(LENGTH, 1, block_filters=(8, 16), lstm_units=4)
    path = tmp_path_factory.mktemp("keras") / "tiny.keras"
    model.save(path)
    windows = np.random.default_rng(2).normal(size=(20, LENGTH, 1)).astype(np.float32)
    return model, path, windows


def test_gradcam_keras_shape_range_and_probabilities(tiny):
    model, _, windows = tiny
    heat, probs = gradcam_keras(model, windows)
    assert heat.shape == (20, LENGTH) and heat.dtype == np.float32
    assert heat.min() >= 0 and heat.max() <= 1
    np.testing.assert_allclose(probs, np.asarray(model(windows, training=False)), atol=1e-5)
    other, _ = gradcam_keras(model, windows, class_index=1 - probs.argmax(axis=1))
    assert other.shape == heat.shape


@pytest.fixture(scope="module")
def gradcam_file(tiny, tmp_path_factory):
    _, path, windows = tiny
    out = tmp_path_factory.mktemp("onnx") / "gradcam.onnx"
    report = export_gradcam_onnx(path, out, windows, batch_size=8)
    return out, report


def test_gradcam_onnx_export_parity(gradcam_file):
    out, report = gradcam_file
    assert all(v <= 1e-4 for v in report["max_abs_diff"].values())
    assert report["layer"] == "block2_add" and report["batch_size"] == 8
    meta = read_onnx_metadata(out)
    assert meta["kind"] == "gradcam" and meta["gradcam_layer"] == "block2_add"
    session = cpu_session(out)
    assert [i.name for i in session.get_inputs()] == ["window", "class_index"]


def test_gradcam_onnx_matches_tensorflow(tiny, gradcam_file):
    model, _, windows = tiny
    out, _ = gradcam_file
    session = cpu_session(out)
    for n in (1, 13):  # fewer than one batch, and a padded second batch
        heat_tf, probs_tf = gradcam_keras(model, windows[:n])
        heat, probs = gradcam_onnx(session, windows[:n], return_probabilities=True)
        assert heat.shape == (n, LENGTH)
        np.testing.assert_allclose(probs, probs_tf, atol=1e-5)
        np.testing.assert_allclose(heat, heat_tf, atol=1e-3)
    heat_tf, _ = gradcam_keras(model, windows[:5], class_index=0)
    np.testing.assert_allclose(gradcam_onnx(session, windows[:5], class_index=0), heat_tf,
                               atol=1e-3)
