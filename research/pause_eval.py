"""Do the pause and run rules give back beats model 1 rejected? Measured on out-of-fold calls.

    python -m research.pause_eval --cv-dir WORK/cv_ensemble --data ../shared/data

Input: a patient-wise cross-validation run of ``ecgtk.export.crossval`` (its fold folders hold
each held-out record's candidates with model 1's and model 2's probabilities, the latter for
every candidate, and the fold's thresholds). The rules (:mod:`ecgtk.labelling.rescue`) are applied
to
each 10-minute chunk's candidates, as ``ecgtk run`` applies them, and beats are scored against
the reference (EC57, 150 ms). Each fold's setting of :data:`GRID` (or the rules off) is chosen
on the *other* folds' DS1 + paced records by gross beat F1, so the "chosen" line is an honest
estimate. The noise-stress records are reported apart, and 118e06 + 119e06 (the issue's noise
level) on their own.

Ventricular beats are scored after the pipeline's decision (:func:`ecgtk.labelling.classify.
decide_labels`, shipped rules). They move with the K-means seed of the templates alone (a
template near the threshold flips with its neighbours), so ``--template-seeds N`` scores them
N times, each with its own K-means seeds for the decision's groupings (0-2, 3-5, ... with the
shipped three runs); a difference smaller than the spread between them is not one. Beats and
artefacts do not depend on the templates.
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

import numpy as np

from ecgtk.inference.models import ChunkCalls
from ecgtk.labelling.classify import decide_labels
from ecgtk.labelling.rescue import PauseRule
from ecgtk.labelling.rules import ValidationRules, qrs_too_small
from ecgtk.scoring import score_many, score_record
from research.validation_eval import (
    chunked_rescue,
    load_folds,
    search_dirs,
    templates_of,
)

GRID = {"min_pause_rr": [1.6, 1.8, 2.0], "max_pause_rr": [2.4, 2.6, 3.0],
        "min_split_rr": [0.5, 0.6, 0.7], "max_run_cv": [None, 0.1, 0.15, 0.2],
        "min_smooth_run": [None, 6]}
HEADLINE_NOISE = ("118e06", "119e06")
LINES = ("off", "shipped", "chosen_on_other_folds")


def record_result(f: dict, thresholds: dict, rule: PauseRule | None,
                  template_seed: int | None = None,
                  rules: ValidationRules | None = None) -> tuple[dict, int]:
    """``score_record`` of one record with the rules (None: off) and the beats they gave back.

    ``template_seed`` None scores beats alone (every beat "N", the rules of
    :mod:`ecgtk.labelling.rules` that make artefacts applied); a seed runs the whole decision with
    ``rules`` (None: the shipped ones)."""
    t = thresholds[f["fold"]]
    is_beat = chunked_rescue(f, t["beat"], rule)
    rescued = int((is_beat & (f["p_beat"] < t["beat"])).sum())
    if template_seed is None:
        beat = is_beat & ~qrs_too_small(f["amplitude"], ValidationRules())
        labels = np.where(beat, "N", "artefact").astype(object)
    else:
        n = len(f["samples"])
        calls = ChunkCalls(f["p_beat"], is_beat, f["p_ventricular"], f["morphology"],
                           f["amplitude"], np.zeros((n, 0), np.float32))
        rules = rules or ValidationRules()
        first = template_seed * rules.template_runs  # seed sets 0-2, 3-5, ... never overlap
        labels = decide_labels(f["samples"], calls, t["ventricular"], rules,
                               group=lambda rows, k, n: templates_of(f, rows, first + k, n)
                               ).labels
    return score_record(f["reference"], f["samples"], labels), rescued


def brief(results: list[tuple[dict, int]]) -> dict:
    gross = score_many([r for r, _ in results])["gross"]
    veb = gross.get("veb") or {}
    return {"rescued": sum(n for _, n in results),
            "beats": {k: gross["beats"][k] for k in ("Se", "+P", "F1", "TP", "FP", "FN")},
            "veb": {k: veb.get(k) for k in ("Se", "+P", "F1", "FP", "FN")}}


def record_groups(features: list[dict]) -> dict[str, list[int]]:
    clean = [i for i, f in enumerate(features) if "e" not in f["record"]]
    groups = {"ds1_paced": clean,
              "ds1_paced_without_207": [i for i in clean if features[i]["record"] != "207"],
              "nstdb": [i for i, f in enumerate(features) if "e" in f["record"]],
              "118e06_119e06": [i for i, f in enumerate(features)
                                if f["record"] in HEADLINE_NOISE]}
    return {name: rows for name, rows in groups.items() if rows}


def choose_settings(features: list[dict], thresholds: dict
                    ) -> tuple[list[PauseRule | None], dict[str, int]]:
    """Every setting of :data:`GRID` (index 0: off) and, per fold, the index of the one with
    the best gross beat F1 on the other folds' DS1 + paced records (ties: the rules off)."""
    settings: list[PauseRule | None] = [None] + [
        PauseRule(**dict(zip(GRID, v, strict=True))) for v in itertools.product(*GRID.values())]
    clean = record_groups(features)["ds1_paced"]
    beats = [[record_result(features[i], thresholds, rule)[0] for i in clean]
             for rule in settings]
    chosen = {}
    for fold in sorted(thresholds):
        others = [j for j, i in enumerate(clean) if features[i]["fold"] != fold]
        chosen[fold] = max(range(len(settings)), key=lambda k: (
            score_many([beats[k][j] for j in others])["gross"]["beats"]["F1"], k == 0))
    return settings, chosen


