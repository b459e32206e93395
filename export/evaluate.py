"""Judge a training recipe where users' archives judge it: on patients and recorders it never saw.

    python -m ecgtk.export.evaluate --data ../shared/data --out scratch/eval [--k 4] [--seed 0]

Two designs, each a set of folds of :func:`ecgtk.export.crossval.run_fold` (both models
trained on the fold's training patients, with a patient-wise validation split for early
stopping and thresholds; the held-out records run through detector -> model 1 -> model 2):

- **leave one database out** (``OUT/lodo``): fold 0 trains on MIT-BIH (DS1 + paced; model 1
  also on the nstdb noise-stress copies of its patients) and is scored on svdb (128 Hz Holter);
  fold 1 trains on svdb and is scored on MIT-BIH and on nstdb 118e*/119e*. This is the shift a
  user's archive from another recorder brings: choose recipes by it.
- **patient-wise cross-validation over both databases** (``OUT/cv``, ``--k`` folds of the 65
  patients), scored per database: a guide, not a target.

Every held-out record's calls are then labelled as ``ecgtk run`` labels them (the pause rescue,
templates, the morphological rules and the template vote, :func:`ecgtk.export.out_of_fold.
labels_of`) and scored beat by beat (EC57, 150 ms) per database: beats Se / +P, VEB Se / +P /
F1, and the same for model 2 alone (its threshold, no rules). nstdb is reported at 6 dB and at
0 dB separately. Folds resume: a finished fold is not trained again. Writes
``OUT/evaluation.json`` and prints one table. Needs the ``train`` extra (TensorFlow).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

from ecgtk.export.distill import (
    NARROW_BEAT_ARCH,
    NARROW_VENTRICULAR_ARCH,
    SLIM_BEAT_ARCH,
    STUDENT_ARCH,
)
from ecgtk.export.out_of_fold import labels_of, load_folds, search_dirs
from ecgtk.export.records import (
    ALL_RECORDS,
    SVDB,
    database_of,
    kfold_by_patient,
)
from ecgtk.labelling.rules import ValidationRules
from ecgtk.scoring import score_many, score_record

__all__ = ["NEEDS_TEACHER", "RECIPES", "cv_records", "evaluate", "group_of",
           "lodo_folds", "recipe_settings", "rescored", "score_run"]

_RECORDERS = {"resample_rates": (128.0, 250.0, 500.0), "resample_probability": 0.5,
              "swap_probability": 0.5, "flip_probability": 0.1}

#: The narrower networks of the ``compact`` recipe (:func:`ecgtk.export.architecture.build_model`
#: arguments; model 2 keeps its stem stride). Measured for speed (issue 38) and not kept: model
#: 2 so narrow lost 14 points of VEB F1 trained on svdb and scored on MIT-BIH, and model 1
#: missed more beats under noise (research/compact_models_plan.md).
COMPACT_ARCH = {
    "beat": {"stem_filters": 16, "block_filters": (16, 32, 64), "lstm_units": 16},
    "ventricular": {"stem_filters": 24, "block_filters": (24, 48, 96), "lstm_units": 24},
}
#: Training recipes the evaluation can compare, by name: per model, augmentation over its
#: defaults (``ecgtk.export.train.DEFAULT_AUGMENT``; a model not named keeps them).
#: ``shipped``: the shipped models' recipe. ``recorders``: also a sampling-rate round trip
#: (128, 250, 500 Hz), lead-order swaps and polarity inversion, for recordings from recorders
#: the models never saw. ``noise``: half of model 2's training windows get a piece of the
#: nstdb noise records bw, em, ma at 0-12 dB (:mod:`ecgtk.export.real_noise`; em without the
#: stretches nstdb 118e*/119e* carry), so that a noise burst is an artefact or N, never V;
#: model 1 keeps its recipe (it already learns from records made noisy with them).
#: ``noise_mild``: the same on a quarter of the windows at 6-18 dB.
#: ``compact``: the shipped augmentation with narrower networks (issue 38: about 4x fewer
#: multiply-adds for model 1, 2x for one member of model 2; not kept), an ``"arch"`` entry
#: being :func:`ecgtk.export.architecture.build_model` arguments over ``DEFAULT_ARCH``.
#: ``distilled``: the compact networks as students of a finished run's fold models
#: (``--teacher-run``: the shipped recipe's run of the same seed), learning half from the
#: teacher's probabilities on every augmented window (``TrainSettings.teacher``).
#: ``distilled_middle``: model 2 alone as a student of the middle width
#: (:data:`ecgtk.export.distill.STUDENT_ARCH`: one such network is about 3.4x cheaper to run
#: than the 1.3.0 pair, ``python -m benchmarks.bench_architectures``); model 1 as shipped.
#: ``distilled_both``: that, and model 1 a student of the same middle width (about 1.7x
#: cheaper than the shipped model 1); ``distilled_both_narrow``: model 1 a student of
#: 24/48/96 channels, LSTM 24 (about 2.1x; research/compact_models_plan.md, experiment 5).
#: ``distilled_stride4``: 0.5.0's students, model 2's stem of stride 4 (about 1.8x cheaper
#: than stride 2; experiment 6: not kept, it lost the shift to MIT-BIH).
#: ``distilled_beat_slim``: 0.5.0's students, model 1 at 16/32/64 channels with LSTM 24
#: (:data:`ecgtk.export.distill.SLIM_BEAT_ARCH`, about 1.7x cheaper than 0.5.0's; experiment 7:
#: not kept). ``distilled_m2_narrow``: 0.5.0's students, model 2 at 32/64/96 channels with LSTM
#: 24 (:data:`ecgtk.export.distill.NARROW_VENTRICULAR_ARCH`, about 1.2x cheaper; experiment 8).
RECIPES = {
    "shipped": {},
    "recorders": {"beat": _RECORDERS, "ventricular": _RECORDERS},
    "noise": {"ventricular": {"real_noise_probability": 0.5, "real_noise_snr_db": (0.0, 12.0),
                              "real_noise_kinds": ("bw", "em", "ma"),
                              "real_noise_spare_proxies": True}},
    "noise_mild": {"ventricular": {"real_noise_probability": 0.25,
                                   "real_noise_snr_db": (6.0, 18.0),
                                   "real_noise_kinds": ("bw", "em", "ma"),
                                   "real_noise_spare_proxies": True}},
    "compact": {"beat": {"arch": COMPACT_ARCH["beat"]},
                "ventricular": {"arch": COMPACT_ARCH["ventricular"]}},
    "distilled": {"beat": {"arch": COMPACT_ARCH["beat"], "taught": True},
                  "ventricular": {"arch": COMPACT_ARCH["ventricular"], "taught": True}},
    "distilled_middle": {"ventricular": {"arch": STUDENT_ARCH, "taught": True}},
    "distilled_both": {"beat": {"arch": STUDENT_ARCH, "taught": True},
                       "ventricular": {"arch": STUDENT_ARCH, "taught": True}},
    "distilled_both_narrow": {"beat": {"arch": NARROW_BEAT_ARCH, "taught": True},
                              "ventricular": {"arch": STUDENT_ARCH, "taught": True}},
    "distilled_stride4": {"beat": {"arch": NARROW_BEAT_ARCH, "taught": True},
                          "ventricular": {"arch": {**STUDENT_ARCH, "stem_stride": 4},
                                          "taught": True}},
    "distilled_beat_slim": {"beat": {"arch": SLIM_BEAT_ARCH, "taught": True},
                            "ventricular": {"arch": STUDENT_ARCH, "taught": True}},
    "distilled_m2_narrow": {"beat": {"arch": NARROW_BEAT_ARCH, "taught": True},
                            "ventricular": {"arch": NARROW_VENTRICULAR_ARCH, "taught": True}},
}
#: Recipes whose networks (those marked ``"taught"``) learn from a teacher run
#: (``evaluate(teacher_run=...)``).
NEEDS_TEACHER = tuple(name for name, kinds in RECIPES.items()
                      if any(k.get("taught") for k in kinds.values()))

#: The groups a score is reported for: a held-out record's database, nstdb by its SNR.
NSTDB_GROUPS = {"06": "nstdb 6 dB", "00": "nstdb 0 dB"}


def group_of(record: str) -> str | None:
    """The group a held-out record is scored in (None: not reported, e.g. nstdb at 24 dB)."""
    database = database_of(record)
    if database == "nstdb":
        return NSTDB_GROUPS.get(record[-2:])
    return database


def lodo_folds() -> list[tuple[str, list[str], list[str]]]:
    """``(name, train_records, test_records)`` of the two leave-one-database-out folds (the
    nstdb copies of held-out patients are scored by :func:`run_fold` itself)."""
    return [("mitdb -> svdb", list(ALL_RECORDS), list(SVDB)),
            ("svdb -> mitdb", list(SVDB), list(ALL_RECORDS))]


def score_run(run_dir: Path, data: Sequence[Path]) -> dict:
    """Gross scores per group of every held-out record of a run's finished folds, with the
    pipeline's rules and with model 2 alone: ``{group: {"pipeline": ..., "model_alone": ...,
    "records": [...]}}`` (``"pipeline"``/``"model_alone"``: the ``beats`` and ``veb`` gross
    counts and ratios of :func:`ecgtk.scoring.score_many`)."""
    features, thresholds = load_folds(Path(run_dir), search_dirs(list(data)))
    rules = ValidationRules()
    by_group: dict[str, dict[str, list]] = {}
    for f in features:
        group = group_of(f["record"])
        if group is None:
            continue
        slot = by_group.setdefault(group, {"pipeline": [], "model_alone": [], "records": []})
        for name, setting in (("pipeline", rules), ("model_alone", None)):
            labels, _ = labels_of(f, thresholds, setting)
            slot[name].append(score_record(f["reference"], f["samples"], labels))
        slot["records"].append(f["record"])
    return {group: {"pipeline": _brief(score_many(s["pipeline"])["gross"]),
                    "model_alone": _brief(score_many(s["model_alone"])["gross"]),
                    "records": s["records"]}
            for group, s in sorted(by_group.items())}


def _brief(gross: dict) -> dict:
    return {key: {k: gross[key][k] for k in ("TP", "FN", "FP", "Se", "+P", "F1")
                  if k in gross[key]}
            for key in ("beats", "veb") if key in gross}


def recipe_settings(recipe: str, data: Sequence[str | Path] = ()) -> dict | None:
    """``{kind: TrainSettings}`` of a recipe of :data:`RECIPES` (None: the defaults);
    ``data``: the training data folders, where real noise is loaded from."""
    from dataclasses import replace

    from ecgtk.export.train import DEFAULT_AUGMENT, TrainSettings

    if recipe not in RECIPES:
        raise ValueError(f"recipe must be one of {', '.join(RECIPES)}, not {recipe!r}")
    if not RECIPES[recipe]:
        return None
    settings = {}
    for kind in ("beat", "ventricular"):
        augment = dict(RECIPES[recipe].get(kind, {}))
        arch = augment.pop("arch", {})
        augment.pop("taught", None)
        settings[kind] = TrainSettings(verbose=2, noise_dirs=[str(d) for d in data], arch=arch,
                                       augment=replace(DEFAULT_AUGMENT[kind], **augment))
    return settings


def cv_records(databases: Sequence[str] = ("mitdb", "svdb")) -> list[str]:
    """The records whose patients the cross-validation splits: MIT-BIH (DS1 + paced) and/or
    svdb (nstdb's copies follow their patients inside :func:`run_fold`)."""
    unknown = sorted(set(databases) - {"mitdb", "svdb"})
    if unknown or not databases:
        raise ValueError(f"cross-validation databases are mitdb and/or svdb, not {unknown}")
    return ((list(ALL_RECORDS) if "mitdb" in databases else [])
            + (list(SVDB) if "svdb" in databases else []))


def evaluate(data: Sequence[Path], out: Path, *, k: int = 4, seed: int = 0,
             designs: Sequence[str] = ("lodo", "cv"), recipe: str = "shipped",
             cv_databases: Sequence[str] = ("mitdb", "svdb"),
             teacher_run: Path | None = None) -> dict:
    """Run (or resume) the designs with a recipe of :data:`RECIPES` and score them; returns
    (and writes) the summary. ``cv_databases``: whose patients the cross-validation splits
    (both by default; ``("mitdb",)`` is the MIT-BIH-alone arm of the same protocol).
    ``teacher_run``: for a recipe of :data:`NEEDS_TEACHER`, a finished run (same seed, k and
    databases) whose fold models teach each fold's networks."""
    from ecgtk.export.crossval import run_fold

    if (recipe in NEEDS_TEACHER) != (teacher_run is not None):
        raise ValueError(f"a teacher run goes with the recipes {', '.join(NEEDS_TEACHER)} "
                         f"and only with them (recipe {recipe!r})")
    out = Path(out)
    settings = recipe_settings(recipe, data)
    taught = tuple(k for k, v in RECIPES[recipe].items() if v.get("taught"))
    for s in (settings or {}).values():  # missing noise records fail now, not after a fold
        if s.augment.real_noise_probability > 0:
            from ecgtk.export.real_noise import load_noise_bank

            load_noise_bank(s.noise_dirs, s.augment.real_noise_kinds)
    summary: dict = {"seed": seed, "k": k, "recipe": recipe,
                     "cv_databases": list(cv_databases),
                     **({"teacher_run": str(teacher_run)} if teacher_run else {})}
    if "lodo" in designs:
        for i, (name, train, test) in enumerate(lodo_folds()):
            print(f"leave one database out, fold {i} ({name})", flush=True)
            run_fold(i, train, test, data, out / "lodo", seed=seed, settings=settings,
                     teacher_dir=teacher_run and Path(teacher_run) / "lodo", taught=taught)
        summary["lodo"] = score_run(out / "lodo", data)
    if "cv" in designs:
        records = cv_records(cv_databases)
        for i, (train, test) in enumerate(kfold_by_patient(records, k, seed=seed)):
            print(f"cross-validation over {' + '.join(cv_databases)}, fold {i + 1}/{k}",
                  flush=True)
            run_fold(i, train, test, data, out / "cv", seed=seed, settings=settings,
                     teacher_dir=teacher_run and Path(teacher_run) / "cv", taught=taught)
        summary["cv"] = score_run(out / "cv", data)
    (out / "evaluation.json").write_text(json.dumps(summary, indent=1))
    return summary


def rescored(path: Path, summary: dict) -> None:
    """Put the designs of ``summary`` (scored again) into the run's ``evaluation.json`` at
    ``path``, its settings (seed, recipe, ...) kept; written atomically. A run without one
    gets none: its settings are unknown."""
    if not path.is_file() or not summary:
        return
    from ecgtk.export.modelcard import _write_atomic

    whole = json.loads(path.read_text())
    whole.update(summary)
    _write_atomic(path, json.dumps(whole, indent=1))


def table(summary: dict) -> str:
    """The summary as fixed-width text: one line per design and group."""
    lines = [f"{'design':<7} {'held out':<11} {'recs':>4}  {'beats Se':>8} {'+P':>6}  "
             f"{'VEB Se':>6} {'+P':>6} {'F1':>6}  {'model 2 alone: VEB F1':>21}"]
    for design in ("lodo", "cv"):
        for group, s in summary.get(design, {}).items():
            beats, veb = s["pipeline"]["beats"], s["pipeline"].get("veb", {})
            alone = s["model_alone"].get("veb", {})
            lines.append(
                f"{design:<7} {group:<11} {len(s['records']):>4}  {beats['Se']:>8.2f} "
                f"{beats['+P']:>6.2f}  {veb.get('Se', float('nan')):>6.2f} "
                f"{veb.get('+P', float('nan')):>6.2f} {veb.get('F1', float('nan')):>6.2f}  "
                f"{alone.get('F1', float('nan')):>21.2f}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m ecgtk.export.evaluate",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, nargs="+", required=True,
                    help="folder(s) holding mitdb/, nstdb/ and svdb/")
    ap.add_argument("--out", type=Path, required=True,
                    help="work folder (folds resume from it)")
    ap.add_argument("--k", type=int, default=4, help="cross-validation folds")
    ap.add_argument("--seed", type=int, default=0, help="training and split seed")
    ap.add_argument("--designs", nargs="+", choices=("lodo", "cv"), default=["lodo", "cv"],
                    help="which designs to run (default both)")
    ap.add_argument("--recipe", choices=tuple(RECIPES), default="shipped",
                    help="training recipe (use one --out per recipe)")
    ap.add_argument("--cv-databases", nargs="+", choices=("mitdb", "svdb"),
                    default=["mitdb", "svdb"],
                    help="whose patients the cross-validation splits (default both; "
                         "use one --out per choice)")
    ap.add_argument("--threads", type=int, default=2,
                    help="TensorFlow threads (1 when two evaluations share two cores)")
    ap.add_argument("--teacher-run", type=Path,
                    help="with a distilled recipe: a finished run of the shipped recipe, same "
                         "seed, whose fold models teach")
    ap.add_argument("--score-only", action="store_true",
                    help="score the folds already finished under --out again (after a change "
                         "of ecgtk run's labelling, say) and update OUT/evaluation.json's "
                         "tables; train nothing")
    args = ap.parse_args(argv)
    if args.score_only:
        summary = {d: score_run(args.out / d, args.data) for d in args.designs
                   if (args.out / d).is_dir()}
        rescored(args.out / "evaluation.json", summary)
    else:
        from ecgtk.export.train import configure_tensorflow

        configure_tensorflow(args.threads)
        summary = evaluate(args.data, args.out, k=args.k, seed=args.seed,
                           designs=args.designs, recipe=args.recipe,
                           cv_databases=args.cv_databases, teacher_run=args.teacher_run)
    print(table(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

