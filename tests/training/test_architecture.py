"""The Keras architecture shared by both models (export/architecture.py)."""

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from ecgtk.export import architecture  # noqa: E402
from ecgtk.export.architecture import (  # noqa: E402
    LAST_CONV_LAYER,
    build_model,
    clone_for_export,
    head_layers,
    last_conv_layer_name,
    trunk_layers,
)

try:  # the test machine is small and shared
    tf.config.threading.set_intra_op_parallelism_threads(2)
    tf.config.threading.set_inter_op_parallelism_threads(2)
except RuntimeError:  # already initialised by another test module
    pass

TINY = {"block_filters": (8, 16), "lstm_units": 4}


def _windows(n, length, channels, seed=0):
    return np.random.default_rng(seed).normal(size=(n, length, channels)).astype(np.float32)


def test_default_parameter_count_near_original():
    counts = {(length, channels): build_model(length, channels).count_params()
              for length, channels in ((100, 1), (300, 1), (100, 2))}
    assert 165_000 <= counts[100, 1] <= 175_000
    assert counts[100, 1] == counts[300, 1]  # independent of the window length
    assert counts[100, 2] > counts[100, 1]


def test_io_names_shapes_and_softmax():
    model = build_model(100, 2, 3, **TINY)
    assert model.inputs[0].name == architecture.INPUT_NAME == "window"
    assert tuple(model.inputs[0].shape) == (None, 100, 2)
    assert model.get_layer(architecture.OUTPUT_NAME).name == "probabilities"
    out = np.asarray(model(_windows(5, 100, 2), training=False))
    assert out.shape == (5, 3) and out.dtype == np.float32
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-5)


def test_layer_names_for_gradcam_and_attention():
    full = build_model(300, 1)
    assert last_conv_layer_name(full) == LAST_CONV_LAYER == "block3_add"
    assert tuple(full.get_layer(LAST_CONV_LAYER).output.shape) == (None, 75, 192)
    tiny = build_model(100, 1, **TINY)
    assert last_conv_layer_name(tiny) == last_conv_layer_name(2) == "block2_add"
    weights = keras.Model(tiny.input, tiny.get_layer(architecture.ATTENTION_WEIGHTS_LAYER).output)
    w = np.asarray(weights(_windows(3, 100, 1), training=False))
    assert w.shape == (3, 25, 1)
    np.testing.assert_allclose(w.sum(axis=1), 1.0, atol=1e-5)


def test_trunk_and_head_split_for_transfer_learning():
    model = build_model(100, 1, **TINY)
    trunk, head = trunk_layers(model), head_layers(model)
    names = [layer.name for layer in trunk]
    assert names[0] == "stem_conv" and names[-1] == "block2_pool"
    assert [layer.name for layer in head][0] == "bilstm"
    assert head[-1].name == "probabilities"
    assert not {id(x) for x in trunk} & {id(x) for x in head}
    for layer in trunk:
        layer.trainable = False
    trainable = {v.path.split("/")[0] for v in model.trainable_variables}
    assert trainable and not trainable & set(names)
    assert len(trunk) + len(head) + 1 == len(model.layers)  # + the input layer


def test_no_lambda_layers_and_keras_file_round_trip(tmp_path):
    model = build_model(100, 1, **TINY)
    assert not any(isinstance(layer, keras.layers.Lambda) for layer in model.layers)
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.models.load_model(path, compile=False, safe_mode=True)
    x = _windows(4, 100, 1)
    np.testing.assert_array_equal(np.asarray(model(x, training=False)),
                                  np.asarray(loaded(x, training=False)))


def test_clone_for_export_same_outputs():
    model = build_model(64, 1, **TINY)
    clone = clone_for_export(model, unroll=True)
    lstm = clone.get_layer("bilstm").forward_layer
    assert lstm.unroll and lstm.use_cudnn is False
    x = _windows(4, 64, 1)
    np.testing.assert_allclose(np.asarray(model(x, training=False)),
                               np.asarray(clone(x, training=False)), atol=1e-6)


def test_rejects_too_short_windows():
    with pytest.raises(ValueError, match="too short"):
        build_model(3, 1, **TINY)
    with pytest.raises(ValueError, match="stem stride 2"):
        build_model(7, 1, stem_stride=2, **TINY)
    with pytest.raises(ValueError, match="stem_stride"):
        build_model(100, 1, stem_stride=0, **TINY)


def test_strided_stem_shortens_the_sequence_not_the_parameters():
    """Stride 2 halves the steps the trunk and the BiLSTM run on; the weights stay the same."""
    plain, strided = build_model(300, 6), build_model(300, 6, stem_stride=2)
    assert strided.count_params() == plain.count_params()
    assert plain.get_layer("bilstm").output.shape[1] == 37
    assert strided.get_layer("bilstm").output.shape[1] == 18
