"""The stages of the Ray engine as plain functions and classes: nothing here imports Ray.

The Ray engine (:mod:`ecgtk.engines.ray_engine`) runs the local engine's steps
(:mod:`ecgtk.pipeline`)
as stages, and these are the pieces it schedules:

1. :func:`detect_batch`, a Ray Data task per recording: read it and detect its candidates
   (:func:`ecgtk.pipeline.iter_model_inputs`), one row per chunk with candidates, then one
   :class:`RecordingEnd` row (header facts, source fingerprint, or the error).
2. :class:`ChunkCaller`, a Ray Data actor: one :class:`BeatModels` per actor, both models on
   each chunk (``call_chunk``); other rows pass through. On a cluster without GPUs,
   :class:`RecordingCaller` does 1 and 2 in one actor, as a local worker does.
3. :class:`Assembler` on the driver collects a recording's rows; when all are in,
   :func:`finish_recording` (a Ray task) runs :func:`ecgtk.pipeline.finish_analysis` and the
   local engine's atomic writer (:func:`ecgtk.engines.local.write_outcome`).

Rows are ``{"record_id": str, "payload": bytes}``: the payload is a pickled
:class:`ChunkTask`, :class:`ChunkDone` or :class:`RecordingEnd`, so every stage sees one flat
schema whatever a recording holds. A recording's error is the one the local engine would have
met first (chunks in order, then the end of the recording), with the same message
(:func:`ecgtk.engines.local.error_message`).
"""

from __future__ import annotations

import pickle
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ecgtk.engines.archive import Source, source_fingerprint
from ecgtk.engines.local import (
    Outcome,
    RecordResult,
    error_message,
    recording_facts,
    write_outcome,
)
from ecgtk.inference.models import BeatModels, ChunkCalls, ModelSettings
from ecgtk.inference.sessions import ModelError, ModelInfo
from ecgtk.pipeline import (
    ModelInput,
    finish_analysis,
    iter_model_inputs,
    merge_calls,
    no_beats_error,
)

Batch = dict[str, np.ndarray]


@dataclass(frozen=True)
class ChunkTask:
    """Detection -> models: one chunk of a recording with its candidates."""

    index: int  # the chunk's place among the recording's chunks with candidates (0, 1, ...)
    path: str  # the recording's source, for error messages
    fs: float  # the recording's sampling rate, Hz
    work: ModelInput


@dataclass(frozen=True)
class ChunkDone:
    """Models -> driver: the calls on one chunk's candidates, or why there are none."""

    index: int
    samples: np.ndarray | None  # candidates' sample indices in the recording
    calls: ChunkCalls | None
    seconds: float  # model time, s
    error: str | None = None


@dataclass(frozen=True)
class RecordingEnd:
    """Detection -> driver (untouched by the models): how many chunks were sent, and the
    records-row facts; or the error that ended reading or detection."""

    n_chunks: int
    fingerprint: tuple[int, int]  # (bytes, mtime ns) of the source before it was read
    facts: dict  # fs, n_leads, duration_s (empty when the header is unreadable)
    seconds: float  # reading and detection time, s
    error: str | None = None


def encode(item: Any) -> bytes:
    """A row's payload: ``item`` pickled (numpy arrays travel as raw bytes)."""
    return pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL)


def decode(payload: bytes) -> Any:
    """The item of a payload that :func:`encode` made (ecgtk's own rows only)."""
    return pickle.loads(payload)


def source_rows(sources: list[Source]) -> list[dict[str, str]]:
    """The input rows of the pipeline: one per recording to analyse."""
    return [{"record_id": source.record_id, "path": str(source.path)} for source in sources]


def detect_batch(batch: Batch) -> Iterator[Batch]:
    """Ray Data stage 1: each recording of ``batch`` as one-row batches, chunk by chunk."""
    for source in batch_sources(batch):
        for item in detect_source(source):
            yield row(source.record_id, item)


def batch_sources(batch: Batch) -> list[Source]:
    """The recordings of a batch of input rows (see :func:`source_rows`)."""
    return [Source(Path(path), str(record_id))
            for record_id, path in zip(batch["record_id"], batch["path"], strict=True)]


def row(record_id: str, item: Any) -> Batch:
    """A one-row batch of the pipeline: the record id and the pickled ``item``."""
    return {"record_id": np.array([record_id], dtype=object),
            "payload": np.array([encode(item)], dtype=object)}


def detect_source(source: Source) -> Iterator[ChunkTask | RecordingEnd]:
    """Read and detect one recording: a :class:`ChunkTask` per chunk with candidates, then
    its :class:`RecordingEnd`. Never raises for a bad recording (the end carries the error)."""
    from ecgtk.readers import read_recording

    fingerprint = source_fingerprint(source.path)
    facts, error, n_chunks, seconds = {}, None, 0, 0.0
    started = time.perf_counter()
    try:
        recording = read_recording(source.path, record_id=source.record_id)
        facts = recording_facts(recording)
        inputs = iter_model_inputs(recording)
        while (work := next(inputs, None)) is not None:
            seconds += time.perf_counter() - started
            yield ChunkTask(n_chunks, str(source.path), recording.fs, work)  # downstream's time
            started = time.perf_counter()
            n_chunks += 1
        if n_chunks == 0:
            raise no_beats_error(recording)
    except Exception as failure:  # bad input, or a bug: the recording's error, not the run's
        error = error_message(source.path, failure)
    seconds += time.perf_counter() - started
    yield RecordingEnd(n_chunks, fingerprint, facts, seconds, error)


