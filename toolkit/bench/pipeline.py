"""What ``ecgtk bench`` measures: the whole pipeline on long recordings, stage by stage.

Without an archive, ``records`` recordings of ``hours`` each are built by tiling the shipped
sample (each from a different offset, so they are not identical) as WFDB format 212, two leads
at 360 Hz. Each is analysed in this process exactly as ``ecgtk run`` does (read, detect, model
1, model 2, templates, write). Beside it, when TensorFlow is installed and the ``.keras``
sources ship, a baseline runs the same two models through Keras on the same windows (the
original framework's set-up) and the ONNX/Keras speed ratio is reported.

Keys of the result (seconds unless named otherwise): ``device``, ``providers``, ``records``,
``hours_per_record``, ``total_seconds``, ``recordings_per_hour`` (one worker),
``seconds_per_24h_recording``, ``beats``, ``beats_per_second``, ``stage_seconds`` (summed over
records and over the chunk lanes' threads: read, detect, model1, model2, templates, write; with
``lanes`` > 1 stages overlap, so they sum to more than ``total_seconds``), ``peak_rss_mb``,
``peak_gpu_mb`` (GPU memory in use on GPU 0 by all processes, from ``nvidia-smi``; null on
CPU), ``lanes`` (chunks whose model calls run at once,
:func:`ecgtk.inference.models.worker_layout`),
``baseline`` (per model: ``windows``, ``repeats``, ``members``, ``onnx_batch``,
``onnx_lanes``, ``keras_batch``, ``onnx_seconds`` and ``keras_seconds`` of each pass,
``onnx_windows_per_s``, ``keras_windows_per_s``, ``ratio``; or a ``skipped`` reason; each rate
is the fastest of ``repeats`` timed passes over the windows, ONNX and Keras interleaved; ONNX
Runtime runs as the pipeline does, Keras at its fastest batch).
"""

from __future__ import annotations

import resource
import shutil
import subprocess
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

import numpy as np

from ecgtk.bench.tiling import write_tiled_wfdb
from ecgtk.detection.chunked import iter_detections
from ecgtk.engines.archive import Source, find_recordings
from ecgtk.engines.local import models_for, process_source
from ecgtk.inference.models import BeatModels, ModelSettings
from ecgtk.inference.sessions import predict
from ecgtk.readers import read_recording
from ecgtk.timing import STAGES, StageClock

#: Windows per model for the Keras-vs-ONNX baseline.
BASELINE_WINDOWS = 8192
#: Keras' batch size in the baseline: its fastest here (5,900-6,100 windows/s for one model-2
#: member at 256 and 1024 on 2 cores, 3,100-3,700 at 64).
KERAS_BATCH = 256
#: Timed passes over the baseline windows per runtime (the fastest counts).
BASELINE_REPEATS = 5


def tiled_archive(folder: Path, records: int, hours: float) -> list[Source]:
    """``records`` tiled recordings of ``hours`` each, written into ``folder``."""
    for i in range(records):
        write_tiled_wfdb(folder, f"tiled{i:03d}", hours, offset_s=97.0 * i)
    return find_recordings(folder)


class GpuMemoryPeak:
    """Peak GPU memory in use (MB, all processes, GPU 0) while the ``with`` block runs, polled
    from ``nvidia-smi`` every ``interval_s``; ``peak_mb`` stays None without ``nvidia-smi``."""

    def __init__(self, interval_s: float = 0.2) -> None:
        self.interval_s = interval_s
        self.peak_mb: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _read(self) -> float | None:
        try:
            out = subprocess.run(["nvidia-smi", "--query-gpu=memory.used",
                                  "--format=csv,noheader,nounits", "-i", "0"],
                                 capture_output=True, text=True, timeout=5, check=True).stdout
            return float(out.split()[0])
        except (OSError, subprocess.SubprocessError, ValueError, IndexError):
            return None

    def _poll(self) -> None:
        while not self._stop.is_set():
            used = self._read()
            if used is None:
                return
            self.peak_mb = max(self.peak_mb or 0.0, used)
            self._stop.wait(self.interval_s)

    def __enter__(self) -> GpuMemoryPeak:
        if shutil.which("nvidia-smi"):
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()


def run_bench(sources: list[Source], settings: ModelSettings, baseline: bool = True) -> dict:
    models = models_for(settings)
    clock = StageClock()
    on_gpu = "CUDAExecutionProvider" in models.providers
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as out, GpuMemoryPeak() as gpu:
        results = [process_source(source, Path(out), settings, clock) for source in sources]
    total = time.perf_counter() - started
    failed = [r.error for r in results if r.status != "ok"]
    if failed:
        raise RuntimeError(f"bench recordings failed: {failed}")
    hours = sum(read_recording(s.path).duration_s for s in sources) / 3600
    beats = sum(r.n_beats for r in results)
    result = {
        "device": settings.device, "providers": models.providers, "records": len(sources),
        "hours_per_record": round(hours / len(sources), 3),
        "total_seconds": round(total, 2),
        "recordings_per_hour": round(3600 * len(sources) / total, 1),
        "seconds_per_24h_recording": round(total / hours * 24, 2),
        "beats": beats, "beats_per_second": round(beats / total, 1),
        "stage_seconds": {k: round(clock.seconds.get(k, 0.0), 3) for k in STAGES
                          if k in clock.seconds},
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "peak_gpu_mb": gpu.peak_mb if on_gpu else None,
        "lanes": models.settings.lanes,
    }
    result["baseline"] = (keras_baseline(models, sources[0]) if baseline
                          else {"skipped": "not asked for"})
    return result


