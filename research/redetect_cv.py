"""A cross-validation run's out-of-fold calls made again with the current detector.

    python -m research.redetect_cv --cv-dir WORK/cv_ensemble --model1-dir WORK/cv \\
        --data ../shared/data --out WORK/cv_redetected

When the detector changes, the held-out records' candidates of an earlier run
(:mod:`ecgtk.export.crossval`, :mod:`ecgtk.export.ensemble_crossval`) are not the ones
``ecgtk run`` now finds. This keeps each fold's models and thresholds, detects every held-out
record again, and writes the fold's calls as that run did (``fold<i>/probs_<record>.npz`` with
``candidates``, ``p_beat``, ``p_ventricular``, and ``fold.json``): model 1 is
``MODEL1_DIR/fold<i>/beat.keras``, model 2 the average of ``CV_DIR/fold<i>/ventricular*.keras``
(one file: that model alone). Every probability still comes from models that never saw the
record's patient, so ``validation_eval``, ``pause_eval`` and ``threshold_eval`` read the new
folder like any run (so did ``detector_pipeline_cv``, since removed; research/README.md). Only
training is left out: the models were trained on the earlier detector's candidates (model 1's
negatives are candidates that match no beat). Needs TensorFlow (the ``train`` extra).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cv-dir", type=Path, required=True,
                        help="the run whose folds' model 2, thresholds and records to use")
    parser.add_argument("--model1-dir", type=Path, required=True,
                        help="the run whose fold<i>/beat.keras are model 1")
    parser.add_argument("--data", type=Path, nargs="+", default=[Path("../shared/data")])
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    from ecgtk.export.out_of_fold import redetect_fold, search_dirs
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
