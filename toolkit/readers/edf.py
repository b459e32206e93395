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

from ecgtk.kernels.edf_samples import decode_records
from ecgtk.readers import default_lead_names, mv_per_unit, require_file
from ecgtk.recording import Recording, RecordingError, check_sampling_rate

_ANNOTATION_LABELS = ("edf annotations", "bdf annotations")


@dataclass(frozen=True)
class EdfRecordLayout:
    """Where a 16-bit EDF file keeps the kept channels' samples, to read them with numpy.

    Data records follow the header; each holds, signal after signal (annotation signals
    included), ``samples_per_record`` little-endian int16 values of every signal. A kept
    channel's physical value is ``gain * (digital + offset)``, as EDFlib (pyedflib) computes it.
    """

    header_bytes: int
    record_samples: int  # int16 values in one data record, all signals together
    samples_per_record: int  # of each kept channel (they share one rate)
    starts: tuple[int, ...]  # each kept channel's first value within a data record
    gain: tuple[float, ...]
    offset: tuple[float, ...]


@dataclass(frozen=True)
class EdfSamples:
    """Picklable ``read_samples`` for an EDF file: reads only the asked range, with numpy from
    the data records when the file is 16-bit EDF (``layout``), else through pyedflib."""

    path: Path
    channels: tuple[int, ...]
    scale: tuple[float, ...]  # mV per physical unit, one per kept channel
    layout: EdfRecordLayout | None = None

    def __call__(self, start: int, stop: int) -> np.ndarray:
        """Samples ``[start, stop)`` as float32 ``(n, n_leads)`` in mV."""
        if self.layout is not None:
            return self._from_records(start, stop)
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


    def _from_records(self, start: int, stop: int) -> np.ndarray:
        lay = self.layout
        per = lay.samples_per_record
        first, last = start // per, (stop - 1) // per + 1
        count = (last - first) * lay.record_samples
        try:
            raw = np.fromfile(self.path, dtype="<i2", count=count,
                              offset=lay.header_bytes + 2 * first * lay.record_samples)
        except OSError as exc:
            raise RecordingError(self.path, f"reading samples {start}-{stop} failed: {exc}"
                                 ) from exc
        if raw.size < count:
            raise RecordingError(self.path, "EDF data is truncated: the file ends inside its "
                                 f"data record {first + raw.size // lay.record_samples}")
        return decode_records(raw.reshape(last - first, lay.record_samples), lay.starts, per,
                              start - first * per, stop - start, lay.gain, lay.offset,
                              self.scale)


def record_layout(path: Path, reader: pyedflib.EdfReader,
                  channels: tuple[int, ...]) -> EdfRecordLayout | None:
    """The data-record layout of ``channels`` (pyedflib's indices, which skip annotation
    signals) of a 16-bit EDF/EDF+ file; None for BDF or a header this cannot place."""
    with open(path, "rb") as f:
        head = f.read(256)
        try:
            ns = int(head[252:256].decode("ascii"))
            header_bytes = int(head[184:192].decode("ascii"))
        except (UnicodeDecodeError, ValueError):
            return None
        fields = f.read(256 * ns)
    if head[:1] != b"0" or header_bytes != 256 * (ns + 1) or len(fields) < 256 * ns:
        return None  # BDF (24-bit) or an odd header: pyedflib reads it
    labels = [fields[16 * i:16 * i + 16].decode("ascii", "replace").strip().lower()
              for i in range(ns)]
    try:
        per_record = [int(fields[216 * ns + 8 * i:216 * ns + 8 * i + 8].decode("ascii"))
                      for i in range(ns)]
    except (UnicodeDecodeError, ValueError):
        return None
    signal_index = [i for i in range(ns) if labels[i] not in _ANNOTATION_LABELS]
    first_value = np.concatenate([[0], np.cumsum(per_record)])
    kept = [signal_index[ch] for ch in channels]
    if len({per_record[i] for i in kept}) != 1:
        return None
    gains, offsets = [], []
    for ch in channels:
        dig_min, dig_max = reader.getDigitalMinimum(ch), reader.getDigitalMaximum(ch)
        phys_min, phys_max = reader.getPhysicalMinimum(ch), reader.getPhysicalMaximum(ch)
        gain = (phys_max - phys_min) / (dig_max - dig_min)
        gains.append(gain)
        offsets.append(phys_max / gain - dig_max)
    return EdfRecordLayout(header_bytes, int(first_value[-1]), per_record[kept[0]],
                           tuple(int(first_value[i]) for i in kept), tuple(gains),
                           tuple(offsets))


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
        layout = record_layout(path, reader, channels)
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
        read_samples=EdfSamples(path, channels, scale, layout),
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
