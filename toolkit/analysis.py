"""One recording in, its tables out: the per-recording pipeline of ``ecgtk run``.

read in chunks -> detect candidates -> model 1 (beat or artefact) -> model 2 (normal or
ventricular) on the beats -> morphological validation (:mod:`ecgtk.validation`) -> templates
-> Holter summary (:mod:`ecgtk.holter`) -> tables. Memory stays bounded: per chunk only the
candidates' calls and coarse morphology are kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ecgtk.beat_models import BeatModels, ChunkCalls
from ecgtk.detect import iter_detections
from ecgtk.holter import events_table, summarise_rhythm
from ecgtk.kernels.quality import unusable_mask
from ecgtk.recording import Recording, RecordingError
from ecgtk.tables import beats_table, clusters_table
from ecgtk.templates import cluster_beats
from ecgtk.timing import NO_CLOCK, StageClock
from ecgtk.validation import ValidationRules, validate_calls

DEFAULT_RULES = ValidationRules()

#: Seconds read at the start of a recording with no beats, to tell "leads off" from "no ECG".
PROBE_S = 600.0


@dataclass(frozen=True)
class Analysis:
    """What the pipeline found in one recording."""

    beats: pa.Table
    clusters: pa.Table
    events: pa.Table  # rhythm events (ecgtk.holter)
    rhythm: dict  # the Holter summary columns of the records row
    n_beats: int
    n_ventricular: int
    n_artefact: int


def call_recording(recording: Recording, models: BeatModels,
                   clock: StageClock = NO_CLOCK) -> tuple[np.ndarray, ChunkCalls]:
    """Every candidate of the recording (samples at its rate) with both models' calls."""
    samples, calls = [], []
    for chunk, candidates in iter_detections(recording, clock=clock):
        if len(candidates):
            samples.append(candidates)
            calls.append(models.call_chunk(chunk.signal, recording.fs,
                                           candidates - chunk.start, clock))
    if not samples:
        raise RecordingError(recording.path, _why_no_beats(recording))
    merged = ChunkCalls(*(np.concatenate([getattr(c, f) for c in calls])
                          for f in ChunkCalls.__dataclass_fields__))
    return np.concatenate(samples), merged


def label_calls(samples: np.ndarray, calls: ChunkCalls, ventricular_threshold: float,
                rules: ValidationRules = DEFAULT_RULES,
                clock: StageClock = NO_CLOCK) -> np.ndarray:
    """``N``/``V``/``artefact`` per candidate: the models' calls, then the validation rules."""
    labels = np.where(~calls.is_beat, "artefact",
                      np.where(calls.p_ventricular >= ventricular_threshold, "V", "N"))
    with clock.stage("validation"):
        labels, _ = validate_calls(labels.astype(object), calls.p_ventricular,
                                   calls.morphology, calls.amplitude, rules, samples)
    return labels


def analyse_recording(recording: Recording, models: BeatModels,
                      clock: StageClock = NO_CLOCK,
                      rules: ValidationRules = DEFAULT_RULES) -> Analysis:
    """Run the pipeline on one recording; raises :class:`RecordingError` when it holds no ECG.

    ``clock`` (see :mod:`ecgtk.timing`) collects seconds per stage when given."""
    samples, calls = call_recording(recording, models, clock)
    labels = label_calls(samples, calls, models.info["ventricular"].threshold, rules, clock)
    beat_rows = np.flatnonzero(labels != "artefact")
    with clock.stage("templates"):
        templates = cluster_beats(calls.morphology[beat_rows], labels[beat_rows])
    cluster = np.full(len(samples), -1, dtype=np.int32)
    cluster[beat_rows] = templates.assignment
    beats = beats_table(recording.record_id, samples, recording.fs, labels=labels,
                        p_beat=calls.p_beat, p_ventricular=calls.p_ventricular,
                        cluster=np.ma.masked_less(cluster, 0))
    clusters = clusters_table(recording.record_id, templates.n_beats, templates.labels,
                              templates.templates, templates.merged_from)
    rhythm = summarise_rhythm(samples, labels, recording.fs, recording.duration_s)
    return Analysis(beats, clusters, events_table(recording.record_id, rhythm.events),
                    rhythm.columns, n_beats=len(beat_rows),
                    n_ventricular=int((labels == "V").sum()),
                    n_artefact=int((labels == "artefact").sum()))


def _why_no_beats(recording: Recording) -> str:
    probe = recording.read(0, int(PROBE_S * recording.fs))
    if np.isnan(probe).all():
        return "no usable signal: the samples are NaN (missing)"
    if unusable_mask(probe, recording.fs).all():
        return "no usable signal: every lead is a flat line (leads off?)"
    return "no heartbeat found in the signal (is this an ECG?)"
