"""One recording in, its tables out: the per-recording pipeline of ``ecgtk run``.

read in chunks -> detect candidates -> model 1 (beat or artefact) -> model 2 (normal or
ventricular) on the beats -> morphological validation, calibration and uncertainty, templates
(:mod:`ecgtk.labelling.classify`) -> AF episodes (:mod:`ecgtk.summary.af`) -> supraventricular
beats among the N beats outside AF (:mod:`ecgtk.labelling.supraventricular`) -> Holter summary
(:mod:`ecgtk.summary.rhythm`) -> tables. Memory stays bounded: per chunk only the candidates'
calls and coarse morphology are kept.

Both engines use the same three steps, so each lives in one place: :func:`iter_model_inputs`
(read and detect, chunk by chunk), :meth:`BeatModels.call_chunk` on each input, and
:func:`finish_analysis` (labels, templates, summary, tables) on the merged calls. The local
engine chains them in :func:`analyse_recording`; the Ray engine (:mod:`ecgtk.engines.ray_stages`)
runs
them as separate stages.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ecgtk.concurrency import map_in_order
from ecgtk.detection.chunked import DEFAULT_CHUNK_S, iter_detections
from ecgtk.inference.models import COARSEN_STEP, BeatModels, ChunkCalls
from ecgtk.inference.sessions import ModelInfo
from ecgtk.kernels.quality import unusable_mask
from ecgtk.labelling.classify import classify_calls, cluster_mean_uncertainty
from ecgtk.labelling.rules import ValidationRules
from ecgtk.labelling.supraventricular import MorphologyLayout, label_supraventricular
from ecgtk.recording import Recording, RecordingError
from ecgtk.summary.af import af_episodes
from ecgtk.summary.rhythm import events_table, summarise_rhythm
from ecgtk.tables import beats_table, clusters_table
from ecgtk.timing import NO_CLOCK, StageClock

DEFAULT_RULES = ValidationRules()

#: Seconds read at the start of a recording with no beats, to tell "leads off" from "no ECG".
PROBE_S = 600.0


@dataclass(frozen=True)
class Analysis:
    """What the pipeline found in one recording."""

    beats: pa.Table
    clusters: pa.Table
    events: pa.Table  # rhythm events (ecgtk.summary.rhythm)
    rhythm: dict  # the Holter summary columns of the records row
    n_beats: int
    n_ventricular: int
    n_artefact: int
    n_review: int = 0  # beats marked for review (uncertainty >= the review threshold)
    n_supraventricular: int = 0


@dataclass(frozen=True)
class ModelInput:
    """One chunk's share of the models' work: its signal and the candidates found in it."""

    signal: np.ndarray  # float32 (n, leads), mV, at the recording's rate
    candidates: np.ndarray  # int64 indices into ``signal``
    start: int  # sample index of ``signal[0]`` in the recording

    @property
    def samples(self) -> np.ndarray:
        """The candidates as sample indices of the recording (at its rate)."""
        return self.candidates + self.start


def iter_model_inputs(recording: Recording, clock: StageClock = NO_CLOCK,
                      chunk_s: float = DEFAULT_CHUNK_S,
                      workers: int = 1) -> Iterator[ModelInput]:
    """Read and detect the recording ``chunk_s`` seconds at a time (``workers`` chunks
    detected at once); yield each chunk that holds candidates (see
    :func:`ecgtk.detection.chunked.iter_detections`)."""
    for chunk, candidates in iter_detections(recording, chunk_s=chunk_s, clock=clock,
                                             workers=workers):
        if len(candidates):
            yield ModelInput(chunk.signal, candidates - chunk.start, chunk.start)


def merge_calls(parts: Sequence[tuple[np.ndarray, ChunkCalls]]) -> tuple[np.ndarray, ChunkCalls]:
    """Concatenate chunks' ``(samples, calls)`` (in recording order) into one of each."""
    samples = np.concatenate([part[0] for part in parts])
    calls = ChunkCalls(*(np.concatenate([getattr(part[1], f) for part in parts])
                         for f in ChunkCalls.__dataclass_fields__))
    return samples, calls


def call_recording(recording: Recording, models: BeatModels, clock: StageClock = NO_CLOCK,
                   chunk_s: float = DEFAULT_CHUNK_S) -> tuple[np.ndarray, ChunkCalls]:
    """Every candidate of the recording (samples at its rate) with both models' calls.

    With ``models.settings.lanes`` > 1 that many chunks are detected, and that many run
    through the models, at once on threads while this one reads the next chunks; the calls
    are the same either way."""
    lanes = models.settings.lanes
    inputs = iter_model_inputs(recording, clock, chunk_s, workers=lanes)
    parts = list(call_concurrently(inputs, models, recording.fs, lanes, clock))
    if not parts:
        raise no_beats_error(recording)
    merged = merge_calls(parts)
    del parts
    release_freed_memory()
    return merged


