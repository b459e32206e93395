"""Train and evaluate the supraventricular (S) classifier; write ``models/supraventricular.json``.

``python -m ecgtk.export.supraventricular --data ../shared/data --out models`` runs the
shipped models over MIT-BIH (DS1 + paced, :data:`ecgtk.export.records.ALL_RECORDS`) and svdb
(:data:`ecgtk.export.records.SVDB`) once (cached in ``--cache``, :mod:`ecgtk.export.sv_collect`),
then:

1. evaluates the recipe honestly (``--json``): leave one database out (train on MIT-BIH,
   score svdb, and the reverse) and a patient-wise ``k``-fold cross-validation over the 65
   patients, scored per database. Each held-out record is labelled as ``ecgtk run`` labels it
   (the pipeline's N/V/artefact, its AF episodes, then S from the fold's model) and scored with
   :func:`ecgtk.scoring.score_record` (EC57 SVEB Se, +P, F1, gross over the records), as
   ``ecgtk eval`` does. The threshold is chosen on the training side only (out-of-fold
   probabilities of an inner patient-wise cross-validation, best per-beat F1).
2. fits the shipped model on all 65 patients (threshold chosen the same way), then its
   ``--bootstrap`` refits on patients drawn with replacement (:func:`with_bootstrap`, the
   uncertainty; the main fit does not depend on them), and writes it to
   ``--out``/supraventricular.json.

Features: :func:`ecgtk.labelling.supraventricular.beat_features`; ``--features`` picks a set
of :data:`FEATURE_SETS` (the others get coefficient 0). Plan and keep rules:
``research/supraventricular_plan.md``; the uncertainty's measurement:
``research/sv_uncertainty.py``.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ecgtk.export.records import (
    ALL_RECORDS,
    SVDB,
    database_of,
    kfold_by_patient,
    match_candidates,
    patient_of,
)
from ecgtk.export.sv_collect import PipelineRecord, collect
from ecgtk.inference.models import COARSEN_STEP
from ecgtk.inference.sessions import read_model_info, shipped_model_path
from ecgtk.labelling.supraventricular import (
    FEATURE_NAMES,
    Bootstrap,
    MorphologyLayout,
    SupraventricularModel,
    beat_features,
    in_episodes,
    label_supraventricular,
)
from ecgtk.scoring.metrics import score_many, score_record
from ecgtk.scoring.reference import load_reference
from ecgtk.summary.af import af_episodes

THRESHOLDS = np.round(np.arange(0.05, 0.951, 0.025), 3)
#: Bootstrap refits of the shipped model (its uncertainty; experiment 4 of the plan).
BOOTSTRAP_FITS = 32
#: Feature sets (columns of FEATURE_NAMES) of ``--features``.
FEATURE_SETS = {
    "rr": (0, 1, 2),
    "rr+shape": (0, 1, 2, 6, 7, 8, 9),
    "rrlong": (0, 1, 2, 3, 4, 5),
    "rrlong+shape": tuple(range(10)),
}


@dataclass
class Prepared:
    """One record's features, targets and what scoring needs."""

    record: PipelineRecord
    rows: np.ndarray  # candidates labelled N
    x: np.ndarray  # their features
    y: np.ndarray  # bool: the reference beat they match is S
    in_af: np.ndarray  # bool: inside one of the pipeline's AF episodes
    af: list


def layout() -> MorphologyLayout:
    """The coarse morphology layout of the shipped model 2."""
    info = read_model_info(shipped_model_path("ventricular"), "ventricular")
    return MorphologyLayout.of_model(info.before, info.after, info.rate_hz, info.input_leads,
                                     COARSEN_STEP)


def prepare(rec: PipelineRecord, lay: MorphologyLayout, neighbours: int = 8,
            block: int = 256) -> Prepared:
    ref = load_reference(rec.reference)
    rows, x = beat_features(rec.samples, rec.labels, rec.morphology, lay, neighbours, block)
    matched = match_candidates(ref.samples, rec.samples[rows], rec.fs)
    y = np.zeros(rows.size, dtype=bool)
    y[matched >= 0] = ref.classes[matched[matched >= 0]] == "S"
    af = af_episodes(rec.samples, rec.labels, rec.fs)
    return Prepared(rec, rows, x, y, in_episodes(rec.samples[rows], af), af)


