"""What ``ecgtk train`` and ``ecgtk export`` run (TensorFlow is imported here, never by the CLI
module itself)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ecgtk.archive import sample_archive
from ecgtk.detect import detect_beats
from ecgtk.inputs import (
    CONTEXT_KIND,
    channel_names,
    leads_of_context_input,
    model_windows,
    ventricular_inputs,
)
from ecgtk.readers import read_recording

#: Model input length (samples at 360 Hz) -> model kind.
KIND_OF_LENGTH = {100: "beat", 300: "ventricular"}


def sample_windows(before: int, after: int, n_leads: int, limit: int = 512,
                   context: bool = False) -> np.ndarray:
    """Real, normalised model inputs from the shipped sample archive (for export parity
    checks); ``context``: model 2's inputs with context channels."""
    parts = []
    make = ventricular_inputs if context else model_windows
    for header in sorted(sample_archive().glob("*.hea")):
        recording = read_recording(header)
        beats = detect_beats(recording)
        parts.append(make(recording.signal[:, :n_leads], beats, before, after, beats))
    windows = np.concatenate(parts)
    pick = np.linspace(0, len(windows) - 1, min(limit, len(windows))).round().astype(int)
    return windows[pick]


def export_command(keras_path: Path, out_path: Path, gradcam: bool = False) -> dict:
    """Export a trained ``.keras`` model to ONNX with the metadata ecgtk reads at run time.

    The kind (beat or ventricular) follows from the input length; the decision threshold and
    training facts come from ``<name>.train.json`` beside the model when present (written by
    ``ecgtk train``), else 0.5. Parity with Keras is checked on real windows of the shipped
    sample. ``gradcam`` also writes ``<out>_gradcam.onnx`` for ``ecgtk explain``.
    """
    import keras

    from ecgtk.export.gradcam import export_gradcam_onnx
    from ecgtk.export.onnx_export import export_onnx, load_keras_model
    from ecgtk.export.reproduce import DESCRIPTIONS, MC_PASSES, MODEL_VERSION, TRAINING_DATA
    from ecgtk.export.train import CLASSES

    model = load_keras_model(keras_path)
    _, length, channels = model.input_shape
    if length not in KIND_OF_LENGTH:
        raise ValueError(f"{keras_path}: input length {length} is neither 100 (beat model) "
                         "nor 300 (ventricular model)")
    kind = KIND_OF_LENGTH[length]
    facts_path = keras_path.with_name(f"{keras_path.stem}.train.json")
    facts = json.loads(facts_path.read_text()) if facts_path.is_file() else {}
    threshold = (facts.get("threshold") or {}).get("threshold", 0.5)
    context = kind == "ventricular" and channels > 2
    n_leads = leads_of_context_input(channels) if context else channels
    windows = sample_windows(length // 2, length - length // 2, n_leads, context=context)
    metadata = {
        "model_name": kind, "model_version": MODEL_VERSION, "task": DESCRIPTIONS[kind],
        "rate_hz": 360, "window_before": length // 2, "window_after": length - length // 2,
        "classes": list(CLASSES[kind]),
        "input_leads": channel_names([f"lead {i + 1}" for i in range(n_leads)], context),
        "context": CONTEXT_KIND if context else "",
        "decision_threshold": threshold, "normalisation": "ecgtk.inputs.model_windows",
        "training_data": facts.get("training_data", TRAINING_DATA[kind]),
    }
    keras.backend.clear_session()
    report = export_onnx(keras_path, out_path, metadata=metadata, parity_windows=windows,
                         mc_passes=MC_PASSES[kind])
    if gradcam:
        graph = out_path.with_name(f"{out_path.stem}_gradcam.onnx")
        report["gradcam"] = export_gradcam_onnx(keras_path, graph, windows[:64])
    return report
