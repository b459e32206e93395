"""Rebuild the shipped models from the data: CV, final training, ONNX export, model cards.

    python -m ecgtk.export.reproduce --data /work/shared/data --out models

1. patient-wise K-fold cross-validation of both models through the pipeline
   (:mod:`ecgtk.export.crossval`, ``WORK/cv``), then of model 2's further ensemble members on
   the same folds (:mod:`ecgtk.export.ensemble_crossval`, ``WORK/cv_ensemble``), then those
   members refitted on each fold's training and validation patients
   (:mod:`ecgtk.export.refit`, ``WORK/cv_refit``: model 2's card figures); ``--skip-cv``
   reuses their ``crossval.json`` when they exist (``WORK/cv`` may be the ``cv`` folder of
   ``python -m ecgtk.export.evaluate --designs cv --out WORK``: its summary is written from its
   finished folds; without ``WORK/cv_ensemble`` model 2's figures and calibration are those
   of one training per fold); model 2's calibration and uncertainty are measured on the
   refits (:mod:`ecgtk.export.calibration`);
2. optionally the transfer-learning experiment (``--transfer``, :mod:`ecgtk.export.transfer`);
3. final training of both models on the 65 patients of
   :data:`ecgtk.export.records.TRAINING_RECORDS` (MIT-BIH DS1 + paced at 360 Hz and 39 svdb
   records at 128 Hz; model 1 also on the nstdb 118e*/119e* records), with 13 validation
   patients (:data:`FINAL_VAL_RECORDS`) for early stopping and the decision threshold;
   model 2 :data:`ENSEMBLE_MEMBERS` times (seeds 0, 1), each member then refitted on all 65
   patients for its best epochs (:data:`REFIT_KINDS`);
4. ONNX export (opset 17) with a parity check on real validation windows, CPU throughput,
   and the model cards ``OUT/beat.{onnx,keras,md,json}``, ``OUT/ventricular.{...}``.

Intermediate files (per-record window caches, fold models, logs) go to ``--work``
(default ``scratch/reproduce``). Everything is seeded; TensorFlow runs on 2 CPU threads.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ecgtk.export.card_notes import DESCRIPTIONS, NOTES, TRAINING_DATA
from ecgtk.export.dataset import (
    NSTDB_RECORDS,
    build_training_windows,
    build_windows,
    patient_of,
    records_of_patients,
    training_window_fields,
)
from ecgtk.export.records import TRAINING_RECORDS

__all__ = ["ENSEMBLE_MEMBERS", "evaluation_notes", "main", "reproduce",
           "reused_cv_dirs", "train_final"]

#: Version of each shipped model (ONNX metadata, card): 1.2.0 and 1.3.0 (ecgtk 0.3.0) are
#: trained on the 65 patients of MIT-BIH and svdb (:data:`TRAINING_RECORDS`); model 2 on at
#: most 200 V beats per patient (ecgtk.export.dataset.TRAINING_WINDOWS). Model 2 2.0.0
#: (ecgtk 0.4.0) is one middle-width network distilled from 1.3.0's two members
#: (``--student-of``; :mod:`ecgtk.export.distill`), about 3.4x cheaper to run. Model 1 2.0.0
#: (ecgtk 0.5.0) is a narrower network (24/48/96) distilled from 1.2.0 (``--beat-student-of``),
#: about 2.1x cheaper.
MODEL_VERSION = {"beat": "2.0.0", "ventricular": "2.0.0"}
#: Validation patients of the shipped models (early stopping, threshold), 13 of 65. Chosen by
#: hand so that the only LBBB patients (109, 207) and the RBBB ones (118, 124, 207) stay in
#: training, while validation still has ventricular beats (106, 116, 201), supraventricular
#: beats (220) and a paced record (104); a seeded 20 % draw put 109, 114, 119, 124 and 207 all
#: in validation. From svdb, eight records with both V and S beats (632 of its 5,087 V beats),
#: none of the four richest in V (854 860 870 879), which stay in training.
FINAL_VAL_RECORDS = ("106", "116", "201", "220", "104",
                     "806", "812", "824", "845", "855", "872", "885", "889")


def _log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


#: Monte-Carlo dropout passes exported with each model (ecgtk.export.mc_dropout): model 2's
#: give each beat's uncertainty (shared out among its ensemble members); model 1 has none.
MC_PASSES = {"beat": 0, "ventricular": 32}
#: Trainings (seeds ``seed``, ``seed + 1``, ...) averaged in each model this command trains
#: without ``--student-of`` (:mod:`ecgtk.export.ensemble`). Two for model 2: in the
#: patient-wise cross-validation the pair labelled ventricular beats better than either member
#: alone (python -m research.ensemble_cv), at twice model 2's cost; since 2.0.0 that pair is
#: the teacher of the shipped single network.
ENSEMBLE_MEMBERS = {"beat": 1, "ventricular": 2}


def calibration_metadata(calibration: dict | None) -> dict:
    """The ONNX metadata that carries model 2's calibration and review threshold."""
    if not calibration:
        return {}
    return {"calibration": {"method": "platt", **calibration["platt"]},
            "review_threshold": calibration["review_threshold"]}


