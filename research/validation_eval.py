"""Does morphological validation help? Measured on out-of-fold model calls.

    python -m research.validation_eval --cv-dir scratch/cv --data ../shared/data \
        --template-seeds 5

Input: the patient-wise cross-validation run of ``ecgtk.export.crossval``, whose fold folders
hold each held-out record's candidates and model probabilities (``probs_<record>.npz``) and the
fold's thresholds (``fold.json``). For every record, the features of :mod:`ecgtk.labelling.rules`
are computed from the signal exactly as the pipeline does, model 1's calls get the rescue rules
of ``ecgtk run`` (:mod:`ecgtk.labelling.rescue`), each rule setting of a small grid is applied, and
beats
and ventricular beats are scored against the reference (EC57, 150 ms).
The rule setting for each fold is chosen on the *other* folds (gross beat F1 + VEB F1) among
every combination of :data:`GRID` (the template blend of the V decision and rules 2-3) and
:data:`VOTE_GRID` (rule 5, the template vote), so the "chosen" line is an honest estimate.
The V decision moves with the K-means seeds of its templates by about a point, as much as the
settings differ, so ``--template-seeds N`` scores every setting N times with other seeds and
chooses on the mean; both lines, the shipped setting's and the chosen one's, are then reported
per seed set, beside the choice made on the first seed set alone (the line with N = 1).
Reports calls changed per rule and the F1s before/after, for DS1 + paced and for the
noise-stress records separately, and the setting each fold chose (the shipped defaults are the
setting most folds choose). The VEB F1 lines per seed set are given for DS1 alone as well (the
set the cross-validation target names: the same labels, the paced records left out).
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

import numpy as np

from ecgtk.export.out_of_fold import (  # noqa: F401  (research scripts import them from here)
    chunked_rescue,
    labels_of,
    load_folds,
    record_features,
    search_dirs,
    templates_of,
)
from ecgtk.labelling.rules import ValidationRules
from ecgtk.scoring import score_many, score_record
from research.bench_detector_accuracy import PACED

GRID = {"normal_similarity": [None, 0.8, 0.9],
        "on_time_similarity": [None, 0.4],
        "beat_probability_weight": [1.0, 0.5, 0.0],
        "early_template_rr_ratio": [None, 0.95]}
VOTE_GRID = {"template_normal_below": [None, 0.2, 0.3],
             "template_ventricular_above": [None, 0.6, 0.7]}
#: The rules as they were before templates took part in the decision (each beat alone).
BEATS_ALONE = {"template_normal_below": None, "template_ventricular_above": None,
               "early_template_rr_ratio": None,
               "beat_probability_weight": 1.0}
RULE_NAMES = ("small", "early_template", "distinct_template", "like_normal", "on_time",
              "unlike_normal", "template_vote")


def score(features: list[dict], thresholds: dict,
          rules_of: dict | ValidationRules | None) -> tuple[dict, dict]:
    """Gross scores and calls changed; ``rules_of`` maps fold -> rules, or is one setting."""
    results, changed = [], dict.fromkeys(RULE_NAMES, 0)
    for f in features:
        rules = rules_of.get(f["fold"]) if isinstance(rules_of, dict) else rules_of
        labels, changes = labels_of(f, thresholds, rules)
        changed = {k: changed[k] + changes.get(k, 0) for k in changed}
        results.append(score_record(f["reference"], f["samples"], labels))
    return score_many(results)["gross"], changed


def record_scores(features: list[dict], thresholds: dict, settings: list[ValidationRules],
                  template_seeds: int = 1) -> list[list[list[dict]]]:
    """``score_record`` of every record under every setting and template seed set,
    ``[setting][seed][record]``: computed once, then summed over any subset of records."""
    return [[[score_record(f["reference"], f["samples"],
                           labels_of(f, thresholds, rules, seed)[0]) for f in features]
             for seed in range(template_seeds)] for rules in settings]


def choose_per_fold(features: list[dict], folds: list[str], scores: list[list[list[dict]]]
                    ) -> dict[str, int]:
    """Per fold, the index of the setting whose :func:`objective`, averaged over the template
    seed sets of ``scores`` (:func:`record_scores`), is best on the *other* folds' records
    (ties: the first setting). Averaging steadies the choice: one seed set's own spread is
    about a point of VEB F1, as large as the differences between settings."""
    chosen = {}
    for fold in folds:
        others = [i for i, f in enumerate(features) if f["fold"] != fold]
        chosen[fold] = max(range(len(scores)), key=lambda k: (np.mean(
            [objective(score_many([per_seed[i] for i in others])["gross"])
             for per_seed in scores[k]]), -k))
    return chosen


def chosen_line(features: list[dict], scores: list[list[list[dict]]], chosen: dict[str, int],
                without: tuple[str, ...] = ()) -> list[dict]:
    """Gross scores of every record (but those named in ``without``) under its fold's chosen
    setting, one per seed set."""
    return [score_many([scores[chosen[f["fold"]]][seed][i] for i, f in enumerate(features)
                        if f["record"] not in without])["gross"]
            for seed in range(len(scores[0]))]


def objective(gross: dict) -> float:
    return (gross["beats"]["F1"] or 0) + ((gross.get("veb") or {}).get("F1") or 0)


def veb_f1(gross: dict) -> float | None:
    return (gross.get("veb") or {}).get("F1")


def brief(gross: dict, changed: dict) -> dict:
    veb = gross.get("veb") or {}
    return {"beats": {k: gross["beats"][k] for k in ("Se", "+P", "F1", "FP", "FN")},
            "veb": {k: veb.get(k) for k in ("Se", "+P", "F1", "FP", "FN")}, "changed": changed}


def cv_parser(description: str) -> argparse.ArgumentParser:
    """The arguments of a benchmark over a cross-validation run: ``--cv-dir``, ``--data``,
    ``--json``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--cv-dir", type=Path, required=True)
    parser.add_argument("--data", type=Path, nargs="+", default=[Path("../shared/data")])
    parser.add_argument("--json", type=Path, default=None)
    return parser


