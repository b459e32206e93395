"""Model inputs: normalised windows around positions, exactly as training and inference see them.

Both the training-set builders (``ecgtk.export``) and the run pipeline call
:func:`model_windows`, so a model never sees differently prepared inputs in the field than in
training. The signal must already be at the models' rate (:data:`MODEL_RATE_HZ`).
"""

from __future__ import annotations

import numpy as np

from ecgtk.kernels.normalise import normalise_windows, qrs_scale
from ecgtk.kernels.windows import slice_windows

#: Sampling rate both models are trained at, Hz.
MODEL_RATE_HZ = 360.0
#: Samples each side of a candidate for model 1 (beat vs artefact) and of a beat for model 2.
BEAT_WINDOW = (50, 50)
VENTRICULAR_WINDOW = (150, 150)
#: The QRS scale is measured over stretches of this many seconds of signal.
SCALE_SPAN_S = 600.0
#: Half-width of the peak-to-peak measurement around each beat, seconds.
SCALE_HALF_WIDTH_S = 0.05


def model_windows(signal: np.ndarray, centres: np.ndarray, before: int, after: int,
                  scale_beats: np.ndarray, fs: float = MODEL_RATE_HZ,
                  span_s: float = SCALE_SPAN_S) -> np.ndarray:
    """Normalised windows ``(n, before + after, leads)`` float32 around ``centres``.

    ``signal`` ``(n, leads)`` in mV at ``fs``; ``centres`` and ``scale_beats`` are sample
    indices into it (sorted). In each stretch of ``span_s`` seconds, each lead's scale is the
    median QRS peak-to-peak of ``scale_beats`` in that stretch (the detector's candidates), and
    every window centred there is divided by it (see :mod:`ecgtk.kernels.normalise`);
    ``span_s=inf`` uses one scale for the whole signal (a chunk at inference).
    """
    x = np.asarray(signal, dtype=np.float32)
    x = x[:, None] if x.ndim == 1 else x
    centres = np.asarray(centres, dtype=np.int64)
    scale_beats = np.asarray(scale_beats, dtype=np.int64)
    out = np.empty((len(centres), before + after, x.shape[1]), dtype=np.float32)
    span = max(1, int(round(span_s * fs))) if np.isfinite(span_s) else max(len(x), 1)
    half_width = int(round(SCALE_HALF_WIDTH_S * fs))
    for start in range(0, max(len(x), 1), span):
        stop = start + span
        lo, hi = np.searchsorted(centres, [start, stop])
        if lo == hi:
            continue
        b_lo, b_hi = np.searchsorted(scale_beats, [start, stop])
        scale = qrs_scale(x[start:stop], scale_beats[b_lo:b_hi] - start, half_width)
        out[lo:hi] = normalise_windows(slice_windows(x, centres[lo:hi], before, after), scale)
    return out
