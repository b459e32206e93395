"""Supraventricular ectopic beats (AAMI S): a small third classifier over the N beats.

After models 1 and 2 and the rules have labelled every candidate ``N``, ``V`` or
``artefact``, and after the atrial fibrillation episodes are known, each ``N`` beat gets
``p_supraventricular``, a calibrated probability (logistic regression) that it is
supraventricular, and becomes ``S`` when that reaches the model's threshold. ``V`` and
``artefact`` stay as they are; a beat inside an AF episode is never ``S`` (its probability is
0: in AF there is no sinus rhythm for a beat to be premature against).

Each such beat also gets ``uncertainty_supraventricular``: the standard deviation of P(S)
over the model's bootstrap fits (the same regression fitted again on patients drawn with
replacement, :class:`Bootstrap`), 0 to 0.5: how much the probability depends on which
patients trained the model. It is 0 inside AF (the rule decides there, not the model) and NaN
when the model file has no bootstrap fits (files written before they existed).

The features (:func:`beat_features`) use neither model's probabilities, so retraining models
1 and 2 leaves this model valid:

- prematurity against the local rhythm of the beats (:func:`ecgtk.kernels.prematurity.
  prematurity`: RR before over the local median, RR after over RR before, RR after over the
  local median; the local median over ``neighbours`` intervals each side);
- the beat's shape against the typical N beat around it (:func:`ecgtk.kernels.prematurity.
  shape_features` on the coarse morphology the templates use,
  :attr:`ecgtk.inference.models.ChunkCalls.morphology`: model 2's window at 72 Hz): the
  P-wave region, 250 to 80 ms before the R peak (correlation, energy ratio, RMS difference),
  and the QRS (correlation). The typical beat is the median window of each block of ``block``
  consecutive N beats.

The model is a small JSON file (``models/supraventricular.json``: feature names, their
standardisation, coefficients, intercept, threshold, the bootstrap fits; trained by
:mod:`ecgtk.export.supraventricular`), applied with numpy alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ecgtk.kernels.prematurity import PREMATURITY_NAMES, SHAPE_NAMES, prematurity, shape_features

__all__ = ["FEATURE_NAMES", "Bootstrap", "MorphologyLayout", "SupraventricularCalls",
           "SupraventricularModel", "beat_features", "in_episodes", "label_supraventricular",
           "load_supraventricular", "shipped_supraventricular_path",
           "shipped_supraventricular_sha256"]

FEATURE_NAMES = PREMATURITY_NAMES + SHAPE_NAMES
#: The P-wave region, s relative to the R peak ([start, stop)), and the QRS region.
P_REGION_S = (-0.25, -0.08)
QRS_REGION_S = (-0.06, 0.06)
#: Where a shipped model lives, in the package's ``models`` folder.
SHIPPED_NAME = "supraventricular.json"


@dataclass(frozen=True)
class MorphologyLayout:
    """How a row of the coarse morphology is laid out: ``leads`` windows side by side, each
    ``length`` samples at ``rate_hz`` with the R peak at index ``centre``."""

    leads: int
    length: int
    centre: int
    rate_hz: float

    def region(self, span_s: tuple[float, float]) -> tuple[int, int]:
        """``[start, stop)`` indices of the window covering ``span_s`` around the R peak."""
        a = self.centre + int(round(span_s[0] * self.rate_hz))
        b = self.centre + int(round(span_s[1] * self.rate_hz)) + 1
        return max(a, 0), min(b, self.length)

    @classmethod
    def of_model(cls, before: int, after: int, rate_hz: float, leads: int,
                 step: int) -> MorphologyLayout:
        """The layout of :func:`ecgtk.inference.models.coarsen` for a model window of
        ``before + after`` samples at ``rate_hz`` kept at every ``step``-th sample."""
        return cls(leads, -(-(before + after) // step), before // step, rate_hz / step)


@dataclass(frozen=True)
class Bootstrap:
    """``B`` refits of the regression on patients drawn with replacement, on the main fit's
    standardisation: ``coef`` ``(B, features)``, ``intercept`` ``(B,)``; ``seed`` drew them."""

    coef: np.ndarray
    intercept: np.ndarray
    seed: int = 0

    def to_dict(self) -> dict:
        return {"fits": int(len(self.intercept)), "seed": self.seed,
                "resampled": "patients, with replacement",
                "coef": self.coef.tolist(), "intercept": self.intercept.tolist()}

    @classmethod
    def from_dict(cls, d: dict, features: int) -> Bootstrap:
        coef = np.asarray(d["coef"], dtype=np.float64)
        intercept = np.asarray(d["intercept"], dtype=np.float64)
        if (coef.ndim != 2 or coef.shape[1] != features or intercept.shape != coef.shape[:1]
                or len(coef) < 2):
            raise ValueError(f"bootstrap needs >= 2 fits of {features} coefficients and one "
                             f"intercept each, got coef {coef.shape}, intercept "
                             f"{intercept.shape}")
        return cls(coef, intercept, int(d.get("seed", 0)))


@dataclass(frozen=True)
class SupraventricularModel:
    """A fitted logistic regression over :data:`FEATURE_NAMES` and its settings; with
    ``bootstrap`` (optional) its refits on resampled patients, for the uncertainty."""

    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    threshold: float
    neighbours: int = 8
    block: int = 256
    meta: dict | None = None
    bootstrap: Bootstrap | None = None

    @property
    def uses_shape(self) -> bool:
        """Whether any shape feature has a coefficient (else they need not be computed)."""
        shape = slice(len(PREMATURITY_NAMES), None)
        boot = self.bootstrap is not None and bool(np.any(self.bootstrap.coef[:, shape] != 0))
        return bool(np.any(self.coef[shape] != 0)) or boot

    def standardise(self, x: np.ndarray) -> np.ndarray:
        """``x`` ``(n, features)`` on the fit's scale, NaN as 0 (the training mean)."""
        return np.nan_to_num((np.asarray(x, dtype=np.float64) - self.mean) / self.scale)

    def probability(self, x: np.ndarray) -> np.ndarray:
        """Calibrated P(S) of each row of ``x`` ``(n, features)``, float64."""
        return 1.0 / (1.0 + np.exp(-(self.standardise(x) @ self.coef + self.intercept)))

    def uncertainty(self, x: np.ndarray) -> np.ndarray:
        """Standard deviation (ddof 0) of P(S) over the bootstrap fits for each row of ``x``,
        float64, 0 to 0.5; NaN everywhere when the model has no bootstrap."""
        if self.bootstrap is None:
            return np.full(len(x), np.nan)
        z = self.standardise(x) @ self.bootstrap.coef.T + self.bootstrap.intercept
        return (1.0 / (1.0 + np.exp(-z))).std(axis=1)

    def to_dict(self) -> dict:
        d = {"kind": "logistic", "features": list(self.features),
             "mean": self.mean.tolist(), "scale": self.scale.tolist(),
             "coef": self.coef.tolist(), "intercept": float(self.intercept),
             "threshold": float(self.threshold), "neighbours": self.neighbours,
             "block": self.block, "meta": self.meta or {}}
        if self.bootstrap is not None:
            d["bootstrap"] = self.bootstrap.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict) -> SupraventricularModel:
        """The model of a JSON dict; a file without ``bootstrap`` (written before the bootstrap
        existed) loads with ``bootstrap`` None."""
        if tuple(d["features"]) != FEATURE_NAMES:
            raise ValueError(f"model features {d['features']} are not {list(FEATURE_NAMES)}")
        boot = d.get("bootstrap")
        return cls(tuple(d["features"]), np.asarray(d["mean"], float),
                   np.asarray(d["scale"], float), np.asarray(d["coef"], float),
                   float(d["intercept"]), float(d["threshold"]), int(d["neighbours"]),
                   int(d["block"]), d.get("meta"),
                   None if boot is None else Bootstrap.from_dict(boot, len(FEATURE_NAMES)))


