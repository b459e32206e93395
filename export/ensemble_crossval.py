"""Cross-validation of an ensemble of model 2 (several training seeds, probabilities averaged).

For each fold of a finished cross-validation run (:mod:`ecgtk.export.crossval`) model 2 is
trained again on the same records with each of the given seeds (same data, settings and
validation split; only the seed of the weights, dropout and augmentation order differs). The
held-out records' model-2 probabilities of the run's own model 2 (member 0) and of the new
members are averaged, the decision threshold is chosen again on the validation split's averaged
probabilities (the rule of :func:`ecgtk.export.thresholds.choose_threshold`), and the result is
written as a run of its own: ``OUT/fold<i>/probs_<record>.npz``, ``fold.json``, the members as
``ventricular.keras``, ``ventricular_1.keras``, ... (:mod:`ecgtk.export.ensemble`) and
``OUT/crossval.json``; model 1's calls are the run's. So calibration
(:mod:`ecgtk.export.calibration`), the model card and
``python -m research.validation_eval --cv-dir OUT`` read it like any run.
:func:`ecgtk.export.reproduce.reproduce` runs it for the shipped ensemble;
``python -m research.ensemble_cv`` runs it by hand (other seeds, architectures).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

__all__ = ["ensemble_crossval", "ensemble_fold"]


def candidate_inputs(signal: np.ndarray, fs: float, candidates: np.ndarray,
                     leads: int) -> np.ndarray:
    """Model 2's inputs at the ``candidates`` (samples at the model rate ``fs``) of a record's
    ``signal``, its first ``leads`` leads, as :func:`ecgtk.export.crossval.run_pipeline` gives
    them (the candidates are also the beats of the context channels)."""
    from ecgtk.inference.inputs import VENTRICULAR_WINDOW, ventricular_inputs

    return ventricular_inputs(signal[:, :leads], candidates, *VENTRICULAR_WINDOW, candidates,
                              fs=fs)


def member_probabilities(models: list, signal: np.ndarray, fs: float,
                         candidates: np.ndarray) -> list[np.ndarray]:
    """Each model 2's p(ventricular) at the ``candidates`` of a record's ``signal``
    (:func:`candidate_inputs`, built once: the members share one architecture)."""
    from ecgtk.export.train import predict_proba
    from ecgtk.inference.inputs import leads_of_context_input

    if not models:
        return []
    x = candidate_inputs(signal, fs, candidates, leads_of_context_input(models[0].input_shape[-1]))
    return [predict_proba(model, x) for model in models]


def record_scores(data_dirs: list[Path], record: str, calls: dict, record_fs: float | None,
                  thresholds: dict) -> dict:
    """A held-out record's scores as :func:`ecgtk.export.crossval.run_fold` writes them;
    ``record_fs`` (Hz) None: the reference's rate, read from the record's header."""
    from ecgtk.export.crossval import _brief, score_pipeline
    from ecgtk.export.dataset import find_record
    from ecgtk.scoring import load_reference

    reference = load_reference(find_record(data_dirs, record))
    scores = score_pipeline(reference, calls, record_fs or reference.fs, thresholds["beat"],
                            thresholds["ventricular"])
    return {**{k: _brief(v) for k, v in scores.items()}, "_full": scores["pipeline"]}


def shared_or_none(values: Sequence[dict]) -> dict | None:
    """The one value every member shares (their training windows), None where they differ
    (a combination of members trained on different windows: see ``member_windows``)."""
    return values[0] if values and all(v == values[0] for v in values) else None


def ensemble_fold(fold_dir: Path, out_dir: Path, data_dirs: list[Path], seeds: list[int],
                  arch: dict | None = None, with_baseline: bool = True,
                  augment: dict | None = None, windows: dict | None = None,
                  monitor: str | None = None, train_share: float | None = None,
                  subset_seed: int = 0) -> dict:
    """Train the extra members of one fold (``arch``: build_model arguments over the default
    architecture's; ``augment``: AugmentConfig fields over model 2's default augmentation;
    ``windows``: VentricularConfig fields of their training windows over the shipped
    recipe's (:data:`ecgtk.export.dataset.TRAINING_WINDOWS`), the validation windows keeping
    every beat for the threshold; ``monitor``: the early-stopping
    quantity, None for model 2's default; ``train_share``: train on that share of the fold's
    training patients only, drawn with ``subset_seed``, the validation patients unchanged; its
    fold.json then names the subset as the training records, so a refit uses it too) and write
    the averaged run; returns its fold.json. ``with_baseline``: the baseline's model 2 is
    member 0 (else the members are the new trainings alone)."""
    import keras

    import ecgtk.export.architecture  # noqa: F401  (registers WeightedSum for loading)
    from ecgtk.export.dataset import (
        build_training_windows,
        build_windows,
        load_record,
        training_window_fields,
    )
    from ecgtk.export.ensemble import member_path
    from ecgtk.export.train import (
        DEFAULT_AUGMENT,
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
    fields = training_window_fields("ventricular", windows)
    if train_share is not None:
        meta = {**meta, **_patient_subset(meta["train_records"], train_share, subset_seed)}
    train = build_training_windows("ventricular", data_dirs, meta["train_records"],
                                   windows=windows)
    val = build_windows("ventricular", data_dirs, meta["val_records"])
    first = out_dir / "ventricular.keras"
    members = []
    if with_baseline:
        shutil.copy2(fold_dir / "ventricular.keras", first)
        members.append(keras.models.load_model(str(first)))
    settings = TrainSettings(verbose=2, arch=dict(arch or {}),
                             augment=replace(DEFAULT_AUGMENT["ventricular"], **augment)
                             if augment else None, monitor=monitor)
    member_windows = []  # as each new member's facts record them (a reused member's own)
    for seed in seeds:
        member_dir = out_dir / f"seed{seed}"
        path, facts = trained_before(member_dir, "ventricular") or train_windows(
            "ventricular", train, val, member_dir, seed=seed, settings=settings,
            extra_info={"windows": fields})
        member_windows.append(facts.get("windows", {}))  # no field: every V beat (< 0.2.5)
        shutil.copy2(path, member_path(first, len(members)))  # the layout calibration reads
        members.append(keras.models.load_model(str(path)))
    x_val = val.context_inputs(2)
    p_val = np.mean([predict_proba(m, x_val) for m in members], axis=0)
    threshold = choose_threshold("ventricular", p_val, val)
    thresholds = {**meta["thresholds"], "ventricular": threshold["threshold"]}
    records = {}
    for npz in sorted(fold_dir.glob("probs_*.npz")):
        record = npz.stem.removeprefix("probs_")
        calls = dict(np.load(npz))
        rd = load_record(data_dirs, record)
        extra = member_probabilities(members[int(with_baseline):], rd.signal, rd.fs,
                                     calls["candidates"])
        own = [calls["p_ventricular"]] if with_baseline else []
        calls["p_ventricular"] = np.mean([*own, *extra], axis=0)
        np.savez(out_dir / npz.name, **calls)
        records[record] = record_scores(data_dirs, record, calls, rd.record_fs, thresholds)
    result = {**meta, "thresholds": thresholds, "records": records,
              "ensemble": {"seeds": [0, *seeds] if with_baseline else seeds,
                           "arch": arch or {}, "augment": augment or {},
                           "windows": shared_or_none(member_windows),
                           "member_windows": member_windows, "monitor": monitor,
                           "threshold": threshold}}
    done.write_text(json.dumps(result, indent=1, default=str))
    return result


def _patient_subset(train_records: list[str], share: float, seed: int) -> dict:
    """fold.json fields for training on ``share`` of the patients of ``train_records`` (at
    least one), drawn with ``seed``: the subset as ``train_records``, the rest named."""
    from ecgtk.export.records import patient_of, subsample_patients

    if not 0 < share <= 1:
        raise ValueError(f"train_share must be in (0, 1], got {share}")
    n = len({patient_of(r) for r in train_records})
    kept = subsample_patients(train_records, max(1, int(n * share)), seed)
    return {"train_records": kept,
            "train_subset": {"share": share, "seed": seed,
                             "left_out": [r for r in train_records if r not in kept]}}


def ensemble_crossval(baseline: Path, out: Path, data_dirs: Sequence[Path],
                      seeds: Sequence[int], *, arch: dict | None = None,
                      with_baseline: bool = True, folds: Sequence[int] | None = None,
                      augment: dict | None = None, windows: dict | None = None,
                      monitor: str | None = None, train_share: float | None = None,
                      subset_seed: int = 0, verbose: bool = True) -> dict | None:
    """:func:`ensemble_fold` for every finished fold of the ``baseline`` run (or those in
    ``folds``); returns the run's summary (also ``out/crossval.json``) once every fold is done,
    else None."""
    from ecgtk.export.crossval import summarise

    baseline, out = Path(baseline), Path(out)
    fold_dirs = sorted(p for p in baseline.glob("fold*") if (p / "fold.json").is_file())
    if not fold_dirs:
        raise FileNotFoundError(f"{baseline}: no finished cross-validation folds")
    results = []
    for fold_dir in fold_dirs:
        if folds is not None and int(fold_dir.name.removeprefix("fold")) not in folds:
            continue
        out_dir = out / fold_dir.name
        out_dir.mkdir(parents=True, exist_ok=True)
        results.append(ensemble_fold(fold_dir, out_dir, list(data_dirs), list(seeds), arch,
                                     with_baseline=with_baseline, augment=augment,
                                     windows=windows, monitor=monitor,
                                     train_share=train_share, subset_seed=subset_seed))
        if verbose:
            print(f"ensemble {fold_dir.name}: threshold "
                  f"{results[-1]['thresholds']['ventricular']}", flush=True)
    if len(results) < len(fold_dirs):
        return None
    summary = summarise(results)
    own_file = baseline / "crossval.json"  # absent while the baseline run is unfinished
    own = json.loads(own_file.read_text()) if own_file.is_file() else {}
    summary.update({k: own[k] for k in ("seed", "folds_of_patients") if k in own})
    (out / "crossval.json").write_text(json.dumps(summary, indent=1, default=str))
    return summary
