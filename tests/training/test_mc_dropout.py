"""Monte-Carlo dropout passes in the exported graph (export/mc_dropout.py, export_onnx)."""

import numpy as np
import pytest

from ecgtk.export.mc_dropout import dropout_masks, passes_from_pooled


def test_dropout_masks_are_seeded_inverted_dropout():
    masks = dropout_masks(64, 0.25, passes=200, seed=3)
    assert masks.shape == (200, 64) and masks.dtype == np.float32
    assert set(np.unique(masks)) == {0.0, np.float32(1 / 0.75)}
    assert abs((masks > 0).mean() - 0.75) < 0.02
    assert np.array_equal(masks, dropout_masks(64, 0.25, passes=200, seed=3))
    assert not np.array_equal(masks, dropout_masks(64, 0.25, passes=200, seed=4))
    with pytest.raises(ValueError):
        dropout_masks(4, 1.0)
    with pytest.raises(ValueError):
        dropout_masks(4, 0.2, passes=0)


def test_passes_without_dropout_equal_the_softmax():
    rng = np.random.default_rng(0)
    pooled, kernel, bias = rng.normal(size=(5, 8)), rng.normal(size=(8, 2)), rng.normal(size=2)
    logits = pooled @ kernel + bias
    softmax = np.exp(logits[:, 1]) / np.exp(logits).sum(axis=1)
    passes = passes_from_pooled(pooled, dropout_masks(8, 0.0, passes=3), kernel, bias)
    assert passes.shape == (5, 3) and np.allclose(passes, softmax[:, None], atol=1e-6)


def test_export_with_passes_matches_keras(tmp_path):
    pytest.importorskip("tensorflow")
    pytest.importorskip("tf2onnx")
    import onnxruntime as ort

    from ecgtk.export.architecture import build_model
    from ecgtk.export.mc_dropout import keras_passes
    from ecgtk.export.onnx_export import export_onnx
    from ecgtk.inference.sessions import open_session, predict, predict_with_passes, read_model_info

    model = build_model(300, 6, block_filters=(8, 16), lstm_units=4)
    keras_path = tmp_path / "v.keras"
    model.save(keras_path)
    windows = np.random.default_rng(1).normal(size=(32, 300, 6)).astype(np.float32)
    meta = {"classes": ["non-ventricular", "ventricular"], "context": "template+rr",
            "input_leads": [f"c{i}" for i in range(6)]}
    report = export_onnx(keras_path, tmp_path / "v.onnx", metadata=meta,
                         parity_windows=windows, mc_passes=4)
    assert report["max_abs_diff_passes"] <= 1e-4
    info = read_model_info(tmp_path / "v.onnx")
    assert info.mc_passes == 4 and info.context == "template+rr" and info.input_leads == 2
    session = open_session(tmp_path / "v.onnx")
    probabilities, passes = predict_with_passes(session, windows, batch_size=10)
    assert passes.shape == (32, 4) and probabilities.shape == (32, 2)
    assert np.allclose(predict(session, windows), probabilities)  # "probabilities" by name
    masks = dropout_masks(8, 0.2, passes=4)  # the architecture's pooled width with lstm 4
    assert np.allclose(passes, keras_passes(model, windows, masks), atol=1e-4)
    assert isinstance(session, ort.InferenceSession)