def release_freed_memory() -> None:
    """Give the memory that the chunks' many small arrays held back to the system (glibc's
    ``malloc_trim``; nothing elsewhere): freed, it would otherwise stay in this process's heap
    and add to its peak while the templates of a long recording are computed."""
    global _LIBC
    if _LIBC is None:
        try:
            import ctypes

            _LIBC = ctypes.CDLL("libc.so.6")
            _LIBC.malloc_trim  # noqa: B018  (glibc only)
        except (OSError, AttributeError):
            _LIBC = False
    if _LIBC:
        _LIBC.malloc_trim(0)


_LIBC = None


def call_concurrently(inputs: Iterable[ModelInput], models: BeatModels, fs: float,
                      lanes: int, clock: StageClock = NO_CLOCK
                      ) -> Iterator[tuple[np.ndarray, ChunkCalls]]:
    """``(samples, calls)`` of each input, in order, the model calls running on ``lanes``
    threads that share the sessions (which ONNX Runtime allows) while the calling thread
    produces (reads, detects) the next input; at most ``lanes + 1`` chunks are in memory at
    once (:func:`ecgtk.concurrency.map_in_order`)."""
    def call(item: ModelInput) -> tuple[np.ndarray, ChunkCalls]:
        return item.samples, models.call_chunk(item.signal, fs, item.candidates, clock)

    return map_in_order(call, inputs, lanes, "ecgtk-chunk")


def analyse_recording(recording: Recording, models: BeatModels,
                      clock: StageClock = NO_CLOCK,
                      rules: ValidationRules = DEFAULT_RULES) -> Analysis:
    """Run the pipeline on one recording; raises :class:`RecordingError` when it holds no ECG.

    ``clock`` (see :mod:`ecgtk.timing`) collects seconds per stage when given."""
    samples, calls = call_recording(recording, models, clock)
    return finish_analysis(recording.record_id, recording.fs, recording.duration_s, samples,
                           calls, models.info["ventricular"], rules, clock,
                           models.settings.review_threshold)


def finish_analysis(record_id: str, fs: float, duration_s: float, samples: np.ndarray,
                    calls: ChunkCalls, ventricular: ModelInfo,
                    rules: ValidationRules = DEFAULT_RULES,
                    clock: StageClock = NO_CLOCK,
                    review_threshold: float | None = None) -> Analysis:
    """Everything after the models: labels, uncertainty, templates, AF episodes,
    supraventricular beats, Holter summary, tables.

    ``samples`` are every candidate of the recording (ascending, at its rate ``fs`` Hz) and
    ``calls`` the models' calls on them; ``duration_s`` is the recording's length in seconds.
    ``ventricular`` (model 2's :class:`ModelInfo`) gives the decision threshold, calibration
    and default review threshold; ``review_threshold`` overrides the latter.
    """
    if review_threshold is None:
        review_threshold = ventricular.review_threshold
    out = classify_calls(samples, calls, ventricular.threshold, rules, ventricular.calibration,
                         review_threshold, clock, fs=fs)
    templates = out.templates
    with clock.stage("validation"):  # AF episodes and S beats
        af = af_episodes(samples, out.labels, fs)
        layout = MorphologyLayout.of_model(ventricular.before, ventricular.after,
                                           ventricular.rate_hz, ventricular.input_leads,
                                           COARSEN_STEP)
        labels, p_sv, u_sv = label_supraventricular(samples, out.labels, calls.morphology,
                                                    layout, af)
    beats = beats_table(record_id, samples, fs, labels=labels, p_beat=calls.p_beat,
                        p_ventricular=out.p_ventricular, uncertainty=out.uncertainty,
                        cluster=np.ma.masked_less(out.cluster, 0),
                        review=np.where(labels == "artefact", None, out.review),
                        p_supraventricular=p_sv, uncertainty_supraventricular=u_sv)
    clusters = clusters_table(record_id, templates.n_beats, templates.labels,
                              templates.templates, templates.merged_from,
                              cluster_mean_uncertainty(out))
    rhythm = summarise_rhythm(samples, labels, fs, duration_s, af=af)
    return Analysis(beats, clusters, events_table(record_id, rhythm.events),
                    rhythm.columns, n_beats=int((labels != "artefact").sum()),
                    n_ventricular=int((labels == "V").sum()),
                    n_artefact=int((labels == "artefact").sum()),
                    n_review=int(out.review.sum()),
                    n_supraventricular=int((labels == "S").sum()))


def no_beats_error(recording: Recording) -> RecordingError:
    """The error for a recording in which the detector found no candidate at all."""
    return RecordingError(recording.path, _why_no_beats(recording))


def _why_no_beats(recording: Recording) -> str:
    probe = recording.read(0, int(PROBE_S * recording.fs))
    if np.isnan(probe).all():
        return "no usable signal: the samples are NaN (missing)"
    if unusable_mask(probe, recording.fs).all():
        return "no usable signal: every lead is a flat line (leads off?)"
    return "no heartbeat found in the signal (is this an ECG?)"
