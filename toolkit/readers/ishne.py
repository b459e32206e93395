"""ISHNE 1.0 Holter ECG files (``.ecg``; Badilini et al., A.N.E. 1998): reader and writer.

Layout, all little-endian: 8-byte magic ``ISHNE1.0``; uint16 CRC-16/CCITT (init 0xFFFF,
polynomial 0x1021) of bytes 10 up to the start of the ECG data; a 512-byte fixed header
(:data:`FIXED_HEADER`); a variable-length block; then interleaved int16 samples, one per lead
per sample time. Each lead's amplitude resolution is given in nanovolts per unit.
"""

from __future__ import annotations

import os
import struct
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from ecgtk.readers import require_file
from ecgtk.recording import Recording, RecordingError, check_sampling_rate

MAGIC = b"ISHNE1.0"
#: Fixed header (512 bytes from byte 10): var-block size, samples per lead, var-block offset,
#: ECG offset, version, first name, last name, id, sex, race, birth date (d, m, y), record date,
#: file date, start time (h, m, s), number of leads, 12 lead specs, 12 lead qualities,
#: 12 resolutions (nV), pacemaker code, recorder type, sampling rate (Hz), proprietary,
#: copyright, reserved.
FIXED_HEADER = struct.Struct("<4ih40s40s20s2h3h3h3h3hh12h12h12hh40sh80s80s88s")
HEADER_START = 10  # magic (8) + CRC (2)
VAR_BLOCK_OFFSET = HEADER_START + FIXED_HEADER.size  # 522
MAX_LEADS = 12
UNKNOWN = -9  # the format's "not given" for dates, unused lead slots

#: ISHNE lead specification codes -> lead names.
LEAD_CODES: dict[int, str] = {
    1: "bipolar", 2: "X", 3: "Y", 4: "Z", 5: "I", 6: "II", 7: "III",
    8: "aVR", 9: "aVL", 10: "aVF", 11: "V1", 12: "V2", 13: "V3", 14: "V4", 15: "V5",
    16: "V6", 17: "ES", 18: "AS", 19: "AI",
}  # fmt: skip
_NAME_CODES = {name.lower(): code for code, name in LEAD_CODES.items()}
_STANDARD_12 = (5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16)


def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
        table.append(crc & 0xFFFF)
    return tuple(table)


_CRC_TABLE = _crc_table()


def crc16_ccitt(data: bytes, crc: int = 0xFFFF) -> int:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection) of ``data``."""
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ _CRC_TABLE[((crc >> 8) ^ byte) & 0xFF]
    return crc


@dataclass(frozen=True)
class IshneHeader:
    """The ISHNE header fields the reader uses."""

    var_size: int
    samples_per_lead: int
    var_offset: int
    ecg_offset: int
    n_leads: int
    lead_specs: tuple[int, ...]
    resolution_nv: tuple[int, ...]
    fs: int
    record_date: tuple[int, int, int]  # day, month, year
    start_time: tuple[int, int, int]  # hour, minute, second

    @classmethod
    def unpack(cls, fixed: bytes) -> IshneHeader:
        """Parse the 512-byte fixed header."""
        v = FIXED_HEADER.unpack(fixed)
        return cls(
            var_size=v[0], samples_per_lead=v[1], var_offset=v[2], ecg_offset=v[3],
            record_date=v[13:16], start_time=v[19:22], n_leads=v[22],
            lead_specs=v[23:35], resolution_nv=v[47:59], fs=v[61],
        )  # fmt: skip


@dataclass(frozen=True)
class IshneSamples:
    """Picklable ``read_samples`` for an ISHNE file: memory-maps only the asked range."""

    path: Path
    offset: int  # byte offset of the ECG data
    n_leads: int
    scale: tuple[float, ...]  # mV per stored unit, one per lead

    def __call__(self, start: int, stop: int) -> np.ndarray:
        """Samples ``[start, stop)`` as float32 ``(n, n_leads)`` in mV."""
        try:
            raw = np.memmap(
                self.path, dtype="<i2", mode="r",
                offset=self.offset + 2 * start * self.n_leads,
                shape=(stop - start, self.n_leads),
            )  # fmt: skip
            out = raw.astype(np.float32) * np.asarray(self.scale, dtype=np.float32)
            del raw
        except (OSError, ValueError) as exc:
            raise RecordingError(
                self.path, f"reading samples {start}-{stop} failed: {exc}"
            ) from exc
        return out


def read_ishne(
    path: str | Path, *, fs: float | None = None, record_id: str | None = None
) -> Recording:
    """Open an ISHNE 1.0 ``.ecg`` file lazily; ``fs`` (Hz) overrides the header's rate."""
    path = Path(path)
    size = require_file(path, "ISHNE file")
    if size == 0:
        raise RecordingError(path, "empty file")
    header = _read_header(path, size)
    rate = check_sampling_rate(path, header.fs if fs is None else fs)
    n, leads = header.samples_per_lead, header.n_leads
    if n <= 0:
        raise RecordingError(path, f"no samples: the header gives {n} samples per lead")
    resolution = header.resolution_nv[:leads]
    if min(resolution) <= 0:
        raise RecordingError(
            path, f"corrupt ISHNE header: amplitude resolution {resolution} nV is not positive"
        )
    held = size - header.ecg_offset
    if leads > 1 and held == 2 * n and n % leads == 0:
        n //= leads  # a known writer quirk: total samples stored instead of samples per lead
    needed = 2 * n * leads
    if held < needed:
        raise RecordingError(
            path,
            f"ISHNE data is truncated: the header says {n} samples x {leads} leads "
            f"({needed} bytes) but the file holds {held} bytes of data",
        )
    return Recording(
        path=path,
        record_id=record_id or path.stem,
        fs=rate,
        n_samples=n,
        lead_names=lead_names(header.lead_specs[:leads]),
        read_samples=IshneSamples(
            path, header.ecg_offset, leads, tuple(r * 1e-6 for r in resolution)
        ),
        start_time=_start_time(header),
    )


