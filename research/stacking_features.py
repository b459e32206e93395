"""Features of a stacked "context model" for the ventricular call (an experiment: see
:mod:`research.stacking_eval` for what it measured and why the pipeline does not use it).

A window-only model 2 takes bundle-branch-block beats or an unusual normal morphology for
ventricular ones. A ventricular ectopic beat is also *premature* (a short RR interval before
it, a compensatory pause after), *unlike the patient's dominant beat*, and belongs to a
template whose members share those traits. :func:`beat_context` measures those per beat;
:func:`context_features` adds model 2's probability, per beat and as its template's median;
:class:`ContextModel` is a logistic regression on them.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ecgtk.labelling.rules import dominant_normal_shape, rr_ratio, similarity_to

#: The model's features, in order: four of the beat, one of model 2, then the template's.
FEATURES = (
    "logit_p_model",          # model 2's ventricular probability, as a logit
    "log_rr_prev_ratio",      # log(RR before / local median RR): < 0 premature
    "log_rr_next_ratio",      # log(RR after / local median RR): > 0 compensatory pause
    "similarity",             # correlation with the dominant on-time shape
    "log_amplitude",          # log QRS peak-to-peak in units of the typical QRS
    "cluster_logit_p_model",  # medians over the beat's template
    "cluster_log_rr_prev_ratio",
    "cluster_log_rr_next_ratio",
    "cluster_similarity",
    "log_cluster_share",      # log of the template's share of the recording's beats
)
#: RR intervals on each side that give a beat's local median RR.
RR_NEIGHBOURS = 8
#: A beat is on time when its RR is at least this share of the local median (for the
#: dominant shape: ectopic beats come early).
ON_TIME_RR_RATIO = 0.9
_LOGIT_CLIP = 1e-4


@dataclass(frozen=True)
class BeatContext:
    """The model-independent features of one recording's beats (arrays aligned with them)."""

    columns: np.ndarray  # float32 (n, 4): log_rr_prev_ratio .. log_amplitude
    cluster_columns: np.ndarray  # float32 (n, 4): the template medians of those, and its share
    assignment: np.ndarray  # int template per beat (0..k-1)


def beat_context(samples: np.ndarray, morphology: np.ndarray, amplitude: np.ndarray,
                 assignment: np.ndarray) -> BeatContext:
    """Rhythm and shape features of beats at ``samples`` (sorted, any rate), with their coarse
    ``morphology`` (:func:`ecgtk.inference.models.coarsen`), QRS ``amplitude``
    (:func:`ecgtk.labelling.rules.qrs_amplitude`) and template ``assignment``."""
    samples = np.asarray(samples)
    n = len(samples)
    assignment = np.asarray(assignment, dtype=np.int64)
    if not (len(morphology) == len(amplitude) == len(assignment) == n):
        raise ValueError("samples, morphology, amplitude and assignment must align")
    if n == 0:
        return BeatContext(np.empty((0, 4), np.float32), np.empty((0, 4), np.float32),
                           assignment)
    ratio = rr_ratio(samples, RR_NEIGHBOURS)
    next_ratio = np.r_[ratio[1:], 1.0]
    shape = dominant_normal_shape(morphology, ratio >= ON_TIME_RR_RATIO)
    if shape is None:  # no beat on time: compare with the median beat instead
        shape = dominant_normal_shape(morphology, np.ones(n, dtype=bool))
    columns = np.stack([_log_clipped(ratio, 0.2, 5.0), _log_clipped(next_ratio, 0.2, 5.0),
                        similarity_to(shape, morphology),
                        _log_clipped(amplitude, 0.05, 20.0)], axis=1).astype(np.float32)
    share = np.bincount(assignment) / n
    cluster_columns = np.concatenate(
        [cluster_medians(columns[:, :3], assignment), np.log(share[assignment])[:, None]],
        axis=1).astype(np.float32)
    return BeatContext(columns, cluster_columns, assignment)


def context_features(context: BeatContext, p_model: np.ndarray) -> np.ndarray:
    """The :data:`FEATURES` matrix ``(n, 10)`` float32 for model-2 probabilities ``p_model``
    ``(n,)``; ``p_model`` ``(T, n)`` (Monte-Carlo passes) gives ``(T, n, 10)``."""
    p_model = np.asarray(p_model, dtype=np.float32)
    if p_model.ndim == 2:
        return np.stack([context_features(context, p) for p in p_model])
    logit = logit_of(p_model)[:, None]
    cluster_logit = cluster_medians(logit, context.assignment)
    return np.concatenate([logit, context.columns, cluster_logit, context.cluster_columns[:, :3],
                           context.cluster_columns[:, 3:]], axis=1).astype(np.float32)


def cluster_medians(values: np.ndarray, assignment: np.ndarray) -> np.ndarray:
    """Each row replaced by the column-wise median of its cluster's rows."""
    out = np.empty_like(values)
    for cluster in np.unique(assignment):
        members = assignment == cluster
        out[members] = np.median(values[members], axis=0)
    return out


def logit_of(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), _LOGIT_CLIP, 1 - _LOGIT_CLIP)
    return np.log(p / (1 - p)).astype(np.float32)


def _log_clipped(x: np.ndarray, low: float, high: float) -> np.ndarray:
    return np.log(np.clip(np.asarray(x, dtype=np.float64), low, high))


@dataclass(frozen=True)
class ContextModel:
    """Logistic regression on standardised :data:`FEATURES`: ``p = sigmoid(w . z + b)`` with
    ``z = (x - mean) / scale``. ``threshold``: the p at and above which a beat is called V."""

    weights: tuple[float, ...]
    intercept: float
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    threshold: float = 0.5
    features: tuple[str, ...] = FEATURES
    fitted_on: str = ""  # what the coefficients were fitted on, in words

    def __post_init__(self) -> None:
        if tuple(self.features) != FEATURES:
            raise ValueError(f"context model features {list(self.features)} are not this "
                             f"ecgtk's {list(FEATURES)}")
        if not len(self.weights) == len(self.mean) == len(self.scale) == len(FEATURES):
            raise ValueError("context model: weights, mean and scale need one value per feature")

    def probability(self, features: np.ndarray) -> np.ndarray:
        """Calibrated p(ventricular) for a features matrix ``(..., 10)``, float32."""
        z = (np.asarray(features, dtype=np.float64) - np.asarray(self.mean)) / np.asarray(
            self.scale)
        score = z @ np.asarray(self.weights) + self.intercept
        return (1.0 / (1.0 + np.exp(-score))).astype(np.float32)

    def to_json(self, path: Path, **extra) -> None:
        payload = {**asdict(self), **extra}
        Path(path).write_text(json.dumps(payload, indent=1) + "\n")

    @classmethod
    def from_json(cls, path: Path) -> ContextModel:
        payload = json.loads(Path(path).read_text())
        fields = cls.__dataclass_fields__
        known = {k: tuple(v) if isinstance(v, list) else v for k, v in payload.items()
                 if k in fields}
        return cls(**known)

