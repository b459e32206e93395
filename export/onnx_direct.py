"""The ONNX graph of :mod:`ecgtk.export.architecture`, written directly from a Keras model's
weights with ``onnx.helper`` and laid out for ONNX Runtime on CPU.

tf2onnx traces TensorFlow's graph, so each ``Conv1D`` becomes ``Unsqueeze -> Conv2D ->
Squeeze`` between channels-last ``Transpose`` nodes and BatchNorm survives as ``Mul``/``Add``
(it cannot be folded through the transposes). Here the graph says what the model computes,
channels-first from the first node to the LSTM (shapes for ``conv_rank=1``; with the default
``conv_rank=2`` every trunk tensor has a unit axis, ``(N, C, 1, L)``, see below):

``window (N, L, C)`` -> one ``Transpose`` to ``(N, C, L)``
  -> stem ``Conv`` (strided if the model's stem is; BatchNorm folded into its weights and
     bias) -> ``Relu``
  -> per residual block: ``[depthwise Conv (group=C) -> pointwise Conv (BatchNorm folded)
     -> Relu] x 2``, plus the skip (``1x1 Conv`` with bias where the channel count changes),
     ``Add``, ``MaxPool`` (kernel 2, stride 2, floors odd lengths as Keras' ``'valid'`` pool)
  -> one ``Transpose`` to time-major ``(T, N, C)`` -> ``LSTM`` (``direction="bidirectional"``)
  -> ``(T, N, 2H)`` (forward features first, as Keras' ``merge_mode="concat"``)
  -> attention: ``MatMul + Add -> Tanh -> MatMul + Add -> Softmax(time) -> Mul -> ReduceSum``
  -> ``Gemm -> Softmax`` named ``"probabilities"`` (``Dropout`` is the identity at inference).

With dropout ``masks`` ``(T, D)`` (:func:`ecgtk.export.mc_dropout.dropout_masks`) the graph
also outputs ``"p_passes"`` ``(N, T)``: the last class's probability of
``softmax((pooled * mask_t) @ kernel + bias)`` for each pass t. The masks are folded into the
classifier kernel (``(pooled * m) @ K == pooled @ (m[:, None] * K)``), so all T passes are one
``MatMul`` of the pooled features with a ``(D, T * n_classes)`` constant.

Why ``conv_rank=2`` (``Conv`` on ``(N, C, 1, L)`` with ``(1, K)`` kernels) by default:
ONNX Runtime's CPU layout optimiser (the NCHWc transformer, graph optimisation level "all")
only rewrites 2-D convolutions, into its blocked-channel kernels with ReLU, bias and the
residual ``Add`` fused and a single reorder at the trunk's end. Native 1-D ``Conv`` runs
the generic im2col path instead, about as slow as tf2onnx's graph (depthwise convolutions
especially); measured in :mod:`benchmarks.bench_onnx_graph`.

Everything is float32; the batch axis is dynamic. Only layer configurations the architecture
uses are supported (stride 1 outside the stem, 'same'/'valid' padding, linear conv
activations, tanh/sigmoid LSTM): anything else raises ValueError rather than export a wrong
graph. The export's parity check against Keras (:func:`ecgtk.export.onnx_export.export_onnx`)
is what proves the graph.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["EXPORTER_NAME", "build_onnx"]

#: ``producer_name`` of the ModelProto (and the start of the ``exporter`` metadata).
EXPORTER_NAME = "ecgtk.export.onnx_direct"
#: Keras activation name -> ONNX op (None: identity).
_ACTIVATIONS = {"linear": None, "relu": "Relu", "tanh": "Tanh", "sigmoid": "Sigmoid"}


@dataclass
class _Graph:
    """Nodes and constants of the graph being built; :meth:`op` names outputs uniquely.
    ``conv_rank``: 1 for trunk tensors ``(N, C, L)``, 2 for ``(N, C, 1, L)``."""

    conv_rank: int = 2
    nodes: list = field(default_factory=list)
    initializers: list = field(default_factory=list)
    _count: int = 0

    def _name(self, hint: str) -> str:
        self._count += 1
        return f"{hint}:{self._count}"

    def spatial(self, values: list[int], fill: int) -> list[int]:
        """A 1-D op's per-axis attribute for this graph's conv rank (``fill`` on the unit axis:
        1 for kernel, stride and dilation, 0 for padding)."""
        return [fill] * (self.conv_rank - 1) + list(values)

    def const(self, hint: str, value: np.ndarray, dtype=np.float32) -> str:
        """Add a constant (initializer); returns its name."""
        from onnx import numpy_helper

        name = self._name(hint)
        self.initializers.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
        return name

    def op(self, op_type: str, inputs: list[str], hint: str, *, output: str | None = None,
           **attrs: Any) -> str:
        """Add one node with a single output; returns the output's name."""
        from onnx import helper

        out = output or self._name(hint)
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=f"{hint}/{op_type}",
                                           **attrs))
        return out


