"""Calibrate model 2 and measure its uncertainty on out-of-fold calls.

    python -m ecgtk.export.calibration --cv-dir scratch/reproduce/cv --data ../shared/data

Input: a patient-wise cross-validation run of :mod:`ecgtk.export.crossval` (fold folders with
the fold's models, thresholds and each held-out record's candidates and probabilities). For
every held-out DS1 + paced record the pipeline's labels are replayed (model-1 and model-2
thresholds, then the validation rules) and the fold's model 2 gives its Monte-Carlo dropout
passes (:mod:`ecgtk.export.mc_dropout`, the masks the export uses; cached beside the fold).

- Calibration, nested: for each fold, temperature scaling (``sigmoid(logit(p) / T)``) and
  Platt scaling (``sigmoid(a * logit(p) + b)``) are fitted on the other folds' labelled beats
  (V, E against N L R e j A a J S) and scored on the fold's: expected calibration error over 10
  equal-width bins. The shipped ``(a, b)`` are fitted on all folds.
- Uncertainty: the standard deviation of model 2's probability over the passes (the shipped
  measure), scored by how well it separates wrong labels from right ones (AUROC), beside the
  same spread of the calibrated probability and the entropy of the calibrated probability.
  The review threshold is the uncertainty that flags :data:`REVIEW_SHARE` of the beats.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from ecgtk.labelling.uncertainty import calibrate, dropout_spread, logit

VENTRICULAR = set("VE")
NON_VENTRICULAR = set("NLRejAaJS")
#: Share of labelled beats the default review threshold flags.
REVIEW_SHARE = 0.05


def fold_passes(fold_dir: Path, record: str, candidates: np.ndarray, passes: int,
                data: list[Path]) -> np.ndarray:
    """``(n_candidates, passes)`` Monte-Carlo dropout probabilities of the fold's model 2 for
    the record's ``candidates`` (at the model rate), cached in ``fold_dir/passes_<record>.npz``;
    the record is read from ``data`` only when the cache misses. An ensemble's members
    (``ventricular.keras``, ``ventricular_1.keras``, ... :mod:`ecgtk.export.ensemble`) give
    ``passes / members`` each, side by side, as the exported graph does."""
    cache = fold_dir / f"passes_{record}.npz"
    if cache.is_file():
        with np.load(cache) as stored:
            if stored["p_passes"].shape == (len(candidates), passes):
                return stored["p_passes"]
    from ecgtk.export.ensemble import member_paths, passes_per_member
    from ecgtk.export.mc_dropout import DEFAULT_SEED, dropout_masks, head_of, keras_passes
    from ecgtk.export.onnx_export import load_keras_model
    from ecgtk.export.records import load_record
    from ecgtk.inference.inputs import (
        VENTRICULAR_WINDOW,
        leads_of_context_input,
        ventricular_inputs,
    )

    rd = load_record(data, record)
    models = [load_keras_model(path) for path in member_paths(fold_dir / "ventricular.keras")]
    leads = leads_of_context_input(models[0].input_shape[-1])
    windows = ventricular_inputs(rd.signal[:, :leads], candidates, *VENTRICULAR_WINDOW,
                                 candidates, fs=rd.fs)
    _, rate, kernel, _ = head_of(models[0])
    masks = dropout_masks(kernel.shape[0], rate, passes_per_member(passes, len(models)),
                          DEFAULT_SEED)
    out = np.concatenate([keras_passes(model, windows, masks) for model in models], axis=1)
    np.savez(cache, p_passes=out)
    return out


def record_rows(data: list[Path], fold_dir: Path, record: str, thresholds: dict,
                passes: int) -> dict:
    """One held-out record: labelled beats with p, passes, and the pipeline's call (the
    per-template decision and the default rules, as ``ecgtk run`` makes it)."""
    from ecgtk.export.out_of_fold import labels_of, record_features
    from ecgtk.labelling.rules import ValidationRules
    from ecgtk.scoring import match_beats

    npz = fold_dir / f"probs_{record}.npz"
    f = record_features(data, record, npz)
    with np.load(npz) as probs:
        p_passes = fold_passes(fold_dir, record, probs["candidates"], passes, data)
    f["fold"] = fold_dir.name
    labels, _ = labels_of(f, {fold_dir.name: thresholds}, ValidationRules())
    reference = f["reference"]
    ref_index, cand_index = match_beats(reference.samples, f["samples"],
                                        int(round(0.15 * reference.fs)))
    symbols = np.asarray(reference.symbols)[ref_index]
    target = np.full(len(f["samples"]), -1, dtype=np.int8)
    target[cand_index[np.isin(symbols, list(VENTRICULAR))]] = 1
    target[cand_index[np.isin(symbols, list(NON_VENTRICULAR))]] = 0
    keep = (target >= 0) & (labels != "artefact")
    return {"record": record, "fold": fold_dir.name, "target": target[keep],
            "p": f["p_ventricular"][keep], "passes": p_passes[keep],
            "called_v": labels[keep] == "V"}


def fit_platt(p: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """``(a, b)`` minimising the log loss of ``sigmoid(a * logit(p) + b)``."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=1e6, max_iter=1000).fit(logit(p)[:, None], y)
    return float(model.coef_[0, 0]), float(model.intercept_[0])