def fit(parts: list[Prepared], columns: tuple[int, ...], threshold: float, c: float = 1.0,
        neighbours: int = 8, block: int = 256, meta: dict | None = None,
        standardisation: tuple[np.ndarray, np.ndarray] | None = None
        ) -> SupraventricularModel:
    """Logistic regression on the N beats outside AF of ``parts`` (features ``columns``),
    standardised by their own mean and scale, or by ``standardisation`` ``(mean, scale)``
    when given (a bootstrap refit on its main fit's scale)."""
    from sklearn.linear_model import LogisticRegression

    x = np.vstack([p.x[~p.in_af] for p in parts])
    y = np.concatenate([p.y[~p.in_af] for p in parts])
    mean = np.zeros(len(FEATURE_NAMES))
    scale = np.ones(len(FEATURE_NAMES))
    cols = list(columns)
    if standardisation is None:
        mean[cols] = x[:, cols].mean(axis=0)
        scale[cols] = np.maximum(x[:, cols].std(axis=0), 1e-9)
    else:
        mean[cols], scale[cols] = standardisation[0][cols], standardisation[1][cols]
    z = (x[:, cols] - mean[cols]) / scale[cols]
    lr = LogisticRegression(C=c, max_iter=2000).fit(z, y)
    coef = np.zeros(len(FEATURE_NAMES))
    coef[cols] = lr.coef_[0]
    return SupraventricularModel(FEATURE_NAMES, mean, scale, coef, float(lr.intercept_[0]),
                                 threshold, neighbours, block, meta)


def with_bootstrap(parts: list[Prepared], columns: tuple[int, ...],
                   model: SupraventricularModel, fits: int = BOOTSTRAP_FITS, seed: int = 0
                   ) -> SupraventricularModel:
    """``model`` (fitted on ``parts``) with ``fits`` refits, each on the patients of ``parts``
    drawn with replacement (a patient's records once per draw), on ``model``'s features and
    standardisation: the spread of P(S) over them is the beat's uncertainty. ``model``'s own
    coefficients and threshold are kept as they are."""
    by_patient: dict[str, list[Prepared]] = {}
    for p in parts:
        by_patient.setdefault(patient_of(p.record.name), []).append(p)
    patients = sorted(by_patient)
    rng = np.random.default_rng(seed)
    coef, intercept = [], []
    for _ in range(fits):
        drawn = rng.integers(0, len(patients), len(patients))
        sample = [p for i in drawn for p in by_patient[patients[i]]]
        refit = fit(sample, columns, model.threshold, standardisation=(model.mean, model.scale))
        coef.append(refit.coef)
        intercept.append(refit.intercept)
    return replace(model, bootstrap=Bootstrap(np.array(coef), np.array(intercept), seed))


def choose_threshold(parts: list[Prepared], columns: tuple[int, ...], k: int = 4,
                     seed: int = 0) -> tuple[float, dict]:
    """The threshold of best per-beat F1 over out-of-fold probabilities of a patient-wise
    ``k``-fold cross-validation inside ``parts`` (the training side only)."""
    names = [p.record.name for p in parts]
    by_name = dict(zip(names, parts, strict=True))
    probs, ys = [], []
    for train, test in kfold_by_patient(names, min(k, len(names)), seed):
        model = fit([by_name[r] for r in train], columns, 0.5)
        for r in test:
            p = by_name[r]
            probs.append(model.probability(p.x[~p.in_af]))
            ys.append(p.y[~p.in_af])
    prob, y = np.concatenate(probs), np.concatenate(ys)
    f1 = [2 * (y & (prob >= t)).sum() / max(y.sum() + (prob >= t).sum(), 1) for t in THRESHOLDS]
    best = int(np.argmax(f1))
    return float(THRESHOLDS[best]), {"inner_f1_per_beat": float(f1[best])}


def train(parts: list[Prepared], columns: tuple[int, ...], meta: dict | None = None
          ) -> SupraventricularModel:
    threshold, info = choose_threshold(parts, columns)
    return fit(parts, columns, threshold, meta={**(meta or {}), **info})


def score(parts: list[Prepared], model: SupraventricularModel, lay: MorphologyLayout) -> dict:
    """EC57 scores of ``parts`` labelled as ``ecgtk run`` labels them with ``model``."""
    per_record = {}
    for p in parts:
        rec = p.record
        labels = label_supraventricular(rec.samples, rec.labels, rec.morphology, lay, p.af,
                                        model).labels
        per_record[rec.name] = score_record(load_reference(rec.reference), rec.samples, labels)
    gross = score_many(per_record)["gross"]
    return {"sveb": gross["sveb"], "veb": gross["veb"], "beats": gross["beats"],
            "per_record_sveb": {r: v["sveb"] for r, v in per_record.items()}}


def _brief(result: dict) -> str:
    s = result["sveb"]

    def fmt(v: float | None) -> str:
        return "-" if v is None else f"{v:.2f}"

    return (f"SVEB Se {fmt(s['Se'])} +P {fmt(s['+P'])} F1 {fmt(s['F1'])} "
            f"(TP {s['TP']} FN {s['FN']} FP {s['FP']})")


