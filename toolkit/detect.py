"""Detection stage: every R peak of a recording, read in overlapping chunks.

Memory stays bounded: the recording is read ``chunk_s`` seconds at a time with ``overlap_s``
of context on each side, so the detector's adaptive thresholds have settled by the time a chunk's
own range begins. Results are sample indices at the recording's own rate.
"""

from __future__ import annotations

import numpy as np

from ecgtk.kernels.rpeaks import DetectorParams, detect_rpeaks
from ecgtk.recording import Recording, iter_chunks

#: Seconds of signal the detector sees at once (plus the overlap on both sides).
DEFAULT_CHUNK_S = 600.0
#: Context on each side of a chunk, in seconds: longer than the detector's 2 s start-up and
#: its 12.5 s lead-level window.
DEFAULT_OVERLAP_S = 15.0


def detect_beats(recording: Recording, params: DetectorParams | None = None,
                 chunk_s: float = DEFAULT_CHUNK_S,
                 overlap_s: float = DEFAULT_OVERLAP_S) -> np.ndarray:
    """R-peak sample indices (ascending int64, at the recording's rate) of a whole recording.

    Each lead's QRS polarity (which wave a beat is aligned on) is learnt on the first chunk
    with beats and kept for the rest, so beats are aligned alike throughout the recording.
    """
    params = params or DetectorParams()
    overlap = int(round(overlap_s * recording.fs))
    found = []
    polarity = None  # each lead's QRS polarity, set by the first chunk with beats
    for chunk in iter_chunks(recording, chunk_s, overlap):
        peaks, polarity = detect_rpeaks(chunk.signal, recording.fs, params, offset=chunk.start,
                                        polarity=polarity, return_polarity=True)
        peaks += chunk.start
        found.append(peaks[(peaks >= chunk.own_start) & (peaks < chunk.own_stop)])
    beats = np.concatenate(found) if found else np.empty(0, dtype=np.int64)
    return drop_within(beats, int(params.refractory_s * recording.fs))


def drop_within(beats: np.ndarray, min_distance: int) -> np.ndarray:
    """Drop each beat that comes less than ``min_distance`` samples after the last kept one.

    Chunks are detected independently, so one beat on a chunk boundary can be found by both
    neighbours a sample or two apart; this keeps the first.
    """
    beats = np.sort(np.asarray(beats, dtype=np.int64))
    if len(beats) < 2 or not (np.diff(beats) < min_distance).any():
        return beats
    keep = np.ones(len(beats), dtype=bool)
    last = beats[0]
    for i in range(1, len(beats)):
        if beats[i] - last < min_distance:
            keep[i] = False
        else:
            last = beats[i]
    return beats[keep]
