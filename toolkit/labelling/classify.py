"""From the models' calls to labels, calibrated probabilities and how sure each call is.

1. Model 1's artefacts (after :mod:`ecgtk.labelling.rescue` gave some back as beats), and
   "beats" whose QRS is under 0.2 of the recording's typical one (rule 1 of
   :mod:`ecgtk.labelling.rules`).
2. Templates (:mod:`ecgtk.labelling.templates`) of the beats: K-means on their shape, the
   three groupings on threads at once (each is seeded: the same templates as one after another).
3. The V decision: each beat's model-2 probability blended with the mean over its template
   (``ValidationRules.beat_probability_weight``; by default the template's mean alone, so the
   beats of one shape share one call), that mean averaged over three groupings (K-means
   seeds; ``ValidationRules.template_starts``), against the model's decision threshold; an
   early template (its beats premature) whose probability stands far above the dominant
   template's is V below the threshold too (rule 6 of :mod:`ecgtk.labelling.rules`), as is one
   just below the threshold and far above the dominant template (rule 7, off by default).
4. The other rules of :mod:`ecgtk.labelling.rules` (a V call shaped like the dominant beat is N),
   then the template vote, then rules 8 and 9 (in noise, an on-time V call among rejected
   candidates, and a V call of an on-time template among beats scattered around their
   templates, are N; rule 8 needs the sampling rate ``fs``), and each template labelled by
   the majority of its beats.
5. ``p_ventricular``: the beat's own model-2 probability, calibrated
   (:func:`ecgtk.labelling.uncertainty.calibrate`); ``uncertainty``: its spread over the Monte-Carlo
   dropout passes (:mod:`ecgtk.labelling.uncertainty`); beats at or above the review threshold are
   marked for review.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from ecgtk.concurrency import map_in_order
from ecgtk.inference.models import ChunkCalls
from ecgtk.labelling.rules import (
    ValidationRules,
    blend_with_template,
    distinct_templates,
    early_templates,
    noisy_on_time,
    noisy_templates,
    qrs_too_small,
    validate_calls,
    vote_by_template,
)
from ecgtk.labelling.templates import (
    N_START,
    Templates,
    cluster_beats,
    majority_labels,
    zscore_rows,
)
from ecgtk.labelling.uncertainty import calibrate, dropout_spread
from ecgtk.timing import NO_CLOCK, StageClock


@dataclass(frozen=True)
class Decision:
    """The labels of one recording's candidates and the templates of its beats."""

    labels: np.ndarray  # object: "N", "V" or "artefact" per candidate
    rows: np.ndarray  # int64: the candidates that are beats, in order
    templates: Templates  # of the beats (``rows``), each labelled by its beats' majority
    changed: dict[str, int]  # calls changed by each validation rule


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


def group_beats(morphology: np.ndarray, seed: int = 0, n_start: int = N_START,
                rows: np.ndarray | None = None, shapes: np.ndarray | None = None) -> Templates:
    """Templates of beats by their ``morphology`` (of ``morphology[rows]`` when given) alone
    (labelled later, by majority), with K-means ``seed`` starting from ``n_start`` clusters;
    ``shapes``: the beats' z-scored morphology when already made (:func:`zscore_rows`)."""
    n = len(morphology) if rows is None else len(rows)
    return cluster_beats(morphology, np.full(n, "N", dtype=object), n_start, seed=seed,
                         rows=rows, shapes=shapes)