def shipped_supraventricular_path() -> Path:
    """The shipped model's JSON file."""
    return Path(str(files("ecgtk.models"))) / SHIPPED_NAME


@lru_cache(maxsize=1)
def shipped_supraventricular_sha256() -> str:
    """The shipped model file's sha256 (for the output files' metadata)."""
    from ecgtk.models import sha256_of

    return sha256_of(shipped_supraventricular_path())


@lru_cache(maxsize=4)
def load_supraventricular(path: str | Path | None = None) -> SupraventricularModel:
    """The model in ``path`` (default: the shipped one), read once per process."""
    path = Path(path) if path is not None else shipped_supraventricular_path()
    return SupraventricularModel.from_dict(json.loads(path.read_text()))


def _templates(windows: np.ndarray, block: int) -> tuple[np.ndarray, np.ndarray]:
    """Median window of each of ``ceil(n / block)`` consecutive, nearly equal blocks of the
    ``n`` windows, and each window's block."""
    n = len(windows)
    k = max(1, -(-n // block))
    parts = np.array_split(np.arange(n), k)
    templates = np.stack([np.median(windows[part], axis=0) for part in parts])
    which = np.concatenate([np.full(part.size, i, np.int64) for i, part in enumerate(parts)])
    return templates, which


def beat_features(samples: np.ndarray, labels: np.ndarray, morphology: np.ndarray,
                  layout: MorphologyLayout, neighbours: int = 8, block: int = 256,
                  shape: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """``(rows, x)``: the candidates labelled ``N`` (indices) and their features ``(len(rows),
    len(FEATURE_NAMES))``. ``samples`` ascending; ``labels`` ``N``/``V``/``artefact``;
    ``morphology`` the candidates' coarse windows ``(n, leads * length)``; ``shape`` False
    leaves the shape features 0 (a model that does not use them)."""
    labels = np.asarray(labels, dtype=object)
    beat_rows = np.flatnonzero(labels != "artefact")
    is_n_beat = labels[beat_rows] == "N"
    rows = beat_rows[is_n_beat]
    if rows.size == 0:
        return rows, np.zeros((0, len(FEATURE_NAMES)))
    timing = prematurity(np.asarray(samples)[beat_rows], neighbours)[is_n_beat]
    if not shape:
        return rows, np.hstack([timing, np.zeros((rows.size, len(SHAPE_NAMES)))])
    windows = np.asarray(morphology, dtype=np.float32)[rows].reshape(
        rows.size, layout.leads, layout.length)
    templates, which = _templates(windows, block)
    against_typical = shape_features(windows, templates, which, layout.region(P_REGION_S),
                                     layout.region(QRS_REGION_S))
    return rows, np.hstack([timing, against_typical])


def in_episodes(samples: np.ndarray, episodes) -> np.ndarray:
    """True for the samples inside any ``(start, end)`` episode (both ends included)."""
    samples = np.asarray(samples, dtype=np.int64)
    inside = np.zeros(samples.size, dtype=bool)
    for start, end in episodes:
        a = np.searchsorted(samples, start, side="left")
        b = np.searchsorted(samples, end, side="right")
        inside[a:b] = True
    return inside


class SupraventricularCalls(NamedTuple):
    """What :func:`label_supraventricular` gives, one value per candidate."""

    labels: np.ndarray  # object: N, S, V, artefact
    p: np.ndarray  # float32 P(S); NaN for V and artefacts, 0 inside AF
    uncertainty: np.ndarray  # float32 spread of P(S) over the bootstrap; NaN where p is


def label_supraventricular(samples: np.ndarray, labels: np.ndarray, morphology: np.ndarray,
                           layout: MorphologyLayout, af_episodes=(),
                           model: SupraventricularModel | None = None
                           ) -> SupraventricularCalls:
    """``(labels, p_supraventricular, uncertainty_supraventricular)``: ``labels`` with the N
    beats at or above the model's threshold, outside the ``af_episodes`` (``(start, end)``
    samples), made ``S``; the float32 probability of each candidate (NaN for V and artefacts,
    0 inside AF); and its float32 uncertainty (NaN where the probability is, 0 inside AF, NaN
    for every beat when the model has no bootstrap)."""
    model = model or load_supraventricular()
    labels = np.asarray(labels, dtype=object).copy()
    p = np.full(len(labels), np.nan, dtype=np.float32)
    u = np.full(len(labels), np.nan, dtype=np.float32)
    rows, x = beat_features(samples, labels, morphology, layout, model.neighbours, model.block,
                            model.uses_shape)
    if rows.size == 0:
        return SupraventricularCalls(labels, p, u)
    prob = model.probability(x)
    spread = model.uncertainty(x)
    inside = in_episodes(np.asarray(samples)[rows], af_episodes)
    prob[inside] = 0.0
    if model.bootstrap is not None:
        spread[inside] = 0.0
    p[rows] = prob
    u[rows] = spread
    labels[rows[prob >= model.threshold]] = "S"
    return SupraventricularCalls(labels, p, u)
