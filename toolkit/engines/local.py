"""The archive runner behind ``ecgtk run``: every recording once, resumable, never half-written.

For each recording, four Parquet files named by :func:`ecgtk.engines.archive.output_name` are
written
atomically: ``beats/``, ``clusters/``, ``events/``, then ``records/`` last. The records file is
the commit mark: a recording counts as done when all four files exist and the source's size and
mtime match the ones stored in its records row. A crash (even ``kill -9``) leaves at most
hidden temporary files, which the next run removes, and the next run redoes only unfinished
recordings. A bad recording gets an error row (and empty beats, clusters and events files) and
the run goes on.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, replace
from multiprocessing import get_context
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq

from ecgtk.engines.archive import Source, output_name, source_fingerprint
from ecgtk.inference.models import BeatModels, ModelSettings
from ecgtk.inference.sessions import ModelInfo
from ecgtk.recording import Recording, RecordingError
from ecgtk.tables import (
    BEATS_SCHEMA,
    CLUSTERS_SCHEMA,
    EVENTS_SCHEMA,
    records_row,
    write_parquet_atomic,
)
from ecgtk.timing import NO_CLOCK, StageClock

if TYPE_CHECKING:
    from ecgtk.pipeline import Analysis

TABLES = ("beats", "clusters", "events", "records")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecordResult:
    """What happened to one recording (a small summary: the data went to files)."""

    record_id: str
    status: str  # "ok", "error", or "skipped" (done by an earlier run; see ``failed``)
    n_beats: int = 0
    n_ventricular: int = 0
    n_clusters: int = 0
    seconds: float = 0.0
    error: str | None = None
    failed: bool = False  # True for errors, and for skipped recordings that had failed


def output_paths(out_dir: Path, record_id: str) -> dict[str, Path]:
    """Where a recording's files go, one per table."""
    name = output_name(record_id)
    return {table: Path(out_dir) / table / name for table in TABLES}


def finished_status(source: Source, out_dir: Path) -> str | None:
    """The stored status ("ok" or "error") when the recording's four files exist and its
    source is unchanged since; None when it must be (re)done."""
    paths = output_paths(out_dir, source.record_id)
    if not all(p.is_file() for p in paths.values()):
        return None
    try:
        row = pq.read_table(paths["records"],
                            columns=["status", "source_bytes", "source_mtime_ns"]).to_pylist()[0]
    except Exception:  # unreadable or foreign file: redo the recording
        return None
    if (row["source_bytes"], row["source_mtime_ns"]) != source_fingerprint(source.path):
        return None
    return row["status"]


def remove_stale_temporaries(out_dir: Path) -> int:
    """Delete temporary files a killed run left behind; returns how many."""
    removed = 0
    for table in TABLES:
        folder = Path(out_dir) / table
        if folder.is_dir():
            for tmp in folder.glob(".*.tmp-*"):
                tmp.unlink(missing_ok=True)
                removed += 1
    return removed


_MODELS: dict[ModelSettings, BeatModels] = {}


#: The device this worker process's models use instead of ``settings.device`` (None: as
#: asked); set by :func:`_init_worker` in workers beyond ``gpu_workers``.
_WORKER_DEVICE: str | None = None


def models_for(settings: ModelSettings) -> BeatModels:
    """The models of this process for ``settings``, loaded on first use (once per worker)."""
    if _WORKER_DEVICE is not None:
        settings = replace(settings, device=_WORKER_DEVICE)
    if settings not in _MODELS:
        _MODELS[settings] = BeatModels(settings)
    return _MODELS[settings]


@dataclass(frozen=True)
class Outcome:
    """What became of one recording, ready to be written (by either engine)."""

    source: Source
    fingerprint: tuple[int, int]  # the source's (bytes, mtime ns) before it was read
    facts: dict  # fs, n_leads, duration_s: what the header said (empty if unreadable)
    analysis: Analysis | None  # None when the recording failed
    error: str | None  # what went wrong, in words (None when ok)
    seconds: float  # analysis time, s


def recording_facts(recording: Recording) -> dict:
    """The records-row columns that come from a recording's header."""
    return {"fs": recording.fs, "n_leads": recording.n_leads,
            "duration_s": recording.duration_s}


def error_message(path: Path | str, failure: BaseException) -> str:
    """The records row's ``error`` for ``failure`` while analysing the recording at ``path``."""
    if isinstance(failure, RecordingError):
        return str(failure)
    if isinstance(failure, MemoryError):
        return f"{path}: out of memory while analysing this recording"
    log.debug("internal error on %s", path, exc_info=failure)
    return (f"{path}: internal error ({type(failure).__name__}: {failure}); "
            "please report it with this message")


def file_metadata(record_id: str, models_info: Mapping[str, ModelInfo]) -> dict[str, str]:
    """Key-value metadata of each output file: ecgtk version, record id, models' ids."""
    from ecgtk import __version__

    metadata = {"ecgtk_version": __version__, "record_id": record_id}
    for name, info in models_info.items():
        metadata[f"{name}_model"] = info.model_id
        metadata[f"{name}_model_sha256"] = info.sha256
    return metadata