def calibration_notes(c: dict) -> str:
    """The model card's section on calibration and uncertainty."""
    ece, auroc, review = (c["ece_10_bins_nested"], c["uncertainty_auroc_nested"], c["review"])
    return (
        f"Measured on the out-of-fold calls of the cross-validation ({c['labelled_beats']} "
        f"labelled beats, {c['wrong_labels']} wrong labels after the validation rules); each "
        "fold's calibration fitted on the other folds only (python -m ecgtk.export.calibration "
        "--cv-dir WORK/cv_refit, the refitted members; WORK/cv_ensemble or WORK/cv without "
        "the refit).\n\n"
        "| | value |\n| --- | --- |\n"
        f"| expected calibration error (10 bins), uncalibrated | {ece['none']:.4f} |\n"
        f"| ... temperature scaling | {ece['temperature']:.4f} |\n"
        f"| ... Platt scaling (shipped) | {ece['platt']:.4f} |\n"
        f"| uncertainty AUROC, wrong vs right labels: dropout spread of p (shipped) | "
        f"{auroc['dropout_spread_uncalibrated']:.3f} |\n"
        f"| ... dropout spread of calibrated p | {auroc['dropout_spread']:.3f} |\n"
        f"| ... entropy of calibrated p | {auroc['entropy_of_p']:.3f} |\n"
        f"| review threshold (flags {100 * review['share_of_beats_flagged']:.1f} % of beats) | "
        f"{c['review_threshold']} |\n"
        f"| share of wrong labels among flagged beats / among the others | "
        f"{100 * review['error_rate_flagged']:.1f} % / "
        f"{100 * review['error_rate_not_flagged']:.1f} % |\n"
        f"| share of all wrong labels that get flagged | "
        f"{100 * review['share_of_wrong_labels_flagged']:.1f} % |\n\n"
        f"Method: Monte-Carlo dropout with {c['passes']} fixed passes exported in the graph "
        "(ecgtk.export.mc_dropout): the architecture's only dropout sits before the last layer, "
        "so the passes cost one small matrix product, and fixed masks keep runs "
        "deterministic. With an ensemble each member gives its share of the passes (the "
        "same masks), so the spread also holds the members' disagreement. Calibration: Platt "
        "scaling (a, b) in the ONNX metadata; temperature alone made the calibration error "
        "worse.")


def ensemble_notes(info: dict, members: Sequence[Path]) -> str:
    """The model card's section on an ensemble's members."""
    from ecgtk.export.ensemble import passes_for, passes_per_member

    e = info["ensemble"]
    each = passes_per_member(passes_for(MC_PASSES[info["kind"]], e["members"]), e["members"])
    return (f"The ONNX graph averages {e['members']} trainings of this architecture on the same "
            f"data (seeds {', '.join(map(str, e['seeds']))}; {info['parameters']:,} parameters "
            f"each; {' and '.join(f'`{Path(m).name}`' for m in members)}; "
            "ecgtk.export.ensemble): their probabilities are averaged, and each gives "
            f"{each} of the dropout passes. The decision "
            f"threshold {info['threshold']['threshold']:g} was chosen on the averaged validation "
            "probabilities (the members alone: "
            f"{', '.join(f'{t:g}' for t in e['member_thresholds'])}). Fine-tuning (--init) and "
            "Grad-CAM (ecgtk explain) use member 0. Cross-validated, the average of two seeds "
            "labelled ventricular beats better than either seed alone; see 'Ensemble of seeds' "
            "(python -m research.ensemble_cv).")


