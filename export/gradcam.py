"""Grad-CAM heatmaps for beat windows: which samples drove the model's call.

For a window, with ``A`` the last residual block's output (:data:`LAST_CONV_LAYER`,
``(T, K)``: ``T = L / 4`` time steps for three blocks) and ``y`` the pre-softmax score (logit) of
the explained class (default: the predicted one):

    weights_k = mean_t dy/dA[t, k];   cam[t] = ReLU(sum_k weights_k * A[t, k])

``cam`` is then resampled to the window's ``L`` samples by linear interpolation (activation
step ``t`` sits at sample ``(t + 0.5) * L / T - 0.5``, ends held) and divided by its maximum,
so the heatmap lies in ``[0, 1]`` with a peak of exactly 1 (all zeros when ``cam`` is).
:func:`heatmap_from_activations` is that arithmetic in plain numpy.

Two ways to get ``A`` and ``dy/dA``:

* :func:`gradcam_keras` -- TensorFlow, from the ``.keras`` model (needs the ``train`` extra);
* :func:`gradcam_onnx` -- onnxruntime only, from a Grad-CAM ONNX graph written by
  :func:`export_gradcam_onnx`, so ``ecgtk explain`` needs no TensorFlow.

The Grad-CAM graph converts with tf2onnx 1.17 under three conditions, found by trying:

1. The LSTMs must be unrolled (:func:`~ecgtk.export.architecture.clone_for_export` with
   ``unroll=True``). The gradient of Keras 3's ``While``-loop LSTM cannot even be frozen:
   ``tf2onnx.convert.from_function`` fails in ``tf.import_graph_def`` with
   ``ValueError: Input 0 of node gradient_tape/.../forward_lstm_1/while/VariableShape was
   passed float from .../forward_lstm_1/while:7 incompatible with expected resource``.
2. The batch size must be fixed. With a dynamic batch the gradient graph keeps shape
   arithmetic tf2onnx has no converter for (``BroadcastGradientArgs``, ``ShapeN``,
   ``ConcatOffset``) and emits a ``DynamicStitch`` node that onnxruntime rejects
   (``INVALID_GRAPH ... No Op registered for DynamicStitch``). With a static batch TensorFlow's
   optimiser folds them all away; :func:`gradcam_onnx` pads the last chunk.
3. Three gradient ops need converters, which this module passes as tf2onnx
   ``custom_op_handlers``: ``SigmoidGrad`` (``dy * y * (1 - y)``), ``TanhGrad``
   (``dy * (1 - y^2)``) and ``MaxPoolGrad`` (the gradient goes to the first maximum of each
   pooling window, as TensorFlow's CPU kernel does; ``ArgMax`` + ``Equal`` + ``Mul``).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from ecgtk.reports.gradcam import (  # the run-time half lives in the toolkit
    _class_indices,
    _run_session,
    gradcam_onnx,
    heatmap_from_activations,
)

__all__ = [
    "GRADCAM_BATCH",
    "export_gradcam_onnx",
    "gradcam_keras",
    "gradcam_onnx",
    "heatmap_from_activations",
]

#: Default fixed batch of the Grad-CAM ONNX graph.
GRADCAM_BATCH = 32
_TF_BATCH = 128


def _layer_name(model, layer_name: str | None) -> str:
    from ecgtk.export.architecture import last_conv_layer_name

    return layer_name or last_conv_layer_name(model)


def _gradcam_function(model, layer_name: str):
    """A function ``(window, class_index) -> dict(probabilities, activations, gradients)``:
    the gradient of the explained class's logit w.r.t. the layer's output. ``class_index``
    ``< 0`` means the predicted class."""
    import keras
    import tensorflow as tf

    from ecgtk.export.architecture import OUTPUT_NAME

    head = model.get_layer(OUTPUT_NAME)
    probe = keras.Model(model.inputs[0], [model.get_layer(layer_name).output, head.input])

    def run(window, class_index):
        with tf.GradientTape() as tape:
            acts, pooled = probe(window, training=False)
            tape.watch(acts)
            logits = tf.matmul(pooled, head.kernel) + head.bias
            predicted = tf.argmax(logits, axis=1, output_type=tf.int64)
            chosen = tf.where(class_index >= 0, class_index, predicted)
            one_hot = tf.stop_gradient(tf.one_hot(chosen, tf.shape(logits)[1], dtype=logits.dtype))
            score = tf.reduce_sum(logits * one_hot)
        grads = tape.gradient(score, acts)
        return {"probabilities": tf.nn.softmax(logits, axis=1), "activations": acts,
                "gradients": grads}

    return run


def _raw_keras(model, windows: np.ndarray, class_index=None, layer_name: str | None = None,
               batch_size: int = _TF_BATCH) -> dict[str, np.ndarray]:
    import tensorflow as tf

    run = _gradcam_function(model, _layer_name(model, layer_name))
    classes = _class_indices(class_index, len(windows))
    parts: dict[str, list[np.ndarray]] = {}
    for i in range(0, len(windows), batch_size):
        out = run(tf.constant(windows[i:i + batch_size]), tf.constant(classes[i:i + batch_size]))
        for key, value in out.items():
            parts.setdefault(key, []).append(np.asarray(value, dtype=np.float32))
    return {key: np.concatenate(value) for key, value in parts.items()}


def gradcam_keras(model, windows: np.ndarray, class_index=None, *,
                  layer_name: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Grad-CAM with TensorFlow: ``(heatmaps (n, L) float32 in [0, 1], probabilities (n, k))``.

    ``model``: a Keras model from :func:`~ecgtk.export.architecture.build_model` (or a path to
    its ``.keras`` file). ``windows``: ``(n, L, C)`` normalised model inputs. ``class_index``:
    ``None`` (each window's predicted class), an int, or one int per window.
    ``layer_name``: default the last residual block's output.
    """
    if isinstance(model, (str, os.PathLike)):
        from ecgtk.export.onnx_export import load_keras_model

        model = load_keras_model(model)
    windows = np.ascontiguousarray(windows, dtype=np.float32)
    if windows.ndim != 3:
        raise ValueError(f"windows must be (n, L, C), got {windows.shape}")
    raw = _raw_keras(model, windows, class_index, layer_name)
    heat = heatmap_from_activations(raw["activations"], raw["gradients"], windows.shape[1])
    return heat.reshape(len(windows), windows.shape[1]), raw["probabilities"]


