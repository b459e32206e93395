"""Is the uncertainty of ``p_supraventricular`` worth having? Measured on out-of-fold calls.

    python -m research.sv_uncertainty --data ../shared/data \
        --json research/results/supraventricular_uncertainty.json

Plan and keep rule, written first: ``research/supraventricular_plan.md``, experiment 4 (issue
36). The protocol of :mod:`ecgtk.export.supraventricular` (its cached pipeline calls, its
training sides: leave one database out both ways, the patient-wise ``--folds`` CV over the 65
patients with ``--seed``); each training side's main model is fitted exactly as that module
fits it, then gets ``--fits`` bootstrap refits on its patients
(:func:`ecgtk.export.supraventricular.with_bootstrap`). Each held-out record is labelled as
``ecgtk run`` labels it (:func:`ecgtk.labelling.supraventricular.label_supraventricular`).

Scored beats: held-out candidates labelled ``N`` or ``S`` that match a reference beat of AAMI
class N or S; a call is wrong when its label is not the reference's class. Per evaluation:
the ECE of ``p_supraventricular`` (10 equal-width bins; also outside AF, for information), the
AUROC of ``uncertainty_supraventricular`` for the wrong calls and that of the baseline
``-|logit(p) - logit(threshold)|``, each against :data:`BAR`; the EC57 SVEB F1 of the same
labels ties the run to the protocol's own figures.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from ecgtk.export.calibration import expected_calibration_error
from ecgtk.export.records import ALL_RECORDS, SVDB, database_of, match_candidates
from ecgtk.export.supraventricular import (
    BOOTSTRAP_FITS,
    FEATURE_SETS,
    Prepared,
    layout,
    prepare,
    protocol_splits,
    train,
    with_bootstrap,
)
from ecgtk.export.sv_collect import collect
from ecgtk.labelling.supraventricular import (
    MorphologyLayout,
    SupraventricularModel,
    in_episodes,
    label_supraventricular,
)
from ecgtk.labelling.uncertainty import logit
from ecgtk.scoring.metrics import score_many, score_record
from ecgtk.scoring.reference import load_reference

#: The keep rule's bar (the plan): AUROC of the measure at least, ECE of p at most.
BAR = {"auroc": 0.85, "ece": 0.02}
SCORED_CLASSES = ("N", "S")


def held_out_beats(part: Prepared, model: SupraventricularModel, lay: MorphologyLayout
                   ) -> dict:
    """One held-out record labelled by ``model``: its scored beats' ``p``, ``u``, reference S
    (``y``), wrong call, AF membership and threshold, and its EC57 scores (``score``)."""
    rec = part.record
    calls = label_supraventricular(rec.samples, rec.labels, rec.morphology, lay, part.af, model)
    ref = load_reference(rec.reference)
    matched = match_candidates(ref.samples, rec.samples, rec.fs)
    ref_class = np.full(rec.samples.size, "", dtype=object)
    ref_class[matched >= 0] = np.asarray(ref.classes, dtype=object)[matched[matched >= 0]]
    keep = np.isin(calls.labels, SCORED_CLASSES) & np.isin(ref_class, SCORED_CLASSES)
    y = ref_class[keep] == "S"
    return {"record": rec.name, "p": calls.p[keep].astype(np.float64),
            "u": calls.uncertainty[keep].astype(np.float64), "y": y,
            "wrong": (calls.labels[keep] == "S") != y,
            "in_af": in_episodes(rec.samples, part.af)[keep],
            "threshold": np.full(int(keep.sum()), model.threshold),
            "score": score_record(ref, rec.samples, calls.labels)}


def _auroc(score: np.ndarray, positive: np.ndarray) -> float:
    """Area under the ROC curve of ``score`` for ``positive`` (ties count half)."""
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(positive, score))


def closeness_to_threshold(p: np.ndarray, threshold: np.ndarray) -> np.ndarray:
    """The baseline measure: ``-|logit(p) - logit(threshold)|`` (higher = less sure)."""
    return -np.abs(logit(p) - logit(threshold))


def figures(held: list[dict]) -> dict:
    """The plan's figures over the scored beats of ``held`` (records of one evaluation)."""
    def pooled(key: str) -> np.ndarray:
        return np.concatenate([h[key] for h in held])

    p, u, y, wrong, in_af = (pooled(k) for k in ("p", "u", "y", "wrong", "in_af"))
    baseline = closeness_to_threshold(p, pooled("threshold"))
    out_af = ~in_af
    auroc = _auroc(u, wrong)
    auroc_base = _auroc(baseline, wrong)
    ece = expected_calibration_error(p, y)
    sveb = score_many({h["record"]: h["score"] for h in held})["gross"]["sveb"]
    return {
        "beats": int(p.size), "reference_s": int(y.sum()), "wrong": int(wrong.sum()),
        "in_af": int(in_af.sum()), "wrong_in_af": int((wrong & in_af).sum()),
        "ece": ece, "ece_outside_af": expected_calibration_error(p[out_af], y[out_af]),
        "auroc_bootstrap": auroc, "auroc_threshold_closeness": auroc_base,
        "auroc_bootstrap_outside_af": _auroc(u[out_af], wrong[out_af]),
        "auroc_threshold_closeness_outside_af": _auroc(baseline[out_af], wrong[out_af]),
        "uncertainty_median_right_wrong": [float(np.median(u[~wrong])),
                                           float(np.median(u[wrong]))],
        "uncertainty_max": float(u.max()),
        "passes_bar": {"bootstrap": auroc >= BAR["auroc"] and ece <= BAR["ece"],
                       "threshold_closeness": auroc_base >= BAR["auroc"] and ece <= BAR["ece"]},
        "sveb_f1": sveb["F1"],
    }


