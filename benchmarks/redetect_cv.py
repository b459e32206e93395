"""A cross-validation run's out-of-fold calls made again with the current detector.

    python -m ecgtk.benchmarks.redetect_cv --cv-dir WORK/cv_ensemble --model1-dir WORK/cv \\
        --data ../shared/data --out WORK/cv_redetected

When the detector changes, the held-out records' candidates of an earlier run
(:mod:`ecgtk.export.crossval`, :mod:`ecgtk.export.ensemble_crossval`) are not the ones
``ecgtk run`` now finds. This keeps each fold's models and thresholds, detects every held-out
record again, and writes the fold's calls as that run did (``fold<i>/probs_<record>.npz`` with
``candidates``, ``p_beat``, ``p_ventricular``, and ``fold.json``): model 1 is
``MODEL1_DIR/fold<i>/beat.keras``, model 2 the average of ``CV_DIR/fold<i>/ventricular*.keras``
(one file: that model alone). Every probability still comes from models that never saw the
record's patient, so ``validation_eval``, ``pause_eval`` and ``detector_pipeline_cv`` read the
new folder like any run. Only training is left out: the models were trained on the earlier
detector's candidates (model 1's negatives are candidates that match no beat). Needs
TensorFlow (the ``train`` extra).
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import numpy as np


def redetect_fold(fold_dir: Path, model1_dir: Path, data: list[Path], out_dir: Path,
                  members_dir: Path | None = None) -> int:
    """Write one fold's calls with the current detector; returns how many records it did.
    Model 2 is the average of ``members_dir/ventricular*.keras`` (default: ``fold_dir``'s)."""
    from ecgtk.export.crossval import PipelineModels, _load, run_pipeline
    from ecgtk.export.dataset import load_record
    from ecgtk.export.train import predict_proba, trained_before
    from ecgtk.inputs import leads_of_context_input

    out_dir.mkdir(parents=True, exist_ok=True)
    members_dir = members_dir or fold_dir
    members = [_load(p) for p in sorted(members_dir.glob("ventricular*.keras"))]
    if not members:
        raise SystemExit(f"no ventricular*.keras in {members_dir}")
    model1 = trained_before(model1_dir / fold_dir.name, "beat")
    if model1 is None:
        raise SystemExit(f"no beat.keras with its beat.train.json in {model1_dir / fold_dir.name}")

    def ventricular(x: np.ndarray) -> np.ndarray:
        return np.mean([predict_proba(m, x) for m in members], axis=0)

    path, facts = model1  # its leads and inputs as the run that trained it recorded them
    models = PipelineModels(_load(path), ventricular, beat_leads=facts["n_leads"],
                            ventricular_leads=leads_of_context_input(members[0].input_shape[-1]),
                            beat_context=bool(facts["context"]))
    records = sorted(fold_dir.glob("probs_*.npz"))
    for npz in records:
        rd = load_record(data, npz.stem.removeprefix("probs_"))
        np.savez(out_dir / npz.name, **run_pipeline(rd.signal, models, rd.fs))
    shutil.copy2(fold_dir / "fold.json", out_dir / "fold.json")  # the fold's thresholds
    return len(records)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cv-dir", type=Path, required=True,
                        help="the run whose folds' model 2, thresholds and records to use")
    parser.add_argument("--model1-dir", type=Path, required=True,
                        help="the run whose fold<i>/beat.keras are model 1")
    parser.add_argument("--data", type=Path, nargs="+", default=[Path("../shared/data")])
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    from ecgtk.benchmarks.validation_eval import search_dirs
    from ecgtk.export.train import configure_tensorflow

    configure_tensorflow(2)
    data = search_dirs(args.data)
    done = {}
    for fold_dir in sorted(args.cv_dir.glob("fold*")):
        if (fold_dir / "fold.json").is_file():
            done[fold_dir.name] = redetect_fold(fold_dir, args.model1_dir, data,
                                                args.out / fold_dir.name)
            print(f"{fold_dir.name}: {done[fold_dir.name]} records", flush=True)
    (args.out / "redetected.json").write_text(json.dumps(
        {"cv_dir": str(args.cv_dir), "model1_dir": str(args.model1_dir), "records": done},
        indent=1))


if __name__ == "__main__":
    main()