# --- weights ------------------------------------------------------------------------------


def _require(layer, **expected: Any) -> None:
    """Raise ValueError unless ``layer``'s config has these values (what the graph assumes)."""
    config = layer.get_config()
    for key, value in expected.items():
        got = config.get(key)
        got = tuple(got) if isinstance(got, list) else got
        if got != value:
            raise ValueError(f"direct ONNX export: layer {layer.name!r} has {key}={got!r}, "
                             f"only {value!r} is supported")


def _batchnorm_affine(layer) -> tuple[np.ndarray, np.ndarray]:
    """Inference BatchNorm as ``x * scale + shift`` (per channel, float64)."""
    variance = np.asarray(layer.moving_variance, np.float64)
    scale = 1.0 / np.sqrt(variance + float(layer.epsilon))
    if layer.scale:
        scale = scale * np.asarray(layer.gamma, np.float64)
    shift = -np.asarray(layer.moving_mean, np.float64) * scale
    if layer.center:
        shift = shift + np.asarray(layer.beta, np.float64)
    return scale, shift


def _fold(weight: np.ndarray, bias: np.ndarray | None,
          batchnorm) -> tuple[np.ndarray, np.ndarray | None]:
    """Fold a following BatchNorm (if any) into an ONNX conv ``weight (Cout, Cin, K)`` and
    ``bias (Cout,)`` (None: no bias)."""
    if batchnorm is None:
        return weight, bias
    scale, shift = _batchnorm_affine(batchnorm)
    bias = np.zeros(weight.shape[0]) if bias is None else np.asarray(bias, np.float64)
    return weight * scale[:, None, None], bias * scale + shift


