"""Does the ``pause`` rule give back beats model 1 rejected? Measured on out-of-fold calls.

    python -m ecgtk.benchmarks.pause_eval --cv-dir WORK/cv_ensemble --data ../shared/data

Input: a patient-wise cross-validation run of ``ecgtk.export.crossval`` (its fold folders hold
each held-out record's candidates with model 1's and model 2's probabilities, the latter for
every candidate, and the fold's thresholds). The rule (:func:`ecgtk.validation.rescue_pauses`)
is applied to each 10-minute chunk's candidates, as ``ecgtk run`` applies it, then the
pipeline's decision (:func:`ecgtk.classify.decide_labels`, shipped rules) labels the beats,
and beats and ventricular beats are scored against the reference (EC57, 150 ms). Each fold's
setting of :data:`GRID` (or the rule off) is chosen on the *other* folds' DS1 + paced records
(gross beat F1 + VEB F1), so the "chosen" line is an honest estimate. The noise-stress
records are reported apart, and 118e06 + 119e06 (the issue's noise level) on their own.

Ventricular scores move with the K-means seed of the templates alone (a template near the
threshold flips with its neighbours), so ``--template-seeds N`` repeats the whole comparison
with the templates of seeds 0 .. N-1 and reports each; a difference smaller than the spread
between seeds is not one. Beats and artefacts do not depend on the templates.
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

import numpy as np

from ecgtk.beat_models import ChunkCalls
from ecgtk.benchmarks.validation_eval import objective, record_features
from ecgtk.classify import decide_labels
from ecgtk.detect import DEFAULT_CHUNK_S
from ecgtk.scoring import score_many, score_record
from ecgtk.templates import Templates, cluster_beats
from ecgtk.validation import PauseRule, ValidationRules, rescue_pauses

GRID = {"min_pause_rr": [1.6, 1.8, 2.0], "max_pause_rr": [2.4, 2.6, 3.0],
        "min_split_rr": [0.5, 0.6, 0.7]}
HEADLINE_NOISE = ("118e06", "119e06")


def chunked_rescue(f: dict, threshold: float, rule: PauseRule | None) -> np.ndarray:
    """Model 1's calls on a record with the rule applied chunk by chunk, as in ``ecgtk run``."""
    is_beat = f["p_beat"] >= threshold
    if rule is None:
        return is_beat
    chunk = int(DEFAULT_CHUNK_S * f["reference"].fs)
    edges = np.searchsorted(f["samples"], np.arange(0, f["samples"][-1] + chunk, chunk))
    out = is_beat.copy()
    for lo, hi in itertools.pairwise(edges):
        out[lo:hi] = rescue_pauses(f["samples"][lo:hi], f["p_beat"][lo:hi], is_beat[lo:hi], rule)
    return out


def templates_of(f: dict, rows: np.ndarray, seed: int) -> Templates:
    """The templates of a record's beats ``rows`` with K-means ``seed``, cached."""
    cache = f.setdefault("_templates", {})
    key = (rows.tobytes(), seed)
    if key not in cache:
        cache[key] = cluster_beats(f["morphology"][rows], np.full(len(rows), "N", object),
                                   seed=seed)
    return cache[key]


def record_result(f: dict, thresholds: dict, rule: PauseRule | None,
                  template_seed: int = 0) -> tuple[dict, int]:
    """``score_record`` of one record with the rule (or without: None), and beats rescued."""
    t = thresholds[f["fold"]]
    is_beat = chunked_rescue(f, t["beat"], rule)
    n = len(f["samples"])
    calls = ChunkCalls(f["p_beat"], is_beat, f["p_ventricular"], f["morphology"],
                       f["amplitude"], np.zeros((n, 0), np.float32))
    decision = decide_labels(f["samples"], calls, t["ventricular"], ValidationRules(),
                             group=lambda rows: templates_of(f, rows, template_seed))
    rescued = int((is_beat & (f["p_beat"] < t["beat"])).sum())
    return score_record(f["reference"], f["samples"], decision.labels), rescued