def reused_cv_dirs(work: Path, data_dirs: Sequence[str | Path], cv_dirs: dict[str, Path], *,
                   k: int = 4, seed: int = 0) -> dict[str, Path]:
    """The cross-validation folders ``--skip-cv`` reuses. ``WORK/cv`` may hold only finished
    folds (``python -m ecgtk.export.evaluate --designs cv --out WORK``): their summary
    ``crossval.json`` is written here. Without ``WORK/cv_ensemble``, model 2's figures and
    calibration come from ``WORK/cv`` (one training per fold)."""
    from ecgtk.export.crossval import crossval

    cv = work / "cv"
    if not (cv / "crossval.json").is_file() and any(cv.glob("fold*/fold.json")):
        _log(f"summarising the finished folds of {cv}")
        crossval(data_dirs, cv, k=k, seed=seed, records=TRAINING_RECORDS, folds=[],
                 verbose=False)
    cv_dirs = dict(cv_dirs)
    if not cv_dirs["ventricular"].is_dir():
        _log(f"no {cv_dirs['ventricular']}: model 2's figures and calibration are those of "
             f"one training per fold ({cv})")
        cv_dirs["ventricular"] = cv
    return cv_dirs


def evaluation_notes(paths: Sequence[str | Path]) -> str:
    """The cards' note on the recipe judged across databases: each evaluation's table (held-out
    patients only, per database) with the command that made it."""
    from ecgtk.export.evaluate import table

    parts = ["Each table scores patients the models of that run never saw, per database: "
             "leave one database out (trained on one, scored on the other; the shift a "
             "recorder the models never saw brings) and patient-wise cross-validation over "
             "both (one model-2 training per fold, labels by ecgtk run's rules; EC57, 150 ms)."]
    for path in paths:
        summary = json.loads(Path(path).read_text())
        designs = " ".join(d for d in ("lodo", "cv") if d in summary)
        databases = summary.get("cv_databases", ["mitdb", "svdb"])
        arm = "" if "cv" not in summary or len(databases) == 2 else \
            f" --cv-databases {' '.join(databases)}"
        parts.append(f"python -m ecgtk.export.evaluate --data DATA --out WORK --designs "
                     f"{designs} --seed {summary['seed']} --recipe {summary['recipe']}{arm}"
                     f"{' --teacher-run RUN' if summary.get('teacher_run') else ''}"
                     f"\n\n```\n{table(summary)}\n```")
    return "\n\n".join(parts)


def _windows_phrase(fields: dict | None) -> str:
    """How model 2's pre-training windows were drawn, for the card ('' for every V beat)."""
    cap = (fields or {}).get("max_ventricular")
    return f" (at most {cap} V beats per patient)" if cap else ""


#: Models whose shipped members are refitted on every patient (:mod:`ecgtk.export.refit`)
#: after their validated training chose the epochs and the threshold.
REFIT_KINDS = ("ventricular",)


def train_final(kind: str, data_dirs: Sequence[str | Path], work: Path, *, seed: int = 0,
                epochs: int | None = None, members: int | None = None,
                settings=None) -> tuple[list[Path], dict, np.ndarray]:
    """Train the shipped ``kind`` model, ``members`` times (default
    :data:`ENSEMBLE_MEMBERS`; seeds ``seed``, ``seed + 1``, ...); returns the members'
    ``.keras``, the training facts (member 0's, with the ensemble's decision threshold chosen
    on the averaged validation probabilities) and validation windows for the export parity
    check. Members already trained in ``work/final``, ``work/final_1``, ... (their ``.keras``
    and ``.train.json``, e.g. by an interrupted run) are reused. For :data:`REFIT_KINDS` the
    returned members are the refits (``work/refit_<i>``) on the training and validation
    records, with the validated ensemble's threshold. ``settings``: the
    :class:`ecgtk.export.train.TrainSettings` (default: the shipped recipe's)."""
    from ecgtk.export.train import (
        TrainSettings,
        choose_threshold,
        model_inputs,
        predict_proba,
        train_windows,
        trained_before,
    )

    val = list(FINAL_VAL_RECORDS)
    train = [r for r in TRAINING_RECORDS if r not in val]
    if kind == "beat":
        train = train + records_of_patients(NSTDB_RECORDS, {patient_of(r) for r in train})
        val = val + records_of_patients(NSTDB_RECORDS, {patient_of(r) for r in val})
    tr = build_training_windows(kind, data_dirs, train)
    va = build_windows(kind, data_dirs, val)
    trained = []
    for member in range(members or ENSEMBLE_MEMBERS[kind]):
        folder = work / ("final" if member == 0 else f"final_{member}")
        trained.append(trained_before(folder, kind) or train_windows(
            kind, tr, va, folder, epochs=epochs, seed=seed + member,
            settings=settings or TrainSettings(verbose=2),
            extra_info={"windows": training_window_fields(kind)}))
    paths = [path for path, _ in trained]
    info = dict(trained[0][1])
    x_val = model_inputs(kind, va, info["n_leads"], info["context"])
    if len(trained) > 1:
        import keras

        import ecgtk.export.architecture  # noqa: F401  (registers WeightedSum)

        p_val = np.mean([predict_proba(keras.models.load_model(str(path)), x_val)
                         for path in paths], axis=0)
        info["ensemble"] = {"members": len(trained), "seeds": [i["seed"] for _, i in trained],
                            "member_thresholds": [i["threshold"]["threshold"]
                                                  for _, i in trained],
                            "train_seconds": [i["train_seconds"] for _, i in trained]}
        info["threshold"] = choose_threshold(kind, p_val, va)
    if kind in REFIT_KINDS:  # every patient, the validated epochs and threshold
        from ecgtk.export.dataset import WindowSet
        from ecgtk.export.refit import best_epochs, refit_members

        validated = [facts for _, facts in trained]
        every = WindowSet.concat([tr, build_training_windows(kind, data_dirs, val)])
        paths = refit_members(kind, every, validated,
                              [work / f"refit_{i}" for i in range(len(validated))])
        info["refit"] = {"records": sorted(set(train) | set(val)),
                         "epochs": [best_epochs(v) for v in validated]}
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(len(va), min(512, len(va)), replace=False))
    return paths, info, x_val[pick]


