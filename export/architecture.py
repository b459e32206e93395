"""The one Keras architecture behind both ecgtk models (beat vs artefact, normal vs ventricular).

``window (batch, L, channels)`` float32
  -> stem ``Conv1D`` + BatchNorm + ReLU
  -> residual blocks, each ``[SeparableConv1D + BatchNorm + ReLU] x 2`` plus a skip path
     (``1x1 Conv1D`` projection where the channel count changes), added, then ``MaxPooling1D(2)``
  -> ``Bidirectional(LSTM(return_sequences=True))``
  -> additive (Bahdanau) attention pooling over time:
     ``Dense(tanh) -> Dense(1) -> Softmax(time)`` gives one weight per time step, and
     :class:`WeightedSum` pools the LSTM outputs with them
  -> ``Dropout`` -> ``Dense(n_classes, softmax)`` named ``"probabilities"``.

Every layer is a stock Keras layer except :class:`WeightedSum` (a two-line ``keras.ops`` sum,
registered as ``ecgtk>WeightedSum``), so ``.keras`` files load with ``safe_mode`` on, without
``custom_objects`` as long as this module has been imported. No ``Lambda`` layers.

Layer names are stable and part of the API: ``stem_conv``, ``block{i}_sepconv{1,2}``,
``block{i}_bn{1,2}``, ``block{i}_relu{1,2}``, ``block{i}_proj``, ``block{i}_add``,
``block{i}_pool``, ``bilstm``, ``attention_hidden``, ``attention_score``, ``attention_weights``,
``attention_pool``, ``dropout``, ``probabilities``. :data:`LAST_CONV_LAYER` is the output of the
last residual block (before its pooling), the layer Grad-CAM looks at; :func:`trunk_layers`
lists the convolutional trunk (stem and blocks), the part transfer learning freezes.

The model-input normalisation is :func:`ecgtk.kernels.normalise.normalise_windows`; it is not
part of the graph.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import layers

__all__ = [
    "ATTENTION_WEIGHTS_LAYER",
    "INPUT_NAME",
    "LAST_CONV_LAYER",
    "OUTPUT_NAME",
    "WeightedSum",
    "build_model",
    "clone_for_export",
    "head_layers",
    "last_conv_layer_name",
    "trunk_layers",
]

INPUT_NAME = "window"
OUTPUT_NAME = "probabilities"
#: Name of the last residual block's output (the ``Add`` before its pooling), for Grad-CAM.
#: Valid for the default three blocks; for other depths use :func:`last_conv_layer_name`.
LAST_CONV_LAYER = "block3_add"
#: Output of this layer: attention weights ``(batch, L // 2**blocks, 1)``, summing to 1 over time.
ATTENTION_WEIGHTS_LAYER = "attention_weights"

_TRUNK_PREFIXES = ("stem_", "block")


@keras.saving.register_keras_serializable(package="ecgtk")
class WeightedSum(layers.Layer):
    """``[sequence (b, T, d), weights (b, T, 1)] -> sum_t weights * sequence``: ``(b, d)``."""

    def call(self, inputs):
        sequence, weights = inputs
        return keras.ops.sum(sequence * weights, axis=1)

    def compute_output_shape(self, input_shape):
        sequence_shape, _ = input_shape
        return (sequence_shape[0], sequence_shape[2])


def last_conv_layer_name(model_or_blocks: keras.Model | int) -> str:
    """Name of the last residual block's output layer for a model (or a number of blocks)."""
    if isinstance(model_or_blocks, int):
        return f"block{model_or_blocks}_add"
    adds = [layer.name for layer in model_or_blocks.layers
            if layer.name.startswith("block") and layer.name.endswith("_add")]
    if not adds:
        raise ValueError(f"model {model_or_blocks.name!r} has no residual blocks")
    return adds[-1]


def _residual_block(x, index: int, filters: int, kernel: int):
    prefix = f"block{index}"
    skip = x
    for j in (1, 2):
        x = layers.SeparableConv1D(filters, kernel, padding="same", use_bias=False,
                                   name=f"{prefix}_sepconv{j}")(x)
        x = layers.BatchNormalization(name=f"{prefix}_bn{j}")(x)
        x = layers.ReLU(name=f"{prefix}_relu{j}")(x)
    if skip.shape[-1] != filters:
        skip = layers.Conv1D(filters, 1, padding="same", name=f"{prefix}_proj")(skip)
    x = layers.Add(name=f"{prefix}_add")([x, skip])
    return layers.MaxPooling1D(2, name=f"{prefix}_pool")(x)


