"""Rule 7 (distinct templates): each setting and the one chosen on the other folds.

    python -m ecgtk.benchmarks.distinct_eval --cv-dir scratch/cv_ap_refit --template-seeds 3

Rule 7 of :mod:`ecgtk.validation` calls V a template whose decision probability is within a
margin of the threshold and far above the recording's largest template (both in logits).
Here every other rule keeps its shipped setting, rule 7 is off or takes each (margin, gap) of
:data:`MARGINS` x :data:`GAPS`, and every record of a cross-validation run is labelled from its
fold's out-of-fold probabilities and scored (EC57 VEB over DS1 + paced and over the
noise-stress records), ``--template-seeds`` times with other K-means seeds. The "chosen" line
takes, per fold, the setting best on the *other* folds' records (as ``validation_eval`` does), so
it is an honest estimate of the rule with its numbers chosen on data.
"""

from __future__ import annotations

import dataclasses
import itertools
import json

import numpy as np

from ecgtk.benchmarks.validation_eval import (
    choose_per_fold,
    chosen_line,
    cv_parser,
    load_folds,
    record_scores,
    search_dirs,
    veb_f1,
)
from ecgtk.scoring import score_many
from ecgtk.validation import ValidationRules

MARGINS = (0.5, 1.0, 1.5, 2.0)
GAPS = (4.0, 5.0, 6.0)


def settings() -> list[ValidationRules]:
    """Rule 7 off (first), then every (margin, gap), the other rules as shipped."""
    off = dataclasses.replace(ValidationRules(), distinct_template_margin=None)
    return [off] + [dataclasses.replace(ValidationRules(), distinct_template_margin=m,
                                        distinct_template_gap=g)
                    for m, g in itertools.product(MARGINS, GAPS)]


def name_of(rules: ValidationRules) -> str:
    if rules.distinct_template_margin is None:
        return "off"
    return f"margin {rules.distinct_template_margin:g} gap {rules.distinct_template_gap:g}"


def per_record_errors(features: list[dict], scores: list[list[dict]]) -> dict[str, list[float]]:
    """Missed and false V beats of each record, means over the seed sets of one setting."""
    out = {}
    for i, f in enumerate(features):
        veb = [s[i].get("veb") or {} for s in scores]
        out[f["record"]] = [float(np.mean([v.get("FN") or 0 for v in veb])),
                            float(np.mean([v.get("FP") or 0 for v in veb]))]
    return out


def evaluate(features: list[dict], thresholds: dict, template_seeds: int,
             show: tuple[float, float] = (1.0, 5.0)) -> dict:
    """Every setting's VEB F1 (means over the seed sets), the honest choice, and per record
    the errors with rule 7 off and at ``show`` (margin, gap)."""
    grid = settings()
    clean = [f for f in features if "e" not in f["record"]]
    noisy = [f for f in features if "e" in f["record"]]
    report = {"settings": {}}
    for group_name, group in (("ds1_paced", clean), ("nstdb", noisy)):
        if not group:
            continue
        scores = record_scores(group, thresholds, grid, template_seeds)
        for rules, per_setting in zip(grid, scores, strict=True):
            f1 = [veb_f1(score_many(s)["gross"]) or 0.0 for s in per_setting]
            report["settings"].setdefault(name_of(rules), {})[group_name] = float(np.mean(f1))
        if group_name == "ds1_paced":
            chosen = choose_per_fold(group, sorted(thresholds), scores)
            line = [veb_f1(g) or 0.0 for g in chosen_line(group, scores, chosen)]
            report["chosen_per_fold"] = {fold: name_of(grid[k]) for fold, k in chosen.items()}
            report["chosen_on_other_folds"] = {"per_seed_set": line, "mean": float(np.mean(line))}
            shown = grid.index(dataclasses.replace(
                ValidationRules(), distinct_template_margin=show[0], distinct_template_gap=show[1]))
            report["per_record"] = {"off": per_record_errors(group, scores[0]),
                                    name_of(grid[shown]): per_record_errors(group, scores[shown])}
    return report


def main(argv: list[str] | None = None) -> dict:
    parser = cv_parser(__doc__.splitlines()[0])
    parser.add_argument("--template-seeds", type=int, default=3,
                        help="repeat with N sets of K-means seeds for the groupings")
    parser.add_argument("--show", type=float, nargs=2, default=(1.0, 5.0),
                        metavar=("MARGIN", "GAP"), help="the setting whose errors per record "
                        "are printed beside rule 7 off (one of the grid's)")
    args = parser.parse_args(argv)
    features, thresholds = load_folds(args.cv_dir, search_dirs(args.data))
    report = evaluate(features, thresholds, args.template_seeds, tuple(args.show))
    for name, line in report["settings"].items():
        cells = ", ".join(f"{k} {v:.2f}" for k, v in line.items())
        print(f"rule 7 {name}: VEB F1 {cells} (means over {args.template_seeds} seed sets)")
    print(f"chosen on the other folds: {report['chosen_on_other_folds']['mean']:.2f} "
          f"{report['chosen_per_fold']}")
    shown = [k for k in report["per_record"] if k != "off"][0]
    print(f"record: missed / false V beats, rule 7 off | {shown}")
    for record, off in report["per_record"]["off"].items():
        on = report["per_record"][shown][record]
        if off != on:
            print(f"  {record}: {off[0]:.0f} / {off[1]:.0f} | {on[0]:.0f} / {on[1]:.0f}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, default=str))
    return report


if __name__ == "__main__":
    main()