def _conv_pads(layer, kernel: int, length: int | None = None) -> list[int]:
    """ONNX ``pads`` ``[left, right]`` of a Keras conv layer: none for 'valid'; for 'same'
    TensorFlow's rule, the odd one on the right: ``dilation * (kernel - 1)`` in all at stride
    1, and at stride ``s`` (input ``length`` samples, static) whatever makes
    ``ceil(length / s)`` outputs."""
    if layer.padding == "valid":
        return [0, 0]
    if layer.padding != "same":
        raise ValueError(f"direct ONNX export: layer {layer.name!r} has padding "
                         f"{layer.padding!r}, only 'same' and 'valid' are supported")
    span = layer.dilation_rate[0] * (kernel - 1) + 1
    stride = layer.strides[0]
    if stride == 1:
        total = span - 1
    elif length is None:
        raise ValueError(f"direct ONNX export: strided layer {layer.name!r} needs a static "
                         f"input length")
    else:
        total = max((-(-length // stride) - 1) * stride + span - length, 0)
    return [total // 2, total - total // 2]


# --- trunk --------------------------------------------------------------------------------


def _conv(g: _Graph, x: str, weight: np.ndarray, bias: np.ndarray | None, *, hint: str,
          pads: list[int], dilation: int = 1, group: int = 1, stride: int = 1) -> str:
    """``Conv`` along the length axis: ``weight (Cout, Cin / group, K)``, ``bias (Cout,)`` or
    None, ``pads`` ``[left, right]``."""
    cout, cin, k = weight.shape
    inputs = [x, g.const(f"{hint}/W", weight.reshape(cout, cin, *g.spatial([k], 1)))]
    if bias is not None:
        inputs.append(g.const(f"{hint}/B", bias))
    return g.op("Conv", inputs, hint, kernel_shape=g.spatial([k], 1), group=group,
                pads=g.spatial([pads[0]], 0) + g.spatial([pads[1]], 0),
                dilations=g.spatial([dilation], 1), strides=g.spatial([stride], 1))


def _keras_conv(g: _Graph, x: str, layer, batchnorm=None, length: int | None = None) -> str:
    """A Keras ``Conv1D`` (with a following BatchNorm folded in) on ``(N, C, L)``; a strided
    one needs its static input ``length`` (samples) for TensorFlow's 'same' padding."""
    _require(layer, data_format="channels_last", groups=1, activation="linear")
    kernel = np.asarray(layer.kernel, np.float64).transpose(2, 1, 0)  # (K, Ci, Co) -> (Co, Ci, K)
    bias = np.asarray(layer.bias) if layer.use_bias else None
    weight, bias = _fold(kernel, bias, batchnorm)
    return _conv(g, x, weight, bias, hint=layer.name, dilation=layer.dilation_rate[0],
                 pads=_conv_pads(layer, weight.shape[2], length), stride=layer.strides[0])


def _keras_separable_conv(g: _Graph, x: str, layer, batchnorm) -> str:
    """A Keras ``SeparableConv1D`` on ``(N, C, L)``: depthwise ``Conv`` (group=C, no bias) then
    pointwise 1x1 ``Conv`` with the layer's bias and the following BatchNorm folded in."""
    _require(layer, strides=(1,), data_format="channels_last", activation="linear")
    depthwise = np.asarray(layer.depthwise_kernel)  # (K, C, multiplier)
    k, channels, multiplier = depthwise.shape
    # Keras output channel c * multiplier + m <- input channel c; ONNX group c likewise.
    dw = depthwise.transpose(1, 2, 0).reshape(channels * multiplier, 1, k)
    x = _conv(g, x, dw, None, hint=f"{layer.name}/depthwise", group=channels,
              dilation=layer.dilation_rate[0], pads=_conv_pads(layer, k))
    pointwise = np.asarray(layer.pointwise_kernel, np.float64).transpose(2, 1, 0)  # (Co, Ci, 1)
    bias = np.asarray(layer.bias) if layer.use_bias else None
    weight, bias = _fold(pointwise, bias, batchnorm)
    return _conv(g, x, weight, bias, hint=f"{layer.name}/pointwise", pads=[0, 0])


def _relu(g: _Graph, x: str, layer) -> str:
    """A plain Keras ``ReLU`` layer (no cap, slope or threshold)."""
    _require(layer, max_value=None, negative_slope=0.0, threshold=0.0)
    return g.op("Relu", [x], layer.name)


def _max_pool(g: _Graph, x: str, layer) -> str:
    """Keras ``MaxPooling1D`` ('valid': odd lengths floor, as ONNX ``ceil_mode=0``)."""
    _require(layer, padding="valid", data_format="channels_last")
    return g.op("MaxPool", [x], layer.name, kernel_shape=g.spatial([layer.pool_size[0]], 1),
                strides=g.spatial([layer.strides[0]], 1))


def _has_layer(model, name: str) -> bool:
    return any(layer.name == name for layer in model.layers)


def _trunk(g: _Graph, model, x: str) -> str:
    """Stem and residual blocks on ``(N, C, L)``; returns ``(N, C', L // 2**blocks)`` (with
    ``conv_rank=2`` a unit axis before the length on both)."""
    x = _keras_conv(g, x, model.get_layer("stem_conv"), model.get_layer("stem_bn"),
                    length=model.input_shape[1])
    x = _relu(g, x, model.get_layer("stem_relu"))
    index = 1
    while _has_layer(model, f"block{index}_sepconv1"):
        prefix, skip = f"block{index}", x
        for j in (1, 2):
            x = _keras_separable_conv(g, x, model.get_layer(f"{prefix}_sepconv{j}"),
                                      model.get_layer(f"{prefix}_bn{j}"))
            x = _relu(g, x, model.get_layer(f"{prefix}_relu{j}"))
        if _has_layer(model, f"{prefix}_proj"):
            skip = _keras_conv(g, skip, model.get_layer(f"{prefix}_proj"))
        x = g.op("Add", [x, skip], f"{prefix}_add")
        x = _max_pool(g, x, model.get_layer(f"{prefix}_pool"))
        index += 1
    if index == 1:
        raise ValueError(f"direct ONNX export: model {model.name!r} has no residual blocks")
    return x


# --- head ---------------------------------------------------------------------------------


def _lstm_gates(keras_matrix: np.ndarray) -> np.ndarray:
    """Keras ``(..., 4H)`` in gate order i, f, c, o -> ONNX ``(4H, ...)`` in order i, o, f, c."""
    i, f, c, o = np.split(np.asarray(keras_matrix, np.float32), 4, axis=-1)
    return np.concatenate([i, o, f, c], axis=-1).T


def _lstm_weights(lstm) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One direction (a Keras ``LSTM``) as ONNX ``W (4H, in)``, ``R (4H, H)``, ``B (8H,)``
    (Keras' single bias as ``Wb``, zeros as ``Rb``)."""
    _require(lstm, activation="tanh", recurrent_activation="sigmoid", return_sequences=True,
             stateful=False)
    cell = lstm.cell
    units = int(cell.units)
    bias = np.asarray(cell.bias) if cell.use_bias else np.zeros(4 * units, np.float32)
    return (_lstm_gates(cell.kernel), _lstm_gates(cell.recurrent_kernel),
            np.concatenate([_lstm_gates(bias), np.zeros(4 * units, np.float32)]))


def _bilstm(g: _Graph, layer, x: str) -> str:
    """Keras ``Bidirectional(LSTM(return_sequences=True), merge_mode="concat")`` on time-major
    ``(T, N, C)``; returns ``(T, N, 2H)``, forward features first."""
    _require(layer, merge_mode="concat")
    if layer.forward_layer.go_backwards or not layer.backward_layer.go_backwards:
        raise ValueError(f"direct ONNX export: {layer.name!r} is not a plain bidirectional LSTM")
    forward, backward = _lstm_weights(layer.forward_layer), _lstm_weights(layer.backward_layer)
    units = int(layer.forward_layer.cell.units)
    w, r, b = (np.stack([f, bw]) for f, bw in zip(forward, backward, strict=True))
    y = g.op("LSTM", [x, g.const("lstm/W", w), g.const("lstm/R", r), g.const("lstm/B", b)],
             layer.name, hidden_size=units, direction="bidirectional")  # (T, 2, N, H)
    y = g.op("Transpose", [y], f"{layer.name}/time_batch", perm=[0, 2, 1, 3])
    return g.op("Reshape", [y, g.const("lstm/shape", [0, 0, 2 * units], np.int64)],
                f"{layer.name}/concat")


def _dense(g: _Graph, x: str, layer) -> str:
    """A Keras ``Dense`` on the last axis of ``x`` (any rank): ``MatMul`` + bias, activation."""
    kernel = g.const(f"{layer.name}/W", np.asarray(layer.kernel))
    y = g.op("MatMul", [x, kernel], f"{layer.name}/matmul")
    if layer.use_bias:
        y = g.op("Add", [y, g.const(f"{layer.name}/B", np.asarray(layer.bias))], layer.name)
    activation = layer.get_config()["activation"]
    if activation not in _ACTIVATIONS:
        raise ValueError(f"direct ONNX export: {layer.name!r} activation {activation!r}")
    op = _ACTIVATIONS[activation]
    return g.op(op, [y], f"{layer.name}/{activation}") if op else y


def _attention_pool(g: _Graph, model, sequence: str) -> str:
    """Additive attention over time-major ``sequence (T, N, D)``: ``(N, D)``."""
    from ecgtk.export.architecture import ATTENTION_WEIGHTS_LAYER

    _require(model.get_layer(ATTENTION_WEIGHTS_LAYER), axis=1)
    hidden = _dense(g, sequence, model.get_layer("attention_hidden"))  # (T, N, A)
    score = _dense(g, hidden, model.get_layer("attention_score"))  # (T, N, 1)
    weights = g.op("Softmax", [score], ATTENTION_WEIGHTS_LAYER, axis=0)
    weighted = g.op("Mul", [sequence, weights], "attention_pool/mul")
    return g.op("ReduceSum", [weighted, g.const("time_axis", [0], np.int64)], "attention_pool",
                keepdims=0)


def _classifier(g: _Graph, model, pooled: str) -> str:
    """The ``Dense(n_classes, softmax)`` output, named ``"probabilities"``."""
    from ecgtk.export.architecture import OUTPUT_NAME
    from ecgtk.export.mc_dropout import CLASSIFIER_LAYER

    layer = model.get_layer(CLASSIFIER_LAYER)
    _require(layer, activation="softmax")
    logits = g.op("Gemm", [pooled, g.const("classifier/W", np.asarray(layer.kernel)),
                           g.const("classifier/B", np.asarray(layer.bias))], "classifier")
    return g.op("Softmax", [logits], CLASSIFIER_LAYER, output=OUTPUT_NAME, axis=-1)


def _passes(g: _Graph, model, pooled: str, masks: np.ndarray) -> str:
    """``p_passes (N, T)``: the last class's softmax probability of each dropout pass, as
    :func:`ecgtk.export.mc_dropout.passes_from_pooled`, with the masks folded into the kernel."""
    from ecgtk.export.mc_dropout import CLASSIFIER_LAYER, PASSES_OUTPUT_NAME

    layer = model.get_layer(CLASSIFIER_LAYER)
    kernel, bias = np.asarray(layer.kernel, np.float32), np.asarray(layer.bias, np.float32)
    masks = np.asarray(masks, np.float32)
    n_passes, n_classes = masks.shape[0], kernel.shape[1]
    if masks.shape[1] != kernel.shape[0]:
        raise ValueError(f"dropout masks {masks.shape} do not fit {kernel.shape[0]} features")
    stacked = (masks[:, :, None] * kernel[None]).transpose(1, 0, 2)  # (D, T, classes)
    logits = g.op("MatMul", [pooled, g.const("passes/W", stacked.reshape(len(kernel), -1))],
                  "passes/matmul")  # (N, T * classes)
    logits = g.op("Reshape", [logits, g.const("passes/shape", [0, n_passes, n_classes],
                                              np.int64)], "passes/split")
    logits = g.op("Add", [logits, g.const("passes/B", bias)], "passes/bias")
    softmax = g.op("Softmax", [logits], "passes/softmax", axis=-1)
    return g.op("Gather", [softmax, g.const("last_class", n_classes - 1, np.int64)],
                "passes/last_class", output=PASSES_OUTPUT_NAME, axis=2)


# --- model --------------------------------------------------------------------------------


def build_onnx(model, *, masks: np.ndarray | None = None, opset: int = 17,
               conv_rank: int = 2):
    """Keras model of :func:`~ecgtk.export.architecture.build_model` -> ONNX ``ModelProto``.

    Input ``"window"`` ``(batch, L, C)`` float32, output ``"probabilities"``
    ``(batch, n_classes)``; with dropout ``masks`` ``(T, D)`` also ``"p_passes"``
    ``(batch, T)``. ``conv_rank`` 2 (default, fastest on ONNX Runtime CPU) runs the trunk as
    ``(N, C, 1, L)`` 2-D convolutions, 1 as native 1-D ones (same numbers). The graph is
    checked with ``onnx.checker``; its numbers are not (that is the parity check's job).
    """
    import onnx
    from onnx import TensorProto, helper

    import ecgtk
    from ecgtk.export.architecture import INPUT_NAME, OUTPUT_NAME
    from ecgtk.export.mc_dropout import PASSES_OUTPUT_NAME

    _, length, channels = model.inputs[0].shape
    n_classes = int(model.outputs[0].shape[-1])
    if conv_rank not in (1, 2):
        raise ValueError(f"conv_rank must be 1 or 2, got {conv_rank}")
    g = _Graph(conv_rank=conv_rank)
    x = g.op("Transpose", [INPUT_NAME], "channels_first", perm=[0, 2, 1])  # (N, C, L)
    unit_axis = g.const("unit_axis", [2], np.int64) if conv_rank == 2 else ""
    if conv_rank == 2:
        x = g.op("Unsqueeze", [x, unit_axis], "to_2d")  # (N, C, 1, L)
    x = _trunk(g, model, x)
    if conv_rank == 2:
        x = g.op("Squeeze", [x, unit_axis], "to_1d")  # (N, C, T)
    x = g.op("Transpose", [x], "time_major", perm=[2, 0, 1])  # (T, N, C)
    sequence = _bilstm(g, model.get_layer("bilstm"), x)
    pooled = _attention_pool(g, model, sequence)
    _classifier(g, model, pooled)
    outputs = [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT,
                                             ["batch", n_classes])]
    if masks is not None:
        _passes(g, model, pooled, masks)
        outputs.append(helper.make_tensor_value_info(PASSES_OUTPUT_NAME, TensorProto.FLOAT,
                                                     ["batch", int(len(masks))]))
    window = helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT,
                                           ["batch", int(length), int(channels)])
    graph = helper.make_graph(g.nodes, model.name, [window], outputs, g.initializers)
    opsets = [helper.make_opsetid("", opset)]
    proto = helper.make_model(graph, opset_imports=opsets, producer_name=EXPORTER_NAME,
                              producer_version=ecgtk.__version__,
                              # the oldest IR that has the opset, so older runtimes load it
                              ir_version=helper.find_min_ir_version_for(opsets))
    onnx.checker.check_model(proto, full_check=True)
    return proto
