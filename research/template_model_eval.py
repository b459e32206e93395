"""Would a learned per-template V decision beat the hand-set one? Measured on out-of-fold calls.

    python -m research.template_model_eval --cv-dir scratch/cv_ens_refit \
        --data ../shared/data --template-seeds 3

An experiment, not part of the pipeline. ``ecgtk run`` calls a beat V when its template's mean
model-2 probability (averaged over three groupings) reaches the fold's threshold, with rule 6
(early templates far above the dominant one are V below it too) and the template vote. Here a
logistic regression makes that call from what those rules look at, per beat of a template:

- the template mean's logit minus the threshold's (each fold's models have their own scale),
- the dominant (largest) template's mean logit minus the threshold's,
- the template's medians of log RR ratio before and after the beat (premature, compensatory),
- the template's median correlation with the dominant on-time shape, and its log share.

For each fold it is fitted on the *other* folds' DS1 + paced records (each record weighing
the same; its probability threshold is the one best for VEB F1 there) and called on the fold's
records, then the shipped template vote runs. Reported beside the shipped decision with and
without rule 6, per template seed set (other K-means seeds for every grouping), as EC57 gross
VEB over DS1 + paced and over the noise-stress records, and per record (missed, false V).
"""

from __future__ import annotations

import json

import numpy as np

from ecgtk.labelling.rules import (
    ValidationRules,
    blend_with_template,
    vote_by_template,
)
from ecgtk.scoring import score_many, score_record
from research.stacking_eval import best_f1_threshold, v_targets
from research.stacking_features import beat_context, logit_of
from research.validation_eval import (
    cv_parser,
    labels_of,
    load_folds,
    search_dirs,
    templates_of,
    veb_f1,
)

FEATURES = ("template_logit_over_threshold", "dominant_logit_over_threshold",
            "template_log_rr_prev_ratio", "template_log_rr_next_ratio",
            "template_similarity", "template_log_share")
#: The shipped rules without rule 6 (the learned call replaces the threshold and rule 6).
WITHOUT_RULE_6 = ValidationRules(early_template_rr_ratio=None)


def template_rows(f: dict, thresholds: dict, template_seed: int = 0) -> dict:
    """One record's beats (as the shipped decision finds them), their :data:`FEATURES` and
    targets (1 V/E, 0 other beat classes, -1 the rest), for ``template_seed``'s groupings."""
    rules = WITHOUT_RULE_6
    base, _ = labels_of(f, thresholds, rules, template_seed)
    rows = np.flatnonzero(base != "artefact")
    first = template_seed * rules.template_runs
    groupings = [templates_of(f, rows, first + k, n)
                 for k, n in enumerate(rules.template_starts)]
    assignment = groupings[0].assignment
    p_decide = blend_with_template(f["p_ventricular"][rows],
                                   np.stack([g.assignment for g in groupings]), 0.0)
    t_logit = logit_of(np.array([thresholds[f["fold"]]["ventricular"]]))[0]
    samples = f["samples"][rows]
    # the template's medians of log RR ratios and similarity, and its log share
    shape_and_rhythm = beat_context(samples, f["morphology"][rows], f["amplitude"][rows],
                                    assignment).cluster_columns
    dominant = logit_of(np.array([p_decide[assignment == 0].mean() if len(rows) else 0.0]))[0]
    x = np.column_stack([logit_of(p_decide) - t_logit, np.full(len(rows), dominant - t_logit),
                         shape_and_rhythm])
    return {"base": base, "rows": rows, "assignment": assignment, "x": x.astype(np.float64),
            "target": v_targets(f["reference"], samples)}


