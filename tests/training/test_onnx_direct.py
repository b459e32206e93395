"""The hand-written ONNX graph (export/onnx_direct.py) and its wiring into export_onnx."""

import json

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
pytest.importorskip("onnx")

from ecgtk.export.architecture import build_model  # noqa: E402
from ecgtk.export.mc_dropout import dropout_masks, keras_passes  # noqa: E402
from ecgtk.export.onnx_direct import EXPORTER_NAME, build_onnx  # noqa: E402
from ecgtk.export.onnx_export import cpu_session, export_onnx, read_onnx_metadata  # noqa: E402

try:
    tf.config.threading.set_intra_op_parallelism_threads(2)
    tf.config.threading.set_inter_op_parallelism_threads(2)
except RuntimeError:
    pass

TINY = {"block_filters": (8, 16), "lstm_units": 4}


@pytest.fixture(autouse=True)
def seeded_keras():
    """Every test builds its models from the same initial weights: a random draw once gave a
    near-constant output, which the saturation guard below (rightly) refused."""
    import keras

    keras.utils.set_random_seed(0)


def perturbed(model, seed: int = 0):
    """``model`` with every weight moved off its initial value (BatchNorm statistics, biases and
    LSTM gates included), so folding and gate order are really exercised."""
    rng = np.random.default_rng(seed)
    for variable in model.weights:
        value = np.asarray(variable)
        if "variance" in variable.path:
            value = rng.uniform(0.5, 2.0, value.shape)
        else:
            value = value + rng.normal(0.0, 0.3, value.shape)
        variable.assign(value.astype(np.float32))
    return model


def windows_for(length: int, channels: int, n: int = 48, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, length, channels)).astype(np.float32)


def meta_for(channels: int) -> dict:
    return {"classes": ["a", "b"], "input_leads": [f"c{i}" for i in range(channels)]}


@pytest.mark.parametrize("length", [100, 300])
@pytest.mark.parametrize("channels", [1, 2, 6])
@pytest.mark.parametrize("mc_passes", [0, 5])
def test_direct_export_parity(length, channels, mc_passes, tmp_path):
    model = perturbed(build_model(length, channels, **TINY), seed=channels)
    windows = windows_for(length, channels)
    out = tmp_path / "m.onnx"
    report = export_onnx(model, out, metadata=meta_for(channels), parity_windows=windows,
                         mc_passes=mc_passes)
    assert report["max_abs_diff"] <= 1e-4
    assert report["batch_sizes_checked"] == [len(windows), 1, 1000]
    assert report["metadata"]["exporter"].startswith(EXPORTER_NAME)
    reference = np.asarray(model(windows, training=False))
    assert reference[:, 1].std() > 1e-3  # not saturated: parity means something
    session = cpu_session(out)
    assert [o.name for o in session.get_outputs()] == (
        ["probabilities", "p_passes"] if mc_passes else ["probabilities"])
    if mc_passes:
        assert report["max_abs_diff_passes"] <= 1e-4
        assert read_onnx_metadata(out)["mc_passes"] == str(mc_passes)
        passes = session.run(["p_passes"], {"window": windows})[0]
        assert passes.shape == (len(windows), mc_passes)


def test_odd_lengths_and_even_kernels_match_keras():
    """'same' padding of even kernels (TF pads the extra sample on the right) and pooling of
    odd lengths (floors)."""
    model = perturbed(build_model(301, 2, stem_kernel=6, block_kernel=4, **TINY))
    windows = windows_for(301, 2)
    got = cpu_session(build_onnx(model).SerializeToString()).run(None, {"window": windows})[0]
    np.testing.assert_allclose(got, np.asarray(model(windows, training=False)), atol=1e-5)


@pytest.mark.parametrize("length,stride,kernel", [(300, 2, 7), (301, 2, 7), (100, 3, 6),
                                                  (299, 2, 4)])
