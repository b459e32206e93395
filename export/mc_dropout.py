"""Monte-Carlo dropout in the exported graph, at the cost of one small matrix product.

The architecture's only dropout sits between the attention-pooled features and the final
``Dense`` (:mod:`ecgtk.export.architecture`). Monte-Carlo dropout -- dropout kept active at
inference, T stochastic passes -- therefore changes nothing upstream of that point: the passes
differ only in which pooled features the last layer sees. The export computes the trunk once
and then the T passes as one batched product, and outputs, beside the usual ``probabilities``,
``p_passes`` ``(batch, T)``: the positive class's probability in each pass.

The T masks are drawn once, at export, from a fixed seed, and stored in the graph as
constants: the same window always gives the same T answers (``ecgtk run`` stays
deterministic), and the passes are still T independent dropout samples.
"""

from __future__ import annotations

import numpy as np

#: Name of the graph's second output.
PASSES_OUTPUT_NAME = "p_passes"
#: The layer whose output the dropout acts on, and the dropout and classifier layers.
POOLED_LAYER, DROPOUT_LAYER, CLASSIFIER_LAYER = "attention_pool", "dropout", "probabilities"
DEFAULT_PASSES = 32
DEFAULT_SEED = 0


def dropout_masks(n_features: int, rate: float, passes: int = DEFAULT_PASSES,
                  seed: int = DEFAULT_SEED) -> np.ndarray:
    """``(passes, n_features)`` float32 inverted-dropout masks: each feature kept with
    probability ``1 - rate`` and then scaled by ``1 / (1 - rate)``, as Keras' ``Dropout``."""
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"dropout rate must be in [0, 1), got {rate}")
    if passes < 1:
        raise ValueError(f"need at least one pass, got {passes}")
    keep = np.random.default_rng(seed).random((passes, n_features)) >= rate
    return (keep / (1.0 - rate)).astype(np.float32)


def passes_from_pooled(pooled: np.ndarray, masks: np.ndarray, kernel: np.ndarray,
                       bias: np.ndarray) -> np.ndarray:
    """Reference (numpy) of the graph's ``p_passes``: ``softmax((pooled * mask_t) @ kernel +
    bias)`` of the last class, ``(n, T)``."""
    logits = (pooled[:, None, :] * masks[None]) @ kernel + bias
    logits = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(logits)
    return (e[..., -1] / e.sum(axis=-1)).astype(np.float32)


def head_of(model):
    """``(pooled_model, masks_rate, kernel, bias)``: a Keras model from the input to the pooled
    features, the dropout rate, and the classifier's weights."""
    import keras

    pooled = keras.Model(model.input, model.get_layer(POOLED_LAYER).output)
    kernel, bias = model.get_layer(CLASSIFIER_LAYER).get_weights()
    return pooled, float(model.get_layer(DROPOUT_LAYER).rate), kernel, bias


def keras_passes(model, windows: np.ndarray, masks: np.ndarray,
                 batch: int = 1024) -> np.ndarray:
    """``p_passes`` computed with Keras (the parity reference of the export)."""
    pooled_model, _, kernel, bias = head_of(model)
    pooled = np.concatenate([np.asarray(pooled_model(windows[i:i + batch], training=False))
                             for i in range(0, len(windows), batch)])
    return passes_from_pooled(pooled, masks, kernel, bias)


def passes_graph(model, masks: np.ndarray):
    """A function ``window -> (probabilities, p_passes)`` in TensorFlow ops, for tf2onnx.
    The weights enter as numpy arrays inside the traced function, so they become constants
    of the graph (tensors made outside it would become extra graph inputs)."""
    import keras
    import tensorflow as tf

    both = keras.Model(model.input, [model.output, model.get_layer(POOLED_LAYER).output])
    kernel, bias = model.get_layer(CLASSIFIER_LAYER).get_weights()
    masks = np.asarray(masks, dtype=np.float32)

    def forward(window):
        probabilities, pooled = both(window, training=False)
        logits = tf.matmul(pooled[:, None, :] * tf.constant(masks)[None],
                           tf.constant(kernel)) + tf.constant(bias)
        return probabilities, tf.nn.softmax(logits, axis=-1)[..., -1]

    return forward