def brief(results: list[tuple[dict, int]]) -> dict:
    gross = score_many([r for r, _ in results])["gross"]
    veb = gross.get("veb") or {}
    return {"rescued": sum(n for _, n in results),
            "beats": {k: gross["beats"][k] for k in ("Se", "+P", "F1", "TP", "FP", "FN")},
            "veb": {k: veb.get(k) for k in ("Se", "+P", "F1", "FP", "FN")}}


def load_folds(cv_dir: Path, data: list[Path]) -> tuple[list[dict], dict]:
    features, thresholds = [], {}
    for fold_dir in sorted(cv_dir.glob("fold*")):
        if not (fold_dir / "fold.json").is_file():
            continue
        thresholds[fold_dir.name] = json.loads((fold_dir / "fold.json").read_text())["thresholds"]
        for npz in sorted(fold_dir.glob("probs_*.npz")):
            f = record_features(data, npz.stem.removeprefix("probs_"), npz)
            f["fold"] = fold_dir.name
            features.append(f)
    if not features:
        raise SystemExit(f"no fold results (fold*/fold.json, probs_*.npz) under {cv_dir}")
    return features, thresholds


def compare(features: list[dict], thresholds: dict, template_seed: int) -> dict:
    """The rule off, with the shipped setting, and with each fold's setting chosen on the
    other folds, for DS1 + paced, the noise records and 118e06 + 119e06."""
    settings: list[PauseRule | None] = [None] + [
        PauseRule(**dict(zip(GRID, v, strict=True))) for v in itertools.product(*GRID.values())]
    results = [[record_result(f, thresholds, rule, template_seed) for f in features]
               for rule in settings]
    clean = [i for i, f in enumerate(features) if "e" not in f["record"]]
    chosen = {}
    for fold in sorted(thresholds):
        others = [i for i in clean if features[i]["fold"] != fold]
        chosen[fold] = max(range(len(settings)), key=lambda k: (objective(
            score_many([results[k][i][0] for i in others])["gross"]), k == 0))
    honest = [results[chosen[f["fold"]]][i] for i, f in enumerate(features)]
    shipped = settings.index(PauseRule())
    report = {"template_seed": template_seed,
              "chosen_per_fold": {fold: None if settings[k] is None else settings[k].__dict__
                                  for fold, k in chosen.items()}}
    groups = {"ds1_paced": clean,
              "ds1_paced_without_207": [i for i in clean if features[i]["record"] != "207"],
              "nstdb": [i for i, f in enumerate(features) if "e" in f["record"]],
              "118e06_119e06": [i for i, f in enumerate(features)
                                if f["record"] in HEADLINE_NOISE]}
    for name, rows in groups.items():
        if rows:
            report[name] = {"off": brief([results[0][i] for i in rows]),
                            "shipped": brief([results[shipped][i] for i in rows]),
                            "chosen_on_other_folds": brief([honest[i] for i in rows])}
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cv-dir", type=Path, required=True)
    parser.add_argument("--data", type=Path, nargs="+", default=[Path("../shared/data")])
    parser.add_argument("--template-seeds", type=int, default=1,
                        help="repeat with the templates' K-means seeds 0 .. N-1")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    data = [d / sub for d in args.data for sub in ("mitdb", "nstdb")] + list(args.data)
    features, thresholds = load_folds(args.cv_dir, data)
    reports = [compare(features, thresholds, seed) for seed in range(args.template_seeds)]
    for report in reports:
        print(json.dumps(report, indent=1, default=str))
    for name in ("ds1_paced", "nstdb"):
        for line in ("off", "shipped", "chosen_on_other_folds"):
            f1 = [r[name][line]["veb"]["F1"] for r in reports if name in r]
            if f1:
                print(f"{name} {line}: VEB F1 by template seed " +
                      " ".join(f"{v:.2f}" for v in f1) + f" (mean {np.mean(f1):.2f})")
    if args.json:
        args.json.write_text(json.dumps(reports, indent=1, default=str))


if __name__ == "__main__":
    main()
