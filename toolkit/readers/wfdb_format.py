"""WFDB records (``.hea`` header plus one or more signal files) via the ``wfdb`` package.

Physical values come from the header's gain and baseline; units 'mV' (the WFDB default), 'uV'
and 'V' are converted to millivolts, unknown units (e.g. 'NU') are passed through as if mV.
Multi-frequency records are read with ``wfdb``'s frame smoothing (one value per frame).
Multi-segment records are not supported. Single-file records in format 212 or 16 (the
common Holter layouts) are decoded by :mod:`ecgtk.kernels.wfdb_samples`, the same numbers
as ``wfdb`` gives, 10-20x faster; everything else is read through ``wfdb.rdrecord``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import wfdb

from ecgtk.kernels.wfdb_samples import byte_span, decode_physical
from ecgtk.readers import default_lead_names, mv_per_unit, require_file
from ecgtk.recording import Recording, RecordingError, check_sampling_rate

#: Bytes per stored sample for each uncompressed WFDB storage format.
BYTES_PER_SAMPLE = {
    "8": 1.0,
    "16": 2.0,
    "24": 3.0,
    "32": 4.0,
    "61": 2.0,
    "80": 1.0,
    "160": 2.0,
    "212": 1.5,  # two 12-bit samples in three bytes
    "310": 4 / 3,  # three 10-bit samples in four bytes
    "311": 4 / 3,
}
#: FLAC-compressed formats: their size cannot be checked against the header.
FLAC_FORMATS = frozenset({"508", "516", "524"})


@dataclass(frozen=True)
class FastLayout:
    """What the fast decoder needs of a single-file format-212/16 record."""

    data_path: Path
    fmt: str  # "212" or "16"
    baseline: tuple[int, ...]  # one per signal
    gain: tuple[float, ...]  # digital units per physical unit, one per signal


@dataclass(frozen=True)
class WfdbSamples:
    """Picklable ``read_samples`` for a WFDB record: partial reads, decoded by
    :mod:`ecgtk.kernels.wfdb_samples` when ``fast`` is set, else through ``wfdb.rdrecord``."""

    record: str  # record path without extension
    header_path: Path
    scale: tuple[float, ...]  # mV per physical unit, one per signal
    fast: FastLayout | None = None

    def __call__(self, start: int, stop: int) -> np.ndarray:
        """Samples ``[start, stop)`` as float32 ``(n, n_leads)`` in mV."""
        if self.fast is not None:
            signal = self._decode(start, stop)
        else:
            try:
                rec = wfdb.rdrecord(
                    self.record, sampfrom=start, sampto=stop, physical=True, return_res=32
                )
            except Exception as exc:  # wfdb raises many kinds; reword them all
                raise RecordingError(
                    self.header_path, f"reading samples {start}-{stop} failed: {exc}"
                ) from exc
            signal = np.asarray(rec.p_signal, dtype=np.float32)
        if any(s != 1.0 for s in self.scale):
            signal = signal * np.asarray(self.scale, dtype=np.float32)
        return signal

    def _decode(self, start: int, stop: int) -> np.ndarray:
        fast = self.fast
        n_signals = len(fast.baseline)
        first, size, skip = byte_span(fast.fmt, n_signals, start, stop)
        try:
            with open(fast.data_path, "rb") as f:
                f.seek(first)
                raw = np.frombuffer(f.read(size), dtype=np.uint8)
            return decode_physical(raw, fast.fmt, n_signals, stop - start, skip,
                                   np.asarray(fast.baseline), np.asarray(fast.gain))
        except (OSError, ValueError) as exc:
            raise RecordingError(
                self.header_path,
                f"reading samples {start}-{stop} from {fast.data_path.name} failed: {exc}",
            ) from exc


def fast_layout(header_path: Path, header: wfdb.Record) -> FastLayout | None:
    """The fast decoder's view of a record, or None where ``wfdb`` must read it: more than one
    signal file, another format, skew, byte offsets or several samples per frame."""
    n = header.n_sig
    formats = {str(f) for f in header.fmt}
    if len(set(header.file_name)) != 1 or len(formats) != 1 or not formats <= {"212", "16"}:
        return None
    if any(int(v or 0) for v in (header.skew or [])) \
            or any(int(v or 0) for v in (header.byte_offset or [])) \
            or any(int(v or 1) != 1 for v in (header.samps_per_frame or [])):
        return None
    gains = [float(g) if g else 200.0 for g in (header.adc_gain or [None] * n)]
    baselines = [int(b or 0) for b in (header.baseline or [None] * n)]
    return FastLayout(header_path.parent / header.file_name[0], formats.pop(),
                      tuple(baselines), tuple(gains))


def record_name(path: Path) -> Path:
    """The WFDB record name (path without ``.hea``/``.dat``) for ``path``."""
    if path.suffix.lower() in (".hea", ".dat"):
        return path.with_suffix("")
    return path


def read_wfdb(
    path: str | Path, *, fs: float | None = None, record_id: str | None = None
) -> Recording:
    """Open a single-segment WFDB record lazily; ``fs`` (Hz) overrides the header's rate."""
    record = record_name(Path(path))
    header_path = Path(f"{record}.hea")
    header = _read_header(header_path, record)
    rate = check_sampling_rate(header_path, header.fs if fs is None else fs)
    n_samples = _check_signal_files(header_path, header)
    if n_samples <= 0:
        raise RecordingError(header_path, "no samples: the record has length 0")
    names = tuple(str(n) for n in header.sig_name) if header.sig_name else ()
    if len(names) != header.n_sig:
        names = default_lead_names(header.n_sig)
    units = header.units or [None] * header.n_sig
    return Recording(
        path=header_path,
        record_id=record_id or record.name,
        fs=rate,
        n_samples=n_samples,
        lead_names=names,
        read_samples=WfdbSamples(str(record), header_path, tuple(mv_per_unit(u) for u in units),
                                 fast_layout(header_path, header)),
        start_time=_start_time(header),
    )