def _read_header(path: Path, size: int) -> IshneHeader:
    """Read and validate magic, offsets, CRC and lead count."""
    with open(path, "rb") as f:
        head = f.read(VAR_BLOCK_OFFSET)
        if head[:8] != MAGIC:
            raise RecordingError(path, f"not an ISHNE 1.0 file: magic number is {head[:8]!r}")
        if len(head) < VAR_BLOCK_OFFSET:
            raise RecordingError(path, f"truncated ISHNE header: file has only {size} bytes")
        header = IshneHeader.unpack(head[HEADER_START:])
        _check_offsets(path, header, size)
        var_block = f.read(header.var_size)
    stored = struct.unpack_from("<H", head, 8)[0]
    computed = crc16_ccitt(var_block, crc16_ccitt(head[HEADER_START:]))
    if stored != computed:
        raise RecordingError(
            path,
            f"corrupt ISHNE header: CRC mismatch (stored 0x{stored:04X}, "
            f"computed 0x{computed:04X})",
        )
    if not 1 <= header.n_leads <= MAX_LEADS:
        raise RecordingError(
            path, f"corrupt ISHNE header: {header.n_leads} leads (expected 1-{MAX_LEADS})"
        )
    return header


def _check_offsets(path: Path, header: IshneHeader, size: int) -> None:
    """The variable block must start at 522 and the ECG data right after it."""
    if (
        header.var_size < 0
        or header.var_offset != VAR_BLOCK_OFFSET
        or header.ecg_offset != VAR_BLOCK_OFFSET + header.var_size
    ):
        raise RecordingError(
            path,
            f"corrupt ISHNE header: inconsistent offsets (variable block {header.var_size} "
            f"bytes at {header.var_offset}, ECG data at {header.ecg_offset})",
        )
    if size < header.ecg_offset:
        raise RecordingError(
            path, f"truncated ISHNE header: data should start at byte {header.ecg_offset}"
        )


def lead_names(codes: Sequence[int]) -> tuple[str, ...]:
    """Lead names for ISHNE lead codes; unknown codes become ``leadN``; repeats get ``_N``."""
    names = [LEAD_CODES.get(int(c), f"lead{i + 1}") for i, c in enumerate(codes)]
    return tuple(
        f"{name}_{i + 1}" if names.count(name) > 1 else name for i, name in enumerate(names)
    )


def _start_time(header: IshneHeader) -> datetime | None:
    """Recording date plus start time, or None when either is missing or invalid."""
    day, month, year = header.record_date
    hour, minute, second = header.start_time
    try:
        return datetime(year, month, day, hour, minute, second)
    except (ValueError, OverflowError):
        return None


