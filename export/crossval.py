"""Patient-wise K-fold cross-validation of the two models through the inference pipeline.

For each fold (:func:`ecgtk.export.dataset.kfold_by_patient` over DS1 + paced records), both
models are trained on the other folds' patients (an internal patient-wise validation split of
those for early stopping and the decision thresholds -- never the held-out fold), then every
held-out record is run as at inference (:func:`run_pipeline`):

    detector candidates -> model 1 (beat vs artefact) -> beats -> model 2 (N vs V) -> labels

and scored beat by beat with :mod:`ecgtk.scoring` (``'artefact'`` for rejected candidates,
``'N'``/``'V'`` for beats): gross QRS detection Se/+P/F1 and VEB Se/+P/F1 over all held-out
records. When patients 118/119 are held out, their nstdb records (118e24 ... 119e_6) are run
too: false beats (FP) and sensitivity of the detector alone against detector + model 1.

Results go to ``OUT/crossval.json`` (folds, per-record scores, gross scores) and each fold's
models and per-candidate probabilities to ``OUT/fold<i>/``; a fold already done is not run
again. Command line::

    python -m ecgtk.export.crossval --data /work/shared/data --out scratch/cv --k 4
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ecgtk.export.dataset import (
    ALL_RECORDS,
    NSTDB_RECORDS,
    find_record,
    kfold_by_patient,
    load_record,
    patient_of,
    records_of_patients,
    to_record_rate,
)
from ecgtk.export.thresholds import validation_split
from ecgtk.inference.inputs import (
    BEAT_WINDOW,
    MODEL_RATE_HZ,
    VENTRICULAR_WINDOW,
    model_windows,
    ventricular_inputs,
)

__all__ = ["PipelineModels", "beat_inputs", "crossval", "fold_teachers", "main", "run_pipeline",
           "score_pipeline"]

#: The nstdb records on which model 1's noise numbers are headlined.
NOISE_HEADLINE = ("118e06", "119e06")


@dataclass
class PipelineModels:
    """The two models (Keras models, or callables ``windows -> p(class 1)``), their decision
    thresholds and input leads (the first n leads of the signal)."""

    beat: object
    ventricular: object
    beat_threshold: float = 0.5
    ventricular_threshold: float = 0.5
    beat_leads: int = 2
    ventricular_leads: int = 2
    beat_context: bool = False  # model 1 reads context channels too (ventricular_inputs)


def _proba(model, x: np.ndarray) -> np.ndarray:
    from ecgtk.export.train import predict_proba

    return predict_proba(model, x)


def beat_inputs(signal: np.ndarray, candidates: np.ndarray, n_leads: int, context: bool,
                fs: float = MODEL_RATE_HZ) -> np.ndarray:
    """Model 1's inputs at ``candidates`` (samples at the model rate) of ``signal`` ``(n,
    leads)``: 50 + 50-sample windows of its first ``n_leads`` leads, normalised with the
    candidates as ``scale_beats``, with the context channels when the model reads them."""
    make = ventricular_inputs if context else model_windows
    return make(signal[:, :n_leads], candidates, *BEAT_WINDOW, candidates, fs=fs)


def run_pipeline(signal: np.ndarray, models: PipelineModels,
                 fs: float = MODEL_RATE_HZ) -> dict[str, np.ndarray]:
    """Candidates, ``p_beat``, ``p_ventricular`` (for every candidate) and labels of one signal
    ``(n, leads)`` at the model rate, as the run pipeline computes them (minus its morphology
    checks): model 1 on 50 + 50-sample windows of every candidate, model 2 on 150 + 150-sample
    windows, both normalised by :func:`ecgtk.inference.inputs.model_windows` with the candidates as
    ``scale_beats``."""
    from ecgtk.export.dataset import detector_candidates

    cands = detector_candidates(signal, fs)
    p_beat = _proba(models.beat, beat_inputs(signal, cands, models.beat_leads,
                                             models.beat_context, fs))
    xv = ventricular_inputs(signal[:, :models.ventricular_leads], cands, *VENTRICULAR_WINDOW,
                            cands, fs=fs)
    p_v = _proba(models.ventricular, xv)
    return {"candidates": cands, "p_beat": p_beat, "p_ventricular": p_v}


def labels_for(p_beat: np.ndarray, p_v: np.ndarray, beat_threshold: float | None,
               ventricular_threshold: float) -> np.ndarray:
    """``'artefact'``, ``'N'`` or ``'V'`` per candidate (``beat_threshold=None``: no model 1)."""
    is_v = p_v >= ventricular_threshold
    labels = np.where(is_v, "V", "N").astype(object)
    if beat_threshold is not None:
        labels[p_beat < beat_threshold] = "artefact"
    return labels


def score_pipeline(reference, out: dict[str, np.ndarray], record_fs: float,
                   beat_threshold: float, ventricular_threshold: float) -> dict:
    """Scores of one record: the full pipeline, the detector alone, detector + model 1, and
    detector + model 2 (no artefact rejection)."""
    from ecgtk.scoring import score_record

    samples = to_record_rate(out["candidates"], record_fs)
    full = labels_for(out["p_beat"], out["p_ventricular"], beat_threshold, ventricular_threshold)
    only_m1 = np.where(out["p_beat"] >= beat_threshold, "N", "artefact")
    no_m1 = labels_for(out["p_beat"], out["p_ventricular"], None, ventricular_threshold)
    return {
        "pipeline": score_record(reference, samples, full),
        "detector": score_record(reference, samples),
        "detector_model1": score_record(reference, samples, only_m1),
        "detector_model2": score_record(reference, samples, no_m1),
    }


def _brief(score: dict) -> dict:
    b = score["beats"]
    out = {k: b[k] for k in ("TP", "FN", "FP", "Se", "+P", "F1")}
    if score.get("veb"):
        v = score["veb"]
        out["veb"] = {k: v[k] for k in ("TP", "FN", "FP", "Se", "+P", "F1")}
    return out


def _load(path: Path):
    import keras

    import ecgtk.export.architecture  # noqa: F401  (registers WeightedSum)

    return keras.models.load_model(str(path))


def finished_fold(out_dir: Path, fold: int) -> dict | None:
    """The results of fold ``fold`` of the run in ``out_dir`` (its ``fold.json``), None while
    it is not finished."""
    done = Path(out_dir) / f"fold{fold}" / "fold.json"
    return json.loads(done.read_text()) if done.is_file() else None


def fold_teachers(teacher_dir: Path, fold: int, train: Sequence[str],
                  val: Sequence[str]) -> dict[str, str]:
    """``{kind: .keras path}`` of fold ``fold`` of a finished run, after checking that it
    trained and validated on exactly ``train`` and ``val`` (a teacher that saw a held-out
    patient would leak it into the student)."""
    fold_dir = Path(teacher_dir) / f"fold{fold}"
    facts = fold_dir / "fold.json"
    if not facts.is_file():
        raise FileNotFoundError(f"{fold_dir}: not a finished fold (no fold.json)")
    done = json.loads(facts.read_text())
    if sorted(done["train_records"]) != sorted(train) or sorted(done["val_records"]) != sorted(val):
        raise ValueError(f"{fold_dir}: the teacher's fold trained on other patients than this "
                         "fold (use a run of the same design and seed)")
    return {kind: str(fold_dir / f"{kind}.keras") for kind in ("beat", "ventricular")}


def run_fold(fold: int, train_records: list[str], test_records: list[str],
             data_dirs: Sequence[str | Path], out_dir: Path, *, seed: int = 0,
             epochs: dict[str, int] | None = None, settings: dict | None = None,
             nstdb: bool = True, teacher_dir: Path | None = None,
             taught: Sequence[str] = ("beat", "ventricular")) -> dict:
    """Train both models on ``train_records`` and score ``test_records``; returns the fold's
    result (also written to ``out_dir/fold<i>/fold.json``). ``teacher_dir``: a finished run of
    the same design and seed whose fold ``i`` models teach this fold's (distillation,
    ``TrainSettings.teacher``) for the models of ``taught``; its fold must have trained on the
    same patients."""
    from dataclasses import replace

    from ecgtk.export.dataset import build_training_windows, build_windows, training_window_fields
    from ecgtk.export.train import TrainSettings, train_windows, trained_before
    from ecgtk.scoring import load_reference

    fold_dir = out_dir / f"fold{fold}"
    done = finished_fold(out_dir, fold)
    if done is not None:
        return done
    fold_dir.mkdir(parents=True, exist_ok=True)
    epochs = epochs or {}
    settings = settings or {}
    train, val = validation_split(data_dirs, train_records, seed=seed)
    train_p = {patient_of(r) for r in train}
    val_p = {patient_of(r) for r in val}
    extra = list(NSTDB_RECORDS) if nstdb else []
    if teacher_dir is not None:
        teachers = fold_teachers(Path(teacher_dir), fold, train, val)
    infos = {}
    for kind in ("beat", "ventricular"):
        recs_tr = train + (records_of_patients(extra, train_p) if kind == "beat" else [])
        recs_va = val + (records_of_patients(extra, val_p) if kind == "beat" else [])
        tr = build_training_windows(kind, data_dirs, recs_tr)
        va = build_windows(kind, data_dirs, recs_va)
        s = settings.get(kind) or TrainSettings(verbose=2)
        if teacher_dir is not None and kind in taught:
            s = replace(s, teacher=teachers[kind])
        _, infos[kind] = trained_before(fold_dir, kind) or train_windows(
            kind, tr, va, fold_dir, epochs=epochs.get(kind), seed=seed, settings=s,
            extra_info={"windows": training_window_fields(kind)})
    models = PipelineModels(
        _load(fold_dir / "beat.keras"), _load(fold_dir / "ventricular.keras"),
        infos["beat"]["threshold"]["threshold"], infos["ventricular"]["threshold"]["threshold"],
        infos["beat"]["n_leads"], infos["ventricular"]["n_leads"],
        beat_context=bool(infos["beat"].get("context", False)))

    held_patients = {patient_of(r) for r in test_records}
    to_run = list(test_records) + (records_of_patients(extra, held_patients) if nstdb else [])
    records = {}
    t0 = time.time()
    for record in to_run:
        try:
            base = find_record(data_dirs, record)
        except FileNotFoundError:
            continue
        rd = load_record(data_dirs, record)
        out = run_pipeline(rd.signal, models, rd.fs)
        np.savez(fold_dir / f"probs_{record}.npz", **out)
        ref = load_reference(base)
        scores = score_pipeline(ref, out, rd.record_fs, models.beat_threshold,
                                models.ventricular_threshold)
        records[record] = {k: _brief(v) for k, v in scores.items()}
        records[record]["_full"] = scores["pipeline"]
    result = {
        "fold": fold,
        "test_records": list(test_records),
        "train_records": train,
        "val_records": val,
        "thresholds": {"beat": models.beat_threshold,
                       "ventricular": models.ventricular_threshold},
        "threshold_rules": {k: infos[k]["threshold"] for k in infos},
        "train_seconds": {k: infos[k]["train_seconds"] for k in infos},
        "epochs_run": {k: [p["epochs_run"] for p in infos[k]["phases"]] for k in infos},
        "train_counts": {k: infos[k]["train_counts"] for k in infos},
        "predict_seconds": round(time.time() - t0, 1),
        "records": records,
    }
    (fold_dir / "fold.json").write_text(json.dumps(result, indent=1, default=str))
    return result


def _gross(records: dict, names: Sequence[str], which: str) -> dict:
    tot = {"TP": 0, "FN": 0, "FP": 0}
    veb = {"TP": 0, "FN": 0, "FP": 0}
    has_veb = False
    for r in names:
        s = records[r][which]
        for k in tot:
            tot[k] += s[k]
        if "veb" in s:
            has_veb = True
            for k in veb:
                veb[k] += s["veb"][k]

    def ratios(c):
        tp, fn, fp = c["TP"], c["FN"], c["FP"]
        return {**c, "Se": 100 * tp / max(tp + fn, 1), "+P": 100 * tp / max(tp + fp, 1),
                "F1": 100 * 2 * tp / max(2 * tp + fn + fp, 1)}

    out = {"beats": ratios(tot)}
    if has_veb:
        out["veb"] = ratios(veb)
    return out


def summarise(folds: list[dict]) -> dict:
    """Gross scores over all held-out records, per fold and pooled, plus the nstdb numbers."""
    all_records: dict = {}
    per_fold = []
    for f in folds:
        clean = [r for r in f["test_records"] if r in f["records"]]
        all_records.update({r: f["records"][r] for r in clean})
        per_fold.append({"fold": f["fold"], "test_records": f["test_records"],
                         "thresholds": f["thresholds"],
                         "pipeline": _gross(f["records"], clean, "pipeline"),
                         "detector": _gross(f["records"], clean, "detector"),
                         "detector_model2": _gross(f["records"], clean, "detector_model2")})
    names = list(all_records)
    summary = {
        "k": len(folds),
        "n_records": len(names),
        "pipeline": _gross(all_records, names, "pipeline"),
        "detector": _gross(all_records, names, "detector"),
        "detector_model1": {"beats": _gross(all_records, names, "detector_model1")["beats"]},
        "detector_model2": _gross(all_records, names, "detector_model2"),
        "folds": per_fold,
    }
    noise = {}
    for f in folds:
        for r, s in f["records"].items():
            if r in NSTDB_RECORDS:
                det, m1 = s["detector"], s["detector_model1"]
                n_ref = det["TP"] + det["FN"]
                noise[r] = {
                    "fold": f["fold"], "n_reference": n_ref,
                    "detector": {k: det[k] for k in ("TP", "FN", "FP", "Se", "+P")},
                    "detector_model1": {k: m1[k] for k in ("TP", "FN", "FP", "Se", "+P")},
                    "fp_removed": det["FP"] - m1["FP"],
                    "beats_lost": det["TP"] - m1["TP"],
                    "se_lost_pct": 100 * (det["TP"] - m1["TP"]) / max(n_ref, 1),
                }
    summary["nstdb"] = noise
    head = [noise[r] for r in NOISE_HEADLINE if r in noise]
    if head:
        n_ref = sum(h["n_reference"] for h in head)
        lost = sum(h["beats_lost"] for h in head)
        summary["nstdb_headline"] = {
            "records": [r for r in NOISE_HEADLINE if r in noise],
            "fp_detector": sum(h["detector"]["FP"] for h in head),
            "fp_detector_model1": sum(h["detector_model1"]["FP"] for h in head),
            "beats_lost": lost, "n_reference": n_ref, "se_lost_pct": 100 * lost / max(n_ref, 1),
        }
    return summary


def crossval(data_dirs: Sequence[str | Path], out_dir: str | Path, *, k: int = 4, seed: int = 0,
             records: Sequence[str] = ALL_RECORDS, epochs: dict[str, int] | None = None,
             settings: dict | None = None, folds: Sequence[int] | None = None,
             verbose: bool = True) -> dict:
    """Run (or resume) the K-fold cross-validation (``folds``: only those; None: all) and
    write the summary of every fold finished in ``out_dir``, those run before too."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    splits = kfold_by_patient(records, k, seed=seed)
    results = []
    for i, (train, test) in enumerate(splits):
        if folds is not None and i not in folds:
            done = finished_fold(out_dir, i)
            if done is not None:  # run before, e.g. by another --folds
                results.append(done)
            continue
        if verbose:
            print(f"fold {i + 1}/{k}: held out {' '.join(test)}", flush=True)
        results.append(run_fold(i, train, test, data_dirs, out_dir, seed=seed, epochs=epochs,
                                settings=settings))
        if verbose:
            g = _gross(results[-1]["records"],
                       [r for r in test if r in results[-1]["records"]], "pipeline")
            print(f"  fold {i}: beats F1 {g['beats']['F1']:.2f}  VEB Se {g['veb']['Se']:.2f} "
                  f"+P {g['veb']['+P']:.2f} F1 {g['veb']['F1']:.2f}", flush=True)
    summary = summarise(results)
    summary["seed"] = seed
    summary["folds_of_patients"] = [sorted({patient_of(r) for r in t}) for _, t in splits]
    (out_dir / "crossval.json").write_text(json.dumps(summary, indent=1, default=str))
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m ecgtk.export.crossval",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, nargs="+", required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--k", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--folds", type=int, nargs="*", default=None)
    ap.add_argument("--epochs-beat", type=int, default=None)
    ap.add_argument("--epochs-ventricular", type=int, default=None)
    args = ap.parse_args(argv)
    from ecgtk.export.train import configure_tensorflow

    configure_tensorflow(2)
    epochs = {k: v for k, v in (("beat", args.epochs_beat),
                                ("ventricular", args.epochs_ventricular)) if v}
    s = crossval(args.data, args.out, k=args.k, seed=args.seed, epochs=epochs, folds=args.folds)
    p = s["pipeline"]
    print(json.dumps({"beats": p["beats"], "veb": p.get("veb"),
                      "nstdb": s.get("nstdb_headline")}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
