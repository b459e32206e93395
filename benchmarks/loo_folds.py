"""Leave-one-patient-out folds assembled from a finished K-fold cross-validation run.

    python -m ecgtk.benchmarks.loo_folds --data ../shared/data --run scratch/cv --out scratch/loo
    python -m ecgtk.benchmarks.ensemble_cv --data ../shared/data --baseline scratch/loo \\
        --out scratch/loo_s01 --seeds 0 1 --without-baseline
    python -m ecgtk.export.refit --data ../shared/data --baseline scratch/loo \\
        --ensemble scratch/loo_s01 --out scratch/loo_s01_refit
    python -m ecgtk.benchmarks.validation_eval --cv-dir scratch/loo_s01_refit --template-seeds 3

The learning curve (:mod:`ecgtk.benchmarks.patient_curve`) says model 2's figure grows with the
patients a fold trains on, and a K-fold run trains on (K-1)/K of them; leaving one patient out
trains on all the others. Retraining model 1 per patient is not needed: every patient is held
out in one fold of the K-fold ``--run``, whose model 1 (and its beat threshold, and its calls on
that patient's records, nstdb records included) never saw the patient. So each new fold gets that
fold's model 1 and calls, and its own validation patients drawn from the others as any training
run draws them (:func:`ecgtk.export.thresholds.validation_split`); model 2 is then trained per
fold by ``ensemble_cv``, which reads the folds like any run's.
"""

from __future__ import annotations

import argparse
import json
import shutil
from collections.abc import Sequence
from pathlib import Path

from ecgtk.export.records import patient_of

#: What each new fold takes from the K-fold run's fold that held its patient out: model 1.
MODEL1_FILES = ("beat.keras", "beat.train.json")


def leave_one_out_plan(run_folds: Sequence[dict]) -> list[dict]:
    """One entry per patient held out in ``run_folds`` (the K-fold run's fold.json contents):
    ``patient``, ``source_fold`` (the fold that held it out), ``test_records`` (its records
    there), ``scored_records`` (those the run called there, nstdb ones included: the fold's
    ``records``) and ``others`` (the run's model-2 training and validation records of every
    other patient), in the run's order of folds and records."""
    model2_records = sorted({r for f in run_folds
                             for r in f["train_records"] + f["val_records"]})
    plan = []
    for fold in run_folds:
        held = list(fold.get("records") or fold["test_records"])  # scored ones, nstdb too
        for patient in dict.fromkeys(patient_of(r) for r in held):
            plan.append({
                "patient": patient, "source_fold": fold["fold"],
                "test_records": [r for r in fold["test_records"] if patient_of(r) == patient],
                "scored_records": [r for r in held if patient_of(r) == patient],
                "others": [r for r in model2_records if patient_of(r) != patient]})
    seen = [p["patient"] for p in plan]
    if len(seen) != len(set(seen)):
        raise ValueError("a patient is held out in more than one fold of the run")
    return plan


def assemble(run: Path, out: Path, data_dirs: Sequence[Path], seed: int = 0) -> list[dict]:
    """Write ``out/fold<i>/`` for every entry of :func:`leave_one_out_plan`: fold.json (the
    patient's test records, validation patients drawn from the others with ``seed``, the rest
    training, the source fold's beat threshold), the source fold's model 1 and its calls
    ``probs_<record>.npz`` on the patient's records. Returns the fold.json contents."""
    from ecgtk.export.thresholds import validation_split

    run, out = Path(run), Path(out)
    sources = {}
    for path in sorted(run.glob("fold*/fold.json")):
        meta = json.loads(path.read_text())
        sources[meta["fold"]] = (path.parent, meta)
    if not sources:
        raise FileNotFoundError(f"{run}: no finished cross-validation folds")
    folds = []
    for i, entry in enumerate(leave_one_out_plan([m for _, m in sources.values()])):
        source_dir, source = sources[entry["source_fold"]]
        train, val = validation_split(data_dirs, entry["others"], seed=seed)
        fold_dir = out / f"fold{i}"
        fold_dir.mkdir(parents=True, exist_ok=True)
        for name in MODEL1_FILES + tuple(f"probs_{r}.npz" for r in entry["scored_records"]):
            shutil.copy2(source_dir / name, fold_dir / name)
        meta = {"fold": i, "patient": entry["patient"], "source_fold": entry["source_fold"],
                "source_run": str(run), "test_records": entry["test_records"],
                "train_records": train, "val_records": val,
                "thresholds": {"beat": source["thresholds"]["beat"], "ventricular": 0.5},
                "records": {}}
        (fold_dir / "fold.json").write_text(json.dumps(meta, indent=1))
        folds.append(meta)
    return folds


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, nargs="+", required=True)
    parser.add_argument("--run", type=Path, required=True,
                        help="a finished K-fold run (ecgtk.export.crossval): model 1 per fold")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0, help="validation draw seed (default 0)")
    args = parser.parse_args(argv)
    try:
        folds = assemble(args.run, args.out, args.data, args.seed)
    except FileNotFoundError as error:
        parser.error(str(error))
    print(f"{len(folds)} leave-one-patient-out folds in {args.out}")


if __name__ == "__main__":
    main()