def fitted(parts: list[Prepared], columns: tuple[int, ...], fits: int, seed: int
           ) -> SupraventricularModel:
    """A training side's model as the protocol fits it, with its bootstrap refits."""
    return with_bootstrap(parts, columns, train(parts, columns), fits, seed)


def measure(parts: list[Prepared], columns: tuple[int, ...], lay: MorphologyLayout,
            fits: int = BOOTSTRAP_FITS, k: int = 4, seed: int = 0, bootstrap_seed: int = 0
            ) -> dict:
    """The figures of the LODO runs (both ways) and of the CV per database."""
    out: dict = {"lodo": {}, "cv": {}}
    held = []
    for design, name, train_parts, test_parts in protocol_splits(parts, k, seed):
        model = fitted(train_parts, columns, fits, bootstrap_seed)
        beats = [held_out_beats(p, model, lay) for p in test_parts]
        if design == "lodo":
            out["lodo"][name] = {**figures(beats), "threshold": model.threshold}
            _print(f"LODO {name.replace('->', ' -> ')}", out["lodo"][name])
        else:
            held += beats
    for db in ("mitdb", "svdb", "all"):
        chosen = [h for h in held if db == "all" or database_of(h["record"]) == db]
        out["cv"][db] = figures(chosen)
        _print(f"CV{k} {db}", out["cv"][db])
    return out


def _print(name: str, f: dict) -> None:
    print(f"{name}: ECE {f['ece']:.4f}, AUROC bootstrap {f['auroc_bootstrap']:.3f}, "
          f"threshold closeness {f['auroc_threshold_closeness']:.3f} ({f['wrong']} wrong of "
          f"{f['beats']}; SVEB F1 {f['sveb_f1']})", flush=True)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--cache", type=Path, default=Path("scratch/sv_cache"))
    ap.add_argument("--features", choices=tuple(FEATURE_SETS), default="rr")
    ap.add_argument("--fits", type=int, default=BOOTSTRAP_FITS)
    ap.add_argument("--folds", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0, help="seed of the outer CV's patient split")
    ap.add_argument("--bootstrap-seed", type=int, default=0)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    started = time.perf_counter()
    columns = FEATURE_SETS[args.features]
    lay = layout()
    records = collect(args.data, list(ALL_RECORDS + SVDB), args.cache)
    parts = [prepare(r, lay) for r in records]
    result = {"plan": "research/supraventricular_plan.md, experiment 4", "bar": BAR,
              "features": args.features, "fits": args.fits, "folds": args.folds,
              "seed": args.seed, "bootstrap_seed": args.bootstrap_seed,
              **measure(parts, columns, lay, args.fits, args.folds, args.seed,
                        args.bootstrap_seed)}
    result["seconds"] = round(time.perf_counter() - started, 1)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    return result


if __name__ == "__main__":
    main()