def protocol_splits(parts: list[Prepared], k: int = 4, seed: int = 0, lodo: bool = True
                    ) -> Iterator[tuple[str, str, list[Prepared], list[Prepared]]]:
    """The evaluation protocol's splits as ``(design, name, train, test)``: leave one database
    out both ways (``"lodo"``, ``"mitdb->svdb"`` and back; unless not ``lodo``), then the
    patient-wise ``k``-fold CV (``"cv"``, ``"fold<i>"``; patients split with ``seed``). One
    generator for every measurement over the S model (:func:`evaluate`,
    research/sv_uncertainty.py)."""
    by_db: dict[str, list[Prepared]] = {}
    for p in parts:
        by_db.setdefault(database_of(p.record.name), []).append(p)
    for train_db, test_db in (("mitdb", "svdb"), ("svdb", "mitdb")) if lodo else ():
        yield "lodo", f"{train_db}->{test_db}", by_db[train_db], by_db[test_db]
    names = [p.record.name for p in parts]
    by_name = dict(zip(names, parts, strict=True))
    for i, (train_names, test_names) in enumerate(kfold_by_patient(names, k, seed)):
        yield ("cv", f"fold{i}", [by_name[r] for r in train_names],
               [by_name[r] for r in test_names])


def evaluate(parts: list[Prepared], columns: tuple[int, ...], lay: MorphologyLayout,
             k: int = 4, seed: int = 0, lodo: bool = True) -> dict:
    """Leave one database out both ways (unless not ``lodo``) and a patient-wise ``k``-fold
    CV (patients split with ``seed``), scored per database."""
    out: dict = {"lodo": {}, "cv": {}}
    held: list[Prepared] = []
    models: dict[str, SupraventricularModel] = {}
    thresholds = []
    for design, name, train_parts, test_parts in protocol_splits(parts, k, seed, lodo):
        model = train(train_parts, columns)
        if design == "lodo":
            res = score(test_parts, model, lay)
            res["threshold"] = model.threshold
            out["lodo"][name] = res
            print(f"LODO {name.replace('->', ' -> ')}: {_brief(res)} threshold "
                  f"{model.threshold}", flush=True)
            continue
        thresholds.append(model.threshold)
        for p in test_parts:
            models[p.record.name] = model
            held.append(p)
    for db in ("mitdb", "svdb", "all"):
        chosen = [p for p in held if db == "all" or database_of(p.record.name) == db]
        per = [score([p], models[p.record.name], lay) for p in chosen]
        res = _pool(per)
        res["thresholds"] = thresholds
        out["cv"][db] = res
        print(f"CV{k} {db}: {_brief(res)}", flush=True)
    return out


def _pool(results: list[dict]) -> dict:
    """Gross SVEB over single-record :func:`score` results."""
    from ecgtk.scoring.metrics import SVEB_COUNTS, _sveb_scores

    per = {r: v for res in results for r, v in res["per_record_sveb"].items()}
    return {"sveb": _sveb_scores({k: sum(v[k] for v in per.values()) for k in SVEB_COUNTS}),
            "per_record_sveb": per}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--out", type=Path, default=None, help="write supraventricular.json here")
    ap.add_argument("--cache", type=Path, default=Path("scratch/sv_cache"))
    ap.add_argument("--features", choices=tuple(FEATURE_SETS), default="rrlong")
    ap.add_argument("--no-eval", action="store_true", help="only fit the shipped model")
    ap.add_argument("--folds", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0, help="seed of the outer CV's patient split")
    ap.add_argument("--cv-only", action="store_true", help="skip the leave-one-database-out")
    ap.add_argument("--json", type=Path, default=None, help="write the evaluation here")
    ap.add_argument("--bootstrap", type=int, default=BOOTSTRAP_FITS,
                    help="refits on resampled patients stored with the model (0: none)")
    args = ap.parse_args(argv)
    columns = FEATURE_SETS[args.features]
    lay = layout()
    started = time.perf_counter()
    records = collect(args.data, list(ALL_RECORDS + SVDB), args.cache)
    parts = [prepare(r, lay) for r in records]
    result: dict = {"features": [FEATURE_NAMES[i] for i in columns], "folds": args.folds,
                    "records": [r.name for r in records]}
    if not args.no_eval:
        result["seed"] = args.seed
        result.update(evaluate(parts, columns, lay, args.folds, args.seed, not args.cv_only))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1))
    if args.out:
        meta = {"trained_on": "MIT-BIH DS1 + paced (26) and svdb (39): 65 patients",
                "features_used": result["features"]}
        model = train(parts, columns, meta)
        if args.bootstrap:
            model = with_bootstrap(parts, columns, model, args.bootstrap)
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "supraventricular.json").write_text(json.dumps(model.to_dict(), indent=1))
        print(f"wrote {args.out / 'supraventricular.json'} (threshold {model.threshold})")
    print(f"{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
