"""Does a stacked "context model" on top of model 2 help? Measured on out-of-fold calls.

    python -m research.stacking_eval --cv-dir scratch/reproduce/cv --data ../shared/data

An experiment, not part of the pipeline: a logistic regression on model 2's probability, the
beat's RR ratios, its similarity to the dominant beat and its template's medians of those
(:mod:`research.stacking_features`). With the window-only model 2 it raised the nested
VEB F1 from 71.8 (explicit validation rules) to 81.6; once model 2 itself read the
patient's template and RR channels, the rules did better (80.4 against 79.6), so the pipeline
keeps model 2 + rules. Re-run to check on a new cross-validation.

Input: a patient-wise cross-validation run of :mod:`ecgtk.export.crossval`, whose fold folders
hold each held-out record's detector candidates and model probabilities (``probs_<record>.npz``)
and the fold's thresholds. Every probability there comes from models that never saw the record's
patient. For each record the pipeline's steps are replayed (model-1 threshold, small-QRS rule,
templates, :func:`research.stacking_features.beat_context`) and the features labelled
from the
reference annotations (V, E ventricular; N L R e j A a J S not; others left out).

Nested estimate: for each fold, the logistic regression is fitted on the *other* folds' DS1 +
paced records (its threshold too) and scored on the fold's records, EC57 gross VEB and beats,
beside model 2 alone and model 2 with the explicit validation rules. Calibration: expected
calibration error (10 equal-width bins) of the nested ``p_ventricular`` over labelled beats.
The coefficients fitted on all folds go to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from ecgtk.export.calibration import expected_calibration_error
from ecgtk.scoring import score_many, score_record
from research.stacking_features import (
    FEATURES,
    ContextModel,
    beat_context,
    context_features,
)

VENTRICULAR = set("VE")
NON_VENTRICULAR = set("NLRejAaJS")
#: Candidate thresholds for the V call (chosen on training folds).
THRESHOLDS = np.round(np.arange(0.2, 0.81, 0.05), 2)


def v_targets(reference, samples: np.ndarray) -> np.ndarray:
    """Each candidate's (``samples``) target against the ``reference`` annotations (matched
    within 150 ms): 1 a V/E beat, 0 another beat class, -1 unmatched or not counted (F, Q,
    paced)."""
    from ecgtk.scoring import match_beats

    ref_index, cand_index = match_beats(reference.samples, samples,
                                        int(round(0.15 * reference.fs)))
    target = np.full(len(samples), -1, dtype=np.int8)
    symbols = np.asarray(reference.symbols)[ref_index]
    target[cand_index[np.isin(symbols, list(VENTRICULAR))]] = 1
    target[cand_index[np.isin(symbols, list(NON_VENTRICULAR))]] = 0
    return target


def best_f1_threshold(p: np.ndarray, y: np.ndarray) -> float:
    """The one of :data:`THRESHOLDS` at which ``p >= threshold`` has the best F1 for ``y == 1``
    (the first on ties)."""
    f1 = [2 * ((p >= t) & (y == 1)).sum() / max((p >= t).sum() + (y == 1).sum(), 1)
          for t in THRESHOLDS]
    return float(THRESHOLDS[int(np.argmax(f1))])


def record_rows(data: list[Path], record: str, npz: Path, thresholds: dict) -> dict:
    """One held-out record replayed through the pipeline up to the context features."""
    from ecgtk.labelling.rules import ValidationRules
    from ecgtk.labelling.templates import cluster_beats
    from research.validation_eval import record_features

    f = record_features(data, record, npz)
    is_beat = ((f["p_beat"] >= thresholds["beat"])
               & (f["amplitude"] >= ValidationRules().min_qrs_amplitude))
    beats = np.flatnonzero(is_beat)
    templates = cluster_beats(f["morphology"][beats], np.full(len(beats), "N", dtype=object))
    context = beat_context(f["samples"][beats], f["morphology"][beats], f["amplitude"][beats],
                           templates.assignment)
    p_model = np.nan_to_num(f["p_ventricular"][beats], nan=0.0)
    target = v_targets(f["reference"], f["samples"])
    return {**f, "is_beat": is_beat, "beats": beats, "context": context, "p_model": p_model,
            "features": context_features(context, p_model), "target": target[beats],
            "thresholds": thresholds}


def fit(rows: list[dict], fitted_on: str) -> ContextModel:
    """Logistic regression on the labelled beats of ``rows``, each record weighing the same
    (a 24-hour recording must not outvote a short one); threshold: best F1 on them."""
    from sklearn.linear_model import LogisticRegression

    x = np.concatenate([r["features"][r["target"] >= 0] for r in rows]).astype(np.float64)
    y = np.concatenate([r["target"][r["target"] >= 0] for r in rows])
    counts = [int((r["target"] >= 0).sum()) for r in rows]
    weight = np.concatenate([np.full(c, len(y) / (len(rows) * c)) for c in counts if c])
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    model = LogisticRegression(C=1.0, max_iter=2000).fit((x - mean) / scale, y,
                                                          sample_weight=weight)
    unfitted = ContextModel(tuple(model.coef_[0]), float(model.intercept_[0]), tuple(mean),
                            tuple(scale), 0.5, FEATURES, fitted_on)
    return ContextModel(unfitted.weights, unfitted.intercept, unfitted.mean, unfitted.scale,
                        best_f1_threshold(unfitted.probability(x), y), FEATURES, fitted_on)


def labels_of(row: dict, p_ventricular: np.ndarray, threshold: float) -> np.ndarray:
    labels = np.full(len(row["samples"]), "artefact", dtype=object)
    labels[row["beats"]] = np.where(p_ventricular >= threshold, "V", "N")
    return labels


def gross(rows: list[dict], labels: dict[str, np.ndarray]) -> dict:
    scored = score_many({r["record"]: score_record(r["reference"], r["samples"],
                                                   labels[r["record"]]) for r in rows})["gross"]
    veb = scored.get("veb") or {}
    return {"beats": {k: scored["beats"][k] for k in ("Se", "+P", "F1")},
            "veb": {k: veb.get(k) for k in ("Se", "+P", "F1", "TP", "FP", "FN")}}


def nested_estimate(rows: list[dict]) -> tuple[dict, dict[str, np.ndarray]]:
    """Per fold: fit on the other folds' clean records, predict the fold's records."""
    from ecgtk.labelling.rules import ValidationRules, validate_calls

    clean = [r for r in rows if "e" not in r["record"]]
    p_nested, chosen, model_alone, with_rules, context = {}, {}, {}, {}, {}
    for fold in sorted({r["fold"] for r in rows}):
        model = fit([r for r in clean if r["fold"] != fold], f"folds other than {fold}")
        chosen[fold] = {"threshold": model.threshold,
                        "weights": [round(w, 3) for w in model.weights]}
        for r in (r for r in rows if r["fold"] == fold):
            p = model.probability(r["features"])
            p_nested[r["record"]] = p
            context[r["record"]] = labels_of(r, p, model.threshold)
            alone = labels_of(r, r["p_model"], r["thresholds"]["ventricular"])
            model_alone[r["record"]] = alone
            p_v = np.full(len(r["samples"]), np.nan, dtype=np.float32)
            p_v[r["beats"]] = r["p_model"]
            with_rules[r["record"]] = validate_calls(alone, p_v, r["morphology"],
                                                     r["amplitude"], ValidationRules(),
                                                     r["samples"])[0]
    report = {"per_fold": chosen}
    for name, group in (("ds1_paced", clean), ("nstdb", [r for r in rows if r not in clean])):
        if group:
            report[name] = {"model2_alone": gross(group, model_alone),
                            "model2_with_rules": gross(group, with_rules),
                            "context_model": gross(group, context)}
    y = np.concatenate([r["target"] for r in clean])
    p = np.concatenate([p_nested[r["record"]] for r in clean])
    report["ds1_paced"]["calibration"] = {
        "ece_10_bins": expected_calibration_error(p[y >= 0], y[y >= 0]),
        "labelled_beats": int((y >= 0).sum())}
    changed = sum(int((context[r["record"]] != model_alone[r["record"]]).sum()) for r in clean)
    report["ds1_paced"]["calls_changed_vs_model2_alone"] = changed
    return report, p_nested


def load_rows(cv_dir: Path, data: list[Path]) -> list[dict]:
    rows = []
    for fold_dir in sorted(Path(cv_dir).glob("fold*")):
        meta_path = fold_dir / "fold.json"
        if not meta_path.is_file():
            continue
        thresholds = json.loads(meta_path.read_text())["thresholds"]
        for npz in sorted(fold_dir.glob("probs_*.npz")):
            row = record_rows(data, npz.stem.removeprefix("probs_"), npz, thresholds)
            row["fold"] = fold_dir.name
            rows.append(row)
    if not rows:
        raise SystemExit(f"no fold results (fold*/fold.json, probs_*.npz) under {cv_dir}")
    return rows


def fit_context_model(cv_dir: Path, data: list[Path], out: Path) -> dict:
    """Measure (nested) and fit the context model on ``cv_dir``; write it to ``out`` (JSON,
    with the nested estimate) and return the report."""
    from research.validation_eval import search_dirs

    started = time.perf_counter()
    rows = load_rows(cv_dir, search_dirs(data))
    report, _ = nested_estimate(rows)
    clean = [r for r in rows if "e" not in r["record"]]
    final = fit(clean, "out-of-fold model-2 calls of the patient-wise cross-validation on "
                       + " ".join(sorted(r["record"] for r in clean)))
    report["seconds"] = round(time.perf_counter() - started, 1)
    final.to_json(out, nested_estimate=report)
    return report


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cv-dir", type=Path, required=True)
    parser.add_argument("--data", type=Path, nargs="+", default=[Path("../shared/data")])
    parser.add_argument("--out", type=Path, default=Path("stacking_model.json"),
                        help="where the coefficients fitted on all folds go")
    parser.add_argument("--json", type=Path, default=None, help="write the report here too")
    args = parser.parse_args(argv)
    report = fit_context_model(args.cv_dir, args.data, args.out)
    print(json.dumps(report, indent=1))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    main()

