"""Do ecgtk's own K-means templates label beats as scikit-learn's did? (research/kmeans_plan.md)

    python -m research.kmeans_eval --data ../shared/data [--runs DIR ...] [--json out.json]

Each run (default: the shipped recipe's four evaluation runs under
``scratch/distilled/m124_{lodo,cv}_s{0,1}``) has its held-out records' model outputs stored;
they are labelled again by ``ecgtk run``'s decision with each grouping arm and scored per
database (EC57, 150 ms): A scikit-learn as 0.5.2 shipped it (seeds 0-2), A' the same with
seeds 3-5 (the seed spread), B ``ecgtk.kernels.kmeans`` (seeds 0-2), C the same fitted on
1,000 beats drawn at random, D fitted so then converged on all beats (the long-recording
paths, experiments 1 and 2 of the plan), E one K-means start per grouping (experiment 3).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

import ecgtk.labelling.templates as templates
from ecgtk.export.evaluate import group_of
from ecgtk.export.out_of_fold import labels_of, load_folds, search_dirs
from ecgtk.kernels.kmeans import kmeans
from ecgtk.labelling.rules import ValidationRules
from ecgtk.scoring import score_many, score_record

RUNS = [f"scratch/distilled/m124_{d}_s{s}/{d}" for d in ("lodo", "cv") for s in (0, 1)]
MINIBATCH_ABOVE = 20_000  # 0.5.2's switch to MiniBatchKMeans


def sklearn_kmeans(shapes: np.ndarray, k: int, seed: int) -> np.ndarray:
    """0.5.2's grouping: scikit-learn's KMeans (MiniBatchKMeans above 20,000 beats)."""
    from sklearn.cluster import KMeans, MiniBatchKMeans

    if k <= 1:
        return np.zeros(len(shapes), dtype=np.int64)
    if len(shapes) > MINIBATCH_ABOVE:
        model = MiniBatchKMeans(n_clusters=k, random_state=seed, batch_size=4096, n_init=3)
    else:
        model = KMeans(n_clusters=k, random_state=seed, n_init=3)
    return model.fit_predict(shapes).astype(np.int64)


def kmeans_fitted_on_sample(x: np.ndarray, k: int, seed: int, rows: int) -> np.ndarray:
    """Arm C: the centres fitted on ``rows`` rows drawn at random, every row to its nearest
    (the first version of ``ecgtk.kernels.kmeans``'s long-input path)."""
    from ecgtk.kernels.kmeans import nearest_centres

    if len(x) <= rows:
        return kmeans(x, k, seed)
    sample = x[np.sort(np.random.RandomState(seed).choice(len(x), rows, replace=False))]
    labels = kmeans(sample, k, seed)
    centres = np.stack([sample[labels == c].mean(axis=0) for c in np.unique(labels)])
    return nearest_centres(x, centres)[0]


ARMS: dict[str, tuple[Callable, int]] = {  # name: (grouping, template seed set)
    "A_sklearn": (sklearn_kmeans, 0),
    "A2_sklearn_seeds_3_5": (sklearn_kmeans, 1),
    "B_ecgtk": (lambda x, k, seed: kmeans(x, k, seed), 0),
    "C_ecgtk_fit_1000": (lambda x, k, seed: kmeans_fitted_on_sample(x, k, seed, 1000), 0),
    "D_ecgtk_fit_1000_then_all": (lambda x, k, seed: kmeans(x, k, seed, fit_rows=1000), 0),
    "E_ecgtk_one_start": (lambda x, k, seed: kmeans(x, k, seed, n_init=1), 0),
}


def score_arm(features: list[dict], thresholds: dict, arm: str) -> dict:
    """Pipeline gross scores per group with the grouping of ``arm``."""
    grouping, template_seed = ARMS[arm]
    templates._kmeans = grouping  # the pipeline's grouping, swapped for this arm
    rules = ValidationRules()
    scores: dict[str, list] = {}
    for f in features:
        f.pop("_templates", None)  # the cache of the previous arm's groupings
        group = group_of(f["record"])
        if group is not None:
            labels, _ = labels_of(f, thresholds, rules, template_seed=template_seed)
            scores.setdefault(group, []).append(
                score_record(f["reference"], f["samples"], labels))
    out = {}
    for group, records in sorted(scores.items()):
        gross = score_many(records)["gross"]
        out[group] = {key: {k: round(gross[key][k], 3) for k in ("Se", "+P", "F1")
                            if k in gross[key]} for key in ("beats", "veb")}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, nargs="+", required=True)
    ap.add_argument("--runs", type=Path, nargs="+", default=[Path(r) for r in RUNS])
    ap.add_argument("--json", type=Path)
    ap.add_argument("--arms", nargs="+", choices=tuple(ARMS), default=list(ARMS),
                    help="which arms (default all; A is always scored: the others are "
                         "compared with it)")
    args = ap.parse_args()
    arms = ["A_sklearn", "A2_sklearn_seeds_3_5"] + [a for a in args.arms
                                                    if not a.startswith("A")]
    shipped = templates._kmeans
    result: dict = {}
    try:
        for run in args.runs:
            features, thresholds = load_folds(run, search_dirs(list(args.data)))
            result[str(run)] = {arm: score_arm(features, thresholds, arm) for arm in arms}
            for arm, groups in result[str(run)].items():
                print(run, arm, {g: s["veb"]["F1"] for g, s in groups.items()}, flush=True)
    finally:
        templates._kmeans = shipped
    result["summary"] = summarise(result)
    print(json.dumps(result["summary"], indent=1))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")


def summarise(result: dict) -> dict:
    """Per group: each arm's four-run mean minus A's (VEB F1, beats Se, +P) and the seed
    spread (largest |A' - A| of VEB F1 over the runs)."""
    runs = [r for r in result if r != "summary"]
    groups = sorted(result[runs[0]]["A_sklearn"])
    out = {}
    for g in groups:
        def mean(arm: str, key: str, stat: str, g: str = g) -> float:
            return float(np.mean([result[r][arm][g][key][stat] for r in runs]))
        out[g] = {"seed_spread_veb_f1": max(abs(result[r]["A2_sklearn_seeds_3_5"][g]["veb"]["F1"]
                                                - result[r]["A_sklearn"][g]["veb"]["F1"])
                                            for r in runs)}
        for arm in result[runs[0]]:
            out[g][arm] = {f"{key} {stat}": round(mean(arm, key, stat) - mean("A_sklearn", key,
                                                                             stat), 3)
                           for key, stat in (("veb", "F1"), ("beats", "Se"), ("beats", "+P"))}
            out[g][arm]["veb F1 mean"] = round(mean(arm, "veb", "F1"), 3)
    return out


if __name__ == "__main__":
    main()
