"""Morphological validation of the models' calls: explicit rules on features from kernels.

Each rule is one sentence, with its threshold in :class:`ValidationRules`, and
:func:`validate_calls` reports how many calls each rule changed, so that its effect can be
measured (``python -m research.validation_eval``).

0. The V decision (:func:`blend_with_template`): each beat's model-2 probability is blended
   with the mean probability of its template, ``beat_probability_weight`` of its own (0: the
   template's mean alone), before the decision threshold. The template's mean is averaged
   over the groupings of ``template_starts`` (K-means seeds 0, 1, ..., each from its number
   of starting clusters): one grouping puts a few hundred look-alike beats on one side of the
   threshold or the other by the luck of its seed, the average of three much less
   (``grouping_eval`` compared settings; research/README.md).
1. ``small``: a beat whose QRS peak-to-peak amplitude is below ``min_qrs_amplitude`` times the
   recording's typical QRS is not a beat (artefact).
2. ``like_normal``: a ventricular call whose shape correlates at least ``normal_similarity``
   with the recording's dominant shape is a normal beat. The dominant shape is the median shape
   of the beats that come on time (RR at least ``on_time_rr_ratio`` of the local median;
   ectopic beats come early), whatever the models called them, or of the N calls when the
   beats' positions are not given.
3. ``on_time``: a ventricular call on a beat that is not premature (its RR interval at least
   ``on_time_rr_ratio`` times the local median RR) and whose shape correlates at least
   ``on_time_similarity`` with the dominant normal shape is a normal beat (bundle-branch-block
   beats are wide but on time; ectopic ventricular beats are early).
4. ``unlike_normal``: a normal call whose shape correlates less than ``ventricular_similarity``
   with the dominant normal shape, and whose ventricular probability is at least
   ``min_p_ventricular``, is a ventricular beat.
5. ``template_vote`` (after the beats are grouped into templates, :func:`vote_by_template`): a
   V call in a template whose beats are less than ``template_normal_below`` V is N, and an N
   call in a template whose beats are more than ``template_ventricular_above`` V is V. Beats
   of one shape share one label unless the models disagree about them strongly.
6. ``early_template`` (right after the decision threshold, :func:`early_templates`): an N call
   in a template whose beats come early (median RR ratio below ``early_template_rr_ratio``) is
   V when its decision probability is at least ``early_template_min_p`` and at least
   ``early_template_gain`` times the mean of the recording's largest template. Model 2's
   probabilities are not equally calibrated for every patient: a patient's premature V
   templates can sit at 0.2-0.5 against a threshold of 0.75 while the normal beats sit at
   0.005. Measured per fold, and on runs it was not tuned on, in
   research/ventricular_experiments.md ("Early templates").
7. ``distinct_template`` (with rule 6): an N call in a template whose decision probability is
   within ``distinct_template_margin`` of the threshold and at least ``distinct_template_gap``
   above the mean of the recording's largest template, both in logits (log-odds), is V,
   whatever its timing. Rule 6 for templates that do not come early: a patient's V beats in
   runs or on time (223's) can sit just below a fold's threshold while its normal beats sit
   far below it. Off by default: measured on four cross-validation runs it gave back 248 of
   223's missed V beats in one and cost VEB F1 on the noise records in all
   (research/ventricular_experiments.md,
   "Validation patients with enough V beats"; ``distinct_eval``, research/README.md).
8. ``noisy_on_time`` (last, after the template vote, :func:`noisy_on_time`): a V call on a
   beat with at least ``noise_min_rejected`` rejected candidates (model 1's artefacts, rule 1's
   small QRS) within ``noise_window_s`` either side, that is not premature (RR ratio at least
   ``on_time_rr_ratio``), is N. Noise makes a normal beat look odd to model 2, not early, and
   it makes the detector find candidates that model 1 rejects. Measured on the fold models of
   four evaluation runs in research/recorders_plan.md (experiments 7 and 8).
9. ``noisy_template`` (after rule 8, :func:`noisy_templates`): a V call whose template comes
   on time (median RR ratio of its beats at least ``noise_template_rr_ratio``), on a beat
   whose neighbours spread widely around their own templates (median over ``2 *
   rr_neighbours + 1`` beats of each beat's RMS distance from its template's mean coarse
   window, in QRS units, at least ``noise_spread``), is N. Electrode-motion noise that model 1
   does not reject, so rule 8 cannot see it, still scatters the beats around their templates;
   true V templates come early (research/recorders_plan.md, experiments 10 to 12).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ecgtk.kernels.medians import running_median
from ecgtk.labelling.templates import N_START, Templates, zscore_rows
from ecgtk.labelling.uncertainty import logit


@dataclass(frozen=True)
class ValidationRules:
    """Thresholds of the rules (amplitudes in units of the typical QRS, correlations in
    [-1, 1]); ``None`` switches a rule off."""

    min_qrs_amplitude: float | None = 0.2
    #: off by default since the V decision averages three groupings: every fold of the
    #: cross-validation then chose it off (python -m research.validation_eval)
    normal_similarity: float | None = None
    #: off by default: with the template vote, most folds of the cross-validation chose it off
    on_time_similarity: float | None = None
    on_time_rr_ratio: float = 0.9
    ventricular_similarity: float | None = None
    min_p_ventricular: float = 0.2
    #: the template vote: what the folds chose with three groupings and 0.2.1's detector (all
    #: four chose 0.6 V-above and N-below off; with the earlier detector two chose 0.2 N-below)
    template_normal_below: float | None = None
    template_ventricular_above: float | None = 0.6
    #: weight of a beat's own model-2 probability against its template's mean (1: its own)
    beat_probability_weight: float = 0.0
    #: RR intervals on each side that give a beat's local median RR
    rr_neighbours: int = 8
    #: the groupings whose template means the V decision averages, each given by the clusters
    #: its K-means starts with (grouping k has K-means seed k); the first also gives the
    #: templates, the template vote and the clusters table
    template_starts: tuple[int, ...] = (N_START, N_START, N_START)
    #: rule 6: templates whose median RR ratio is below this count as early (None: off)
    early_template_rr_ratio: float | None = 0.95
    early_template_min_p: float = 0.3
    early_template_gain: float = 30.0
    #: rule 7: how far below the threshold (logits) a template may be (None: off), and how far
    #: above the largest template's mean it must be (logits)
    distinct_template_margin: float | None = None
    distinct_template_gap: float = 5.0
    #: rule 8: how far either side (s) rejected candidates are counted (None: off), and how
    #: many make a beat's surroundings noisy (3: experiment 8 of research/recorders_plan.md;
    #: 2 took escape beats from a clean record)
    noise_window_s: float | None = 5.0
    noise_min_rejected: int = 3
    #: rule 8 leaves beats later than this RR ratio alone (escape beats come late; None: no
    #: upper bound)
    noise_late_rr_ratio: float | None = None
    #: rule 9: the neighbours' spread around their templates (QRS units) that makes a
    #: stretch noisy (None: off), and the template RR ratio from which a template is on time.
    #: 0.15 since 0.3.1 (research/recorders_plan.md, experiment 12; 0.12 cost clean records
    #: more than the bound written first, experiments 10 and 11)
    noise_spread: float | None = 0.15
    noise_template_rr_ratio: float = 0.95
    #: rule 9 times templates against the rhythm of the N beats (True) or of all beats, and
    #: leaves templates later than this ratio alone (escape beats; None: no upper bound)
    noise_against_normal: bool = True
    noise_template_late_ratio: float | None = None

    def __post_init__(self) -> None:
        starts = tuple(int(k) for k in self.template_starts)
        if not starts or min(starts) < 1:
            raise ValueError(f"template_starts must be one or more counts >= 1, got "
                             f"{self.template_starts!r}")
        object.__setattr__(self, "template_starts", starts)

    @property
    def template_runs(self) -> int:
        """How many groupings the V decision averages."""
        return len(self.template_starts)


def qrs_amplitude(beat_windows: np.ndarray, half_width: int) -> np.ndarray:
    """Largest over leads of the peak-to-peak within ``half_width`` samples of the centre of
    each normalised model-1 window ``(n, L, leads)`` (1 = the recording's typical QRS)."""
    if len(beat_windows) == 0:
        return np.empty(0, np.float32)
    centre = beat_windows.shape[1] // 2
    core = beat_windows[:, max(0, centre - half_width):centre + half_width + 1, :]
    return np.ptp(core, axis=1).max(axis=1).astype(np.float32)


def qrs_too_small(amplitude: np.ndarray, rules: ValidationRules) -> np.ndarray:
    """Rule 1's test: True where the QRS amplitude is under ``min_qrs_amplitude``."""
    amplitude = np.asarray(amplitude)
    if rules.min_qrs_amplitude is None:
        return np.zeros(amplitude.shape, dtype=bool)
    return amplitude < rules.min_qrs_amplitude


def dominant_normal_shape(morphology: np.ndarray, reference: np.ndarray) -> np.ndarray | None:
    """Median z-normalised shape of the ``reference`` beats (a boolean mask; ``None`` when it
    selects none): the recording's dominant, presumably normal, morphology."""
    if not reference.any():
        return None
    shapes = zscore_rows(morphology, np.flatnonzero(reference), order="F")
    # the median of each column, each laid out contiguously (.T): faster, and in place
    return np.median(shapes.T, axis=1, overwrite_input=True)


def similarity_to(shape: np.ndarray, morphology: np.ndarray) -> np.ndarray:
    """Pearson correlation of each row of ``morphology`` with ``shape``."""
    z = zscore_rows(morphology)
    reference = zscore_rows(shape[None])[0]
    return (z @ reference / z.shape[1]).astype(np.float32)


def rr_ratio(samples: np.ndarray, neighbours: int) -> np.ndarray:
    """Each beat's previous RR interval over the median of the ``2 * neighbours + 1`` RR
    intervals around it (1 = on time, < 1 = premature); the first beat gets its next RR."""
    samples = np.asarray(samples, dtype=np.float64)
    if len(samples) < 2:
        return np.ones(len(samples))
    rr = np.diff(samples)
    rr = np.concatenate([rr[:1], rr])
    return rr / running_median(rr, 2 * neighbours + 1)


def validate_calls(labels: np.ndarray, p_ventricular: np.ndarray, morphology: np.ndarray,
                   amplitude: np.ndarray, rules: ValidationRules,
                   samples: np.ndarray | None = None) -> tuple[np.ndarray, dict[str, int]]:
    """Apply the rules to one recording's calls; returns new labels and changes per rule.

    ``labels`` (``N``/``V``/``artefact``), ``p_ventricular``, ``morphology`` (coarse model-2
    windows), ``amplitude`` (:func:`qrs_amplitude`) and ``samples`` (positions, for the RR
    rule; without them it is skipped) are aligned per candidate.
    """
    labels = np.asarray(labels, dtype=object).copy()
    changes = {"small": 0, "like_normal": 0, "on_time": 0, "unlike_normal": 0}
    small = (labels != "artefact") & qrs_too_small(amplitude, rules)
    labels[small] = "artefact"
    changes["small"] = int(small.sum())
    beats = np.flatnonzero(labels != "artefact")
    ratio = np.ones(len(labels))
    if samples is not None and len(beats):
        ratio[beats] = rr_ratio(np.asarray(samples)[beats], rules.rr_neighbours)
    # the dominant shape: beats on time (ectopic beats come early), whatever the model said
    reference = (labels != "artefact") & (ratio >= rules.on_time_rr_ratio)
    shape = dominant_normal_shape(morphology, reference if samples is not None
                                  else labels == "N")
    if shape is None:
        return labels, changes
    similarity = similarity_to(shape, morphology)
    if rules.normal_similarity is not None:
        like = (labels == "V") & (similarity >= rules.normal_similarity)
        labels[like] = "N"
        changes["like_normal"] = int(like.sum())
    if rules.on_time_similarity is not None and samples is not None:
        on_time = ((labels == "V") & (similarity >= rules.on_time_similarity)
                   & (ratio >= rules.on_time_rr_ratio))
        labels[on_time] = "N"
        changes["on_time"] = int(on_time.sum())
    if rules.ventricular_similarity is not None:
        unlike = ((labels == "N") & (similarity < rules.ventricular_similarity)
                  & (p_ventricular >= rules.min_p_ventricular))
        labels[unlike] = "V"
        changes["unlike_normal"] = int(unlike.sum())
    return labels, changes


def vote_by_template(labels: np.ndarray, assignment: np.ndarray,
                     rules: ValidationRules) -> tuple[np.ndarray, int]:
    """Rule 5 on the beats' ``labels`` (``N``/``V``) and their template ``assignment`` (int,
    one per beat): returns the new labels and how many changed. The V share of each template
    is taken before any label changes."""
    labels = np.asarray(labels, dtype=object).copy()
    assignment = np.asarray(assignment, dtype=np.int64)
    if len(labels) == 0:
        return labels, 0
    is_v = labels == "V"
    share = _template_mean(is_v.astype(np.float64), assignment)
    to_n = is_v & (share < (-np.inf if rules.template_normal_below is None
                            else rules.template_normal_below))
    to_v = (labels == "N") & (share > (np.inf if rules.template_ventricular_above is None
                                       else rules.template_ventricular_above))
    labels[to_n], labels[to_v] = "N", "V"
    return labels, int(to_n.sum() + to_v.sum())


def early_templates(p_decide: np.ndarray, assignment: np.ndarray, samples: np.ndarray,
                    rules: ValidationRules) -> np.ndarray:
    """Rule 6: which beats an early template makes V, a bool mask over the beats.

    ``p_decide`` is each beat's decision probability (:func:`blend_with_template`),
    ``assignment`` its template (int, numbered by size: 0 is the largest, the recording's
    dominant beat), ``samples`` its position (ascending; any unit, only ratios are used).
    """
    p_decide = np.asarray(p_decide, dtype=np.float64)
    assignment = np.asarray(assignment, dtype=np.int64)
    if rules.early_template_rr_ratio is None or len(p_decide) < 2:
        return np.zeros(len(p_decide), dtype=bool)
    medians = template_medians(rr_ratio(samples, rules.rr_neighbours), assignment)
    dominant = assignment == 0
    dominant_p = p_decide[dominant].mean() if dominant.any() else 0.0
    bar = max(rules.early_template_min_p, rules.early_template_gain * dominant_p)
    return (medians[assignment] < rules.early_template_rr_ratio) & (p_decide >= bar)


def template_medians(values: np.ndarray, assignment: np.ndarray) -> np.ndarray:
    """The median of ``values`` over each template's beats (``assignment``, int per beat),
    one per template number up to the largest (0 for a number no beat has)."""
    assignment = np.asarray(assignment, dtype=np.int64)
    order = np.argsort(assignment, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(assignment[order]) != 0])
    medians = np.zeros(assignment.max() + 1)
    medians[assignment[order][starts]] = [np.median(part) for part in
                                          np.split(np.asarray(values)[order], starts[1:])]
    return medians