def build_model(
    input_length: int,
    n_channels: int,
    n_classes: int = 2,
    *,
    stem_filters: int = 48,
    stem_kernel: int = 7,
    stem_stride: int = 1,
    block_filters: Sequence[int] = (48, 96, 192),
    block_kernel: int = 11,
    lstm_units: int = 32,
    attention_units: int | None = None,
    dropout: float = 0.2,
    name: str = "ecgtk",
) -> keras.Model:
    """Build (uncompiled) the separable-residual-conv -> BiLSTM -> attention -> softmax model.

    ``input_length`` is the window length in samples (100 for model 1, 300 for model 2) and
    ``n_channels`` the number of leads. The parameter count does not depend on
    ``input_length``. ``stem_stride`` > 1 makes the stem convolution strided, so the trunk and
    the BiLSTM run on ``input_length / stem_stride`` steps: about ``stem_stride`` times less
    work for the same parameters (model 2's stride 2 reads its 360 Hz window at 180 Hz after
    the stem). ``attention_units`` is the width of the attention's tanh layer
    (default ``2 * lstm_units``, the BiLSTM output width). Input ``"window"``
    ``(batch, input_length, n_channels)`` float32; output ``"probabilities"``
    ``(batch, n_classes)`` (softmax).

    Defaults give 168,035 parameters for one lead (168,371 for two), close to the original
    framework's 169,932. (Blocks of 64/128/256 channels with two separable convolutions each,
    as sometimes quoted, give 264,547: the trunk alone is then ~190k.)
    """
    if stem_stride < 1:
        raise ValueError(f"stem_stride must be >= 1, got {stem_stride}")
    shortest = stem_stride * 2 ** len(block_filters)
    if input_length < shortest:
        raise ValueError(f"input_length {input_length} is too short for stem stride "
                         f"{stem_stride} and {len(block_filters)} pooling blocks "
                         f"(needs >= {shortest})")
    if n_channels < 1 or n_classes < 2:
        raise ValueError("need n_channels >= 1 and n_classes >= 2")
    if not block_filters:
        raise ValueError("need at least one residual block")
    attention_units = int(attention_units or 2 * lstm_units)

    inputs = keras.Input(shape=(input_length, n_channels), dtype="float32", name=INPUT_NAME)
    x = layers.Conv1D(stem_filters, stem_kernel, strides=stem_stride, padding="same",
                      use_bias=False, name="stem_conv")(inputs)
    x = layers.BatchNormalization(name="stem_bn")(x)
    x = layers.ReLU(name="stem_relu")(x)
    for i, filters in enumerate(block_filters, start=1):
        x = _residual_block(x, i, int(filters), block_kernel)

    seq = layers.Bidirectional(layers.LSTM(lstm_units, return_sequences=True),
                               name="bilstm")(x)
    hidden = layers.Dense(attention_units, activation="tanh", name="attention_hidden")(seq)
    score = layers.Dense(1, name="attention_score")(hidden)
    weights = layers.Softmax(axis=1, name=ATTENTION_WEIGHTS_LAYER)(score)
    pooled = WeightedSum(name="attention_pool")([seq, weights])
    pooled = layers.Dropout(dropout, name="dropout")(pooled)
    outputs = layers.Dense(n_classes, activation="softmax", dtype="float32",
                           name=OUTPUT_NAME)(pooled)
    return keras.Model(inputs, outputs, name=name)


def trunk_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """The convolutional trunk (stem and residual blocks), in order: freeze these to fine-tune
    only the head (BiLSTM, attention, classifier).

    Note: set ``layer.trainable = False`` on BatchNormalization layers to keep their moving
    statistics too (Keras 3 then runs them in inference mode).
    """
    return [layer for layer in model.layers if layer.name.startswith(_TRUNK_PREFIXES)]


def head_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """Everything with weights after the trunk: BiLSTM, attention and classifier layers."""
    trunk = {id(layer) for layer in trunk_layers(model)}
    return [layer for layer in model.layers
            if id(layer) not in trunk and not isinstance(layer, keras.layers.InputLayer)]


def clone_for_export(model: keras.Model, *, unroll: bool = False) -> keras.Model:
    """A copy of ``model`` (same weights) whose LSTMs never take the cuDNN path
    (``use_cudnn=False``), so a graph traced on a GPU machine is the same portable graph as on
    a CPU one, and with ``unroll=True`` are unrolled over time (a static graph without a
    ``While`` loop: what Grad-CAM's gradient export needs)."""

    def patch(layer_config: dict) -> None:
        if layer_config.get("class_name") in ("LSTM", "GRU"):
            layer_config["config"]["use_cudnn"] = False
            if unroll:
                layer_config["config"]["unroll"] = True
        for key in ("layer", "backward_layer"):
            inner = layer_config.get("config", {}).get(key)
            if isinstance(inner, dict):
                patch(inner)

    config = model.get_config()
    for layer_config in config["layers"]:
        patch(layer_config)
    clone = model.__class__.from_config(config)
    clone.set_weights(model.get_weights())
    return clone