def fit_temperature(p: np.ndarray, y: np.ndarray) -> float:
    """``T`` minimising the log loss of ``sigmoid(logit(p) / T)``."""
    from scipy.optimize import minimize_scalar

    z = logit(p)

    def loss(t: float) -> float:
        q = np.clip(1 / (1 + np.exp(-z / t)), 1e-12, 1 - 1e-12)
        return float(-np.mean(y * np.log(q) + (1 - y) * np.log(1 - q)))

    return float(minimize_scalar(loss, bounds=(0.05, 20.0), method="bounded").x)


def expected_calibration_error(p: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    """Mean |observed rate - mean p| over ``bins`` equal-width bins, weighted by count."""
    index = np.minimum((np.asarray(p) * bins).astype(int), bins - 1)
    error = sum(abs(y[index == b].mean() - p[index == b].mean()) * (index == b).sum()
                for b in range(bins) if (index == b).any())
    return float(error / max(len(p), 1))


def _auroc(score: np.ndarray, positive: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(positive, score))


def calibration_report(rows: list[dict]) -> dict:
    """Nested calibration errors, uncertainty AUROCs, the review threshold and the final
    ``(a, b)`` (see the module docstring)."""
    def pooled(key: str, group: list[dict]) -> np.ndarray:
        return np.concatenate([r[key] for r in group])

    nested = {"none": [], "temperature": [], "platt": []}
    spread, raw_spread, entropy, wrong, targets, per_fold = [], [], [], [], [], {}
    for fold in sorted({r["fold"] for r in rows}):
        train = [r for r in rows if r["fold"] != fold]
        test = [r for r in rows if r["fold"] == fold]
        a, b = fit_platt(pooled("p", train), pooled("target", train))
        t = fit_temperature(pooled("p", train), pooled("target", train))
        per_fold[fold] = {"platt": [round(a, 4), round(b, 4)], "temperature": round(t, 4)}
        p = pooled("p", test)
        nested["none"].append(p)
        nested["temperature"].append(calibrate(p, (1 / t, 0.0)))
        calibrated = calibrate(p, (a, b))
        nested["platt"].append(calibrated)
        spread.append(dropout_spread(calibrate(pooled("passes", test), (a, b))))
        raw_spread.append(dropout_spread(pooled("passes", test)))
        q = np.clip(calibrated, 1e-6, 1 - 1e-6)
        entropy.append(-(q * np.log(q) + (1 - q) * np.log(1 - q)))
        wrong.append(pooled("called_v", test) != (pooled("target", test) == 1))
        targets.append(pooled("target", test))
    y = np.concatenate(targets)
    wrong, spread, entropy = np.concatenate(wrong), np.concatenate(spread), np.concatenate(entropy)
    raw_spread = np.concatenate(raw_spread)
    review = float(np.quantile(raw_spread, 1 - REVIEW_SHARE))
    review = float(f"{review:.2g}")
    flagged = raw_spread >= review
    a, b = fit_platt(pooled("p", rows), pooled("target", rows))
    return {
        "labelled_beats": int(len(y)), "wrong_labels": int(wrong.sum()),
        "ece_10_bins_nested": {k: expected_calibration_error(np.concatenate(v), y)
                               for k, v in nested.items()},
        "uncertainty_auroc_nested": {"dropout_spread": _auroc(spread, wrong),
                                     "dropout_spread_uncalibrated": _auroc(raw_spread, wrong),
                                     "entropy_of_p": _auroc(entropy, wrong)},
        "review_threshold": review,
        "review": {"share_of_beats_flagged": float(flagged.mean()),
                   "share_of_wrong_labels_flagged": float(wrong[flagged].sum()
                                                          / max(wrong.sum(), 1)),
                   "error_rate_flagged": float(wrong[flagged].mean()) if flagged.any() else 0,
                   "error_rate_not_flagged": float(wrong[~flagged].mean())},
        "per_fold": per_fold,
        "platt": {"a": a, "b": b},
    }


def calibrate_on_folds(cv_dir: Path, data: list[Path], passes: int = 32) -> dict:
    """Load every fold's held-out DS1 + paced records and return :func:`calibration_report`."""
    from ecgtk.export.out_of_fold import search_dirs

    started = time.perf_counter()
    dirs = search_dirs(data)
    rows = []
    for fold_dir in sorted(Path(cv_dir).glob("fold*")):
        meta = fold_dir / "fold.json"
        if not meta.is_file():
            continue
        thresholds = json.loads(meta.read_text())["thresholds"]
        for npz in sorted(fold_dir.glob("probs_*.npz")):
            record = npz.stem.removeprefix("probs_")
            if "e" not in record:  # nstdb noise records are not calibration data
                rows.append(record_rows(dirs, fold_dir, record, thresholds, passes))
    if not rows:
        raise SystemExit(f"no fold results (fold*/fold.json, probs_*.npz) under {cv_dir}")
    report = calibration_report(rows)
    report["passes"] = passes
    report["seconds"] = round(time.perf_counter() - started, 1)
    return report


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cv-dir", type=Path, required=True)
    parser.add_argument("--data", type=Path, nargs="+", default=[Path("../shared/data")])
    parser.add_argument("--passes", type=int, default=32)
    parser.add_argument("--json", type=Path, default=None, help="also write the report here")
    args = parser.parse_args(argv)
    report = calibrate_on_folds(args.cv_dir, args.data, args.passes)
    print(json.dumps(report, indent=1))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    main()