def baseline_windows(models: BeatModels, source: Source) -> dict[str, np.ndarray]:
    """Up to :data:`BASELINE_WINDOWS` real inputs per model from the start of a recording."""
    recording = read_recording(source.path)
    found = {"beat": [], "ventricular": []}
    for chunk, candidates in iter_detections(recording):
        x, centres = models.at_model_rate(chunk.signal, recording.fs, candidates - chunk.start)
        for name in found:
            found[name].append(models.windows(name, x, centres, centres))
        if sum(len(w) for w in found["beat"]) >= BASELINE_WINDOWS:
            break
    return {name: np.concatenate(parts)[:BASELINE_WINDOWS] for name, parts in found.items()}


def predict_in_lanes(session, windows: np.ndarray, batch_size: int, lanes: int) -> np.ndarray:
    """Class probabilities of ``windows`` as the pipeline's lanes compute them: ``lanes``
    threads, each running every ``lanes``-th window on the shared session."""
    if lanes <= 1:
        return predict(session, windows, batch_size)
    with ThreadPoolExecutor(lanes) as pool:
        parts = list(pool.map(lambda k: predict(session, windows[k::lanes], batch_size),
                              range(lanes)))
    out = np.empty((len(windows), parts[0].shape[1]), np.float32)
    for k, part in enumerate(parts):
        out[k::lanes] = part
    return out


def _seconds(work, *args, **kwargs) -> float:
    """Wall-clock seconds of ``work(*args, **kwargs)``."""
    started = time.perf_counter()
    work(*args, **kwargs)
    return time.perf_counter() - started


class _AverageOf:
    """Keras ``predict`` of an ensemble: each member's, averaged (one member: its own)."""

    def __init__(self, members: list) -> None:
        self.members = members

    def predict(self, x: np.ndarray, **kwargs) -> np.ndarray:
        return np.mean([m.predict(x, **kwargs) for m in self.members], axis=0)


def keras_baseline(models: BeatModels, source: Source) -> dict:
    """Windows per second through ONNX Runtime and through Keras, on the same windows. For an
    ensemble (``ecgtk.export.ensemble``) Keras runs every member and averages, as the graph
    does. Each runs as it runs best: ONNX Runtime as the pipeline runs it (the worker's
    lanes and batch size, :func:`predict_in_lanes`), Keras on every core in batches of
    :data:`KERAS_BATCH`."""
    keras_paths = {name: info.path.with_suffix(".keras") for name, info in models.info.items()}
    if not all(p.is_file() for p in keras_paths.values()):
        return {"skipped": "the .keras sources of the models are not installed"}
    try:
        import keras

        import ecgtk.export.architecture  # noqa: F401  (registers the custom layer)
        from ecgtk.export.ensemble import member_paths
    except ImportError:
        return {"skipped": "TensorFlow is not installed (pip install 'ecgtk[train]')"}
    windows = baseline_windows(models, source)
    out = {}
    for name, x in windows.items():
        session = models.sessions[name]
        paths = member_paths(keras_paths[name])[:models.info[name].members]
        if len(paths) < models.info[name].members:
            return {"skipped": f"{models.info[name].members} ensemble members in "
                               f"{models.info[name].path.name}, {len(paths)} .keras found"}
        model = _AverageOf([keras.models.load_model(str(p)) for p in paths])
        onnx_seconds, keras_seconds = [], []
        settings = models.settings
        onnx = partial(predict_in_lanes, session, x, settings.batch_size, settings.lanes)
        onnx()  # warm up both with a whole pass
        model.predict(x, batch_size=KERAS_BATCH, verbose=0)
        # interleaved, so drifts of the machine hit both; the fastest pass of each counts
        # (Keras' passes are bimodal here: about 1,570 or 2,900 windows/s for model 2)
        for _ in range(BASELINE_REPEATS):
            onnx_seconds.append(_seconds(onnx))
            keras_seconds.append(_seconds(model.predict, x, batch_size=KERAS_BATCH, verbose=0))
        # rounded first, so the reported ratio is the ratio of the reported rates
        onnx_rate = round(len(x) / min(onnx_seconds), 1)
        keras_rate = round(len(x) / min(keras_seconds), 1)
        out[name] = {"windows": len(x), "repeats": BASELINE_REPEATS, "members": len(paths),
                     "onnx_batch": settings.batch_size, "onnx_lanes": settings.lanes,
                     "keras_batch": KERAS_BATCH,
                     "onnx_seconds": [round(t, 3) for t in onnx_seconds],
                     "keras_seconds": [round(t, 3) for t in keras_seconds],
                     "onnx_windows_per_s": onnx_rate,
                     "keras_windows_per_s": keras_rate,
                     "ratio": round(onnx_rate / keras_rate, 2)}
    return out
