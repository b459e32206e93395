"""ecgtk: bulk analysis of ambulatory (Holter) ECG recordings.

Reads recordings (WFDB, EDF, ISHNE, NPY), finds every heartbeat, labels it, groups beats into
templates, summarises the rhythm, and writes Parquet tables. The public API:

- :func:`read` (a file) and :func:`from_array` (an array in memory) give a :class:`Recording`;
- :func:`detect_beats` gives the R peaks of a signal (the detector alone);
- :func:`analyse` runs the whole pipeline on one recording and gives an :class:`Analysis`
  whose ``beats``, ``clusters``, ``events`` and ``record`` are pyarrow Tables;
- :func:`run_archive` analyses an archive into Parquet files, as ``ecgtk run`` does.

The pipeline's stages are subpackages: ``readers`` -> ``detection`` -> ``inference`` ->
``labelling`` -> ``summary`` -> ``tables``, chained by :mod:`ecgtk.pipeline`; ``engines`` run
archives, ``cli`` is the command line, ``kernels`` the Numba kernels.
"""

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version

from ecgtk.recording import Chunk, Recording, RecordingError, iter_chunks

try:
    __version__ = version("ecgtk")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

#: Names of :mod:`ecgtk.api`, imported on first use so that ``import ecgtk.kernels`` (or the
#: readers alone) does not load the models' runtime.
_API = ("Analysis", "analyse", "detect_beats", "from_array", "read", "run_archive")

__all__ = ["Chunk", "Recording", "RecordingError", "iter_chunks", "__version__", *_API]


def __getattr__(name: str):
    if name in _API:
        return getattr(import_module("ecgtk.api"), name)
    raise AttributeError(f"module 'ecgtk' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
