"""Detection stage: every R peak of a recording, read in overlapping chunks.

Memory stays bounded: the recording is read ``chunk_s`` seconds at a time with ``overlap_s``
of context on each side, so the detector's adaptive thresholds have settled by the time a chunk's
own range begins. Results are sample indices at the recording's own rate.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ecgtk.concurrency import map_in_order
from ecgtk.kernels.rpeaks import DetectorParams, detect_rpeaks
from ecgtk.recording import Chunk, Recording, iter_chunks
from ecgtk.timing import NO_CLOCK, StageClock

#: Seconds of signal the detector sees at once (plus the overlap on both sides).
DEFAULT_CHUNK_S = 600.0
#: Context on each side of a chunk, in seconds: longer than the detector's 2 s start-up and
#: its 12.5 s lead-level window.
DEFAULT_OVERLAP_S = 15.0


def iter_detections(recording: Recording, params: DetectorParams | None = None,
                    chunk_s: float = DEFAULT_CHUNK_S, overlap_s: float = DEFAULT_OVERLAP_S,
                    clock: StageClock = NO_CLOCK,
                    workers: int = 1) -> Iterator[tuple[Chunk, np.ndarray]]:
    """Yield each chunk with the R peaks (absolute sample indices) in its own range.

    Each lead's QRS polarity (which wave a beat is aligned on) is learnt on the first chunk
    with beats and kept for the rest, so beats are aligned alike throughout the recording.
    A beat on a chunk boundary that both neighbours found is kept once (the first).

    ``workers`` > 1: once the polarity is learnt, the chunks are independent, so up to
    ``workers`` of them are detected at once on threads (the Numba kernels release the GIL)
    while this thread reads the next; the peaks are the same, in the same order.
    """
    params = params or DetectorParams()
    overlap = int(round(overlap_s * recording.fs))
    refractory = int(params.refractory_s * recording.fs)
    last = None  # the last beat yielded, to drop its double in the next chunk

    def detect(chunk: Chunk, polarity: np.ndarray | None):
        with clock.stage("detect"):
            return detect_rpeaks(chunk.signal, recording.fs, params, offset=chunk.start,
                                 polarity=polarity, return_polarity=True)

    def own_peaks(chunk: Chunk, peaks: np.ndarray) -> np.ndarray:
        nonlocal last
        peaks = peaks + chunk.start
        own = drop_within(peaks[(peaks >= chunk.own_start) & (peaks < chunk.own_stop)],
                          refractory)
        if last is not None and len(own) and own[0] - last < refractory:
            own = own[1:]
        if len(own):
            last = own[-1]
        return own

    def read_chunks() -> Iterator[Chunk]:
        chunks = iter_chunks(recording, chunk_s, overlap)
        while True:
            with clock.stage("read"):
                chunk = next(chunks, None)
            if chunk is None:
                return
            yield chunk

    chunks = read_chunks()
    polarity = None
    for chunk in chunks:  # one at a time until a chunk with beats gives the polarity
        peaks, polarity = detect(chunk, None)
        yield chunk, own_peaks(chunk, peaks)
        if polarity is not None:
            break
    for chunk, peaks in map_in_order(lambda c: (c, detect(c, polarity)[0]), chunks, workers,
                                     "ecgtk-detect"):
        yield chunk, own_peaks(chunk, peaks)


def detect_beats(recording: Recording, params: DetectorParams | None = None,
                 chunk_s: float = DEFAULT_CHUNK_S,
                 overlap_s: float = DEFAULT_OVERLAP_S) -> np.ndarray:
    """R-peak sample indices (ascending int64, at the recording's rate) of a whole recording."""
    found = [peaks for _, peaks in iter_detections(recording, params, chunk_s, overlap_s)]
    return np.concatenate(found) if found else np.empty(0, dtype=np.int64)


def drop_within(beats: np.ndarray, min_distance: int) -> np.ndarray:
    """Drop each beat that comes less than ``min_distance`` samples after the last kept one."""
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