def main(argv: list[str] | None = None) -> None:
    parser = cv_parser(__doc__.splitlines()[0])
    parser.add_argument("--template-seeds", type=int, default=1,
                        help="score every setting N times, each with other K-means seeds for "
                             "the decision's groupings, and choose on the mean")
    args = parser.parse_args(argv)
    features, thresholds = load_folds(args.cv_dir, search_dirs(args.data))
    grid = {**GRID, **VOTE_GRID}
    settings = [ValidationRules(**dict(zip(grid, v, strict=True)))
                for v in itertools.product(*grid.values())]
    groups = {"ds1_paced": [f for f in features if "e" not in f["record"]],
              "nstdb": [f for f in features if "e" in f["record"]]}
    report = {}
    for name, group in groups.items():
        if not group:
            continue
        report[name] = {"none": brief(*score(group, thresholds, None)),
                        "default_beats_alone": brief(*score(
                            group, thresholds, ValidationRules(**BEATS_ALONE))),
                        "default": brief(*score(group, thresholds, ValidationRules())),
                        "default_without_early_template": brief(*score(
                            group, thresholds, ValidationRules(early_template_rr_ratio=None)))}
    # honest choice: per fold, the setting best on the other folds' DS1 + paced records
    clean = groups["ds1_paced"]
    scores = record_scores(clean, thresholds, settings, args.template_seeds)
    chosen = choose_per_fold(clean, sorted(thresholds), scores)
    report["chosen_per_fold"] = {fold: settings[k].__dict__ for fold, k in chosen.items()}
    report["ds1_paced"]["chosen_on_other_folds"] = brief(*score(
        clean, thresholds, {fold: settings[k] for fold, k in chosen.items()}))
    default = settings.index(ValidationRules())
    # the choice made on the first seed set alone (the line before --template-seeds)
    chosen_first = choose_per_fold(clean, sorted(thresholds), [s[:1] for s in scores])
    report["chosen_per_fold_on_first_seed_set"] = {fold: settings[k].__dict__
                                                   for fold, k in chosen_first.items()}
    lines = {"default": dict.fromkeys(chosen, default), "chosen_on_other_folds": chosen,
             "chosen_on_first_seed_set": chosen_first}
    # the target names DS1 alone (the usual inter-patient training set, without the
    # paced records): the same labels, the paced records left out of the sums
    report["ds1_alone"] = {}
    for group, without in (("ds1_paced", ()), ("ds1_alone", PACED)):
        report[group]["veb_f1_per_template_seed"] = {
            line: [veb_f1(g) for g in chosen_line(clean, scores, picks, without)]
            for line, picks in lines.items()}
    print(json.dumps(report, indent=1, default=str))
    for group, title in (("ds1_paced", "DS1 + paced"), ("ds1_alone", "DS1 alone")):
        for line, f1 in report[group]["veb_f1_per_template_seed"].items():
            if None not in f1:
                print(f"{title}, {line}: VEB F1 by template seed set "
                      + " ".join(f"{v:.2f}" for v in f1) + f" (mean {np.mean(f1):.2f})")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, default=str))


if __name__ == "__main__":
    main()