def test_strided_stem_matches_keras(length, stride, kernel):
    """A strided stem: TensorFlow's 'same' padding at stride s depends on the input length
    (odd and even), and the trunk then runs on ceil(length / s) steps."""
    model = perturbed(build_model(length, 2, stem_stride=stride, stem_kernel=kernel, **TINY))
    assert model.get_layer("stem_conv").output.shape[1] == -(-length // stride)
    windows = windows_for(length, 2)
    got = cpu_session(build_onnx(model).SerializeToString()).run(None, {"window": windows})[0]
    np.testing.assert_allclose(got, np.asarray(model(windows, training=False)), atol=1e-5)


def test_default_size_model_with_passes():
    model = perturbed(build_model(300, 6), seed=3)
    windows = windows_for(300, 6, n=32)
    masks = dropout_masks(model.get_layer("probabilities").kernel.shape[0], 0.2, passes=8)
    session = cpu_session(build_onnx(model, masks=masks).SerializeToString())
    probabilities, passes = session.run(None, {"window": windows})
    np.testing.assert_allclose(probabilities, np.asarray(model(windows, training=False)),
                               atol=1e-4)
    np.testing.assert_allclose(passes, keras_passes(model, windows, masks), atol=1e-4)


def test_dynamic_batch_and_conv_rank():
    model = perturbed(build_model(100, 2, **TINY))
    windows = windows_for(100, 2, n=1000)
    expected = np.asarray(model(windows, training=False))
    for rank in (1, 2):
        session = cpu_session(build_onnx(model, conv_rank=rank).SerializeToString())
        assert session.get_inputs()[0].shape[0] == "batch"
        for batch in (1, 1000):
            got = session.run(None, {"window": windows[:batch]})[0]
            np.testing.assert_allclose(got, expected[:batch], atol=1e-4)
    with pytest.raises(ValueError, match="conv_rank"):
        build_onnx(model, conv_rank=3)


def test_graph_layout():
    """One transpose in, folded BatchNorm (no Mul/BatchNormalization in the trunk), one
    transpose to time-major, one bidirectional LSTM."""
    model = build_model(100, 2, block_filters=(8, 16, 16), lstm_units=4)
    nodes = build_onnx(model).graph.node
    ops = [n.op_type for n in nodes]
    trunk = ops[:ops.index("LSTM")]
    assert set(trunk) == {"Transpose", "Unsqueeze", "Conv", "Relu", "Add", "MaxPool", "Squeeze"}
    assert trunk.count("Transpose") == 2
    assert trunk.count("Conv") == 1 + 3 * 4 + 2  # stem, 3 blocks x 2 separable, 2 projections
    lstm = nodes[ops.index("LSTM")]
    assert ops.count("LSTM") == 1
    assert {a.name: a for a in lstm.attribute}["direction"].s == b"bidirectional"


def test_tf2onnx_remains_selectable(tmp_path):
    pytest.importorskip("tf2onnx")
    model = perturbed(build_model(100, 2, **TINY))
    windows = windows_for(100, 2, n=16)
    out = tmp_path / "tf2onnx.onnx"
    report = export_onnx(model, out, metadata=meta_for(2), parity_windows=windows,
                         converter="tf2onnx")
    assert report["max_abs_diff"] <= 1e-4
    assert read_onnx_metadata(out)["exporter"].startswith("tf2onnx ")
    direct = cpu_session(build_onnx(model).SerializeToString()).run(None, {"window": windows})[0]
    np.testing.assert_allclose(direct, cpu_session(out).run(None, {"window": windows})[0],
                               atol=1e-5)
    with pytest.raises(ValueError, match="converter"):
        export_onnx(model, tmp_path / "x.onnx", metadata=meta_for(2), parity_windows=windows,
                    converter="onnxmltools")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tf2onnx.onnx"]
    assert json.loads(read_onnx_metadata(out)["input_leads"]) == ["c0", "c1"]


def test_unsupported_layer_settings_raise():
    """A layer the graph does not model refuses to export instead of exporting wrong numbers."""
    model = build_model(100, 2, **TINY)
    model.get_layer("stem_conv").padding = "causal"
    with pytest.raises(ValueError, match="padding"):
        build_onnx(model)
    model = build_model(100, 2, **TINY)
    model.get_layer("block1_relu1").max_value = 6.0
    with pytest.raises(ValueError, match="max_value"):
        build_onnx(model)