def distinct_templates(p_decide: np.ndarray, assignment: np.ndarray, threshold: float,
                       rules: ValidationRules) -> np.ndarray:
    """Rule 7: which beats a template far above the recording's dominant one makes V, a bool
    mask over the beats whose decision probability ``p_decide`` sits below ``threshold`` by
    at most ``distinct_template_margin`` and above the mean of the largest template (number 0
    of ``assignment``) by at least ``distinct_template_gap``, both in logits."""
    p_decide = np.asarray(p_decide, dtype=np.float64)
    assignment = np.asarray(assignment, dtype=np.int64)
    if rules.distinct_template_margin is None or len(p_decide) == 0:
        return np.zeros(len(p_decide), dtype=bool)
    dominant = assignment == 0
    dominant_logit = logit(p_decide[dominant].mean()) if dominant.any() else -np.inf
    beat_logit = logit(p_decide)
    return ((beat_logit >= logit(threshold) - rules.distinct_template_margin)
            & (beat_logit >= dominant_logit + rules.distinct_template_gap))


def blend_with_template(p: np.ndarray, assignment: np.ndarray, own_weight: float) -> np.ndarray:
    """``own_weight * p + (1 - own_weight) * mean of p over the beat's template``, float32,
    for the beats' probabilities ``p`` and template ``assignment`` (one per beat; or one row
    per grouping, ``(runs, beats)``, and then the template means are averaged over the rows)."""
    p = np.asarray(p, dtype=np.float64)
    if not 0.0 <= own_weight <= 1.0:
        raise ValueError(f"beat_probability_weight must be in [0, 1], got {own_weight}")
    if len(p) == 0 or own_weight == 1.0:
        return p.astype(np.float32)
    groupings = np.atleast_2d(np.asarray(assignment, dtype=np.int64))
    mean = np.mean([_template_mean(p, row) for row in groupings], axis=0)
    return (own_weight * p + (1.0 - own_weight) * mean).astype(np.float32)


