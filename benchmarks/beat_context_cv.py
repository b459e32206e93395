"""Does model 1 (beat vs artefact) gain from model 2's context channels? Cross-validated.

    python -m ecgtk.benchmarks.beat_context_cv --data ../shared/data --baseline scratch/cv \\
        --out scratch/cv_beat_context

Model 2 reads, beside its leads, the stretch's median beat per lead and the log RR ratios
before and after the beat (:func:`ecgtk.inputs.ventricular_inputs`). This runs the patient-wise
cross-validation of :mod:`ecgtk.export.crossval` again with model 1 built the same way (50 + 50
samples, 2 leads + 2 templates + 2 RR channels) and model 2 taken unchanged from the
``--baseline`` run's folds (same folds, seeds and settings), so every difference is model 1's.
It prints both runs' gross beat scores (DS1 + paced), the nstdb 118e06/119e06 headline (false
beats and beats lost against the detector alone) and VEB; run
``python -m ecgtk.benchmarks.validation_eval --cv-dir OUT`` on each for the figures after the
per-template decision and the rules.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path


def reuse_model2(baseline: Path, out: Path, folds: list[int]) -> None:
    """Copy the baseline ``folds``' trained model 2 into ``out``'s fold folders (so
    :func:`ecgtk.export.train.trained_before` reuses it)."""
    for fold in folds:
        source, target = baseline / f"fold{fold}", out / f"fold{fold}"
        if not (source / "fold.json").is_file():
            raise FileNotFoundError(f"{source}: the baseline has not finished this fold")
        target.mkdir(parents=True, exist_ok=True)
        for name in ("ventricular.keras", "ventricular.train.json"):
            shutil.copy2(source / name, target / name)


def headline(summary: dict) -> dict:
    """The figures this comparison is about, from a ``crossval.json`` summary."""
    def brief(score: dict) -> dict:
        return {k: round(score[k], 3) if isinstance(score[k], float) else score[k]
                for k in ("TP", "FN", "FP", "Se", "+P", "F1")}

    return {"beats_pipeline": brief(summary["pipeline"]["beats"]),
            "beats_detector_model1": brief(summary["detector_model1"]["beats"]),
            "beats_detector": brief(summary["detector"]["beats"]),
            "veb_pipeline": brief(summary["pipeline"]["veb"]),
            "nstdb_headline": summary.get("nstdb_headline")}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, nargs="+", required=True)
    parser.add_argument("--baseline", type=Path, required=True,
                        help="a finished cross-validation run (its crossval.json and folds)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--k", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--folds", type=int, nargs="*", default=None,
                        help="only these folds (default all; the comparison needs all)")
    args = parser.parse_args(argv)
    folds = list(range(args.k)) if args.folds is None else args.folds
    baseline_json = args.baseline / "crossval.json"
    try:
        reuse_model2(args.baseline, args.out, folds)
    except FileNotFoundError as error:
        parser.error(f"{error}: run the baseline cross-validation first")
    from ecgtk.export.crossval import crossval
    from ecgtk.export.train import TrainSettings, configure_tensorflow

    configure_tensorflow(2)
    summary = crossval(args.data, args.out, k=args.k, seed=args.seed, folds=folds,
                       settings={"beat": TrainSettings(context=True, verbose=2)})
    if len(folds) < args.k or not baseline_json.is_file():
        return {}
    result = {"baseline": headline(json.loads(baseline_json.read_text())),
              "beat_context": headline(summary)}
    (args.out / "beat_context.json").write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
