"""How much does the VEB F1 depend on model 2's decision threshold? Measured on out-of-fold calls.

    python -m research.threshold_eval --cv-dir scratch/cv_redet

Input: a patient-wise cross-validation run (see :mod:`research.validation_eval`), whose
folds hold each held-out record's calls and the threshold the fold chose on its own validation
patients. Every record goes through the shipped decision (rescue rules, templates, the rules
of :class:`ecgtk.labelling.rules.ValidationRules`) with the threshold

- of its fold, and that threshold moved by each of :data:`OFFSETS` (how steep the ground is
  around the shipped choice);
- fixed, the same for every fold (each of :data:`GRID`);
- chosen on the *other* folds' records (the best gross VEB F1 there): what a threshold that did
  not come from the fold's own validation patients gives;
- the best for the fold's own records: an upper bound, not an estimate (it is chosen on the
  records it scores).

Why: the decision compares a template's mean probability with the threshold, so one large
template whose mean sits near it moves hundreds of beats at once. The folds' models also
differ in calibration (0.2.1's chose 0.45 to 0.8), so a threshold that suits one fold's model
can ruin another's. DS1 + paced records only (the noise records are left out).
"""

from __future__ import annotations

import json

import numpy as np

from ecgtk.labelling.rules import ValidationRules
from ecgtk.scoring import score_record

#: Moves of each fold's own threshold.
OFFSETS = (-0.1, -0.05, 0.0, 0.05, 0.1)
#: Thresholds tried as one value for every fold, and as choices on other folds.
GRID = tuple(float(t) for t in np.round(np.arange(0.3, 0.951, 0.05), 2))


def veb_counts(features: list[dict], thresholds: dict) -> dict[str, np.ndarray]:
    """Per fold, the summed ventricular ``(TP, FN, FP)`` of its records through the shipped
    decision with ``thresholds`` (fold -> ``{"beat", "ventricular"}``)."""
    from research.validation_eval import labels_of

    counts = {fold: np.zeros(3, np.int64) for fold in thresholds}
    for f in features:
        labels, _ = labels_of(f, thresholds, ValidationRules())
        veb = score_record(f["reference"], f["samples"], labels).get("veb")
        if veb:
            counts[f["fold"]] += [veb["TP"], veb["FN"], veb["FP"]]
    return counts


def f1(counts: np.ndarray) -> float:
    """VEB F1 in % of summed ``(TP, FN, FP)``: 2 TP / (2 TP + FN + FP)."""
    tp, fn, fp = (int(c) for c in counts)
    return 100.0 * 2 * tp / max(2 * tp + fn + fp, 1)


def with_ventricular(thresholds: dict, value_of) -> dict:
    """``thresholds`` with each fold's ventricular threshold replaced by ``value_of(fold,
    own)``, clipped to [0, 1]."""
    return {fold: {**t, "ventricular": float(np.clip(value_of(fold, t["ventricular"]), 0, 1))}
            for fold, t in thresholds.items()}


def sensitivity(features: list[dict], thresholds: dict) -> dict:
    """The report of the module docstring for the records ``features`` of the folds."""
    folds = sorted(thresholds)

    def gross(counts: dict) -> dict:
        total = sum(counts.values())
        return {"F1": round(f1(total), 2), "TP": int(total[0]), "FN": int(total[1]),
                "FP": int(total[2]), "per_fold": {k: round(f1(counts[k]), 1) for k in folds}}

    shifted = {f"{d:+.2f}": gross(veb_counts(features, with_ventricular(
        thresholds, lambda fold, own, d=d: own + d))) for d in OFFSETS}
    fixed = {t: veb_counts(features, with_ventricular(thresholds, lambda fold, own, t=t: t))
             for t in GRID}

    def chosen(fold: str) -> float:
        return max(GRID, key=lambda t: f1(sum(fixed[t][o] for o in folds if o != fold)))

    other = {fold: chosen(fold) for fold in folds}
    best = {fold: max(GRID, key=lambda t: f1(fixed[t][fold])) for fold in folds}
    return {
        "own_thresholds": {fold: thresholds[fold]["ventricular"] for fold in folds},
        "own_moved_by": shifted,
        "fixed": {f"{t:.2f}": gross(c) for t, c in fixed.items()},
        "chosen_on_other_folds": {"thresholds": other,
                                  **gross({k: fixed[other[k]][k] for k in folds})},
        "best_per_fold_upper_bound": {"thresholds": best,
                                      **gross({k: fixed[best[k]][k] for k in folds})},
    }


def main() -> None:
    from research.validation_eval import cv_parser, load_folds, search_dirs

    args = cv_parser(__doc__.splitlines()[0]).parse_args()
    features, thresholds = load_folds(args.cv_dir, search_dirs(args.data))
    report = sensitivity([f for f in features if "e" not in f["record"]], thresholds)
    text = json.dumps(report, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