def decide_labels(samples: np.ndarray, calls: ChunkCalls, ventricular_threshold: float,
                  rules: ValidationRules | None = None,
                  group: Callable[[np.ndarray, int, int], Templates] | None = None,
                  clock: StageClock = NO_CLOCK, fs: float | None = None) -> Decision:
    """Steps 1-4 of the module docstring for the candidates at ``samples`` (ascending).

    ``ventricular_threshold`` applies to model 2's own probability scale. ``group(rows,
    seed, n_start)`` makes the templates of the beats' rows with a K-means seed and starting
    number of clusters (default: :func:`group_beats` on their morphology); benchmarks pass a
    cached one, since the grouping does not depend on labels. The V decision averages the
    template means of the groupings of ``rules.template_starts`` (grouping k: seed k); the
    first gives the templates. ``fs`` (Hz, the rate of ``samples``) is rule 8's clock; None
    leaves rule 8 out.
    """
    rules = rules or ValidationRules()
    small = calls.is_beat & qrs_too_small(calls.amplitude, rules)
    beat = calls.is_beat & ~small
    rows = np.flatnonzero(beat)
    beat_by_beat = rules.beat_probability_weight == 1.0  # no template mean to average
    starts = rules.template_starts[:1] if beat_by_beat else rules.template_starts

    def grouping(job: tuple[int, int]) -> Templates:
        seed, n_start = job
        return (group(rows, seed, n_start) if group is not None
                else group_beats(calls.morphology, seed, n_start, rows, shapes))

    with clock.stage("templates"):  # on threads at once: each grouping is seeded, independent
        shapes = zscore_rows(calls.morphology, rows) if group is None else None
        groupings = list(map_in_order(grouping, enumerate(starts), len(starts),
                                      name="ecgtk-templates"))
    templates = groupings[0]
    with clock.stage("validation"):
        p_decide = np.full(len(samples), np.nan, dtype=np.float32)
        p_decide[rows] = blend_with_template(
            calls.p_ventricular[rows], np.stack([g.assignment for g in groupings]),
            rules.beat_probability_weight)
        labels = np.where(~beat, "artefact",
                          np.where(p_decide >= ventricular_threshold, "V", "N")).astype(object)
        early, distinct = np.zeros((2, len(samples)), dtype=bool)
        is_n = labels[rows] == "N"
        early[rows] = is_n & early_templates(p_decide[rows], templates.assignment,
                                             samples[rows], rules)
        distinct[rows] = is_n & ~early[rows] & distinct_templates(
            p_decide[rows], templates.assignment, ventricular_threshold, rules)
        labels[early | distinct] = "V"
        labels, changed = validate_calls(labels, p_decide, calls.morphology, calls.amplitude,
                                         rules, samples)  # its rule 1 finds none left
        changed["early_template"] = int(early.sum())
        changed["distinct_template"] = int(distinct.sum())
        changed["small"] = int(small.sum())
        labels[rows], changed["template_vote"] = vote_by_template(
            labels[rows], templates.assignment, rules)
        noisy = (noisy_on_time(samples, labels, fs, rules) if fs is not None
                 else np.zeros(len(samples), dtype=bool))
        labels[noisy] = "N"
        changed["noisy_on_time"] = int(noisy.sum())
        scattered = np.zeros(len(samples), dtype=bool)
        scattered[rows] = (labels[rows] == "V") & noisy_templates(
            samples[rows], calls.morphology[rows], templates, rules,
            normal=labels[rows] == "N" if rules.noise_against_normal else None)
        labels[scattered] = "N"
        changed["noisy_template"] = int(scattered.sum())
        templates = replace(templates, labels=majority_labels(
            templates.assignment, labels[rows], len(templates.n_beats)))
    return Decision(labels, rows, templates, changed)


def classify_calls(samples: np.ndarray, calls: ChunkCalls, ventricular_threshold: float,
                   rules: ValidationRules | None = None,
                   calibration: tuple[float, float] | None = None,
                   review_threshold: float | None = None,
                   clock: StageClock = NO_CLOCK, fs: float | None = None) -> Classified:
    """Labels of one recording's candidates at ``samples`` (ascending) from the models'
    ``calls`` (:func:`decide_labels`). ``ventricular_threshold`` applies to model 2's own
    probability; ``calibration`` (Platt ``(a, b)``, None: none) maps it to the reported
    ``p_ventricular``; ``review_threshold`` None marks no beat for review; ``fs`` (Hz) is the
    rate of ``samples`` (None: rule 8 left out)."""
    decision = decide_labels(samples, calls, ventricular_threshold, rules, clock=clock, fs=fs)
    labels = decision.labels
    with clock.stage("validation"):
        beat = labels != "artefact"
        p_ventricular = np.where(beat, calibrate(calls.p_ventricular, calibration), np.nan)
        uncertainty = np.where(beat, dropout_spread(calls.p_passes), np.nan).astype(np.float32)
        review = beat & (uncertainty >= (np.inf if review_threshold is None
                                         else review_threshold))
    cluster = np.full(len(samples), -1, dtype=np.int32)
    cluster[decision.rows] = decision.templates.assignment
    return Classified(labels, p_ventricular.astype(np.float32), uncertainty, review,
                      decision.templates, cluster, decision.changed)


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
