"""EDF and EDF+ (and BDF) recordings via ``pyedflib``.

Annotation channels ('EDF Annotations') are skipped. A file may hold channels at several rates
(e.g. ECG at 256 Hz next to respiration at 32 Hz); the reader keeps only the channels at the
rate most channels share, the highest such rate on a tie, and drops the rest. Physical
dimensions 'uV', 'mV' and 'V' are converted to millivolts; an unknown dimension is passed
through as if mV. EDF+D (discontinuous) files are read as if contiguous.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pyedflib

from ecgtk.readers import default_lead_names, mv_per_unit, require_file
from ecgtk.recording import Recording, RecordingError, check_sampling_rate

_ANNOTATION_LABELS = ("edf annotations", "bdf annotations")


@dataclass(frozen=True)
class EdfSamples:
    """Picklable ``read_samples`` for an EDF file: opens it and reads only the asked range."""

    path: Path
    channels: tuple[int, ...]
    scale: tuple[float, ...]  # mV per physical unit, one per kept channel

    def __call__(self, start: int, stop: int) -> np.ndarray:
        """Samples ``[start, stop)`` as float32 ``(n, n_leads)`` in mV."""
        out = np.empty((stop - start, len(self.channels)), dtype=np.float32)
        reader = open_edf(self.path)
        try:
            for j, (ch, scale) in enumerate(zip(self.channels, self.scale, strict=True)):
                out[:, j] = reader.readSignal(ch, start, stop - start) * scale
        except (OSError, ValueError) as exc:
            raise RecordingError(
                self.path, f"reading samples {start}-{stop} failed: {exc}"
            ) from exc
        finally:
            reader.close()
        return out


def open_edf(path: Path) -> pyedflib.EdfReader:
    """Open ``path`` with pyedflib, without reading annotations; reword its errors."""
    if require_file(path, "EDF file") == 0:
        raise RecordingError(path, "empty file")
    try:
        return pyedflib.EdfReader(
            str(path),
            annotations_mode=pyedflib.DO_NOT_READ_ANNOTATIONS,
            check_file_size=pyedflib.CHECK_FILE_SIZE,
        )
    except OSError as exc:
        message = str(exc)
        if "Filesize" in message:
            problem = "EDF data is truncated: the file size does not match its header"
        else:
            problem = f"not a valid EDF/EDF+ file ({message.split(': ', 1)[-1]})"
        raise RecordingError(path, problem) from exc


def read_edf(
    path: str | Path, *, fs: float | None = None, record_id: str | None = None
) -> Recording:
    """Open an EDF/EDF+ file lazily; ``fs`` (Hz) overrides the header's rate."""
    path = Path(path)
    reader = open_edf(path)
    try:
        channels, rate = _pick_channels(path, reader)
        labels = reader.getSignalLabels()
        names = tuple(labels[ch].strip() for ch in channels)
        if not all(names):
            names = default_lead_names(len(channels))
        scale = tuple(mv_per_unit(reader.getPhysicalDimension(ch)) for ch in channels)
        n_samples = int(reader.getNSamples()[channels[0]])
        start_time = _start_time(reader)
    finally:
        reader.close()
    if n_samples <= 0:
        raise RecordingError(path, "no samples: the EDF file holds no data records")
    return Recording(
        path=path,
        record_id=record_id or path.stem,
        fs=check_sampling_rate(path, rate if fs is None else fs),
        n_samples=n_samples,
        lead_names=names,
        read_samples=EdfSamples(path, channels, scale),
        start_time=start_time,
    )


def _pick_channels(path: Path, reader: pyedflib.EdfReader) -> tuple[tuple[int, ...], float]:
    """Signal channels at the rate most of them share (highest on a tie), and that rate (Hz)."""
    labels = reader.getSignalLabels()
    rates = reader.getSampleFrequencies()
    signals = [
        ch
        for ch in range(reader.signals_in_file)
        if labels[ch].strip().lower() not in _ANNOTATION_LABELS
    ]
    if not signals:
        raise RecordingError(path, "EDF file holds no signal channels")
    counts = Counter(float(rates[ch]) for ch in signals)
    rate = max(counts, key=lambda r: (counts[r], r))
    return tuple(ch for ch in signals if float(rates[ch]) == rate), rate


def _start_time(reader: pyedflib.EdfReader) -> datetime | None:
    """The header's start date and time, or None when it cannot be parsed."""
    try:
        return reader.getStartdatetime()
    except (ValueError, OSError):
        return None
