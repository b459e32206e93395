"""The public Python API: read a recording, find its beats, analyse it, run an archive.

Each function is what the matching ``ecgtk`` command does, for one recording in memory or on
disk; the CLI is a thin layer over them. They are re-exported at the top of the package::

    import ecgtk
    analysis = ecgtk.analyse("recordings/100.hea")
    analysis.beats.to_pandas()
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from ecgtk.detection.chunked import DEFAULT_CHUNK_S
from ecgtk.detection.chunked import detect_beats as _detect_recording
from ecgtk.engines.archive import ArchiveError, Source, source_fingerprint
from ecgtk.engines.archive_run import model_settings, plan_archive_run
from ecgtk.engines.local import RecordResult, models_for, record_row, recording_facts
from ecgtk.inference.sessions import ModelError
from ecgtk.recording import Recording, RecordingError, check_sampling_rate

__all__ = ["Analysis", "ArchiveError", "ModelError", "RecordingError", "analyse",
           "detect_beats", "from_array", "read", "run_archive"]


def read(path: str | Path, fs: float | None = None) -> Recording:
    """Open a recording file lazily (samples are read in chunks when needed).

    Parameters
    ----------
    path : str or Path
        A WFDB header (``.hea``), EDF/EDF+/BDF (``.edf``, ``.bdf``), ISHNE Holter (``.ecg``)
        or NumPy array (``.npy``, samples x leads in mV).
    fs : float, optional
        Sampling rate in Hz, for ``.npy`` files without a ``NAME.json`` sidecar.

    Returns
    -------
    Recording
        Header facts (``fs``, ``n_leads``, ``duration_s``, ``lead_names``) and ``read(start,
        stop)`` for float32 ``(samples, leads)`` in mV.

    Raises
    ------
    RecordingError
        The file is missing, truncated or implausible; the message names the file.

    Examples
    --------
    >>> import ecgtk
    >>> from ecgtk.engines.archive import sample_archive
    >>> recording = ecgtk.read(sample_archive() / "208.hea")
    >>> recording.fs, recording.n_leads, recording.duration_s
    (360.0, 2, 300.0)
    """
    from ecgtk.readers import read_recording

    return read_recording(Path(path), fs=fs)


def from_array(signal: np.ndarray, fs: float, record_id: str = "array",
               lead_names: tuple[str, ...] | None = None) -> Recording:
    """Wrap an ECG held in memory as a :class:`~ecgtk.recording.Recording`.

    Parameters
    ----------
    signal : array_like
        ``(n_samples,)`` or ``(n_samples, n_leads)`` numbers in millivolts; NaN marks missing
        samples.
    fs : float
        Sampling rate in Hz (50 to 20,000).
    record_id : str
        The name the tables give the recording.
    lead_names : tuple of str, optional
        One name per lead (default ``lead1``, ``lead2``, ...).

    Returns
    -------
    Recording

    Examples
    --------
    >>> import numpy as np, ecgtk
    >>> recording = ecgtk.from_array(np.zeros((3600, 2)), fs=360)
    >>> recording.n_leads, recording.duration_s
    (2, 10.0)
    """
    x = np.asarray(signal)
    if x.dtype.kind not in "fiu":
        raise ValueError(f"signal must hold numbers, not {x.dtype}")
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"signal must be (n_samples,) or (n_samples, n_leads) with at least "
                         f"one sample and one lead, not shape {np.shape(signal)}")
    x = np.ascontiguousarray(x, dtype=np.float32)
    fs = check_sampling_rate(record_id, fs)
    names = tuple(lead_names) if lead_names else tuple(f"lead{i + 1}"
                                                       for i in range(x.shape[1]))
    if len(names) != x.shape[1]:
        raise ValueError(f"{len(names)} lead names for {x.shape[1]} leads")
    return Recording(path=Path(record_id), record_id=record_id, fs=fs, n_samples=len(x),
                     lead_names=names, read_samples=lambda start, stop: x[start:stop])


def _as_recording(source: str | Path | Recording | np.ndarray, fs: float | None) -> Recording:
    if isinstance(source, Recording):
        if fs is not None and fs != source.fs:
            raise ValueError(f"fs={fs} given for a recording at {source.fs} Hz")
        return source
    if isinstance(source, (str, Path)):
        return read(source, fs)
    if fs is None:
        raise ValueError("an array needs its sampling rate: fs=... (Hz)")
    return from_array(source, fs)


def detect_beats(signal: np.ndarray | Recording, fs: float | None = None,
                 chunk_s: float = DEFAULT_CHUNK_S) -> np.ndarray:
    """R peaks of an ECG: the detector alone, all leads used (as ``ecgtk detect``).

    Band-pass filtering and adaptive multi-lead thresholds (Numba), read ``chunk_s`` seconds
    at a time so a 24-hour recording never sits in memory whole.

    Parameters
    ----------
    signal : array_like or Recording
        ``(n_samples,)`` or ``(n_samples, n_leads)`` in mV, or a recording from :func:`read`.
    fs : float
        Sampling rate in Hz (for an array).
    chunk_s : float
        Seconds of signal detected at once.

    Returns
    -------
    numpy.ndarray
        int64 sample indices of the R peaks, ascending, at the signal's own rate.

    See Also
    --------
    analyse : the whole pipeline, which also labels the beats.

    Examples
    --------
    >>> import ecgtk
    >>> from ecgtk.engines.archive import sample_archive
    >>> recording = ecgtk.read(sample_archive() / "208.hea")
    >>> peaks = ecgtk.detect_beats(recording.read(), fs=recording.fs)
    >>> peaks.dtype, 400 < len(peaks) < 600
    (dtype('int64'), True)
    """
    recording = _as_recording(signal, fs)
    return _detect_recording(recording, chunk_s=chunk_s)


@dataclass(frozen=True)
class Analysis:
    """One recording analysed: its four tables, in the Parquet schemas of ``ecgtk run``.

    ``beats`` (one row per beat and rejected candidate), ``clusters`` (one per template),
    ``events`` (rhythm events) and ``record`` (one row: the Holter summary); see
    docs/tables.md.
    """

    beats: pa.Table
    clusters: pa.Table
    events: pa.Table
    record: pa.Table


def analyse(source: str | Path | Recording | np.ndarray, fs: float | None = None, *,
            record_id: str | None = None, models: str | Path | None = None,
            device: str = "cpu", review_threshold: float | None = None,
            lanes: int | None = None, batch_size: int | None = None) -> Analysis:
    """Analyse one recording: beats, labels, templates, rhythm summary (as ``ecgtk run``).

    The tables are the ones ``ecgtk run`` writes for the same recording, row for row. The
    models load once per process and settings, so analysing many recordings in a loop pays
    for them once.

    Parameters
    ----------
    source : str, Path, Recording or array_like
        A recording file (see :func:`read`), a :class:`~ecgtk.recording.Recording`, or an
        ``(n_samples, n_leads)`` array in mV with ``fs``.
    fs : float, optional
        Sampling rate in Hz: needed for an array, and for ``.npy`` files without a sidecar.
    record_id : str, optional
        The ``record_id`` of the tables (default: the file name without extension).
    models : str or Path, optional
        A folder with your own ``beat.onnx`` and ``ventricular.onnx`` (default: shipped).
    device : {"cpu", "auto", "cuda"}
        Where the models run; ``cuda`` falls back to the CPU with a warning.
    review_threshold : float, optional
        Uncertainty at which a beat is marked for review (default: the model's).
    lanes, batch_size : int, optional
        Chunks run through the models at once, and windows per model call (defaults as
        ``ecgtk run`` with one worker).

    Returns
    -------
    Analysis
        ``.beats``, ``.clusters``, ``.events`` and ``.record`` as pyarrow Tables.

    Raises
    ------
    RecordingError
        The recording cannot be read or holds no ECG; the message names it.

    Examples
    --------
    >>> import ecgtk
    >>> from ecgtk.engines.archive import sample_archive
    >>> analysis = ecgtk.analyse(sample_archive() / "119.hea")
    >>> analysis.record["n_beats"][0].as_py() > 300
    True
    >>> sorted(set(analysis.beats["label"].to_pylist()))
    ['N', 'V']
    """
    from ecgtk.pipeline import analyse_recording

    started = time.perf_counter()
    recording = _as_recording(source, fs)
    if record_id is not None:
        from dataclasses import replace

        recording = replace(recording, record_id=record_id)
    beat_models = models_for(model_settings(models, device=device, cores=os.cpu_count() or 1,
                                            review_threshold=review_threshold, lanes=lanes,
                                            batch_size=batch_size))
    result = analyse_recording(recording, beat_models)
    on_disk = Path(recording.path).is_file()
    row = record_row(Source(Path(recording.path), recording.record_id),
                     source_fingerprint(recording.path) if on_disk else (None, None),
                     recording_facts(recording), result, None,
                     time.perf_counter() - started, beat_models.info)
    return Analysis(result.beats, result.clusters, result.events, row)


def run_archive(archive: str | Path | None = None, out: str | Path = "ecgtk-out", *,
                glob: str | None = None, workers: int | None = None, device: str = "cpu",
                gpu_mem_gb: float = 6.0, gpu_workers: int | None = None,
                batch_size: int | None = None, lanes: int | None = None,
                review_threshold: float | None = None, models: str | Path | None = None,
                force: bool = False, engine: str = "local",
                address: str | None = None) -> list[RecordResult]:
    """Analyse every recording of an archive into Parquet tables (as ``ecgtk run``).

    Resumable: recordings whose four files open and agree with their records row and whose
    source is unchanged are skipped (``force=True`` redoes them); damaged ones are redone. A
    bad recording, or one whose worker process dies twice, gets an error row; the others go
    on. Recordings that another run on the same ``out`` holds are left to it (status
    ``busy``). Raises :class:`ecgtk.engines.outputs.OutputFull` when the output disk is full
    (finished recordings are kept; a re-run resumes).

    Parameters
    ----------
    archive : str or Path, optional
        A folder (searched recursively for ``.hea``, ``.edf``, ``.ecg``, ``.npy``) or a text
        file listing one recording per line. Default: the sample archive shipped with ecgtk.
    out : str or Path
        Output folder: ``beats/``, ``clusters/``, ``events/``, ``records/``.
    glob : str, optional
        Only recordings matching this pattern, relative to the archive folder.
    workers : int, optional
        Worker processes (default: one per core, at most one per recording).
    device, gpu_mem_gb, gpu_workers, batch_size, lanes, review_threshold, models
        As the options of ``ecgtk run`` (``ecgtk run --help``).
    force : bool
        Redo recordings an earlier run finished.
    engine : {"local", "ray"}
        ``ray`` runs on a Ray cluster (``address``; needs the ``ray`` extra).

    Returns
    -------
    list of RecordResult
        One per recording: ``record_id``, ``status`` (``ok``, ``error``, ``skipped``, ``busy``),
        counts, seconds and the error message.

    Examples
    --------
    >>> import ecgtk, tempfile
    >>> out = tempfile.mkdtemp()
    >>> results = ecgtk.run_archive(out=out, workers=1)
    >>> sorted((r.record_id, r.status) for r in results)
    [('106', 'ok'), ('119', 'ok'), ('208', 'ok')]
    """
    plan = plan_archive_run(archive, out, glob=glob, workers=workers, device=device,
                            gpu_mem_gb=gpu_mem_gb, gpu_workers=gpu_workers,
                            batch_size=batch_size, lanes=lanes,
                            review_threshold=review_threshold, models=models, force=force,
                            engine=engine, address=address)
    return list(plan.results())