def _template_mean(values: np.ndarray, assignment: np.ndarray) -> np.ndarray:
    """Per beat, the mean of ``values`` over the beats of its template (``assignment``)."""
    return (np.bincount(assignment, weights=values)
            / np.maximum(np.bincount(assignment), 1))[assignment]


def noisy_on_time(samples: np.ndarray, labels: np.ndarray, fs: float,
                  rules: ValidationRules) -> np.ndarray:
    """Rule 8: which ``V`` calls a noisy stretch makes ``N``, a bool mask over the candidates.

    ``samples`` are every candidate's position (ascending, at ``fs`` Hz) and ``labels`` their
    labels (``N``/``V``/``artefact``; artefacts are the rejected candidates). A V call is N
    when at least ``noise_min_rejected`` artefacts lie within ``noise_window_s`` seconds
    either side and its RR ratio among the beats (:func:`rr_ratio`) is at least
    ``on_time_rr_ratio``.
    """
    samples = np.asarray(samples, dtype=np.float64)
    labels = np.asarray(labels, dtype=object)
    if rules.noise_window_s is None or len(samples) < 2:
        return np.zeros(len(samples), dtype=bool)
    rejected = labels == "artefact"
    counts = np.concatenate([[0], np.cumsum(rejected)])
    half = rules.noise_window_s * fs
    nearby = (counts[np.searchsorted(samples, samples + half, side="right")]
              - counts[np.searchsorted(samples, samples - half, side="left")])
    beats = np.flatnonzero(~rejected)
    ratio = np.full(len(samples), np.nan)
    ratio[beats] = rr_ratio(samples[beats], rules.rr_neighbours)
    late = np.inf if rules.noise_late_rr_ratio is None else rules.noise_late_rr_ratio
    return ((labels == "V") & (nearby >= rules.noise_min_rejected)
            & (ratio >= rules.on_time_rr_ratio) & (ratio <= late))


