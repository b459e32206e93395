"""Model 2 trained again on its training *and* validation patients: the refit.

A validated training (:func:`ecgtk.export.train.train_windows`) holds some patients out to
stop early and choose the decision threshold. Inter-patient accuracy grows with the number of
patients a model has seen, so once those two choices are made, each member is trained again
from scratch, same seed, settings and kind of training windows, on every patient for the
epochs at which its validated run was best, and keeps the validated ensemble's threshold.

Measured in the patient-wise cross-validation (each fold: 15 patients to train, 4 to validate;
the refit sees all 19), with the same detector, model 1 and thresholds: out-of-fold VEB F1
beat by beat 78.8 -> 85.3 %, through ``ecgtk run``'s decision with every setting chosen on the
other folds 93.7 -> 93.9 %, on the nstdb noise records 56.8 -> 54.1 % (model 2's card,
models/ventricular.md).

:func:`refit_crossval` does it for every fold of a cross-validation run and writes the
held-out records' calls as that run did, so the benchmarks read it like any run;
:func:`refit_members` does it for the shipped model (:func:`ecgtk.export.reproduce.train_final`).
For a variant's ensemble run (``python -m research.ensemble_cv``)::

    python -m ecgtk.export.refit --data ../shared/data --baseline scratch/cv \
        --ensemble scratch/cv_variant --out scratch/cv_variant_refit
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ecgtk.export.dataset import VentricularConfig, WindowSet, build_windows

__all__ = ["best_epochs", "refit_crossval", "refit_members", "refit_windows"]


def best_epochs(info: dict, min_epochs: int = 1) -> int:
    """The epochs a refit of the validated training ``info`` (its ``.train.json``) runs: the
    epoch whose validation loss was best, at least ``min_epochs`` (a validated run best after
    its first epoch would otherwise give a refit of one epoch)."""
    phases = info.get("phases") or []
    if len(phases) != 1 or "best_epoch" not in phases[0]:
        raise ValueError("a refit needs one validated training from scratch (one phase with "
                         "its best_epoch)")
    if min_epochs < 1:
        raise ValueError(f"min_epochs must be >= 1, got {min_epochs}")
    return max(min_epochs, int(phases[0]["best_epoch"]))


def refit_windows(kind: str, windows: WindowSet, out_dir: str | Path, validated: dict,
                  min_epochs: int = 1) -> tuple[Path, dict]:
    """Train ``kind`` from scratch on ``windows`` as the validated training ``validated``
    (its ``.train.json`` facts) was trained: same seed, settings and architecture, for
    :func:`best_epochs` epochs (at least ``min_epochs``), no validation. The threshold is the
    validated one. Writes ``<out_dir>/<kind>.keras`` and ``.train.json``; returns its path and
    facts."""
    import keras

    from ecgtk.export.train import (
        DEFAULT_CONTEXT,
        DEFAULT_LR,
        TrainSettings,
        _fit,
        configure_tensorflow,
        model_inputs,
        new_model,
    )

    settings = TrainSettings(**validated["settings"])
    epochs = best_epochs(validated, min_epochs)
    context = validated.get("context", DEFAULT_CONTEXT[kind])  # older facts lack it
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    configure_tensorflow(settings.threads)
    keras.utils.set_random_seed(validated["seed"])
    x = model_inputs(kind, windows, validated["n_leads"], context)
    model = new_model(kind, x.shape[2], settings)
    t0 = time.time()
    phase = _fit(model, (x, windows.y), None, out_dir=out_dir, name=kind, kind=kind,
                 epochs=epochs, lr=settings.learning_rate or DEFAULT_LR[kind],
                 settings=settings, seed=validated["seed"], phase="refit",
                 context=context)
    path = out_dir / f"{kind}.keras"
    model.save(str(path))
    info = {**validated, "context": context, "train_records": sorted(set(windows.record.tolist())),
            "val_records": [], "train_counts": windows.counts(), "val_counts": {},
            "train_seconds": round(time.time() - t0, 1), "phases": [phase],
            "refit_of": {"val_records": validated["val_records"], "epochs": epochs,
                         "threshold": validated["threshold"]}}
    (out_dir / f"{kind}.train.json").write_text(json.dumps(info, indent=2, default=str))
    return path, info


def refit_members(kind: str, windows: WindowSet, validated: Sequence[dict],
                  folders: Sequence[Path], min_epochs: int = 1) -> list[Path]:
    """:func:`refit_windows` of each validated member (its facts) into its folder; members
    already refitted there (``.keras`` and ``.train.json``) are reused."""
    from ecgtk.export.train import trained_before

    return [(trained_before(folder, kind)
             or refit_windows(kind, windows, folder, info, min_epochs))[0]
            for info, folder in zip(validated, folders, strict=True)]


def fold_members(baseline_fold: Path, ensemble_fold: Path) -> list[dict]:
    """The validated trainings of one fold's model-2 members, in the ensemble run's order
    (:mod:`ecgtk.export.ensemble_crossval`): each seed's ``seed<s>/`` there, or for seed 0
    without one, the baseline run's model 2 (:mod:`ecgtk.export.crossval`; the baseline fold
    alone when ``ensemble_fold`` is no ensemble run). Without the run's ``fold.json``: seed 0,
    then every ``seed<s>/`` in order."""
    baseline_fold, ensemble_fold = Path(baseline_fold), Path(ensemble_fold)
    meta = ensemble_fold / "fold.json"
    info = json.loads(meta.read_text()).get("ensemble") if meta.is_file() else None
    seeds = (info or {}).get("seeds") or [0, *sorted(
        int(d.name.removeprefix("seed")) for d in ensemble_fold.glob("seed*")
        if (d / "ventricular.train.json").is_file())]
    paths = []
    for seed in seeds:
        own = ensemble_fold / f"seed{seed}" / "ventricular.train.json"
        if not own.is_file() and seed != 0:
            raise FileNotFoundError(f"{own}: member of seed {seed} not found")
        paths.append(own if own.is_file() else baseline_fold / "ventricular.train.json")
    return [json.loads(p.read_text()) for p in paths]


def refit_crossval(baseline: Path, ensemble: Path, out: Path, data_dirs: Sequence[Path],
                   verbose: bool = True, min_epochs: int = 1) -> dict:
    """Refit every fold's model-2 members (:func:`fold_members`) on the fold's training and
    validation records, and call its held-out records again with model 1 of ``baseline`` and
    the refitted ensemble (:func:`ecgtk.export.out_of_fold.redetect_fold`): writes
    ``out/fold<i>/`` (members, ``fold.json`` with the validated thresholds, ``probs_*.npz``)
    and ``out/crossval.json``; returns the summary."""
    import shutil

    from ecgtk.export.crossval import summarise
    from ecgtk.export.ensemble import member_path
    from ecgtk.export.ensemble_crossval import record_scores
    from ecgtk.export.out_of_fold import redetect_fold, search_dirs

    baseline, ensemble, out = Path(baseline), Path(ensemble), Path(out)
    data = list(data_dirs)
    dirs = search_dirs(data)  # where records are read
    results = []
    for fold_dir in sorted(p for p in ensemble.glob("fold*") if (p / "fold.json").is_file()):
        out_dir = out / fold_dir.name
        done = out_dir / "fold.json"
        if done.is_file() and "refit" in json.loads(done.read_text()):
            results.append(json.loads(done.read_text()))
            continue
        meta = json.loads((fold_dir / "fold.json").read_text())
        validated = fold_members(baseline / fold_dir.name, fold_dir)
        kinds = [VentricularConfig(**info.get("windows", {})) for info in validated]
        windows = {kind: build_windows("ventricular", data,  # once per kind of windows
                                       meta["train_records"] + meta["val_records"],
                                       ventricular_config=kind) for kind in dict.fromkeys(kinds)}
        paths = [refit_members("ventricular", windows[kind], [info], [out_dir / f"member{i}"],
                               min_epochs)[0]
                 for i, (info, kind) in enumerate(zip(validated, kinds, strict=True))]
        for i, path in enumerate(paths):
            shutil.copy2(path, member_path(out_dir / "ventricular.keras", i))
        redetect_fold(fold_dir, baseline, dirs, out_dir, members_dir=out_dir)
        records = {}
        for npz in sorted(out_dir.glob("probs_*.npz")):
            record = npz.stem.removeprefix("probs_")
            with np.load(npz) as calls:  # scored at the rate of the record's header
                records[record] = record_scores(dirs, record, dict(calls), None,
                                                meta["thresholds"])
        result = {**meta, "records": records,
                  "refit": {"epochs": [best_epochs(v, min_epochs) for v in validated],
                            "seeds": [v["seed"] for v in validated]}}
        done.write_text(json.dumps(result, indent=1, default=str))
        results.append(result)
        if verbose:
            print(f"refit {fold_dir.name}: epochs {result['refit']['epochs']}", flush=True)
    summary = summarise(results)
    (out / "crossval.json").write_text(json.dumps(summary, indent=1, default=str))
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m ecgtk.export.refit",
                                 description="Refit a cross-validation run's model-2 members "
                                             "on each fold's training and validation patients.")
    ap.add_argument("--data", type=Path, nargs="+", required=True,
                    help="folder(s) holding mitdb/ and nstdb/")
    ap.add_argument("--baseline", type=Path, required=True,
                    help="the cross-validation run (model 1, seed 0 of model 2)")
    ap.add_argument("--ensemble", type=Path, required=True,
                    help="its ensemble run (python -m research.ensemble_cv)")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--min-epochs", type=int, default=1,
                    help="train each member for at least N epochs (default 1: its validated "
                         "run's best epoch, whatever it was)")
    args = ap.parse_args(argv)
    if args.min_epochs < 1:
        ap.error(f"--min-epochs must be >= 1, got {args.min_epochs}")
    from ecgtk.export.train import configure_tensorflow

    if not any(args.ensemble.glob("fold*/fold.json")):
        ap.error(f"{args.ensemble}: no finished folds")
    configure_tensorflow(2)
    summary = refit_crossval(args.baseline, args.ensemble, args.out, args.data,
                             min_epochs=args.min_epochs)
    print(json.dumps({"veb_per_beat": summary["pipeline"]["veb"]}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
