"""The decision threshold of a trained model, chosen on its validation patients' windows.

Used by every training path (:func:`ecgtk.export.train.train_model`, the ensembles of
:mod:`ecgtk.export.ensemble_crossval` and :mod:`ecgtk.export.reproduce`), so each model's
threshold comes from the validation patients of its own training run.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from ecgtk.export.records import count_ventricular_beats, split_validation
from ecgtk.export.windowset import WindowSet

__all__ = ["MIN_VALIDATION_V_BEATS", "ValidationWarning", "choose_threshold", "validation_split"]

#: Model 2's threshold is chosen on fewer V beats than this -> :class:`ValidationWarning`.
#: A round number, not a tuned one: in an 8-fold cross-validation
#: (research/ventricular_experiments.md, "Eight folds"), a fold whose validation patients held 55 V
#: beats chose 0.3 where 0.7 suited its held-out patients, and its records got 679 false V
#: beats; the other folds' validations held 243+.
MIN_VALIDATION_V_BEATS = 200


class ValidationWarning(UserWarning):
    """The validation patients are too few a guide for the decision threshold."""


def validation_split(data_dirs: Sequence[str | Path] | str | Path, records: Iterable[str],
                     seed: int = 0, fraction: float = 0.2) -> tuple[list[str], list[str]]:
    """``(train, validation)`` records for a training run: about ``fraction`` of the patients,
    drawn with ``seed`` (:func:`~ecgtk.export.records.split_validation`) and drawn again while
    they hold fewer than :data:`MIN_VALIDATION_V_BEATS` annotated V beats, since model 2's
    threshold is chosen on them. A first draw that holds enough is kept as it is."""
    records = list(records)
    return split_validation(records, fraction, seed,
                            positives=count_ventricular_beats(data_dirs, records),
                            min_positives=MIN_VALIDATION_V_BEATS)


def choose_threshold(kind: str, p: np.ndarray, ws: WindowSet) -> dict:
    """Decision threshold on validation windows ``ws`` (their class-1 probabilities ``p``).

    - ``ventricular``: the threshold in 0.3 ... 0.8 that maximises the validation F1 of V
      (ties: the one closest to 0.5; the range is narrow because a validation split of a few
      patients is a noisy guide). Warns (:class:`ValidationWarning`) when the windows hold
      fewer than :data:`MIN_VALIDATION_V_BEATS` V beats; ``val_positives`` says how many.
    - ``beat``: 0.5, lowered when needed so that at most 0.1 % of the validation beats at SNR
      >= 6 dB (and clean) are rejected -- rejecting a real beat costs more than passing an
      artefact, which the morphology checks downstream may still catch.
    """
    y = ws.y.astype(bool)
    if kind == "ventricular":
        n_v = int(y.sum())
        if n_v < MIN_VALIDATION_V_BEATS:
            records = ", ".join(sorted(set(ws.record.tolist())))
            warnings.warn(
                f"the validation patients ({records}) hold {n_v} V beats, fewer than "
                f"{MIN_VALIDATION_V_BEATS}: model 2's decision threshold chosen on them is "
                "a poor guide; choose validation records with more V beats "
                "(ecgtk train --val-records)",
                ValidationWarning, stacklevel=2)
        best = (-1.0, 0.5)
        for t in np.round(np.arange(0.3, 0.801, 0.05), 2):
            pred = p >= t
            tp, fp, fn = (pred & y).sum(), (pred & ~y).sum(), (~pred & y).sum()
            f1 = 2 * tp / max(2 * tp + fp + fn, 1)
            if f1 > best[0] + 1e-12 or (abs(f1 - best[0]) <= 1e-12
                                        and abs(t - 0.5) < abs(best[1] - 0.5)):
                best = (float(f1), float(t))
        return {"threshold": best[1], "rule": "max validation F1 (V)", "val_f1": best[0],
                "val_positives": n_v}
    easy = y & ~(ws.snr_db < 6)  # NaN (clean) compares False
    t = 0.5
    if easy.any():
        q = float(np.quantile(p[easy], 0.001))
        t = min(0.5, max(0.02, math.floor(q * 100) / 100))
    pred = p >= t
    return {"threshold": t,
            "rule": "0.5, lowered so <= 0.1% of validation beats (clean, SNR >= 6 dB) rejected",
            "val_beat_recall": float(pred[y].mean()) if y.any() else None,
            "val_artefact_rejected": float((~pred[~y]).mean()) if (~y).any() else None}
