"""How sensitive should the detector be, when model 1 and the rescue rules come after it?

    python -m ecgtk.benchmarks.detector_pipeline_cv --cv-dir WORK/cv_ensemble \\
        --model1-dir WORK/cv --data ../shared/data --fractions 0.3 0.2 0.1

Input: a patient-wise cross-validation run (``ecgtk.export.crossval``; its folds' thresholds and
held-out records) and the folder whose ``fold<i>/beat.keras`` are that run's model 1 (for an
ensemble run, its ``--baseline``). For each detector ``threshold_fraction`` every held-out
record is detected again, model 1 scores the candidates, the rescue rules of ``ecgtk run``
(:mod:`ecgtk.rescue`) are applied per 10-minute chunk, and beats are scored (EC57, 150 ms).
Reports the gross scores per setting (DS1 + paced, nstdb, 118e06 + 119e06) and, as the honest
estimate, each fold scored with the setting of best beat F1 on the other folds. Needs
TensorFlow (the ``train`` extra).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from ecgtk.benchmarks.pause_eval import HEADLINE_NOISE
from ecgtk.benchmarks.validation_eval import chunked_rescue, search_dirs
from ecgtk.detect import detect_beats
from ecgtk.kernels.rpeaks import DetectorParams
from ecgtk.rescue import PauseRule
from ecgtk.scoring import load_reference, score_many, score_record

COUNTS = ("TP", "FN", "FP")


def fold_scores(fold_dir: Path, model1_dir: Path, data: list[Path],
                fractions: list[float]) -> dict[float, dict[str, dict]]:
    """``{fraction: {record: score_record}}`` for one fold's held-out records."""
    from ecgtk.export.crossval import _load, beat_inputs
    from ecgtk.export.dataset import find_record, load_record, to_record_rate
    from ecgtk.export.records import array_recording
    from ecgtk.export.train import predict_proba, trained_before

    threshold = json.loads((fold_dir / "fold.json").read_text())["thresholds"]["beat"]
    model1 = trained_before(model1_dir / fold_dir.name, "beat")
    if model1 is None:
        raise SystemExit(f"no beat.keras with its beat.train.json in {model1_dir / fold_dir.name}")
    path, facts = model1  # its leads and inputs as the run that trained it recorded them
    model = _load(path)
    out: dict[float, dict[str, dict]] = {fraction: {} for fraction in fractions}
    for npz in sorted(fold_dir.glob("probs_*.npz")):
        record = npz.stem.removeprefix("probs_")
        rd = load_record(data, record)
        reference = load_reference(find_record(data, record))
        for fraction in fractions:
            params = DetectorParams(threshold_fraction=fraction)
            candidates = detect_beats(array_recording(rd.signal, rd.fs), params)
            windows = beat_inputs(rd.signal, candidates, facts["n_leads"], facts["context"],
                                  rd.fs)
            f = {"samples": to_record_rate(candidates, rd.record_fs),
                 "p_beat": predict_proba(model, windows), "reference": reference}
            is_beat = chunked_rescue(f, threshold, PauseRule())
            labels = np.where(is_beat, "N", "artefact").astype(object)
            out[fraction][record] = score_record(reference, f["samples"], labels)
    return out


def gross(scores: list[dict]) -> dict:
    beats = score_many(scores)["gross"]["beats"]
    return {k: beats[k] for k in ("Se", "+P", "F1", *COUNTS)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cv-dir", type=Path, required=True)
    parser.add_argument("--model1-dir", type=Path, required=True,
                        help="the run whose fold<i>/beat.keras are model 1")
    parser.add_argument("--data", type=Path, nargs="+", default=[Path("../shared/data")])
    parser.add_argument("--fractions", type=float, nargs="+", default=[0.3, 0.2, 0.1],
                        help="detector threshold fractions (the first: the shipped one)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    from ecgtk.export.train import configure_tensorflow

    configure_tensorflow(2)
    data = search_dirs(args.data)
    folds = {d.name: fold_scores(d, args.model1_dir, data, args.fractions)
             for d in sorted(args.cv_dir.glob("fold*")) if (d / "fold.json").is_file()}

    def pick(fold_names: list[str], fraction: float, noise: bool | None) -> list[dict]:
        return [s for name in fold_names for rec, s in folds[name][fraction].items()
                if noise is None or ("e" in rec) == noise]

    report: dict = {"settings": {}}
    for fraction in args.fractions:
        report["settings"][fraction] = {
            "ds1_paced": gross(pick(list(folds), fraction, False)),
            "nstdb": gross(pick(list(folds), fraction, True)),
            "118e06_119e06": gross([s for name in folds for rec, s in folds[name][fraction].items()
                                    if rec in HEADLINE_NOISE])}
    chosen = {name: max(args.fractions, key=lambda fr: gross(pick(
        [o for o in folds if o != name], fr, False))["F1"]) for name in folds}
    report["chosen_per_fold"] = chosen
    report["chosen_on_other_folds"] = gross(
        [s for name, fr in chosen.items() for s in pick([name], fr, False)])
    print(json.dumps(report, indent=1))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