def record_row(source: Source, fingerprint: tuple[int | None, int | None], facts: dict,
               analysis: Analysis | None, error: str | None, seconds: float,
               models_info: Mapping[str, ModelInfo]) -> pa.Table:
    """A recording's one-row ``records`` table: what was analysed, with what, and the result
    (an error row when ``error`` is given or there is no analysis)."""
    row = {"record_id": source.record_id, "path": str(source.path),
           "source_bytes": fingerprint[0], "source_mtime_ns": fingerprint[1],
           "beat_model": models_info["beat"].model_id,
           "ventricular_model": models_info["ventricular"].model_id,
           "seconds": round(seconds, 3), **facts}
    if error is None and analysis is not None:
        row.update(n_beats=analysis.n_beats, n_ventricular=analysis.n_ventricular,
                   n_artefact=analysis.n_artefact, n_review=analysis.n_review, status="ok",
                   **analysis.rhythm)
    else:
        row.update(status="error", error=error or "no analysis", n_beats=0,
                   n_ventricular=0, n_artefact=0)
    return records_row(**row)


def write_outcome(outcome: Outcome, out_dir: Path, models_info: Mapping[str, ModelInfo],
                  clock: StageClock = NO_CLOCK) -> RecordResult:
    """Write a recording's four files atomically, the records row last (the commit mark)."""
    source, analysis = outcome.source, outcome.analysis
    record = record_row(source, outcome.fingerprint, outcome.facts, analysis, outcome.error,
                        outcome.seconds, models_info)
    row = record.to_pylist()[0]
    if row["status"] == "ok":
        beats, clusters, events = analysis.beats, analysis.clusters, analysis.events
    else:
        beats, clusters = BEATS_SCHEMA.empty_table(), CLUSTERS_SCHEMA.empty_table()
        events = EVENTS_SCHEMA.empty_table()
    paths = output_paths(out_dir, source.record_id)
    metadata = file_metadata(source.record_id, models_info)
    with clock.stage("write"):
        write_parquet_atomic(beats, paths["beats"], metadata)
        write_parquet_atomic(clusters, paths["clusters"], metadata)
        write_parquet_atomic(events, paths["events"], metadata)
        write_parquet_atomic(record, paths["records"], metadata)  # commit mark
    return RecordResult(source.record_id, row["status"], row["n_beats"], row["n_ventricular"],
                        clusters.num_rows, outcome.seconds, row["error"],
                        failed=row["status"] != "ok")


def process_source(source: Source, out_dir: Path, settings: ModelSettings,
                   clock: StageClock = NO_CLOCK) -> RecordResult:
    """Analyse one recording and write its four files; never raises for a bad recording."""
    from ecgtk.pipeline import analyse_recording
    from ecgtk.readers import read_recording

    started = time.perf_counter()
    models = models_for(settings)
    fingerprint = source_fingerprint(source.path)
    facts, analysis, error = {}, None, None
    try:
        recording = read_recording(source.path, record_id=source.record_id)
        facts = recording_facts(recording)
        analysis = analyse_recording(recording, models, clock)
    except Exception as failure:  # bad input, or a bug: an error row, and the run goes on
        error = error_message(source.path, failure)
    outcome = Outcome(source, fingerprint, facts, analysis, error,
                      time.perf_counter() - started)
    return write_outcome(outcome, out_dir, models.info, clock)


def prepare_run(sources: list[Source], out_dir: Path,
                force: bool = False) -> tuple[list[Source], list[RecordResult]]:
    """Make the output folders, remove a killed run's temporaries, and split ``sources`` into
    those to analyse and the results of those already done (all to do with ``force``)."""
    out_dir = Path(out_dir)
    for table in TABLES:
        (out_dir / table).mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(out_dir)
    todo, skipped = [], []
    for source in sources:
        status = None if force else finished_status(source, out_dir)
        if status is None:
            todo.append(source)
        else:
            skipped.append(RecordResult(source.record_id, "skipped", failed=status != "ok"))
    return todo, skipped


def _init_worker(slots=None, gpu_workers: int | None = None) -> None:
    """Each worker process computes on one thread: workers, not threads, share the cores.
    With ``gpu_workers``, the workers started after the first ``gpu_workers`` (counted in the
    shared ``slots``) run their models on the CPU."""
    global _WORKER_DEVICE
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                 "NUMBA_NUM_THREADS"):
        os.environ[name] = "1"
    if slots is not None and gpu_workers is not None:
        with slots.get_lock():
            slot = slots.value
            slots.value += 1
        if slot >= gpu_workers:
            _WORKER_DEVICE = "cpu"


def run_archive(sources: list[Source], out_dir: Path, workers: int = 1, force: bool = False,
                settings: ModelSettings | None = None,
                gpu_workers: int | None = None) -> Iterator[RecordResult]:
    """Process every source not already done (all of them with ``force``), yielding each
    result as it finishes (skipped ones first). ``workers`` > 1 uses that many processes,
    each with its own model sessions; with ``gpu_workers``, only that many of them run the
    models on ``settings.device`` (each GPU process holds its own CUDA context), the others on
    the CPU."""
    settings = settings or ModelSettings()
    todo, skipped = prepare_run(sources, out_dir, force)
    yield from skipped
    if workers <= 1 or len(todo) <= 1:
        for source in todo:
            yield process_source(source, out_dir, settings)
        return
    context = get_context("spawn")  # no fork: ONNX Runtime and threads don't survive it
    slots = context.Value("i", 0) if gpu_workers is not None else None
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_init_worker,
                             initargs=(slots, gpu_workers)) as pool:
        futures = [pool.submit(process_source, source, out_dir, settings) for source in todo]
        for future in as_completed(futures):
            yield future.result()
