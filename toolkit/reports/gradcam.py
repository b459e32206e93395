"""Grad-CAM heatmaps at run time, with ONNX Runtime alone (no TensorFlow).

The Grad-CAM graph (``models/ventricular_gradcam.onnx``, written by
``ecgtk.export.gradcam.export_gradcam_onnx``) returns, for each window, the class
probabilities, the last residual block's activations ``A`` ``(T, K)`` and the gradient of the
explained class's pre-softmax score ``y`` with respect to them. Then

    weights_k = mean_t dy/dA[t, k];   cam[t] = ReLU(sum_k weights_k * A[t, k])

resampled linearly to the window's ``L`` samples and divided by its maximum, so the heatmap lies
in ``[0, 1]`` with a peak of exactly 1 (all zeros when ``cam`` is).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ecgtk.inference.sessions import open_session

__all__ = ["gradcam_onnx", "heatmap_from_activations"]


def heatmap_from_activations(activations: np.ndarray, gradients: np.ndarray,
                             length: int) -> np.ndarray:
    """Grad-CAM heatmap(s) from activations and class-score gradients, in plain numpy.

    ``activations`` and ``gradients``: ``(T, K)`` for one window or ``(n, T, K)``. Returns
    float32 ``(length,)`` or ``(n, length)`` in ``[0, 1]``: ReLU of the channel sum of the
    activations weighted by the time-averaged gradients, linearly resampled to ``length``
    samples (step ``t`` centred on sample ``(t + 0.5) * length / T - 0.5``), divided by its
    maximum (rows whose maximum is not positive are zeros).
    """
    acts = np.asarray(activations, dtype=np.float64)
    grads = np.asarray(gradients, dtype=np.float64)
    if acts.shape != grads.shape or acts.ndim not in (2, 3):
        raise ValueError(f"activations {acts.shape} and gradients {grads.shape} must both be "
                         "(T, K) or (n, T, K)")
    length = int(length)
    if length < 1 or acts.shape[-2] < 1:
        raise ValueError("need length >= 1 and at least one activation time step")
    single = acts.ndim == 2
    if single:
        acts, grads = acts[None], grads[None]
    weights = grads.mean(axis=1, keepdims=True)                      # (n, 1, K)
    cam = np.maximum((acts * weights).sum(axis=2), 0.0)              # (n, T)
    steps = cam.shape[1]
    pos = (np.arange(length) + 0.5) * steps / length - 0.5
    pos = np.clip(pos, 0.0, steps - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, steps - 1)
    frac = pos - lo
    heat = cam[:, lo] * (1.0 - frac) + cam[:, hi] * frac             # (n, length)
    peak = heat.max(axis=1, keepdims=True)
    ok = np.isfinite(peak) & (peak > 0)
    heat = np.where(ok, heat / np.where(ok, peak, 1.0), 0.0).astype(np.float32)
    return heat[0] if single else heat


def _class_indices(class_index, n: int) -> np.ndarray:
    if class_index is None:
        return np.full(n, -1, dtype=np.int64)
    out = np.broadcast_to(np.asarray(class_index, dtype=np.int64), (n,))
    return np.ascontiguousarray(out)


def _run_session(session, windows: np.ndarray, class_index=None) -> dict[str, np.ndarray]:
    inputs = {i.name: i for i in session.get_inputs()}
    batch = int(inputs["window"].shape[0])
    classes = _class_indices(class_index, len(windows))
    names = [o.name for o in session.get_outputs()]
    parts: dict[str, list[np.ndarray]] = {name: [] for name in names}
    for i in range(0, len(windows), batch):
        chunk = windows[i:i + batch]
        cls = classes[i:i + batch]
        n = len(chunk)
        if n < batch:  # the graph has a fixed batch: pad with zeros
            chunk = np.concatenate([chunk, np.zeros((batch - n, *chunk.shape[1:]), np.float32)])
            cls = np.concatenate([cls, np.full(batch - n, -1, np.int64)])
        feed = {"window": chunk}
        if "class_index" in inputs:
            feed["class_index"] = cls
        for name, value in zip(names, session.run(names, feed), strict=True):
            parts[name].append(value[:n])
    return {name: np.concatenate(value) for name, value in parts.items()}


def gradcam_onnx(session, windows: np.ndarray, class_index=None, *,
                 return_probabilities: bool = False):
    """Grad-CAM with onnxruntime alone, from the graph ``export_gradcam_onnx`` writes.

    ``session``: an ``onnxruntime.InferenceSession`` or a path. ``windows``: ``(n, L, C)``
    normalised model inputs, any ``n`` (chunked and padded to the graph's fixed batch).
    ``class_index``: ``None`` (predicted class), an int, or one per window.
    Returns heatmaps ``(n, L)`` float32 in ``[0, 1]``, and the probabilities ``(n, k)`` too
    with ``return_probabilities=True``.
    """
    if isinstance(session, (str, os.PathLike)):
        session = open_session(Path(session), "cpu")
    windows = np.ascontiguousarray(windows, dtype=np.float32)
    expected = session.get_inputs()[0].shape
    if windows.ndim != 3 or list(windows.shape[1:]) != list(expected[1:]):
        raise ValueError(f"windows must be (n, {expected[1]}, {expected[2]}), "
                         f"got {windows.shape}")
    raw = _run_session(session, windows, class_index)
    heat = heatmap_from_activations(raw["activations"], raw["gradients"], windows.shape[1])
    heat = heat.reshape(len(windows), windows.shape[1])
    return (heat, raw["probabilities"]) if return_probabilities else heat