# --- tf2onnx converters for the gradient ops (tf2onnx's old-style custom_op_handlers) ---

def _const(ctx, name: str, value: np.ndarray) -> str:
    from tf2onnx import utils

    return ctx.make_const(utils.make_name(name), value).output[0]


def _np_dtype(ctx, tensor: str):
    from tf2onnx import utils

    return utils.map_onnx_to_numpy_type(ctx.get_dtype(tensor))


def _sigmoid_grad(ctx, node, name, args):
    """SigmoidGrad(y, dy) = dy * y * (1 - y)."""
    y, dy = node.input
    one = _const(ctx, f"{name}_one", np.array(1, dtype=_np_dtype(ctx, y)))
    one_minus = ctx.make_node("Sub", [one, y]).output[0]
    local = ctx.make_node("Mul", [y, one_minus]).output[0]
    node.type = "Mul"
    ctx.replace_inputs(node, [dy, local])


def _tanh_grad(ctx, node, name, args):
    """TanhGrad(y, dy) = dy * (1 - y * y)."""
    y, dy = node.input
    one = _const(ctx, f"{name}_one", np.array(1, dtype=_np_dtype(ctx, y)))
    square = ctx.make_node("Mul", [y, y]).output[0]
    local = ctx.make_node("Sub", [one, square]).output[0]
    node.type = "Mul"
    ctx.replace_inputs(node, [dy, local])