def _read_header(header_path: Path, record: Path) -> wfdb.Record:
    """Parse the header, rewording every ``wfdb`` failure as a :class:`RecordingError`."""
    if require_file(header_path, "WFDB header") == 0:
        raise RecordingError(header_path, "empty WFDB header")
    try:
        header = wfdb.rdheader(str(record))
    except Exception as exc:  # HeaderSyntaxError, IndexError, UnicodeDecodeError, ...
        raise RecordingError(
            header_path, f"not a valid WFDB header ({type(exc).__name__}: {exc})"
        ) from exc
    if getattr(header, "seg_name", None) is not None:
        raise RecordingError(header_path, "multi-segment WFDB records are not supported")
    if not header.n_sig:
        raise RecordingError(header_path, "WFDB header lists no signals")
    described = len(header.fmt or [])
    if described != header.n_sig:
        raise RecordingError(header_path, f"WFDB header lists {header.n_sig} signals but "
                                          f"describes {described}")
    for fmt in header.fmt:
        if str(fmt) not in BYTES_PER_SAMPLE and str(fmt) not in FLAC_FORMATS:
            raise RecordingError(header_path, f"unsupported WFDB storage format {fmt!r}")
    return header


def _check_signal_files(header_path: Path, header: wfdb.Record) -> int:
    """Check every signal file exists and is long enough; return the samples per signal."""
    files: dict[str, list[int]] = {}
    for i, name in enumerate(header.file_name):
        files.setdefault(name, []).append(i)
    lengths = []
    for name, signals in files.items():
        data_path = header_path.parent / name
        size = require_file(data_path, f"data file {name!r} named by the header")
        fmt = str(header.fmt[signals[0]])
        if fmt in FLAC_FORMATS:
            if header.sig_len is None:
                raise RecordingError(header_path, "header does not give the signal length")
            continue
        offset = int((header.byte_offset or [None] * header.n_sig)[signals[0]] or 0)
        spf = header.samps_per_frame or [1] * header.n_sig
        frame_bytes = sum(int(spf[i] or 1) for i in signals) * BYTES_PER_SAMPLE[fmt]
        available = max(0, size - offset)
        if header.sig_len is None:
            lengths.append(int(available // frame_bytes))
            continue
        needed = math.floor(header.sig_len * frame_bytes)
        if available < needed:
            raise RecordingError(
                data_path,
                f"data file is truncated: {available} bytes of samples but the header "
                f"({header.sig_len} samples x {len(signals)} signals, format {fmt}) "
                f"needs {needed}",
            )
    if header.sig_len is not None:
        return int(header.sig_len)
    return min(lengths)


def _start_time(header: wfdb.Record) -> datetime | None:
    """The record's start as a datetime when the header gives both date and time."""
    if header.base_date is None or header.base_time is None:
        return None
    return datetime.combine(header.base_date, header.base_time)
