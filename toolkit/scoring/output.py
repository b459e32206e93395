"""Reading the detected beats from ecgtk output (``beats`` Parquet tables)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ecgtk.scoring.errors import EvaluationError

__all__ = ["load_output"]

#: Column that the beat model fills (the detector alone leaves it null). Labels are used only
#: for records where it holds at least one value.
PROBABILITY_COLUMN = "p_ventricular"
# Temporary/partial files that atomic writers leave behind are not read.
_SKIP_PREFIXES = (".", "_")


def _parquet_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise EvaluationError(f"output not found: {path} does not exist")
    root = path / "beats" if (path / "beats").is_dir() else path
    files = sorted(
        p
        for p in root.rglob("*.parquet")
        if p.is_file()
        and not any(part.startswith(_SKIP_PREFIXES) for part in p.relative_to(root).parts)
    )
    if not files:
        raise EvaluationError(f"no beats Parquet files found under {root}")
    return files


def _read_beats_file(path: Path) -> Iterable[tuple[str, np.ndarray, np.ndarray | None]]:
    try:
        schema = pq.read_schema(path)
    except Exception as exc:
        raise EvaluationError(f"{path}: not a readable Parquet file ({exc})") from exc
    missing = {"record_id", "sample"} - set(schema.names)
    if missing:
        raise EvaluationError(
            f"{path}: not a beats table (missing column(s) {', '.join(sorted(missing))})"
        )
    # Labels come from the beat model, which also fills p_ventricular; the detector alone
    # writes label "N" for every beat and a null p_ventricular, and such labels mean nothing.
    has_label = {"label", PROBABILITY_COLUMN} <= set(schema.names)
    columns = ["record_id", "sample"] + (["label", PROBABILITY_COLUMN] if has_label else [])
    table = pq.read_table(path, columns=columns)
    if table.num_rows == 0:
        return
    rid_col = table.column("record_id").combine_chunks()
    if rid_col.null_count or table.column("sample").null_count:
        raise EvaluationError(f"{path}: null record_id or sample values")
    encoded = pc.cast(rid_col, pa.string()).dictionary_encode()
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    names = encoded.dictionary.to_pylist()
    samples = np.asarray(table.column("sample").to_numpy(), dtype=np.int64)
    labels = classified = None
    if has_label:
        labels = np.asarray(table.column("label").to_pylist(), dtype=object)
        classified = _has_value(table.column(PROBABILITY_COLUMN))
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    starts = np.concatenate([[0], np.flatnonzero(np.diff(sorted_codes)) + 1])
    for start, idx in zip(starts.tolist(), np.split(order, starts[1:]), strict=True):
        rid = names[int(sorted_codes[start])]
        use_labels = labels is not None and bool(classified[idx].any())
        yield rid, samples[idx], (labels[idx] if use_labels else None)


def _has_value(column: pa.ChunkedArray) -> np.ndarray:
    """Boolean mask: rows of ``column`` that hold a value (neither null nor NaN)."""
    valid = np.asarray(pc.is_valid(column).to_numpy(zero_copy_only=False), dtype=bool)
    if pa.types.is_floating(column.type):
        nan = pc.fill_null(pc.is_nan(column), False).to_numpy(zero_copy_only=False)
        valid &= ~np.asarray(nan, dtype=bool)
    return valid


def load_output(path: str | os.PathLike[str]) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
    """Detected beats per record from ecgtk output.

    ``path`` is a beats Parquet file, a ``run`` output folder (its ``beats/`` sub-folder is
    read), or a folder of beats Parquet files (searched recursively; names starting with ``.``
    or ``_`` are skipped). Returns ``{record_id: (samples, labels)}`` with int64 samples in
    ascending order and labels an object array of strings, or ``None`` (unlabelled: QRS
    detection is scored, VEB is not) when the table has no ``label`` column, every label is
    null, or the record's ``p_ventricular`` is absent or all null (NaN counts as null). The
    last case is ``ecgtk detect`` output: every beat is labelled "N" because no beat model
    ran, and those labels would score VEB sensitivity as 0.
    """
    parts: dict[str, list[tuple[np.ndarray, np.ndarray | None]]] = {}
    for file in _parquet_files(Path(path)):
        for rid, samples, labels in _read_beats_file(file):
            parts.setdefault(rid, []).append((samples, labels))

    out: dict[str, tuple[np.ndarray, np.ndarray | None]] = {}
    for rid in sorted(parts):
        chunks = parts[rid]
        samples = np.concatenate([s for s, _ in chunks])
        if all(lab is None for _, lab in chunks):
            labels = None
        else:
            labels = np.concatenate(
                [
                    lab if lab is not None else np.full(len(s), None, dtype=object)
                    for s, lab in chunks
                ]
            )
            if all(x is None for x in labels.tolist()):
                labels = None
        order = np.argsort(samples, kind="stable")
        out[rid] = (samples[order], labels[order] if labels is not None else None)
    return out
