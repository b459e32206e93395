"""ecgtk: bulk analysis of ambulatory (Holter) ECG recordings.

Reads recordings (WFDB, EDF, ISHNE, NPY), finds every heartbeat, and writes Parquet tables.
The public entry points are :func:`ecgtk.readers.read_recording` and the ``ecgtk`` CLI.
"""

from importlib.metadata import PackageNotFoundError, version

from ecgtk.recording import Chunk, Recording, RecordingError, iter_chunks

try:
    __version__ = version("ecgtk")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = ["Chunk", "Recording", "RecordingError", "iter_chunks", "__version__"]
