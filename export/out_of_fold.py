"""Out-of-fold calls of a cross-validation run, read and labelled as ``ecgtk run`` would.

A cross-validation run (:mod:`ecgtk.export.crossval`, :mod:`ecgtk.export.ensemble_crossval`)
leaves, per fold, each held-out record's candidates and model probabilities
(``fold<i>/probs_<record>.npz``) and the fold's thresholds (``fold.json``). Calibration
(:mod:`ecgtk.export.calibration`), the refit (:mod:`ecgtk.export.refit`) and the evaluation
scripts in ``research/`` all read them through these helpers, so they label the calls the same
way the pipeline does.
"""

from __future__ import annotations

import itertools
import json
import shutil
from pathlib import Path

import numpy as np

from ecgtk.detection.chunked import DEFAULT_CHUNK_S
from ecgtk.inference.inputs import (
    BEAT_WINDOW,
    SCALE_HALF_WIDTH_S,
    VENTRICULAR_WINDOW,
    model_windows,
)
from ecgtk.inference.models import ChunkCalls, coarsen
from ecgtk.labelling.classify import decide_labels, group_beats
from ecgtk.labelling.rescue import PauseRule, rescue_pauses
from ecgtk.labelling.rules import ValidationRules, qrs_amplitude
from ecgtk.labelling.templates import N_START, Templates
from ecgtk.scoring import load_reference


def record_features(data: list[Path], record: str, npz: Path,
                    signal: np.ndarray | None = None) -> dict:
    """A held-out record's candidates and model calls (``npz``) with what the decision needs
    (QRS amplitude, coarse morphology, reference). ``signal``: the record at the model rate
    when it is not the file's own (a noisy copy the calls were made on)."""
    from ecgtk.export.dataset import find_record, load_record, to_record_rate

    rd = load_record(data, record)
    probs = np.load(npz)
    cands = probs["candidates"]
    x = rd.signal if signal is None else signal
    amplitude = qrs_amplitude(model_windows(x, cands, *BEAT_WINDOW, cands),
                              int(SCALE_HALF_WIDTH_S * 360))
    morphology = coarsen(model_windows(x, cands, *VENTRICULAR_WINDOW, cands))
    return {"record": record, "reference": load_reference(find_record(data, record)),
            "samples": to_record_rate(cands, rd.record_fs), "p_beat": probs["p_beat"],
            "p_ventricular": probs["p_ventricular"], "amplitude": amplitude,
            "morphology": morphology}



def chunked_rescue(f: dict, threshold: float, rule: PauseRule | None) -> np.ndarray:
    """Model 1's calls on a record with the rules applied chunk by chunk, as in ``ecgtk run``;
    cached per threshold and rule (every rule setting of a grid asks for the same calls)."""
    is_beat = f["p_beat"] >= threshold
    if rule is None:
        return is_beat
    cache = f.setdefault("_rescued", {})
    if (threshold, rule) not in cache:
        fs = f["reference"].fs
        chunk = int(DEFAULT_CHUNK_S * fs)
        edges = np.searchsorted(f["samples"], np.arange(0, f["samples"][-1] + chunk, chunk))
        out = is_beat.copy()
        for lo, hi in itertools.pairwise(edges):
            out[lo:hi] = rescue_pauses(f["samples"][lo:hi], f["p_beat"][lo:hi],
                                       is_beat[lo:hi], fs, rule)
        cache[threshold, rule] = out
    return cache[threshold, rule]



def labels_of(f: dict, thresholds: dict, rules: ValidationRules | None,
              template_seed: int = 0) -> tuple[np.ndarray, dict[str, int]]:
    """A record's labels from its fold's thresholds, then, as in ``ecgtk run``, the rescue
    rules on model 1's calls (:mod:`ecgtk.labelling.rescue`, shipped setting) and the pipeline's
    decision
    (:func:`ecgtk.labelling.classify.decide_labels`; ``None``: the models' calls alone).
    ``template_seed`` s gives the decision's groupings K-means seeds s*runs, s*runs + 1, ...
    (0: the pipeline's own), so seed sets never overlap."""
    t = thresholds[f["fold"]]
    if rules is None:
        labels = np.where(f["p_beat"] < t["beat"], "artefact",
                          np.where(f["p_ventricular"] >= t["ventricular"], "V", "N"))
        return labels.astype(object), {}
    n = len(f["samples"])
    calls = ChunkCalls(f["p_beat"], chunked_rescue(f, t["beat"], PauseRule()), f["p_ventricular"],
                       f["morphology"], f["amplitude"], np.zeros((n, 0), np.float32))
    first = template_seed * rules.template_runs
    decision = decide_labels(f["samples"], calls, t["ventricular"], rules,
                             group=lambda rows, seed, k: templates_of(f, rows, first + seed, k),
                             fs=f["reference"].fs)
    return decision.labels, decision.changed



def templates_of(f: dict, rows: np.ndarray, seed: int = 0, n_start: int = N_START
                 ) -> Templates:
    """The templates of a record's beats ``rows`` with K-means ``seed`` from ``n_start``
    clusters (as the pipeline groups them), cached per set of rows: the grouping does not
    depend on the labels."""
    cache = f.setdefault("_templates", {})
    key = (rows.tobytes(), seed, n_start)
    if key not in cache:
        cache[key] = group_beats(f["morphology"][rows], seed, n_start)
    return cache[key]



def search_dirs(data: list[Path]) -> list[Path]:
    """Where records are looked up: each data folder's database folders (``mitdb``, ``nstdb``,
    ``svdb``), then itself."""
    from ecgtk.export.records import DATABASES

    return [Path(d) / sub for d in data for sub in DATABASES] + [Path(d) for d in data]



def redetect_fold(fold_dir: Path, model1_dir: Path, data: list[Path], out_dir: Path,
                  members_dir: Path | None = None) -> int:
    """Write one fold's calls with the current detector; returns how many records it did.
    Model 2 is the average of ``members_dir/ventricular*.keras`` (default: ``fold_dir``'s)."""
    from ecgtk.export.crossval import PipelineModels, _load, run_pipeline
    from ecgtk.export.dataset import load_record
    from ecgtk.export.train import predict_proba, trained_before
    from ecgtk.inference.inputs import leads_of_context_input

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


def load_folds(cv_dir: Path, data: list[Path]) -> tuple[list[dict], dict]:
    """Every finished fold's held-out records (:func:`record_features`, with their ``fold``)
    and each fold's thresholds, from a cross-validation run ``cv_dir``."""
    features, thresholds = [], {}
    for fold_dir in sorted(cv_dir.glob("fold*")):
        if not (fold_dir / "fold.json").is_file():  # a fold still running
            continue
        thresholds[fold_dir.name] = json.loads((fold_dir / "fold.json").read_text())["thresholds"]
        for npz in sorted(fold_dir.glob("probs_*.npz")):
            f = record_features(data, npz.stem.removeprefix("probs_"), npz)
            f["fold"] = fold_dir.name
            features.append(f)
    if not features:
        raise SystemExit(f"no fold results (fold*/fold.json, probs_*.npz) under {cv_dir}")
    return features, thresholds
