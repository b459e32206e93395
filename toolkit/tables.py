"""The Parquet contract of docs/design.md: every schema, the table builders, atomic writes.

Every table that leaves ecgtk is built here, so the column names and types live in one place.
Files are written to a hidden temporary name in the destination folder, flushed to disk, and
renamed: a reader (pyarrow.dataset, DuckDB, Spark) never sees half a file, and a crash leaves
only a hidden ``.*.tmp-*`` file that the next run removes.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ecgtk.kernels.windows import rr_intervals

#: The rhythm columns of ``records/``, in order: (name, Arrow type).
RHYTHM_COLUMNS: list[tuple[str, pa.DataType]] = [
    ("hr_mean_bpm", pa.float64()),
    ("hr_min_bpm", pa.float64()),
    ("hr_max_bpm", pa.float64()),
    ("hr_hourly_bpm", pa.list_(pa.float32())),
    ("n_v_isolated", pa.int64()),
    ("n_v_couplets", pa.int64()),
    ("n_v_triplets", pa.int64()),
    ("n_v_runs", pa.int64()),
    ("n_vt_runs", pa.int64()),
    ("longest_v_run_beats", pa.int64()),
    ("n_bigeminy_episodes", pa.int64()),
    ("n_trigeminy_episodes", pa.int64()),
    ("n_pauses", pa.int64()),
    ("longest_rr_s", pa.float64()),
    ("artefact_share", pa.float64()),
    ("sdnn_ms", pa.float64()),
    ("rmssd_ms", pa.float64()),
    ("n_af_episodes", pa.int64()),
    ("af_burden", pa.float64()),
    ("n_supraventricular", pa.int64()),
    ("n_sv_couplets", pa.int64()),
    ("n_sv_runs", pa.int64()),
    ("longest_sv_run_beats", pa.int64()),
]

EVENTS_SCHEMA = pa.schema([
    ("record_id", pa.string()),
    ("kind", pa.string()),
    ("start_sample", pa.int64()),
    ("end_sample", pa.int64()),
    ("start_s", pa.float64()),
    ("end_s", pa.float64()),
    ("n_beats", pa.int32()),
    ("rate_bpm", pa.float32()),
])

#: ``heatmaps.parquet`` of ``ecgtk explain``: one row per explained beat.
HEATMAPS_SCHEMA = pa.schema([
    ("record_id", pa.string()),
    ("sample", pa.int64()),
    ("label", pa.string()),
    ("p_ventricular", pa.float32()),
    ("heatmap", pa.list_(pa.float32())),
])

BEATS_SCHEMA = pa.schema([
    ("record_id", pa.string()),
    ("sample", pa.int64()),
    ("time_s", pa.float64()),
    ("label", pa.string()),
    ("p_beat", pa.float32()),
    ("p_ventricular", pa.float32()),
    ("uncertainty", pa.float32()),
    ("cluster", pa.int32()),
    ("rr_prev_s", pa.float32()),
    ("rr_next_s", pa.float32()),
    # uncertainty >= the run's review threshold (ecgtk.labelling.uncertainty)
    ("review", pa.bool_()),
    # calibrated P(supraventricular) of the N and S beats (ecgtk.labelling.supraventricular)
    ("p_supraventricular", pa.float32()),
    # spread of p_supraventricular over the S model's bootstrap fits, 0 to 0.5 (same module)
    ("uncertainty_supraventricular", pa.float32()),
])

BEAT_LABELS = ("N", "S", "V", "artefact")

CLUSTERS_SCHEMA = pa.schema([
    ("record_id", pa.string()),
    ("cluster", pa.int32()),
    ("n_beats", pa.int64()),
    ("label", pa.string()),
    ("template", pa.list_(pa.float32())),
    ("merged_from", pa.list_(pa.int32())),
    ("mean_uncertainty", pa.float32()),  # mean uncertainty of the cluster's beats
])

#: One row per recording (docs/tables.md): what was analysed, the model ids, what resume needs,
#: then the Holter summary columns of :mod:`ecgtk.summary.rhythm`.
RECORDS_SCHEMA = pa.schema([
    ("record_id", pa.string()),
    ("path", pa.string()),
    ("fs", pa.float64()),
    ("n_leads", pa.int32()),
    ("duration_s", pa.float64()),
    ("n_beats", pa.int64()),
    ("n_ventricular", pa.int64()),
    ("n_artefact", pa.int64()),
    ("n_review", pa.int64()),  # beats marked for review (uncertainty >= review threshold)
    ("status", pa.string()),
    ("error", pa.string()),
    ("seconds", pa.float64()),
    ("beat_model", pa.string()),
    ("ventricular_model", pa.string()),
    ("source_bytes", pa.int64()),
    ("source_mtime_ns", pa.int64()),
    *RHYTHM_COLUMNS,  # the Holter summary (ecgtk.summary.rhythm)
])


def clusters_table(record_id: str, n_beats: np.ndarray, labels: np.ndarray,
                   templates: np.ndarray, merged_from: list[list[int]],
                   mean_uncertainty: np.ndarray | None = None) -> pa.Table:
    """One row per template (cluster ids are the row order: 0, 1, ...)."""
    k = len(n_beats)
    return pa.Table.from_arrays([
        pa.array([record_id] * k, type=pa.string()),
        pa.array(np.arange(k), type=pa.int32()),
        pa.array(np.asarray(n_beats), type=pa.int64()),
        pa.array(list(labels), type=pa.string()),
        pa.array([np.asarray(t, dtype=np.float32) for t in templates],
                 type=pa.list_(pa.float32())),
        pa.array(merged_from, type=pa.list_(pa.int32())),
        _optional(mean_uncertainty, k, pa.float32()),
    ], schema=CLUSTERS_SCHEMA)


def records_row(**values) -> pa.Table:
    """A one-row records table; columns not given are null, unknown names are an error."""
    unknown = set(values) - set(RECORDS_SCHEMA.names)
    if unknown:
        raise ValueError(f"unknown records columns {sorted(unknown)}")
    return pa.Table.from_pylist([{name: values.get(name) for name in RECORDS_SCHEMA.names}],
                                schema=RECORDS_SCHEMA)


def _optional(values: np.ndarray | None, n: int, dtype: pa.DataType) -> pa.Array:
    if values is None:
        return pa.nulls(n, type=dtype)
    if np.shape(values) != (n,):
        raise ValueError(f"expected {n} values, got shape {np.shape(values)}")
    return pa.array(values, type=dtype, from_pandas=True)  # NaN and masked values -> null


def beats_table(record_id: str, samples: np.ndarray, fs: float, labels: np.ndarray | None = None,
                p_beat: np.ndarray | None = None, p_ventricular: np.ndarray | None = None,
                uncertainty: np.ndarray | None = None,
                cluster: np.ndarray | None = None,
                review: np.ndarray | None = None,
                p_supraventricular: np.ndarray | None = None,
                uncertainty_supraventricular: np.ndarray | None = None) -> pa.Table:
    """One row per beat in the beats schema. ``samples`` at the recording's rate ``fs`` Hz.

    ``labels`` defaults to ``"N"`` for every beat (the detector's view); columns not given are
    null, and so are NaN or masked values (``p_ventricular`` of an artefact, say). RR intervals
    are computed between consecutive rows that are not artefacts.
    """
    samples = np.asarray(samples, dtype=np.int64)
    n = len(samples)
    if n and (np.diff(samples) <= 0).any():
        raise ValueError("beat samples must be strictly increasing")
    labels = np.full(n, "N", dtype=object) if labels is None else np.asarray(labels, dtype=object)
    if labels.shape != (n,):
        raise ValueError(f"expected {n} labels, got shape {labels.shape}")
    unknown = set(labels.tolist()) - set(BEAT_LABELS)
    if unknown:
        raise ValueError(f"unknown beat labels {sorted(unknown)}; allowed: {BEAT_LABELS}")
    rr_prev = np.full(n, np.nan, dtype=np.float32)
    rr_next = np.full(n, np.nan, dtype=np.float32)
    is_beat = labels != "artefact"
    if is_beat.any():
        rr_prev[is_beat], rr_next[is_beat] = rr_intervals(samples[is_beat], fs)
    return pa.Table.from_arrays([
        pa.array([record_id] * n, type=pa.string()),
        pa.array(samples, type=pa.int64()),
        pa.array(samples / float(fs), type=pa.float64()),
        pa.array(labels, type=pa.string()),
        _optional(p_beat, n, pa.float32()),
        _optional(p_ventricular, n, pa.float32()),
        _optional(uncertainty, n, pa.float32()),
        _optional(cluster, n, pa.int32()),
        pa.array(rr_prev, type=pa.float32(), from_pandas=True),
        pa.array(rr_next, type=pa.float32(), from_pandas=True),
        _optional(review, n, pa.bool_()),
        _optional(p_supraventricular, n, pa.float32()),
        _optional(uncertainty_supraventricular, n, pa.float32()),
    ], schema=BEATS_SCHEMA)


def write_parquet_atomic(table: pa.Table, path: str | Path,
                         metadata: Mapping[str, str] | None = None) -> Path:
    """Write ``table`` to ``path`` so that the file appears whole or not at all.

    ``metadata`` is stored as the file's key-value metadata (besides Arrow's own schema).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if metadata:
        merged = dict(table.schema.metadata or {})
        merged.update({k.encode(): str(v).encode() for k, v in metadata.items()})
        table = table.replace_schema_metadata(merged)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as sink:
            pq.write_table(table, sink, compression="zstd")
            sink.flush()
            os.fsync(sink.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path
