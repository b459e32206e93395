"""The in-memory description of one recording, and chunked access to its samples.

A :class:`Recording` is lazy: it holds the header facts (rate, leads, length) and a function
that reads any sample range. Readers (``ecgtk.readers``) build it; stages read it in chunks
with :func:`iter_chunks` so that a 24 h, 12-lead, 1 kHz recording never sits in memory whole.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

import numpy as np

#: Sampling rates ecgtk accepts, in Hz. Outside this range a header is taken to be wrong.
MIN_FS_HZ = 50.0
MAX_FS_HZ = 20_000.0


class RecordingError(Exception):
    """A recording cannot be read. The message names the file and the problem."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


def check_sampling_rate(path: str | Path, fs: float) -> float:
    """Return ``fs`` as a float, or raise :class:`RecordingError` when it is not plausible."""
    try:
        fs = float(fs)
    except (TypeError, ValueError):
        raise RecordingError(path, f"sampling rate {fs!r} is not a number") from None
    if not np.isfinite(fs) or not (MIN_FS_HZ <= fs <= MAX_FS_HZ):
        raise RecordingError(
            path,
            f"sampling rate {fs:g} Hz is outside the plausible range "
            f"{MIN_FS_HZ:g}-{MAX_FS_HZ:g} Hz",
        )
    return fs


@dataclass(frozen=True)
class Recording:
    """One ECG recording: header facts plus lazy access to its samples.

    Attributes
    ----------
    path : the file the recording was read from (the ``.hea`` for WFDB).
    record_id : a name for the recording (the file name without extension by default).
    fs : sampling rate in Hz.
    n_samples : number of samples per lead.
    lead_names : one name per lead.
    start_time : wall-clock start of the recording, when the file says.
    read_samples : ``read_samples(start, stop)`` returns float32 ``(stop - start, n_leads)``
        in millivolts; readers guarantee ``0 <= start <= stop <= n_samples``.
    """

    path: Path
    record_id: str
    fs: float
    n_samples: int
    lead_names: tuple[str, ...]
    read_samples: Callable[[int, int], np.ndarray] = field(repr=False, compare=False)
    start_time: datetime | None = None

    @property
    def n_leads(self) -> int:
        return len(self.lead_names)

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.fs

    def read(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Samples ``[start, stop)`` as float32 ``(n, n_leads)`` in mV (clipped to the record)."""
        stop = self.n_samples if stop is None else min(int(stop), self.n_samples)
        start = max(0, int(start))
        if stop <= start:
            return np.empty((0, self.n_leads), dtype=np.float32)
        data = self.read_samples(start, stop)
        if data.shape != (stop - start, self.n_leads):
            raise RecordingError(
                self.path,
                f"read samples {start}-{stop} gave shape {data.shape}, expected "
                f"{(stop - start, self.n_leads)}: the data file disagrees with its header",
            )
        return np.ascontiguousarray(data, dtype=np.float32)

    @property
    def signal(self) -> np.ndarray:
        """The whole signal, float32 ``(n_samples, n_leads)`` in mV. Use for short recordings."""
        return self.read()


def select_leads(recording: Recording, leads: tuple[int, ...]) -> Recording:
    """The same recording restricted to ``leads`` (indices, in the order given)."""
    leads = tuple(int(i) for i in leads)
    if not leads or any(not 0 <= i < recording.n_leads for i in leads):
        raise ValueError(f"lead indices {leads} out of range for {recording.n_leads} leads")
    return replace(recording, lead_names=tuple(recording.lead_names[i] for i in leads),
                   read_samples=_LeadSubset(recording.read_samples, leads))


@dataclass(frozen=True)
class _LeadSubset:
    """``read_samples`` of a lead subset (a class, not a closure, so recordings pickle)."""

    read_samples: Callable[[int, int], np.ndarray]
    leads: tuple[int, ...]

    def __call__(self, start: int, stop: int) -> np.ndarray:
        return self.read_samples(start, stop)[:, list(self.leads)]


@dataclass(frozen=True)
class Chunk:
    """A stretch of a recording: ``signal`` holds samples ``start`` to ``start + len(signal)``.

    ``own_start``/``own_stop`` (absolute sample indices) mark the part of the chunk that it is
    responsible for: consecutive chunks' own ranges tile the recording without gaps or overlap,
    so a result found in a chunk is kept only when it falls in that chunk's own range.
    """

    start: int
    signal: np.ndarray
    own_start: int
    own_stop: int

    @property
    def stop(self) -> int:
        return self.start + len(self.signal)


def iter_chunks(recording: Recording, seconds: float, overlap_samples: int) -> Iterator[Chunk]:
    """Yield the recording in chunks of ``seconds`` plus ``overlap_samples`` on each side.

    Each chunk's own range is ``seconds`` long (the last one shorter); the chunk's signal extends
    ``overlap_samples`` beyond it on both sides (clipped at the record's ends), so that work near
    a chunk edge sees the same context it would see in the whole recording.
    """
    if seconds <= 0:
        raise ValueError(f"chunk length must be positive, got {seconds} s")
    if overlap_samples < 0:
        raise ValueError(f"overlap must be >= 0 samples, got {overlap_samples}")
    step = max(1, int(round(seconds * recording.fs)))
    for own_start in range(0, recording.n_samples, step):
        own_stop = min(own_start + step, recording.n_samples)
        start = max(0, own_start - overlap_samples)
        stop = min(recording.n_samples, own_stop + overlap_samples)
        yield Chunk(start, recording.read(start, stop), own_start, own_stop)
