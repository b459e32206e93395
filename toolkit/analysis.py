"""One recording in, its three tables out: the per-recording pipeline of ``ecgtk run``.

Today the pipeline is: read in chunks -> detect R peaks -> beats table (labels "N"). The models
(beat vs artefact, normal vs ventricular), their validation and the morphology templates plug in
here as they land; the runner, the files and resume do not change.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ecgtk.detect import detect_beats
from ecgtk.kernels.quality import unusable_mask
from ecgtk.recording import Recording, RecordingError
from ecgtk.tables import CLUSTERS_SCHEMA, beats_table

#: Seconds read at the start of a recording with no beats, to tell "leads off" from "no ECG".
PROBE_S = 600.0


@dataclass(frozen=True)
class Analysis:
    """What the pipeline found in one recording."""

    beats: pa.Table
    clusters: pa.Table
    n_beats: int
    n_ventricular: int
    n_artefact: int


def analyse_recording(recording: Recording) -> Analysis:
    """Run the pipeline on one recording; raises :class:`RecordingError` when it holds no ECG."""
    beats = detect_beats(recording)
    if len(beats) == 0:
        raise RecordingError(recording.path, _why_no_beats(recording))
    table = beats_table(recording.record_id, beats, recording.fs)
    return Analysis(beats=table, clusters=CLUSTERS_SCHEMA.empty_table(), n_beats=len(beats),
                    n_ventricular=0, n_artefact=0)


def _why_no_beats(recording: Recording) -> str:
    probe = recording.read(0, int(PROBE_S * recording.fs))
    if np.isnan(probe).all():
        return "no usable signal: every sample is NaN"
    if unusable_mask(probe, recording.fs).all():
        return "no usable signal: every lead is a flat line (leads off?)"
    return "no heartbeat found in the signal (is this an ECG?)"