def _max_pool_grad(ctx, node, name, args):
    """MaxPoolGrad(x, y, dy) for NHWC, pooling along W only with ksize == stride, VALID
    (what Keras' MaxPooling1D traces to): dy goes to the first maximum of each window."""
    x, _, dy = node.input
    ksize = list(node.get_attr_value("ksize"))
    strides = list(node.get_attr_value("strides"))
    padding = node.get_attr_value("padding")
    fmt = node.get_attr_value("data_format", b"NHWC")
    padding = padding.decode() if isinstance(padding, bytes) else padding
    fmt = fmt.decode() if isinstance(fmt, bytes) else fmt
    x_shape, dy_shape = ctx.get_shape(x), ctx.get_shape(dy)
    k = ksize[2]
    if (fmt != "NHWC" or padding != "VALID" or ksize != strides or ksize[:2] != [1, 1]
            or ksize[3] != 1 or x_shape is None or dy_shape is None
            or len(x_shape) != 4 or min(x_shape) < 0 or min(dy_shape) < 0):
        raise ValueError(f"MaxPoolGrad converter handles static-shape NHWC 1-D VALID pooling "
                         f"with ksize == strides only; got ksize={ksize} strides={strides} "
                         f"padding={padding} format={fmt} shapes {x_shape} {dy_shape}")
    b, h, width, c = x_shape
    out_w = dy_shape[2]
    used = out_w * k
    sliced = ctx.make_node("Slice", [x, _const(ctx, "s", np.array([0], np.int64)),
                                     _const(ctx, "e", np.array([used], np.int64)),
                                     _const(ctx, "a", np.array([2], np.int64))]).output[0]
    grouped = ctx.make_node("Reshape", [sliced, _const(ctx, "shape",
                                                       np.array([b, h, out_w, k, c], np.int64))])
    first_max = ctx.make_node("ArgMax", [grouped.output[0]],
                              attr={"axis": 3, "keepdims": 1, "select_last_index": 0}).output[0]
    slots = _const(ctx, "slots", np.arange(k, dtype=np.int64).reshape(1, 1, 1, k, 1))
    hit = ctx.make_node("Equal", [first_max, slots]).output[0]
    mask = ctx.make_node("Cast", [hit], attr={"to": ctx.get_dtype(dy)}).output[0]
    dy5 = ctx.make_node("Unsqueeze", [dy, _const(ctx, "axis", np.array([3], np.int64))]).output[0]
    routed = ctx.make_node("Mul", [mask, dy5]).output[0]
    flat = ctx.make_node("Reshape", [routed, _const(ctx, "shape",
                                                    np.array([b, h, used, c], np.int64))]).output[0]
    pads = _const(ctx, "pads", np.array([0, 0, 0, 0, 0, 0, width - used, 0], np.int64))
    node.type = "Pad"
    for attr in list(node.attr):
        del node.attr[attr]
    ctx.replace_inputs(node, [flat, pads])


GRADIENT_OP_HANDLERS = {
    "SigmoidGrad": (_sigmoid_grad, []),
    "TanhGrad": (_tanh_grad, []),
    "MaxPoolGrad": (_max_pool_grad, []),
}