def rr_ratio_to_normal(samples: np.ndarray, normal: np.ndarray, neighbours: int) -> np.ndarray:
    """Each beat's previous RR interval over the local median of the normal rhythm: the
    running median over ``2 * neighbours + 1`` intervals between consecutive ``normal`` beats
    (bool per beat), taken at the first such interval at or after the beat's own (the last
    one past the end; :func:`rr_ratio` when no two consecutive beats are normal). A run of V
    beats is early against the sinus rhythm even where it is on time against itself."""
    samples = np.asarray(samples, dtype=np.float64)
    normal = np.asarray(normal, dtype=bool)
    if len(samples) < 2:
        return np.ones(len(samples))
    rr = np.diff(samples)
    both = np.flatnonzero(normal[1:] & normal[:-1])  # interval k joins beats k and k + 1
    if len(both) == 0:
        return rr_ratio(samples, neighbours)
    level = running_median(rr[both], 2 * neighbours + 1)
    nearest = np.clip(np.searchsorted(both, np.arange(len(rr))), 0, len(both) - 1)
    rr = np.concatenate([rr[:1], rr])
    return rr / level[np.concatenate([nearest[:1], nearest])]


def noisy_templates(samples: np.ndarray, morphology: np.ndarray, templates: Templates,
                    rules: ValidationRules, normal: np.ndarray | None = None) -> np.ndarray:
    """Rule 9's test, a bool mask over the beats: on-time template among scattered beats.

    ``samples`` (ascending; only ratios are used) and ``morphology`` (coarse windows, QRS
    units) are the beats', ``templates`` their grouping (``templates.templates``: each
    template's mean window). True where the beat's template has a median RR ratio of at least
    ``noise_template_rr_ratio`` (at most ``noise_template_late_ratio``) and the median over
    ``2 * rr_neighbours + 1`` beats of their RMS distance from their template's mean is at
    least ``noise_spread``. With ``normal`` (bool per beat: labelled N), the RR ratio is taken
    against the normal rhythm (:func:`rr_ratio_to_normal`), so a ventricular run is early.
    """
    n = len(samples)
    if rules.noise_spread is None or n < 2:
        return np.zeros(n, dtype=bool)
    assignment = np.asarray(templates.assignment, dtype=np.int64)
    distance = np.sqrt(np.mean((np.asarray(morphology, np.float32)
                                - templates.templates[assignment]) ** 2, axis=1))
    spread = running_median(distance, 2 * rules.rr_neighbours + 1)
    ratio = (rr_ratio(samples, rules.rr_neighbours) if normal is None
             else rr_ratio_to_normal(samples, normal, rules.rr_neighbours))
    on_time = template_medians(ratio, assignment)
    late = np.inf if rules.noise_template_late_ratio is None else rules.noise_template_late_ratio
    timing = on_time[assignment]
    return (timing >= rules.noise_template_rr_ratio) & (timing <= late) & (
        spread >= rules.noise_spread)
