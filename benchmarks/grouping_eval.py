"""Which groupings should the V decision average? Measured on out-of-fold calls.

    python -m ecgtk.benchmarks.grouping_eval --cv-dir WORK/cv_refit --template-seeds 4

The pipeline's V decision (:func:`ecgtk.classify.decide_labels`) averages each beat's
template mean of model 2's probability over several K-means groupings of the beats
(``ValidationRules.template_starts``: the clusters each grouping starts from). A template that
mixes a few ventricular beats into normal ones, or the other way round, takes all its beats
to one side of the threshold; groupings of other granularities cut such beats apart
differently, so their average may decide them better than three groupings of one.

Input: a patient-wise cross-validation run (as for :mod:`ecgtk.benchmarks.pause_eval`). Each
setting of :data:`SETTINGS` is scored through the whole decision, with the shipped rescue
rules, ``--template-seeds`` times (each time other K-means seeds for every grouping); VEB F1
(EC57) over DS1 + paced records is reported per setting as the mean and spread over those
seeds. The honest line chooses each fold's setting by its mean F1 on the *other* folds.
"""

from __future__ import annotations

import json

import numpy as np

from ecgtk.benchmarks.pause_eval import record_groups, record_result
from ecgtk.benchmarks.validation_eval import cv_parser, load_folds, search_dirs
from ecgtk.rescue import PauseRule
from ecgtk.scoring import score_many
from ecgtk.validation import ValidationRules

#: ``template_starts`` settings compared; the first is 0.2.2's (three groupings of 20).
SETTINGS = ((20, 20, 20), (25, 25, 25), (30, 30, 30), (20, 30, 40),
            (20, 15, 25, 30, 35, 40), (20, 20, 20, 20, 20, 20))


def veb_f1(results: list[dict]) -> float:
    """Gross VEB F1 (%) of ``score_record`` results; 0 when there is no V beat at all."""
    return (score_many(results)["gross"].get("veb") or {}).get("F1") or 0.0


def setting_scores(features: list[dict], thresholds: dict, settings: tuple, seeds: int
                   ) -> list[list[list[dict]]]:
    """``[setting][seed][record]``: each record's ``score_record`` with the shipped rescue
    rules and the decision's groupings of ``settings[i]``, template seed set ``seed``."""
    return [[[record_result(f, thresholds, PauseRule(), seed,
                            ValidationRules(template_starts=starts))[0] for f in features]
             for seed in range(seeds)] for starts in settings]


def compare(features: list[dict], thresholds: dict, settings: tuple = SETTINGS,
            seeds: int = 4) -> dict:
    """Per setting the mean and spread of VEB F1 over the seed sets, each record's missed and
    false V beats (means over the seed sets), and the line with each fold's setting chosen
    by its mean F1 on the other folds."""
    clean = record_groups(features)["ds1_paced"]
    features = [features[i] for i in clean]
    scores = setting_scores(features, thresholds, settings, seeds)
    report: dict = {"settings": {}}
    for starts, per_seed in zip(settings, scores, strict=True):
        f1 = [veb_f1(results) for results in per_seed]
        errors = {f["record"]: {k: float(np.mean([(r[i].get("veb") or {}).get(k, 0)
                                                  for r in per_seed])) for k in ("FN", "FP")}
                  for i, f in enumerate(features)}
        report["settings"][str(starts)] = {"veb_f1_mean": round(float(np.mean(f1)), 2),
                                           "veb_f1_sd": round(float(np.std(f1)), 2),
                                           "veb_f1_per_seed": [round(v, 2) for v in f1],
                                           "per_record": errors}
    chosen, honest = {}, []
    for fold in sorted(thresholds):
        others = [i for i, f in enumerate(features) if f["fold"] != fold]
        best = max(range(len(settings)), key=lambda k: (np.mean(
            [veb_f1([per_seed[i] for i in others]) for per_seed in scores[k]]), -k))
        chosen[fold] = list(settings[best])
        honest.append([[per_seed[i] for i, f in enumerate(features) if f["fold"] == fold]
                       for per_seed in scores[best]])
    f1 = [veb_f1([r for fold in honest for r in fold[seed]]) for seed in range(seeds)]
    report["chosen_per_fold"] = chosen
    report["chosen_on_other_folds"] = {"veb_f1_mean": round(float(np.mean(f1)), 2),
                                       "veb_f1_sd": round(float(np.std(f1)), 2)}
    return report


def main(argv: list[str] | None = None) -> None:
    parser = cv_parser(__doc__.splitlines()[0])
    parser.add_argument("--template-seeds", type=int, default=4,
                        help="score each setting N times, with other K-means seeds each")
    args = parser.parse_args(argv)
    features, thresholds = load_folds(args.cv_dir, search_dirs(args.data))
    report = compare(features, thresholds, seeds=args.template_seeds)
    for starts, r in report["settings"].items():
        print(f"{starts:28s} VEB F1 {r['veb_f1_mean']:6.2f} +- {r['veb_f1_sd']:.2f}  "
              f"(seed sets: {r['veb_f1_per_seed']})")
    line = report["chosen_on_other_folds"]
    print(f"{'chosen on the other folds':28s} VEB F1 {line['veb_f1_mean']:6.2f} +- "
          f"{line['veb_f1_sd']:.2f}  {report['chosen_per_fold']}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
