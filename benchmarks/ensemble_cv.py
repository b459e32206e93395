"""Would an ensemble of model 2 (several training seeds, probabilities averaged) label better?

    python -m ecgtk.benchmarks.ensemble_cv --data ../shared/data --baseline scratch/cv \\
        --out scratch/cv_ensemble --seeds 1

For each fold of a finished cross-validation run (``--baseline``, :mod:`ecgtk.export.crossval`)
model 2 is trained again on the same records with each of ``--seeds`` (same data, settings and
validation split; only the seed of the weights, dropout and augmentation order differs). The
held-out records' model-2 probabilities of the baseline and of the new members are averaged,
the decision threshold is chosen again on the validation split's averaged probabilities (the
rule of :func:`ecgtk.export.train.choose_threshold`), and the result is written as a run of its
own (``OUT/fold<i>/probs_<record>.npz`` and ``fold.json``; model 1's calls are the baseline's).
Then ``python -m ecgtk.benchmarks.validation_eval --cv-dir OUT`` scores the ensemble through
the pipeline's per-template decision, as it scored the baseline.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import numpy as np


def member_probabilities(model, data_dirs: list[Path], record: str,
                         candidates: np.ndarray) -> np.ndarray:
    """A model 2's p(ventricular) at a record's ``candidates`` (samples at the model rate),
    with the inputs :func:`ecgtk.export.crossval.run_pipeline` gives it."""
    from ecgtk.export.dataset import load_record
    from ecgtk.export.train import predict_proba
    from ecgtk.inputs import VENTRICULAR_WINDOW, ventricular_inputs

    rd = load_record(data_dirs, record)
    x = ventricular_inputs(rd.signal[:, :2], candidates, *VENTRICULAR_WINDOW, candidates,
                           fs=rd.fs)
    return predict_proba(model, x)


def ensemble_fold(fold_dir: Path, out_dir: Path, data_dirs: list[Path],
                  seeds: list[int]) -> dict:
    """Train the extra members of one fold and write the averaged run; returns its fold.json."""
    import keras

    import ecgtk.export.architecture  # noqa: F401  (registers WeightedSum for loading)
    from ecgtk.export.dataset import build_windows
    from ecgtk.export.train import (
        TrainSettings,
        choose_threshold,
        predict_proba,
        train_windows,
        trained_before,
    )

    done = out_dir / "fold.json"
    if done.is_file():
        return json.loads(done.read_text())
    meta = json.loads((fold_dir / "fold.json").read_text())
    train = build_windows("ventricular", data_dirs, meta["train_records"])
    val = build_windows("ventricular", data_dirs, meta["val_records"])
    members = [keras.models.load_model(str(fold_dir / "ventricular.keras"))]
    for seed in seeds:
        member_dir = out_dir / f"seed{seed}"
        path, _ = trained_before(member_dir, "ventricular") or train_windows(
            "ventricular", train, val, member_dir, seed=seed, settings=TrainSettings(verbose=2))
        members.append(keras.models.load_model(str(path)))
    x_val = val.context_inputs(2)
    p_val = np.mean([predict_proba(m, x_val) for m in members], axis=0)
    threshold = choose_threshold("ventricular", p_val, val)
    for npz in sorted(fold_dir.glob("probs_*.npz")):
        record = npz.stem.removeprefix("probs_")
        calls = dict(np.load(npz))
        extra = [member_probabilities(m, data_dirs, record, calls["candidates"])
                 for m in members[1:]]
        calls["p_ventricular"] = np.mean([calls["p_ventricular"], *extra], axis=0)
        np.savez(out_dir / npz.name, **calls)
    result = {**meta, "thresholds": {**meta["thresholds"], "ventricular": threshold["threshold"]},
              "ensemble": {"seeds": [meta.get("seed", 0), *seeds], "threshold": threshold}}
    done.write_text(json.dumps(result, indent=1, default=str))
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, nargs="+", required=True)
    parser.add_argument("--baseline", type=Path, required=True,
                        help="a finished cross-validation run (folds with model 2 and probs)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1],
                        help="training seeds of the extra members")
    parser.add_argument("--folds", type=int, nargs="*", default=None)
    args = parser.parse_args(argv)
    from ecgtk.export.train import configure_tensorflow

    configure_tensorflow(2)
    fold_dirs = sorted(p for p in args.baseline.glob("fold*") if (p / "fold.json").is_file())
    if not fold_dirs:
        parser.error(f"{args.baseline}: no finished folds")
    for fold_dir in fold_dirs:
        if args.folds is not None and int(fold_dir.name.removeprefix("fold")) not in args.folds:
            continue
        out_dir = args.out / fold_dir.name
        out_dir.mkdir(parents=True, exist_ok=True)
        result = ensemble_fold(fold_dir, out_dir, args.data, args.seeds)
        print(f"{fold_dir.name}: threshold {result['thresholds']['ventricular']}", flush=True)
    shutil.copy2(args.baseline / "crossval.json", args.out / "baseline_crossval.json")


if __name__ == "__main__":
    main()