def export_gradcam_onnx(
    keras_path,
    out_path: str | os.PathLike,
    parity_windows: np.ndarray,
    *,
    batch_size: int = GRADCAM_BATCH,
    layer_name: str | None = None,
    opset: int = 17,
    tolerance: float = 1e-4,
    metadata: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Export the Grad-CAM computation to ONNX (fixed batch ``batch_size``), check it against
    TensorFlow on ``parity_windows``, and write it atomically.

    Graph inputs: ``window`` ``(batch_size, L, C)`` float32 and ``class_index``
    ``(batch_size,)`` int64 (``-1``: predicted class). Outputs: ``probabilities``,
    ``activations`` ``(batch_size, T, K)`` and ``gradients`` (of the class logit w.r.t. the
    activations). Probabilities, activations and the heatmaps made from them must each agree
    with TensorFlow within ``tolerance`` (max abs difference), else ValueError and nothing is
    written; the raw gradients' difference is reported.

    Returns ``{"path", "max_abs_diff" (per output), "heatmap_max_abs_diff", "opset",
    "batch_size", "layer", "n_windows", "sha256", "size_bytes", "seconds_convert",
    "seconds_check"}``.
    """
    import json

    import tensorflow as tf
    import tf2onnx

    import ecgtk
    from ecgtk.export.architecture import clone_for_export
    from ecgtk.export.onnx_export import (
        _check_windows,
        _model_io,
        _set_metadata,
        cpu_session,
        model_and_sha256,
        sha256_file,
        write_onnx_atomic,
    )

    t0 = time.perf_counter()
    model, keras_sha = model_and_sha256(keras_path)
    length, channels, _ = _model_io(model)
    windows = _check_windows(parity_windows, length, channels, "parity_windows")
    layer = _layer_name(model, layer_name)
    batch_size = int(batch_size)
    if batch_size < 1:
        raise ValueError("batch_size must be >= 1")

    unrolled = clone_for_export(model, unroll=True)
    run = _gradcam_function(unrolled, layer)
    spec = (tf.TensorSpec((batch_size, length, channels), tf.float32, name="window"),
            tf.TensorSpec((batch_size,), tf.int64, name="class_index"))
    fn = tf.function(run, input_signature=spec)
    model_proto, _ = tf2onnx.convert.from_function(
        fn, input_signature=spec, opset=opset, custom_op_handlers=dict(GRADIENT_OP_HANDLERS))
    props = {
        "kind": "gradcam",
        "gradcam_layer": layer,
        "gradcam_batch": str(batch_size),
        "gradcam_score": "logit of class_index (-1: predicted class)",
        "ecgtk_version": ecgtk.__version__,
        "keras_sha256": keras_sha,
        "opset": str(opset),
        "input_length": str(length),
        "n_channels": str(channels),
        "exporter": f"tf2onnx {tf2onnx.__version__} from_function + gradient op handlers",
    }
    props.update({str(k): v if isinstance(v, str) else json.dumps(v)
                  for k, v in (metadata or {}).items()})
    _set_metadata(model_proto, props)
    t_convert = time.perf_counter() - t0

    reference = _raw_keras(model, windows, None, layer)
    report: dict[str, Any] = {}

    def check(tmp_path: Path) -> None:
        got = _run_session(cpu_session(tmp_path), windows)
        diffs = {}
        for key, ref in reference.items():
            if got[key].shape != ref.shape:
                raise ValueError(f"Grad-CAM ONNX {key} shape {got[key].shape} != {ref.shape}")
            diffs[key] = float(np.max(np.abs(got[key] - ref)))
        heat_tf = heatmap_from_activations(reference["activations"], reference["gradients"],
                                           length)
        heat_onnx = heatmap_from_activations(got["activations"], got["gradients"], length)
        diffs["heatmap"] = float(np.max(np.abs(heat_tf - heat_onnx)))
        # Raw gradients are reported but not held to the tolerance: where a ReLU sits exactly
        # at 0 the two runtimes may take different subgradients (seen: 2e-3 on a few entries)
        # while the heatmaps, what users get, agree within 1e-5.
        bad = {k: v for k, v in diffs.items() if k != "gradients" and not v <= tolerance}
        if bad:
            raise ValueError(f"Grad-CAM ONNX/TensorFlow parity failed (tolerance "
                             f"{tolerance:.3g}): {bad}")
        report["max_abs_diff"] = diffs
        report["heatmap_max_abs_diff"] = diffs["heatmap"]

    t1 = time.perf_counter()
    path = write_onnx_atomic(model_proto, out_path, check)
    report.update({
        "path": str(path),
        "opset": opset,
        "batch_size": batch_size,
        "layer": layer,
        "n_windows": len(windows),
        "sha256": sha256_file(path),
        "size_bytes": path.stat().st_size,
        "seconds_convert": round(t_convert, 3),
        "seconds_check": round(time.perf_counter() - t1, 3),
    })
    return report