def write_ishne(
    path: str | Path,
    signal: np.ndarray,
    fs: float,
    *,
    resolution_nv: int | Sequence[int] = 2500,
    lead_specs: Sequence[int | str] | None = None,
    start_time: datetime | None = None,
    var_block: bytes = b"",
    recorder: str = "ecgtk",
    chunk_rows: int = 1 << 18,
) -> Path:
    """Write an ISHNE 1.0 file (atomically: temporary name, then rename) and return its path.

    ``signal`` is ``(n_samples, n_leads)`` (or 1-D for one lead). Integer arrays are stored as
    they are (values must fit int16); float arrays are taken as mV and quantised to
    ``resolution_nv`` nanovolts per unit, clipped to int16; NaN is stored as 0.
    ``lead_specs`` are ISHNE codes or names ('II', 'V1'); by default the standard 12-lead
    order for 12 leads, otherwise code 0 (unknown). ``fs`` must be a whole number of Hz.
    """
    signal = np.asanyarray(signal)
    data = signal[:, None] if signal.ndim == 1 else signal
    if data.ndim != 2 or not 1 <= data.shape[1] <= MAX_LEADS:
        raise ValueError(f"signal must be (n_samples, 1-{MAX_LEADS} leads), got {signal.shape}")
    n_leads = data.shape[1]
    resolution = _per_lead(resolution_nv, n_leads)
    header = _pack_header(data.shape[0], n_leads, fs, resolution, lead_specs, start_time,
                          len(var_block), recorder) + var_block  # fmt: skip
    crc = crc16_ccitt(header)
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(MAGIC + struct.pack("<H", crc) + header)
            for begin in range(0, data.shape[0], chunk_rows):
                block = data[begin : begin + chunk_rows]
                f.write(_to_int16(block, resolution).astype("<i2", copy=False).tobytes())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _pack_header(
    n_samples: int,
    n_leads: int,
    fs: float,
    resolution: tuple[int, ...],
    lead_specs: Sequence[int | str] | None,
    start_time: datetime | None,
    var_size: int,
    recorder: str,
) -> bytes:
    """The 512-byte fixed header."""
    if float(fs) != int(fs) or not 1 <= int(fs) <= 32767:
        raise ValueError(f"ISHNE stores the rate as a whole number of Hz (1-32767), got {fs}")
    specs = _lead_codes(lead_specs, n_leads)
    pad = [UNKNOWN] * (MAX_LEADS - n_leads)
    date = (UNKNOWN,) * 3
    clock = (UNKNOWN,) * 3
    if start_time is not None:
        date = (start_time.day, start_time.month, start_time.year)
        clock = (start_time.hour, start_time.minute, start_time.second)
    return FIXED_HEADER.pack(
        var_size, n_samples, VAR_BLOCK_OFFSET, VAR_BLOCK_OFFSET + var_size, 1,
        b"", b"", b"", 0, 0, *(UNKNOWN,) * 3, *date, *(UNKNOWN,) * 3, *clock, n_leads,
        *specs, *pad, *[0] * n_leads, *pad, *resolution, *pad, UNKNOWN,
        recorder.encode("ascii", "replace")[:40], int(fs), b"", b"", b"",
    )  # fmt: skip


def _per_lead(resolution_nv: int | Sequence[int], n_leads: int) -> tuple[int, ...]:
    """One positive int16 resolution (nV per unit) per lead."""
    values = [resolution_nv] * n_leads if np.isscalar(resolution_nv) else list(resolution_nv)
    if len(values) != n_leads or not all(1 <= int(v) <= 32767 for v in values):
        raise ValueError(f"need {n_leads} resolutions of 1-32767 nV, got {resolution_nv!r}")
    return tuple(int(v) for v in values)


def _lead_codes(lead_specs: Sequence[int | str] | None, n_leads: int) -> list[int]:
    """ISHNE lead codes from codes or names; defaults described in :func:`write_ishne`."""
    if lead_specs is None:
        return list(_STANDARD_12) if n_leads == MAX_LEADS else [0] * n_leads
    if len(lead_specs) != n_leads:
        raise ValueError(f"need {n_leads} lead specs, got {len(lead_specs)}")
    codes = []
    for spec in lead_specs:
        if isinstance(spec, str):
            if spec.lower() not in _NAME_CODES:
                raise ValueError(f"unknown ISHNE lead name {spec!r}")
            codes.append(_NAME_CODES[spec.lower()])
        else:
            codes.append(int(spec))
    return codes


def _to_int16(block: np.ndarray, resolution: tuple[int, ...]) -> np.ndarray:
    """Stored int16 values for a block of samples (see :func:`write_ishne`)."""
    if np.issubdtype(block.dtype, np.integer):
        info = np.iinfo(np.int16)
        if block.size and (block.min() < info.min or block.max() > info.max):
            raise ValueError("integer samples must fit int16")
        return block.astype(np.int16)
    units = np.asarray(block, dtype=np.float64) * (1e6 / np.asarray(resolution, dtype=np.float64))
    units = np.nan_to_num(np.rint(units), nan=0.0)
    return np.clip(units, -32768, 32767).astype(np.int16)
