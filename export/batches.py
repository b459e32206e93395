"""The batches Keras fits on: shuffled, augmented on the fly, weighted per sample.

Class weights are applied as per-sample weights because the batches are made (and augmented,
:mod:`ecgtk.export.augment`) one at a time. Every batch is reproducible from its seed.
TensorFlow (Keras) is imported inside the function.
"""

from __future__ import annotations

import math

import numpy as np

from ecgtk.export.augment import AugmentConfig, augment
from ecgtk.export.real_noise import NoiseBank


def class_weights(y: np.ndarray) -> dict[int, float]:
    """Balanced weight per class of the labels ``y`` (0, 1): ``n / (classes * count)``."""
    counts = np.bincount(np.asarray(y, np.int64), minlength=2).astype(np.float64)
    counts = np.maximum(counts, 1)
    return {c: float(len(y) / (len(counts) * counts[c])) for c in range(len(counts))}


def soft_targets(y: np.ndarray, p_teacher: np.ndarray, teacher_weight: float) -> np.ndarray:
    """Two-class targets for distillation: ``teacher_weight`` of the teacher's probability of
    class 1 and the rest of the label ``y`` (0 or 1), as ``(n, 2)`` float32 rows that sum to 1."""
    if not 0.0 <= teacher_weight <= 1.0:
        raise ValueError(f"teacher_weight must be within 0-1, not {teacher_weight}")
    t = (teacher_weight * np.asarray(p_teacher, np.float32)
         + (1.0 - teacher_weight) * np.asarray(y, np.float32))
    return np.stack([1.0 - t, t], axis=1).astype(np.float32)


def augmented_batches(x: np.ndarray, y: np.ndarray, batch_size: int, seed: int,
                      class_weight: dict[int, float], config: AugmentConfig | None,
                      leads: int, noise: NoiseBank | None = None, teacher=None,
                      teacher_weight: float = 0.5):
    """A ``keras.utils.PyDataset`` of shuffled batches of windows ``x`` with labels ``y``,
    augmented on the fly (``config``; None: not; ``noise``: its real-noise bank), weighted per
    sample by ``class_weight``. With a ``teacher`` (a Keras model of the same inputs), each
    batch's targets are :func:`soft_targets` of the teacher's probabilities on the augmented
    windows, so the student learns what the teacher says about every window it sees."""
    import keras

    class AugmentedBatches(keras.utils.PyDataset):
        """Shuffled, augmented batches ``(x, y, sample_weight)``; epoch ``e``, batch ``i`` use
        the seed ``(seed, e, i)``. Only the first ``leads`` channels (the signal) are
        augmented; context channels stay as measured (templates follow a lead reversal)."""

        def __init__(self):
            super().__init__(workers=1, use_multiprocessing=False)
            self.epoch = 0
            self.weights = np.array([class_weight[c] for c in range(len(class_weight))],
                                    np.float32)
            self._order()

        def _order(self):
            self.order = np.random.default_rng([seed, self.epoch]).permutation(len(y))

        def __len__(self):
            return math.ceil(len(y) / batch_size)

        def __getitem__(self, i):
            idx = np.sort(self.order[i * batch_size:(i + 1) * batch_size])
            xb = x[idx]
            if config is not None:
                xb = augment(xb, np.random.default_rng([seed, self.epoch, i]), config,
                             signal_leads=leads, noise=noise)
            yb = y[idx].astype(np.int32)
            if teacher is None:
                return xb, yb, self.weights[yb]
            p = np.asarray(teacher(xb, training=False))[:, 1]
            return xb, soft_targets(yb, p, teacher_weight), self.weights[yb]

        def on_epoch_end(self):
            self.epoch += 1
            self._order()

    return AugmentedBatches()
