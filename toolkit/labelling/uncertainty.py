"""How sure each ventricular call is: calibration and Monte-Carlo dropout spread.

- **Calibration** (Platt scaling, temperature scaling with a bias): model 2's probability ``p``
  becomes ``sigmoid(a * logit(p) + b)``, with ``a`` and ``b`` fitted on out-of-fold calls of the
  patient-wise cross-validation (``ecgtk.export.calibration``) and stored in the model's ONNX
  metadata. Temperature alone (``b = 0``) left the calibration worse than none; see the model
  card.
- **Uncertainty**: model 2 is exported with T fixed Monte-Carlo dropout passes
  (``ecgtk.export.mc_dropout``); a beat's uncertainty is the standard deviation of model 2's
  probability over those passes (0 = every pass agrees; at most 0.5). Measured on the
  cross-validation, this separates wrong labels from right ones better than the same spread
  of the calibrated probability or the entropy of the calibrated probability (model card).
"""

from __future__ import annotations

import numpy as np

_CLIP = 1e-6


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), _CLIP, 1 - _CLIP)
    return np.log(p / (1 - p))


def calibrate(p: np.ndarray, calibration: tuple[float, float] | None) -> np.ndarray:
    """``sigmoid(a * logit(p) + b)`` for ``calibration = (a, b)``; ``p`` itself for None.
    NaN stays NaN. float32, any shape."""
    p = np.asarray(p, dtype=np.float32)
    if calibration is None:
        return p
    a, b = calibration
    with np.errstate(invalid="ignore"):
        out = 1.0 / (1.0 + np.exp(-(a * logit(p) + b)))
    return np.where(np.isnan(p), np.nan, out).astype(np.float32)


def dropout_spread(passes: np.ndarray) -> np.ndarray:
    """Standard deviation over the passes (last axis) of ``passes`` ``(n, T)``, float32; NaN
    where ``T = 0`` or a row is NaN."""
    passes = np.asarray(passes, dtype=np.float32)
    if passes.ndim != 2 or passes.shape[1] == 0:
        return np.full(len(passes), np.nan, dtype=np.float32)
    return passes.std(axis=1).astype(np.float32)
