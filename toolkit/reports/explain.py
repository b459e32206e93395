"""``ecgtk explain``: Grad-CAM heatmaps of chosen beats of one recording, as a table and PNGs.

The recording runs through the same pipeline as ``ecgtk run``; the chosen beats' model-2
windows are rebuilt exactly as the model saw them (same chunks, same normalisation), and the
heatmap says which samples drove the normal/ventricular call. Heatmaps come from the Grad-CAM
ONNX graph shipped beside the model (no TensorFlow), or, when that graph is missing, from the
Keras model with TensorFlow (the ``train`` extra).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from ecgtk.detection.chunked import DEFAULT_CHUNK_S, DEFAULT_OVERLAP_S
from ecgtk.engines.archive import output_name
from ecgtk.inference.models import BeatModels
from ecgtk.pipeline import analyse_recording
from ecgtk.recording import Recording
from ecgtk.tables import HEATMAPS_SCHEMA

BEAT_CHOICES = ("V", "N", "all")
#: How many N beats make the "typical N beat" drawn beside each explained beat.
TYPICAL_N_BEATS = 50


@dataclass(frozen=True)
class Explanation:
    """The explained beats of one recording."""

    record_id: str
    samples: np.ndarray  # at the recording's rate
    labels: np.ndarray
    p_ventricular: np.ndarray
    windows: np.ndarray  # (n, L, leads) model-2 inputs
    heatmaps: np.ndarray  # (n, L) in [0, 1]
    typical_normal: np.ndarray | None  # (L, leads) median of some N windows, if any


def choose_beats(labels: np.ndarray, which: str, limit: int) -> np.ndarray:
    """Row indices of up to ``limit`` beats labelled ``which`` (V, N, or all non-artefacts),
    spread evenly over the recording."""
    if which not in BEAT_CHOICES:
        raise ValueError(f"beats must be one of {BEAT_CHOICES}, got {which!r}")
    wanted = labels != "artefact" if which == "all" else labels == which
    rows = np.flatnonzero(wanted)
    if len(rows) > limit:
        rows = rows[np.linspace(0, len(rows) - 1, limit).round().astype(int)]
    return rows


def windows_for(recording: Recording, models: BeatModels, samples: np.ndarray,
                candidates: np.ndarray) -> np.ndarray:
    """Model-2 windows of ``samples`` (sorted), chunk by chunk as the pipeline cut them."""
    fs = recording.fs
    step = int(round(DEFAULT_CHUNK_S * fs))
    overlap = int(round(DEFAULT_OVERLAP_S * fs))
    parts = []
    for own_start in np.unique(samples // step) * step:
        start, stop = max(0, own_start - overlap), own_start + step + overlap
        here = samples[(samples >= own_start) & (samples < own_start + step)]
        scale = candidates[(candidates >= own_start) & (candidates < own_start + step)]
        parts.append(models.ventricular_windows(recording.read(start, stop), fs, here - start,
                                                scale - start))
    return np.concatenate(parts) if parts else np.empty((0, 0, 0), np.float32)


def explain_recording(recording: Recording, models: BeatModels, heatmapper, which: str = "V",
                      limit: int = 20) -> Explanation:
    """Pick beats, rebuild their windows, compute their heatmaps with ``heatmapper(windows)``."""
    table = analyse_recording(recording, models).beats
    samples = table.column("sample").to_numpy()
    labels = np.asarray(table.column("label").to_pylist(), dtype=object)
    p_ventricular = table.column("p_ventricular").to_numpy(zero_copy_only=False)
    rows = choose_beats(labels, which, limit)
    windows = windows_for(recording, models, samples[rows], samples)
    normal = choose_beats(labels, "N", TYPICAL_N_BEATS)
    typical = (np.median(windows_for(recording, models, samples[normal], samples), axis=0)
               if len(normal) else None)
    heatmaps = heatmapper(windows) if len(rows) else np.empty((0, windows.shape[1]))
    return Explanation(recording.record_id, samples[rows], labels[rows],
                       p_ventricular[rows].astype(np.float32), windows,
                       np.asarray(heatmaps, np.float32), typical)


def heatmaps_table(explanation: Explanation) -> pa.Table:
    return pa.Table.from_pydict({
        "record_id": [explanation.record_id] * len(explanation.samples),
        "sample": explanation.samples,
        "label": list(explanation.labels),
        "p_ventricular": explanation.p_ventricular,
        "heatmap": list(explanation.heatmaps),
    }, schema=HEATMAPS_SCHEMA)


def load_heatmapper(models: BeatModels):
    """``windows -> heatmaps``: the Grad-CAM ONNX graph beside the ventricular model if there
    is one, else TensorFlow on the ``.keras`` source (raises ImportError when it is missing)."""
    path = models.info["ventricular"].path
    graph = path.with_name(f"{path.stem}_gradcam.onnx")
    if graph.is_file():
        from ecgtk.inference.sessions import open_session
        from ecgtk.reports.gradcam import gradcam_onnx

        session = open_session(graph, "cpu")
        return lambda windows: gradcam_onnx(session, windows)
    keras_path = path.with_suffix(".keras")
    try:
        from ecgtk.export.gradcam import gradcam_keras
    except ImportError as error:
        raise ImportError(f"no Grad-CAM graph {graph.name} beside the model, and TensorFlow is "
                          "not installed: pip install 'ecgtk[train]'") from error
    return lambda windows: gradcam_keras(str(keras_path), windows)[0]


def write_figures(explanation: Explanation, out_dir: Path, rate_hz: float) -> list[Path]:
    """One PNG per explained beat: its lead-0 trace coloured by the heatmap, beside the
    record's typical N beat. Needs matplotlib (the ``plot`` extra)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection

    out_dir.mkdir(parents=True, exist_ok=True)
    stem = output_name(explanation.record_id).removesuffix(".parquet")
    written = []
    for i, sample in enumerate(explanation.samples):
        window, heat = explanation.windows[i, :, 0], explanation.heatmaps[i]
        t_ms = (np.arange(len(window)) - len(window) // 2) * 1000.0 / rate_hz
        fig, axes = plt.subplots(1, 2, figsize=(9, 3.2), sharey=True)
        points = np.stack([t_ms, window], axis=1)
        segments = np.stack([points[:-1], points[1:]], axis=1)
        lines = LineCollection(segments, cmap="inferno_r", linewidth=2.5)
        lines.set_array((heat[:-1] + heat[1:]) / 2)
        lines.set_clim(0, 1)
        axes[0].add_collection(lines)
        axes[0].autoscale()
        axes[0].set_title(f"{explanation.labels[i]} beat at {sample} "
                          f"(p_V {explanation.p_ventricular[i]:.2f})", fontsize=9)
        fig.colorbar(lines, ax=axes[0], label="Grad-CAM")
        if explanation.typical_normal is not None:
            axes[1].plot(t_ms, explanation.typical_normal[:, 0], color="0.4")
        axes[1].set_title("typical N beat of this record", fontsize=9)
        for axis in axes:
            axis.set_xlabel("ms from R peak")
        axes[0].set_ylabel("lead 0, QRS units")
        fig.suptitle(explanation.record_id, fontsize=10)
        fig.tight_layout()
        path = out_dir / f"{stem}_{sample}.png"
        fig.savefig(path, dpi=90)
        plt.close(fig)
        written.append(path)
    return written