def reproduce(data_dirs: Sequence[str | Path], out: str | Path, *, work: str | Path,
              k: int = 4, seed: int = 0, skip_cv: bool = False, transfer: bool = False,
              command: str = "", kinds: Sequence[str] = ("beat", "ventricular"),
              evaluations: Sequence[str | Path] = (),
              student_of: Sequence[str | Path] = (),
              beat_student_of: Sequence[str | Path] = ()) -> dict:
    """Run everything (see the module docstring); returns a summary dict. ``kinds``: the
    models to train, export and describe (the others in ``out`` are left as they are).
    ``evaluations``: ``evaluation.json`` files of :mod:`ecgtk.export.evaluate` whose tables
    both cards repeat (the recipe judged across databases). ``student_of``: model 2's
    ``.keras`` members (e.g. the 1.3.0 pair) that teach it: model 2 is then one network of
    :data:`ecgtk.export.distill.STUDENT_ARCH` distilled from them (WORK/cv should then be the
    ``distilled_middle`` recipe's cross-validation). ``beat_student_of``: the same for model 1
    (its student width :data:`ecgtk.export.distill.STUDENT_ARCHS`; WORK/cv then the
    ``distilled_both`` recipe's)."""
    from ecgtk.export.crossval import crossval
    from ecgtk.export.ensemble import member_path, member_paths, passes_for
    from ecgtk.export.ensemble_crossval import ensemble_crossval
    from ecgtk.export.modelcard import cpu_throughput, write_card
    from ecgtk.export.onnx_export import export_onnx
    from ecgtk.export.train import CLASSES, configure_tensorflow
    from ecgtk.inference.inputs import CONTEXT_KIND, channel_names

    configure_tensorflow(2)
    out, work = Path(out), Path(work)
    out.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    t_start = time.time()
    timings: dict[str, float] = {}

    # WORK/cv: both models, one training each (model 1's figures); WORK/cv_ensemble: the same
    # folds with model 2's further members (the shipped model 2's figures and calibration)
    from ecgtk.export.distill import distillation_notes, student_settings

    teachers = {"beat": beat_student_of, "ventricular": student_of}
    students = {kind: student_settings(of, work, kind=kind)
                for kind, of in teachers.items() if of}
    members = 1 if "ventricular" in students else ENSEMBLE_MEMBERS["ventricular"]
    cv_dirs = {"beat": work / "cv",
               "ventricular": work / ("cv_ensemble" if members > 1 else "cv")}
    cvs: dict[str, dict | None] = {}
    if not skip_cv:
        _log(f"cross-validation, K={k}")
        t0 = time.time()
        cvs["beat"] = cvs["ventricular"] = crossval(data_dirs, work / "cv", k=k, seed=seed,
                                                    records=TRAINING_RECORDS)
        if members > 1:
            _log(f"cross-validation of model 2's other {members - 1} member(s)")
            cvs["ventricular"] = ensemble_crossval(
                work / "cv", cv_dirs["ventricular"], [Path(d) for d in data_dirs],
                range(seed + 1, seed + members))
        timings["crossval_s"] = round(time.time() - t0, 1)
    else:
        cv_dirs = reused_cv_dirs(work, data_dirs, cv_dirs, k=k, seed=seed)
        for kind, folder in cv_dirs.items():
            cv_json = folder / "crossval.json"
            cvs[kind] = json.loads(cv_json.read_text()) if cv_json.is_file() else None
            if cvs[kind] is not None:
                _log(f"cross-validation skipped; {kind} uses {cv_json}")

    if "ventricular" in kinds and "ventricular" in REFIT_KINDS \
            and cv_dirs["ventricular"].name == "cv_ensemble" and cv_dirs["ventricular"].is_dir():
        from ecgtk.export.refit import refit_crossval

        refit_dir = work / "cv_refit"
        if skip_cv and (refit_dir / "crossval.json").is_file():
            _log(f"refit cross-validation skipped; ventricular uses {refit_dir}")
            cvs["ventricular"] = json.loads((refit_dir / "crossval.json").read_text())
        else:
            _log("cross-validation of model 2's refits (training + validation patients)")
            t0 = time.time()
            cvs["ventricular"] = refit_crossval(work / "cv", cv_dirs["ventricular"], refit_dir,
                                                [Path(d) for d in data_dirs])
            timings["refit_crossval_s"] = round(time.time() - t0, 1)
        cv_dirs["ventricular"] = refit_dir

    calibration = None  # model 2's alone: measured only when model 2 is trained
    if "ventricular" in kinds and cv_dirs["ventricular"].is_dir():
        from ecgtk.export.calibration import calibrate_on_folds

        _log("calibration and uncertainty of model 2 on the out-of-fold calls")
        calibration = calibrate_on_folds(cv_dirs["ventricular"], [Path(d) for d in data_dirs],
                                         MC_PASSES["ventricular"])
        (work / "calibration.json").write_text(json.dumps(calibration, indent=1))
        timings["calibration_s"] = calibration["seconds"]

    transfer_result = None
    if transfer:
        from ecgtk.export.transfer import table, transfer_experiment

        _log("transfer-learning experiment")
        t0 = time.time()
        transfer_result = transfer_experiment(data_dirs, work / "transfer", seed=seed)
        timings["transfer_s"] = round(time.time() - t0, 1)
        print(table(transfer_result), flush=True)
    elif (work / "transfer" / "transfer.json").is_file():
        transfer_result = json.loads((work / "transfer" / "transfer.json").read_text())

    cards = {}
    for kind in kinds:
        _log(f"final training: {kind}")
        t0 = time.time()
        keras_paths, info, parity = train_final(
            kind, data_dirs, work, seed=seed,
            **({"members": 1, "settings": students[kind]} if kind in students else {}))
        timings[f"train_{kind}_s"] = round(time.time() - t0, 1)
        shipped = [member_path(out / f"{kind}.keras", i) for i in range(len(keras_paths))]
        for source, target in zip(keras_paths, shipped, strict=True):
            shutil.copyfile(source, target)
        for stale in member_paths(out / f"{kind}.keras")[len(shipped):]:
            stale.unlink()  # members of an earlier, larger ensemble
        n_leads = info["n_leads"]
        metadata = {
            "model_name": kind,
            "model_version": MODEL_VERSION[kind],
            "task": DESCRIPTIONS[kind],
            "rate_hz": 360,
            "window_before": info["window"][0],
            "window_after": info["window"][1],
            "classes": list(CLASSES[kind]),
            "input_leads": channel_names([f"lead {i + 1} (MIT-BIH: {name})" for i, name in
                                          enumerate(("MLII", "V1")[:n_leads])],
                                         context=info["context"]),
            "context": CONTEXT_KIND if info["context"] else "",
            **(calibration_metadata(calibration) if kind == "ventricular" else {}),
            "decision_threshold": info["threshold"]["threshold"],
            "normalisation": "ecgtk.inference.inputs.model_windows",
            "training_data": TRAINING_DATA[kind],
        }
        _log(f"export {kind} -> ONNX")
        report = export_onnx(shipped, out / f"{kind}.onnx", metadata=metadata,
                             parity_windows=parity, opset=17, tolerance=1e-4,
                             mc_passes=passes_for(MC_PASSES[kind], len(shipped)))
        if kind == "ventricular":  # explain and report read this graph (no TensorFlow)
            from ecgtk.export.gradcam import export_gradcam_onnx

            export_gradcam_onnx(out / f"{kind}.keras", out / f"{kind}_gradcam.onnx", parity)
        tp = cpu_throughput(out / f"{kind}.onnx", parity, batch=1024, threads=2)
        notes = dict(NOTES[kind])
        if "ensemble" in info:
            notes["Ensemble"] = ensemble_notes(info, shipped)
        if kind in students:
            notes["Distillation"] = distillation_notes(teachers[kind], students[kind], kind)
        if kind == "ventricular" and transfer_result:
            from ecgtk.export.transfer import summary as transfer_summary
            from ecgtk.export.transfer import table

            notes["Transfer learning (experiment)"] = (
                f"Pre-trained on {' '.join(transfer_result['pretrain_records'])}"
                f"{_windows_phrase(transfer_result.get('pretrain_windows'))}; adapted on "
                f"the first {transfer_result['adapt_minutes']:g} minutes of "
                f"{' '.join(transfer_result['adapt_records'])} "
                f"({transfer_result['adaptation']}); scored on their remaining minutes "
                "(detector candidates -> model 2, no model 1). "
                + transfer_summary(transfer_result) + "\n\n" + table(transfer_result))
        if evaluations:
            notes["Across databases (python -m ecgtk.export.evaluate)"] = \
                evaluation_notes(evaluations)
        if kind == "ventricular" and calibration:
            notes["Calibration and uncertainty"] = calibration_notes(calibration)
        md, js = write_card(
            kind, out, kind=kind, description=DESCRIPTIONS[kind], onnx_report=report,
            keras_path=out / f"{kind}.keras", train_info=info, cv=cvs.get(kind), throughput=tp,
            command=command or "python -m ecgtk.export.reproduce --data DATA --out models",
            training_data=TRAINING_DATA[kind], extra={"notes": notes} if notes else None)
        cards[kind] = {"onnx": report["path"], "parity": report["max_abs_diff"],
                       "throughput": tp["windows_per_s"], "card": str(md),
                       "threshold": info["threshold"]["threshold"],
                       "train_s": info["train_seconds"]}
        _log(f"{kind}: parity {report['max_abs_diff']:.2e}, {tp['windows_per_s']:.0f} win/s")
    timings["total_s"] = round(time.time() - t_start, 1)
    summary = {"cards": cards, "timings": timings}
    (work / "reproduce.json").write_text(json.dumps(summary, indent=1))
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m ecgtk.export.reproduce",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, nargs="+", required=True,
                    help="folder(s) holding mitdb/ and nstdb/")
    ap.add_argument("--out", type=Path, default=Path("models"))
    ap.add_argument("--work", type=Path, default=Path("scratch/reproduce"))
    ap.add_argument("--k", type=int, default=4, help="cross-validation folds")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--skip-cv", action="store_true",
                    help="do not rerun cross-validation: reuse WORK/cv (its crossval.json, or "
                         "the finished folds of evaluate --designs cv --out WORK)")
    ap.add_argument("--transfer", action="store_true",
                    help="also run the transfer-learning experiment")
    ap.add_argument("--kinds", nargs="+", choices=("beat", "ventricular"),
                    default=["beat", "ventricular"],
                    help="models to train, export and describe (default both)")
    ap.add_argument("--student-of", type=Path, nargs="+", default=[], metavar="KERAS",
                    help="model 2 as one middle-width network distilled from these .keras "
                         "members (e.g. the 1.3.0 pair)")
    ap.add_argument("--beat-student-of", type=Path, nargs="+", default=[], metavar="KERAS",
                    help="model 1 as a narrower network distilled from these .keras models "
                         "(e.g. model 1 1.2.0)")
    ap.add_argument("--evaluation", type=Path, nargs="*", default=[],
                    help="evaluation.json files of python -m ecgtk.export.evaluate whose tables "
                         "the cards repeat")
    args = ap.parse_args(argv)
    command = "python -m ecgtk.export.reproduce " + " ".join(
        sys.argv[1:] if argv is None else list(argv))
    summary = reproduce(args.data, args.out, work=args.work, k=args.k, seed=args.seed,
                        skip_cv=args.skip_cv, transfer=args.transfer, command=command,
                        kinds=args.kinds, evaluations=args.evaluation,
                        student_of=args.student_of, beat_student_of=args.beat_student_of)
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