def compare(features: list[dict], thresholds: dict, template_seeds: int = 1) -> dict:
    """The rules off, with the shipped setting, and with each fold's setting chosen on the
    other folds: beats, and ventricular beats for each template seed; with the shipped setting,
    each record's missed (FN) and false (FP) V beats, means over the template seeds."""
    settings, chosen = choose_settings(features, thresholds)
    shipped = settings.index(PauseRule())
    rule_of = {"off": lambda f: None, "shipped": lambda f: settings[shipped],
               "chosen_on_other_folds": lambda f: settings[chosen[f["fold"]]]}
    report = {"chosen_per_fold": {fold: None if settings[k] is None else settings[k].__dict__
                                  for fold, k in chosen.items()}, "template_seeds": {},
              "per_record_shipped": {}}
    for seed in range(template_seeds):
        results = {line: [record_result(f, thresholds, rule_of[line](f), seed)
                          for f in features] for line in LINES}
        report["template_seeds"][seed] = {
            name: {line: brief([results[line][i] for i in rows]) for line in LINES}
            for name, rows in record_groups(features).items()}
        for f, (score, _) in zip(features, results["shipped"], strict=True):
            errors = report["per_record_shipped"].setdefault(f["record"], {"FN": 0, "FP": 0})
            for kind in errors:
                errors[kind] += (score.get("veb") or {}).get(kind, 0) / template_seeds
    report.update(report["template_seeds"][0])
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cv-dir", type=Path, required=True)
    parser.add_argument("--data", type=Path, nargs="+", default=[Path("../shared/data")])
    parser.add_argument("--template-seeds", type=int, default=1,
                        help="score ventricular beats N times, with other K-means seeds each")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    data = search_dirs(args.data)
    features, thresholds = load_folds(args.cv_dir, data)
    report = compare(features, thresholds, args.template_seeds)
    print(json.dumps({k: v for k, v in report.items() if k != "template_seeds"}, indent=1,
                     default=str))
    per_seed = list(report["template_seeds"].values())
    for name in ("ds1_paced", "nstdb"):
        if not all(name in r for r in per_seed):  # e.g. a run of folds holding no nstdb record
            continue
        for line in LINES:
            f1 = [r[name][line]["veb"]["F1"] for r in per_seed]
            if None in f1:  # no ventricular beat in these records
                print(f"{name} {line}: VEB F1 undefined (no V beat)")
                continue
            print(f"{name} {line}: VEB F1 by template seed "
                  + " ".join(f"{v:.2f}" for v in f1) + f" (mean {np.mean(f1):.2f})")
    worst = sorted(report["per_record_shipped"].items(), key=lambda kv: -sum(kv[1].values()))
    print("shipped, V errors per record (mean over template seeds): " + ", ".join(
        f"{r} {e['FN']:.0f} FN {e['FP']:.0f} FP" for r, e in worst[:10] if sum(e.values())))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, default=str))


if __name__ == "__main__":
    main()