def fit(tables: list[dict]):
    """A logistic regression on the labelled beats of ``tables`` (each record weighing the
    same) and its probability threshold with the best beat-level VEB F1 on them."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    labelled = [t for t in tables if (t["target"] >= 0).any()]
    x = np.concatenate([t["x"][t["target"] >= 0] for t in labelled])
    y = np.concatenate([t["target"][t["target"] >= 0] for t in labelled])
    weight = np.concatenate([np.full(int((t["target"] >= 0).sum()),
                                     1.0 / (t["target"] >= 0).sum()) for t in labelled])
    model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))
    model.fit(x, y, logisticregression__sample_weight=weight * len(y) / weight.sum())
    return model, best_f1_threshold(model.predict_proba(x)[:, 1], y)


def learned_labels(table: dict, model, cut: float) -> np.ndarray:
    """The record's labels with the learned call on its beats, then the shipped vote."""
    labels = table["base"].copy()
    if len(table["rows"]):
        calls = np.where(model.predict_proba(table["x"])[:, 1] >= cut, "V", "N").astype(object)
        labels[table["rows"]], _ = vote_by_template(calls, table["assignment"], WITHOUT_RULE_6)
    return labels


def evaluate(features: list[dict], thresholds: dict, template_seeds: int) -> dict:
    """The three decisions per template seed set (learned: nested by fold), gross and per
    record; the regression's coefficients per fold for the first seed set."""
    clean = [f for f in features if "e" not in f["record"]]
    noisy = [f for f in features if "e" in f["record"]]
    lines = {"shipped": ValidationRules(), "shipped_without_rule_6": WITHOUT_RULE_6}
    report = {"features": FEATURES, "per_seed_set": [], "per_record": {}, "per_fold": {}}
    for seed in range(template_seeds):
        tables = {f["record"]: template_rows(f, thresholds, seed) for f in features}
        labels = {name: {f["record"]: labels_of(f, thresholds, rules, seed)[0]
                         for f in features} for name, rules in lines.items()}
        labels["learned"] = {}
        for fold in sorted(thresholds):
            model, cut = fit([tables[f["record"]] for f in clean if f["fold"] != fold])
            if seed == 0:
                lr = model[-1]
                report["per_fold"][fold] = {"threshold": cut, "intercept": float(lr.intercept_[0]),
                                            "weights": dict(zip(FEATURES, lr.coef_[0].round(3)
                                                                .tolist(), strict=True))}
            for f in (f for f in features if f["fold"] == fold):
                labels["learned"][f["record"]] = learned_labels(tables[f["record"]], model, cut)
        line = {}
        for name, by_record in labels.items():
            for group_name, group in (("ds1_paced", clean), ("nstdb", noisy)):
                scored = {f["record"]: score_record(f["reference"], f["samples"],
                                                    by_record[f["record"]]) for f in group}
                if not scored:
                    continue
                line[f"{name}:{group_name}"] = veb_f1(score_many(scored)["gross"])
                for record, s in scored.items():
                    veb = s.get("veb") or {}
                    errors = report["per_record"].setdefault(record, {}).setdefault(name, [0, 0])
                    errors[0] += (veb.get("FN") or 0) / template_seeds
                    errors[1] += (veb.get("FP") or 0) / template_seeds
        report["per_seed_set"].append(line)
    report["mean"] = {k: float(np.mean([line[k] or 0 for line in report["per_seed_set"]]))
                      for k in report["per_seed_set"][0]}
    return report


def main(argv: list[str] | None = None) -> dict:
    parser = cv_parser(__doc__.splitlines()[0])
    parser.add_argument("--template-seeds", type=int, default=3,
                        help="repeat with N sets of K-means seeds for the groupings")
    args = parser.parse_args(argv)
    features, thresholds = load_folds(args.cv_dir, search_dirs(args.data))
    report = evaluate(features, thresholds, args.template_seeds)
    print(json.dumps({k: report[k] for k in ("per_fold", "per_seed_set")}, indent=1))
    print("record: missed / false V beats (mean over seed sets), shipped | without rule 6 | "
          "learned")
    for record, errors in sorted(report["per_record"].items()):
        cells = " | ".join(f"{errors[n][0]:.0f} / {errors[n][1]:.0f}"
                           for n in ("shipped", "shipped_without_rule_6", "learned"))
        print(f"  {record}: {cells}")
    for key, value in report["mean"].items():
        print(f"VEB F1 {key}: {value:.2f} (mean over {args.template_seeds} seed sets)")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, default=str))
    return report


if __name__ == "__main__":
    main()
