"""The archive runner behind ``ecgtk run``: every recording once, resumable, never half-written.

For each recording, four Parquet files named by :func:`ecgtk.engines.archive.output_name` are
written
atomically: ``beats/``, ``clusters/``, ``events/``, then ``records/`` last. The records file is
the commit mark: a recording counts as done when its four files open and agree with its
records row and the source's size and mtime match the ones stored there
(:mod:`ecgtk.engines.outputs`). A crash (even ``kill -9``) leaves at most hidden temporary
files, which the next run removes, and the next run redoes only unfinished or damaged
recordings. A bad recording gets an error row (and empty beats, clusters and events files) and
the run goes on; so does one whose worker process dies twice (:mod:`ecgtk.engines.pool`). A full
output disk stops the run with :class:`~ecgtk.engines.outputs.OutputFull`, leaving no file of
an unfinished recording. Each recording is analysed under a lock in the output folder, so two
runs on one folder never analyse the same recording.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from functools import partial
from multiprocessing import get_context
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from ecgtk.engines.archive import Source, source_fingerprint
from ecgtk.engines.outputs import (  # noqa: F401  (output_paths, TABLES: re-exported)
    TABLES,
    OutputFull,
    finished_status,
    has_outputs,
    is_disk_full,
    output_paths,
    recording_lock,
    remove_outputs,
    remove_stale_temporaries,
)
from ecgtk.engines.pool import run_tasks
from ecgtk.inference.models import BeatModels, ModelSettings
from ecgtk.inference.sessions import ModelInfo
from ecgtk.labelling.supraventricular import shipped_supraventricular_sha256
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

log = logging.getLogger(__name__)

#: What a recording being written by another run on the same output folder gets.
BUSY = "being analysed by another run on this output folder"


@dataclass(frozen=True)
class RecordResult:
    """What happened to one recording (a small summary: the data went to files)."""

    record_id: str
    # "ok", "error", "skipped" (done by an earlier run; see ``failed``), or "busy" (another
    # run on the same output folder holds it)
    status: str
    n_beats: int = 0
    n_ventricular: int = 0
    n_clusters: int = 0
    seconds: float = 0.0
    error: str | None = None
    failed: bool = False  # True for errors, and for skipped recordings that had failed


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
    metadata["supraventricular_model_sha256"] = shipped_supraventricular_sha256()
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
    """Write a recording's four files atomically, the records row last (the commit mark).

    An earlier records file is removed first, so that a crash mid-way never leaves an old row
    beside new files. When the disk is full, the files written so far are removed and
    :class:`OutputFull` is raised."""
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
        try:
            paths["records"].unlink(missing_ok=True)
            write_parquet_atomic(beats, paths["beats"], metadata)
            write_parquet_atomic(clusters, paths["clusters"], metadata)
            write_parquet_atomic(events, paths["events"], metadata)
            write_parquet_atomic(record, paths["records"], metadata)  # commit mark
        except OSError as error:
            if not is_disk_full(error):
                raise
            remove_outputs(out_dir, source.record_id)
            raise OutputFull(str(out_dir), f"while writing {source.record_id}") from None
    return RecordResult(source.record_id, row["status"], row["n_beats"], row["n_ventricular"],
                        clusters.num_rows, outcome.seconds, row["error"],
                        failed=row["status"] != "ok")


#: True in a worker process of :func:`run_archive` (set by :func:`_init_worker`).
_IN_WORKER = False
#: Test hook (tests/engines/test_faults.py): a worker process (never the main one) that is
#: about to analyse the recording with this record id kills itself with SIGKILL, as the
#: kernel's OOM killer would.
KILL_HOOK = "ECGTK_TEST_KILL_WORKER_ON"


def process_source(source: Source, out_dir: Path, settings: ModelSettings,
                   clock: StageClock = NO_CLOCK,
                   written_since_ns: int | None = None) -> RecordResult:
    """Analyse one recording and write its four files; never raises for a bad recording.

    Holds the recording's lock in ``out_dir`` meanwhile: a recording that another run holds
    gets status "busy", and one that another run finished since this run planned is skipped
    (with ``written_since_ns``, the run's start under ``--force``, only if finished since)."""
    from ecgtk.pipeline import analyse_recording
    from ecgtk.readers import read_recording

    with recording_lock(out_dir, source.record_id) as mine:
        if not mine:
            return RecordResult(source.record_id, "busy", error=BUSY)
        status = finished_status(source, out_dir, written_since_ns)
        if status is not None:
            return RecordResult(source.record_id, "skipped", failed=status != "ok")
        started = time.perf_counter()
        models = models_for(settings)
        fingerprint = source_fingerprint(source.path)
        facts, analysis, error = {}, None, None
        try:
            if _IN_WORKER and os.environ.get(KILL_HOOK) == source.record_id:
                os.kill(os.getpid(), signal.SIGKILL)
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
    those to analyse and the results of those already done (all to do with ``force``).

    The leftovers of a recording to redo (a damaged file, files without their records row) are
    removed now, so that the datasets open even before it is redone."""
    out_dir = Path(out_dir)
    try:
        for table in TABLES:
            (out_dir / table).mkdir(parents=True, exist_ok=True)
    except OSError as error:
        if is_disk_full(error):
            raise OutputFull(str(out_dir), "cannot create the output folders") from None
        raise
    remove_stale_temporaries(out_dir)
    todo, skipped = [], []
    for source in sources:
        status = None if force else finished_status(source, out_dir)
        if status is not None:
            skipped.append(RecordResult(source.record_id, "skipped", failed=status != "ok"))
            continue
        todo.append(source)
        if not force and has_outputs(out_dir, source.record_id):
            with recording_lock(out_dir, source.record_id) as mine:
                if mine and finished_status(source, out_dir) is None:
                    remove_outputs(out_dir, source.record_id)
    return todo, skipped


def _init_worker(slots=None, gpu_workers: int | None = None) -> None:
    """Each worker process computes on one thread: workers, not threads, share the cores.
    With ``gpu_workers``, the workers started after the first ``gpu_workers`` (counted in the
    shared ``slots``) run their models on the CPU."""
    global _WORKER_DEVICE, _IN_WORKER
    _IN_WORKER = True
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                 "NUMBA_NUM_THREADS"):
        os.environ[name] = "1"
    if slots is not None and gpu_workers is not None:
        with slots.get_lock():
            slot = slots.value
            slots.value += 1
        if slot >= gpu_workers:
            _WORKER_DEVICE = "cpu"


def died_outcome(source: Source, out_dir: Path, settings: ModelSettings,
                 message: str) -> RecordResult:
    """Write the error row of a recording whose worker died (twice), from the main process."""
    with recording_lock(out_dir, source.record_id) as mine:
        if not mine:
            return RecordResult(source.record_id, "busy", error=BUSY)
        outcome = Outcome(source, source_fingerprint(source.path), {}, None,
                          f"{source.path}: {message}", 0.0)
        return write_outcome(outcome, out_dir, models_for(settings).info)


def run_archive(sources: list[Source], out_dir: Path, workers: int = 1, force: bool = False,
                settings: ModelSettings | None = None,
                gpu_workers: int | None = None) -> Iterator[RecordResult]:
    """Process every source not already done (all of them with ``force``), yielding each
    result as it finishes (skipped ones first). ``workers`` > 1 uses that many processes,
    each with its own model sessions; with ``gpu_workers``, only that many of them run the
    models on ``settings.device`` (each GPU process holds its own CUDA context), the others on
    the CPU. A recording whose worker dies is retried once alone, then gets an error row.
    Raises :class:`OutputFull` when the output disk is full (after the running recordings
    finish or clean up)."""
    settings = settings or ModelSettings()
    since = time.time_ns() if force else None
    todo, skipped = prepare_run(sources, out_dir, force)
    yield from skipped
    if workers <= 1 or len(todo) <= 1:
        for source in todo:
            yield process_source(source, out_dir, settings, written_since_ns=since)
        return
    context = get_context("spawn")  # no fork: ONNX Runtime and threads don't survive it
    slots = context.Value("i", 0) if gpu_workers is not None else None

    def make_pool(n: int) -> ProcessPoolExecutor:
        if slots is not None and n > 1:  # a pool replacing a broken one: GPU slots anew
            with slots.get_lock():
                slots.value = 0
        return ProcessPoolExecutor(max_workers=n, mp_context=context,
                                   initializer=_init_worker, initargs=(slots, gpu_workers))

    task = partial(process_source, written_since_ns=since)
    yield from run_tasks(todo, task, (out_dir, settings), workers, make_pool,
                         lambda source, why: died_outcome(source, out_dir, settings, why))
