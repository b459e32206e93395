"""Plain ``.npy`` arrays: ``(n_samples, n_leads)`` numeric values in millivolts.

The values are taken to be millivolts as they are (no scaling). A 1-D array is one lead. The
sampling rate comes from the ``fs`` argument or from a sidecar ``<name>.json`` such as
``{"fs": 500, "lead_names": ["I", "II"], "start_time": "2024-01-31T08:00:00"}`` (only ``fs`` is
required; the argument wins over the sidecar). Files are memory-mapped and never unpickled.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from ecgtk.readers import default_lead_names, require_file
from ecgtk.recording import Recording, RecordingError, check_sampling_rate

NPY_MAGIC = b"\x93NUMPY"
#: More columns than this means the array is probably (n_leads, n_samples).
MAX_LEADS = 64


@dataclass(frozen=True)
class NpySamples:
    """Picklable ``read_samples`` for a ``.npy`` file: memory-maps it and copies the range."""

    path: Path

    def __call__(self, start: int, stop: int) -> np.ndarray:
        """Samples ``[start, stop)`` as float32 ``(n, n_leads)`` in mV."""
        array = load_npy(self.path)
        block = array[start:stop]
        if block.ndim == 1:
            block = block[:, None]
        return np.array(block, dtype=np.float32)


def load_npy(path: Path) -> np.ndarray:
    """Memory-map ``path`` with ``allow_pickle=False``, rewording numpy's errors."""
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as exc:
        message = str(exc)
        if "object" in message.lower() or "pickle" in message.lower():
            problem = "object arrays are not allowed (pickle); save a numeric array"
        elif "mmap length" in message:
            problem = "NPY data is truncated: the file is shorter than its header says"
        else:
            problem = f"not a valid .npy file ({message})"
        raise RecordingError(path, problem) from exc
    except (OSError, EOFError) as exc:
        raise RecordingError(path, f"not a valid .npy file ({exc})") from exc


def read_npy(
    path: str | Path, *, fs: float | None = None, record_id: str | None = None
) -> Recording:
    """Open a ``.npy`` recording lazily (see the module docstring for the sidecar)."""
    path = Path(path)
    _check_magic(path)
    array = load_npy(path)
    n_samples, n_leads = _check_array(path, array)
    sidecar = _read_sidecar(path)
    rate = fs if fs is not None else sidecar.get("fs")
    if rate is None:
        raise RecordingError(
            path,
            "no sampling rate: pass fs=... or write a sidecar "
            f'{path.with_suffix(".json").name} containing {{"fs": <Hz>}}',
        )
    return Recording(
        path=path,
        record_id=record_id or path.stem,
        fs=check_sampling_rate(path, rate),
        n_samples=n_samples,
        lead_names=_lead_names(path, sidecar, n_leads),
        read_samples=NpySamples(path),
        start_time=_start_time(path, sidecar),
    )


def _check_magic(path: Path) -> None:
    """Raise unless ``path`` exists, is not empty and starts with the NPY magic string."""
    if require_file(path, "NPY file") == 0:
        raise RecordingError(path, "empty file")
    with open(path, "rb") as f:
        if f.read(len(NPY_MAGIC)) != NPY_MAGIC:
            raise RecordingError(path, "not a .npy file: bad magic number")


def _check_array(path: Path, array: np.ndarray) -> tuple[int, int]:
    """``(n_samples, n_leads)`` of a usable array; raise for anything else."""
    dtype = array.dtype
    if dtype.hasobject:
        raise RecordingError(path, "object arrays are not allowed (pickle)")
    if dtype.fields is not None or not (
        np.issubdtype(dtype, np.integer) or np.issubdtype(dtype, np.floating)
    ):
        raise RecordingError(path, f"array dtype {dtype} is not a real numeric type")
    if array.ndim not in (1, 2):
        raise RecordingError(
            path, f"array must be 2-D (n_samples, n_leads) or 1-D, got shape {array.shape}"
        )
    n_samples = array.shape[0]
    n_leads = 1 if array.ndim == 1 else array.shape[1]
    if n_leads == 0 or n_samples == 0:
        raise RecordingError(path, f"no samples: array has shape {array.shape}")
    if n_leads > MAX_LEADS:
        raise RecordingError(
            path,
            f"array has {n_leads} columns; expected (n_samples, n_leads) with at most "
            f"{MAX_LEADS} leads (is it transposed?)",
        )
    return n_samples, n_leads


def _read_sidecar(path: Path) -> dict[str, Any]:
    """The sidecar JSON object next to ``path``, or ``{}`` when there is none."""
    sidecar = path.with_suffix(".json")
    if not sidecar.is_file():
        return {}
    try:
        content = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RecordingError(sidecar, f"sidecar is not valid JSON ({exc})") from exc
    if not isinstance(content, dict):
        raise RecordingError(sidecar, 'sidecar must hold a JSON object such as {"fs": 500}')
    return content


def _lead_names(path: Path, sidecar: dict[str, Any], n_leads: int) -> tuple[str, ...]:
    """Lead names from the sidecar, or ``lead1``... when it gives none."""
    names = sidecar.get("lead_names")
    if names is None:
        return default_lead_names(n_leads)
    if not isinstance(names, list) or len(names) != n_leads:
        raise RecordingError(
            path.with_suffix(".json"),
            f"sidecar lead_names must list {n_leads} names, got {names!r}",
        )
    return tuple(str(n) for n in names)


def _start_time(path: Path, sidecar: dict[str, Any]) -> datetime | None:
    """The sidecar's ISO 8601 ``start_time``, if any."""
    value = sidecar.get("start_time")
    if value is None:
        return None
    try:
        return datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise RecordingError(
            path.with_suffix(".json"), f"sidecar start_time {value!r} is not ISO 8601"
        ) from exc