class ChunkCaller:
    """Ray Data stage 2 (a stateful actor): both models on each chunk of the batch.

    Builds one :class:`BeatModels` (ONNX Runtime sessions) per actor and checks that it runs
    the same models as the driver, whose ids go into every output file."""

    def __init__(self, settings: ModelSettings, expected_sha256: Mapping[str, str]) -> None:
        self.models = BeatModels(settings)
        found = {name: info.sha256 for name, info in self.models.info.items()}
        if found != dict(expected_sha256):
            import socket

            raise ModelError(f"the models on Ray worker {socket.gethostname()} differ from the "
                             "driver's: install the same ecgtk version (and --models folder) on "
                             "every node")

    def __call__(self, batch: Batch) -> Batch:
        payloads = [encode(self.call(decode(payload))) for payload in batch["payload"]]
        return {"record_id": batch["record_id"], "payload": np.array(payloads, dtype=object)}

    def call(self, item: ChunkTask | RecordingEnd) -> ChunkDone | RecordingEnd:
        """The models' calls on a chunk; a recording's end passes through."""
        if not isinstance(item, ChunkTask):
            return item
        started = time.perf_counter()
        try:
            calls = self.models.call_chunk(item.work.signal, item.fs, item.work.candidates)
            return ChunkDone(item.index, item.work.samples, calls,
                             time.perf_counter() - started)
        except Exception as failure:
            return ChunkDone(item.index, None, None, time.perf_counter() - started,
                             error_message(item.path, failure))


class RecordingCaller:
    """Ray Data stage 1 and 2 in one actor, for clusters without GPUs: each recording of the
    batch read, detected and run through both models chunk by chunk, as a local worker does
    (no signal crosses processes)."""

    def __init__(self, settings: ModelSettings, expected_sha256: Mapping[str, str]) -> None:
        self.caller = ChunkCaller(settings, expected_sha256)

    def __call__(self, batch: Batch) -> Iterator[Batch]:
        for source in batch_sources(batch):
            for item in detect_source(source):
                yield row(source.record_id, self.caller.call(item))


@dataclass(frozen=True)
class Gathered:
    """Everything the pipeline produced for one recording, chunks in recording order."""

    source: Source
    end: RecordingEnd
    chunks: list[ChunkDone]

    @property
    def seconds(self) -> float:
        """Analysis time so far: reading, detection and models, s (summed over stages)."""
        return self.end.seconds + sum(chunk.seconds for chunk in self.chunks)

    def first_error(self) -> str | None:
        """The error the local engine would have met first: chunks in order, then the end."""
        errors = [chunk.error for chunk in self.chunks if chunk.error] + [self.end.error]
        return next((error for error in errors if error), None)


class Assembler:
    """Driver side: collects each recording's rows (in any order) until all are in."""

    def __init__(self, sources: list[Source]) -> None:
        self.sources = {source.record_id: source for source in sources}
        self.chunks: dict[str, list[ChunkDone]] = {}
        self.ends: dict[str, RecordingEnd] = {}

    def add(self, record_id: str, item: ChunkDone | RecordingEnd) -> Gathered | None:
        """Take one row; returns the recording's :class:`Gathered` once it is complete."""
        if isinstance(item, RecordingEnd):
            self.ends[record_id] = item
        else:
            self.chunks.setdefault(record_id, []).append(item)
        end = self.ends.get(record_id)
        chunks = self.chunks.get(record_id, [])
        if end is None or len(chunks) < end.n_chunks:
            return None
        del self.ends[record_id]
        self.chunks.pop(record_id, None)
        return Gathered(self.sources[record_id], end, sorted(chunks, key=lambda c: c.index))

    def unfinished(self) -> list[str]:
        """Record ids with rows still missing."""
        return sorted(set(self.chunks) | set(self.ends))


def finish_recording(gathered: Gathered, out_dir: Path, models_info: Mapping[str, ModelInfo],
                     review_threshold: float | None = None) -> RecordResult:
    """Ray task (stage 3): labels, templates, summary and tables, then the atomic writes."""
    started = time.perf_counter()
    end = gathered.end
    analysis, error = None, gathered.first_error()
    if error is None:
        try:
            samples, calls = merge_calls([(c.samples, c.calls) for c in gathered.chunks])
            analysis = finish_analysis(gathered.source.record_id, end.facts["fs"],
                                       end.facts["duration_s"], samples, calls,
                                       models_info["ventricular"],
                                       review_threshold=review_threshold)
        except Exception as failure:
            error = error_message(gathered.source.path, failure)
    seconds = gathered.seconds + time.perf_counter() - started
    outcome = Outcome(gathered.source, end.fingerprint, end.facts, analysis, error, seconds)
    return write_outcome(outcome, out_dir, models_info)

