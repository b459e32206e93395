"""From the models' calls to labels, calibrated probabilities and how sure each call is.

1. Model 1's artefacts, then the explicit rules of :mod:`ecgtk.validation` (a QRS under 0.2 of
   the recording's typical one is not a beat; a V call shaped like the dominant beat, or on
   time and alike enough, is N).
2. ``p_ventricular``: model 2's probability, calibrated (:func:`ecgtk.uncertainty.calibrate`);
   a beat is V when model 2's probability reaches its decision threshold (the same decision on
   the calibrated scale) and the rules keep it.
3. ``uncertainty``: the spread of model 2's probability over its Monte-Carlo dropout passes
   (:mod:`ecgtk.uncertainty`); beats at or above the review threshold are marked for review.
4. Templates (:mod:`ecgtk.templates`) of the beats; then the template vote (rule 5 of
   :mod:`ecgtk.validation`: a beat takes its template's label when the template is clearly N
   or clearly V), and each template is labelled by the majority of its beats, with their mean
   uncertainty.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ecgtk.beat_models import ChunkCalls
from ecgtk.templates import Templates, cluster_beats, majority_labels
from ecgtk.timing import NO_CLOCK, StageClock
from ecgtk.uncertainty import calibrate, dropout_spread
from ecgtk.validation import ValidationRules, validate_calls, vote_by_template


@dataclass(frozen=True)
class Classified:
    """Per candidate (aligned with the samples): labels and the numbers behind them."""

    labels: np.ndarray  # object: "N", "V" or "artefact"
    p_ventricular: np.ndarray  # float32 calibrated, NaN for artefacts
    uncertainty: np.ndarray  # float32, NaN for artefacts (and without Monte-Carlo passes)
    review: np.ndarray  # bool: uncertainty >= the review threshold
    templates: Templates  # of the beats (the non-artefact candidates, in order)
    cluster: np.ndarray  # int32 template per candidate, -1 for artefacts
    changed: dict[str, int]  # calls changed by each validation rule


def label_calls(samples: np.ndarray, calls: ChunkCalls, ventricular_threshold: float,
                rules: ValidationRules | None = None,
                clock: StageClock = NO_CLOCK) -> tuple[np.ndarray, dict[str, int]]:
    """``N``/``V``/``artefact`` per candidate (model 1, then model 2 at
    ``ventricular_threshold``, then the validation rules) and the calls each rule changed."""
    labels = np.where(~calls.is_beat, "artefact",
                      np.where(calls.p_ventricular >= ventricular_threshold, "V", "N"))
    with clock.stage("validation"):
        return validate_calls(labels.astype(object), calls.p_ventricular, calls.morphology,
                              calls.amplitude, rules or ValidationRules(), samples)


def classify_calls(samples: np.ndarray, calls: ChunkCalls, ventricular_threshold: float,
                   rules: ValidationRules | None = None,
                   calibration: tuple[float, float] | None = None,
                   review_threshold: float | None = None,
                   clock: StageClock = NO_CLOCK) -> Classified:
    """Labels of one recording's candidates at ``samples`` (ascending) from the models'
    ``calls``. ``ventricular_threshold`` applies to model 2's own probability; ``calibration``
    (Platt ``(a, b)``, None: none) maps it to the reported ``p_ventricular``;
    ``review_threshold`` None marks no beat for review."""
    labels, changed = label_calls(samples, calls, ventricular_threshold, rules, clock)
    with clock.stage("validation"):
        beat = labels != "artefact"
        p_ventricular = np.where(beat, calibrate(calls.p_ventricular, calibration), np.nan)
        uncertainty = np.where(beat, dropout_spread(calls.p_passes), np.nan).astype(np.float32)
        review = beat & (uncertainty >= (np.inf if review_threshold is None
                                         else review_threshold))
    rows = np.flatnonzero(beat)
    with clock.stage("templates"):
        templates = cluster_beats(calls.morphology[rows], labels[rows])
    with clock.stage("validation"):
        labels[rows], changed["template_vote"] = vote_by_template(
            labels[rows], templates.assignment, rules or ValidationRules())
        templates = replace(templates, labels=majority_labels(
            templates.assignment, labels[rows], len(templates.n_beats)))
    cluster = np.full(len(samples), -1, dtype=np.int32)
    cluster[rows] = templates.assignment
    return Classified(labels, p_ventricular.astype(np.float32), uncertainty, review, templates,
                      cluster, changed)


def cluster_mean_uncertainty(classified: Classified) -> np.ndarray:
    """Mean uncertainty of each template's beats, float32 (NaN where unknown)."""
    rows = classified.cluster >= 0
    k = len(classified.templates.n_beats)
    values = classified.uncertainty[rows]
    known = np.isfinite(values)
    sums = np.bincount(classified.cluster[rows][known], values[known], minlength=k)
    counts = np.bincount(classified.cluster[rows][known], minlength=k)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan).astype(np.float32)
