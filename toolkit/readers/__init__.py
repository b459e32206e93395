"""Recording readers: WFDB, EDF/EDF+, ISHNE 1.0 Holter and NPY, all behind :func:`read_recording`.

Every reader returns a lazy :class:`~ecgtk.recording.Recording` whose ``read_samples(start,
stop)`` reads only that range from disk and returns float32 ``(stop - start, n_leads)`` in
millivolts. Every bad input raises :class:`~ecgtk.recording.RecordingError` naming the file and
the problem; NaN and flat stretches are not read errors.

The format modules are imported on first use (``wfdb`` pulls in pandas, which is slow to import).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ecgtk.recording import Recording, RecordingError

__all__ = ["read_recording", "write_ishne", "mv_per_unit", "default_lead_names"]

#: Suffix -> format name. WFDB records may also be named without an extension.
SUFFIX_FORMATS = {
    ".hea": "wfdb",
    ".dat": "wfdb",
    ".edf": "edf",
    ".bdf": "edf",
    ".ecg": "ishne",
    ".npy": "npy",
}

#: Lower-cased unit spelling -> millivolts per unit.
_MV_PER_UNIT = {
    "mv": 1.0,
    "millivolt": 1.0,
    "millivolts": 1.0,
    "uv": 1e-3,
    "µv": 1e-3,  # micro sign
    "μv": 1e-3,  # Greek mu
    "microvolt": 1e-3,
    "microvolts": 1e-3,
    "nv": 1e-6,
    "v": 1e3,
    "volt": 1e3,
    "volts": 1e3,
}


def mv_per_unit(unit: str | None) -> float:
    """Millivolts per one physical unit named ``unit`` ('mV', 'uV', 'V', 'nV').

    Unknown or empty units (e.g. WFDB's 'NU') are taken to be millivolts already (factor 1).
    """
    if not unit:
        return 1.0
    return _MV_PER_UNIT.get(unit.strip().lower(), 1.0)


def default_lead_names(n_leads: int) -> tuple[str, ...]:
    """Names for leads a file does not name: ``lead1``, ``lead2``, ..."""
    return tuple(f"lead{i + 1}" for i in range(n_leads))


def require_file(path: Path, what: str = "file") -> int:
    """Return the size in bytes of ``path``; raise :class:`RecordingError` if it is missing."""
    if not path.exists():
        raise RecordingError(path, f"{what} not found")
    if not path.is_file():
        raise RecordingError(path, f"{what} is not a regular file")
    return path.stat().st_size


def detect_format(path: Path) -> str:
    """Name of the reader for ``path`` ('wfdb', 'edf', 'ishne', 'npy').

    Raises :class:`RecordingError` for a missing file or an unknown suffix.
    """
    fmt = SUFFIX_FORMATS.get(path.suffix.lower())
    if fmt is not None:
        return fmt
    if Path(f"{path}.hea").is_file():  # WFDB record name without extension
        return "wfdb"
    if not path.exists():
        raise RecordingError(path, "file not found")
    known = ", ".join(sorted(SUFFIX_FORMATS))
    raise RecordingError(
        path,
        f"unknown format {path.suffix or '(no suffix)'!r}: expected one of {known} "
        "or a WFDB record name",
    )


def read_recording(
    path: str | os.PathLike[str],
    *,
    fs: float | None = None,
    record_id: str | None = None,
) -> Recording:
    """Open a recording lazily, choosing the reader from the file's suffix.

    Parameters
    ----------
    path : ``.hea``/``.dat`` or extensionless WFDB record, ``.edf``/``.bdf``, ``.ecg`` (ISHNE 1.0)
        or ``.npy`` (values in mV, rate from a ``<name>.json`` sidecar or ``fs``).
    fs : sampling rate in Hz. Required for an NPY file without a sidecar; for other formats it
        overrides the rate the header states (for files whose header is known to be wrong).
    record_id : name for the recording; defaults to the file name without extension.

    Raises :class:`RecordingError` for every unreadable input.
    """
    path = Path(path)
    fmt = detect_format(path)
    if fmt == "wfdb":
        from ecgtk.readers.wfdb_format import read_wfdb as reader
    elif fmt == "edf":
        from ecgtk.readers.edf import read_edf as reader
    elif fmt == "ishne":
        from ecgtk.readers.ishne import read_ishne as reader
    else:
        from ecgtk.readers.npy import read_npy as reader
    return reader(path, fs=fs, record_id=record_id)


def __getattr__(name: str) -> Any:
    """Lazy attribute for :func:`ecgtk.readers.ishne.write_ishne`."""
    if name == "write_ishne":
        from ecgtk.readers.ishne import write_ishne

        return write_ishne
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
