"""What ``ecgtk train`` and ``ecgtk export`` run (TensorFlow is imported here, never by the CLI
module itself)."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ecgtk.detection.chunked import detect_beats
from ecgtk.engines.archive import sample_archive
from ecgtk.export.records import (
    ALL_RECORDS,
    DATABASES,
    NSTDB_RECORDS,
    SVDB,
    patient_of,
    records_of_patients,
)
from ecgtk.export.thresholds import validation_split
from ecgtk.inference.inputs import (
    CONTEXT_KIND,
    channel_names,
    leads_of_context_input,
    model_windows,
    ventricular_inputs,
)
from ecgtk.readers import read_recording

#: nstdb noise-stress copies of a record: 118e06, 119e_6, ...
_NSTDB_NAME = re.compile(r"^\d{3}e(\d\d|_\d)$")
#: Model input length (samples at 360 Hz) -> model kind.
KIND_OF_LENGTH = {100: "beat", 300: "ventricular"}


def sample_windows(before: int, after: int, n_leads: int, limit: int = 512,
                   context: bool = False) -> np.ndarray:
    """Real, normalised model inputs from the shipped sample archive (for export parity
    checks); ``context``: inputs with context channels
    (:func:`ecgtk.inference.inputs.ventricular_inputs`)."""
    parts = []
    make = ventricular_inputs if context else model_windows
    for header in sorted(sample_archive().glob("*.hea")):
        recording = read_recording(header)
        beats = detect_beats(recording)
        parts.append(make(recording.signal[:, :n_leads], beats, before, after, beats))
    windows = np.concatenate(parts)
    pick = np.linspace(0, len(windows) - 1, min(limit, len(windows))).round().astype(int)
    return windows[pick]


def read_calibration(path: Path) -> dict:
    """A calibration report (``python -m ecgtk.export.calibration --json FILE``): checks that
    it has the Platt ``a``, ``b`` and the ``review_threshold`` export needs."""
    try:
        report = json.loads(Path(path).read_text())
        a, b = float(report["platt"]["a"]), float(report["platt"]["b"])
        review = float(report["review_threshold"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{path}: not a calibration report with platt.a, platt.b and "
                         f"review_threshold (python -m ecgtk.export.calibration --json FILE "
                         f"writes one): {error}") from error
    if not (np.isfinite([a, b, review]).all() and a > 0 and review >= 0):
        raise ValueError(f"{path}: calibration a={a}, b={b}, review_threshold={review} is not "
                         "usable (need a > 0, review_threshold >= 0)")
    return {"platt": {"a": a, "b": b}, "review_threshold": review}


def export_command(keras_path: Path, out_path: Path, gradcam: bool = False,
                   calibration: dict | None = None, members: Sequence[Path] = ()) -> dict:
    """Export a trained ``.keras`` model to ONNX with the metadata ecgtk reads at run time.

    The kind (beat or ventricular) follows from the input length; the decision threshold and
    training facts come from ``<name>.train.json`` beside the model when present (written by
    ``ecgtk train``), else 0.5. Parity with Keras is checked on real windows of the shipped
    sample. ``gradcam`` also writes ``<out>_gradcam.onnx`` for ``ecgtk explain``.
    ``calibration`` (:func:`read_calibration`, ventricular models only) puts the Platt
    calibration and review threshold in the metadata; without it ``ecgtk run`` reports the
    raw probability and marks no beat for review. ``members``: other trainings of the same
    architecture that the graph averages with ``keras_path`` (:mod:`ecgtk.export.ensemble`;
    the Grad-CAM graph explains ``keras_path`` alone).
    """
    import keras

    from ecgtk.export.card_notes import DESCRIPTIONS, TRAINING_DATA
    from ecgtk.export.ensemble import passes_for
    from ecgtk.export.gradcam import export_gradcam_onnx
    from ecgtk.export.onnx_export import export_onnx, load_keras_model
    from ecgtk.export.reproduce import MC_PASSES, MODEL_VERSION, calibration_metadata
    from ecgtk.export.train import CLASSES

    model = load_keras_model(keras_path)
    _, length, channels = model.input_shape
    if length not in KIND_OF_LENGTH:
        raise ValueError(f"{keras_path}: input length {length} is neither 100 (beat model) "
                         "nor 300 (ventricular model)")
    kind = KIND_OF_LENGTH[length]
    if calibration and kind != "ventricular":
        raise ValueError(f"{keras_path}: a calibration applies to ventricular models only")
    facts_path = keras_path.with_name(f"{keras_path.stem}.train.json")
    facts = json.loads(facts_path.read_text()) if facts_path.is_file() else {}
    threshold = (facts.get("threshold") or {}).get("threshold", 0.5)
    # a 2-lead model without context reads 2 channels, with context 6 (1 lead: 1 or 4)
    context = bool(facts.get("context", channels > 2))
    n_leads = leads_of_context_input(channels) if context else channels
    windows = sample_windows(length // 2, length - length // 2, n_leads, context=context)
    metadata = {
        "model_name": kind, "model_version": MODEL_VERSION[kind], "task": DESCRIPTIONS[kind],
        "rate_hz": 360, "window_before": length // 2, "window_after": length - length // 2,
        "classes": list(CLASSES[kind]),
        "input_leads": channel_names([f"lead {i + 1}" for i in range(n_leads)], context),
        "context": CONTEXT_KIND if context else "",
        "decision_threshold": threshold, "normalisation": "ecgtk.inference.inputs.model_windows",
        "training_data": facts.get("training_data", TRAINING_DATA[kind]),
        **calibration_metadata(calibration),
    }
    keras.backend.clear_session()
    report = export_onnx([keras_path, *members], out_path, metadata=metadata,
                         parity_windows=windows,
                         mc_passes=passes_for(MC_PASSES[kind], 1 + len(members)))
    report["kind"] = kind
    if gradcam:
        graph = out_path.with_name(f"{out_path.stem}_gradcam.onnx")
        report["gradcam"] = export_gradcam_onnx(keras_path, graph, windows[:64])
    return report


def discover_records(data_dirs: Sequence[str | Path], kind: str) -> list[str]:
    """Annotated WFDB records (``.hea`` with ``.atr``) in ``data_dirs`` and their database
    folders (``mitdb/``, ``nstdb/``, ``svdb/``). Model 2 leaves out the nstdb noisy copies
    (``118e06`` ...), which repeat the beats of ``118``/``119``; model 1 uses them."""
    found: list[str] = []
    for d in data_dirs:
        for sub in ("", *DATABASES):
            folder = Path(d) / sub
            if not folder.is_dir():
                continue
            for hea in sorted(folder.glob("*.hea")):
                name = hea.stem
                if not hea.with_suffix(".atr").is_file() or name in found:
                    continue
                if kind == "ventricular" and _NSTDB_NAME.match(name):
                    continue
                found.append(name)
    order = {r: i for i, r in enumerate(ALL_RECORDS + NSTDB_RECORDS + SVDB)}
    return sorted(found, key=lambda r: (order.get(r, len(order)), r))


def train_command(kind: str, data_dirs: list[Path], out_dir: Path, init: Path | None,
                  epochs: int, val_records: list[str] | None, refit: bool = False) -> Path:
    """What ``ecgtk train`` runs: train ``kind`` on every annotated record in ``data_dirs``.

    Validation (early stopping, threshold) uses ``val_records`` -- with every other record of
    the same patients -- or, when ``None``, a seeded 20 % of the patients. Returns the
    ``.keras`` path in ``out_dir`` (``<kind>.keras``, with ``<kind>.train.json`` beside it).
    ``refit``: then train it again from scratch on the training and validation records for its
    best epochs, keeping its threshold (:mod:`ecgtk.export.refit`), and return that model,
    ``out_dir/refit/<kind>.keras``.
    """
    from ecgtk.export.train import KINDS, train_model, trained_before

    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if refit and init is not None:
        raise ValueError("--refit trains from scratch again; it cannot follow --init")
    records = discover_records(data_dirs, kind)
    if not records:
        raise FileNotFoundError(f"no annotated WFDB records in {', '.join(map(str, data_dirs))}")
    if val_records:
        missing = [r for r in val_records if r not in records]
        if missing:
            raise ValueError(f"validation records not found: {', '.join(missing)}")
        val = records_of_patients(records, {patient_of(r) for r in val_records})
        train = [r for r in records if r not in val]
    else:
        train, val = validation_split(data_dirs, records, seed=0)
    if not train:
        raise ValueError("no training records left after taking the validation records")
    path = train_model(kind, train, val, data_dirs, out_dir, init=init, epochs=epochs, seed=0)
    if not refit:
        return path
    from ecgtk.export.dataset import build_training_windows
    from ecgtk.export.refit import refit_windows

    _, validated = trained_before(Path(out_dir), kind)
    windows = build_training_windows(kind, data_dirs, train + val)
    return refit_windows(kind, windows, Path(out_dir) / "refit", validated)[0]
