"""The two shipped models as one object per worker: sessions opened once, run per chunk.

Model 1 (``beat``) says whether a detector candidate is a beat or an artefact, from 50+50
samples at 360 Hz around it; model 2 (``ventricular``) says whether a beat is normal or
ventricular, from 150+150 samples. Both declare their rate, window, classes, input leads and
decision threshold in their ONNX metadata (see :mod:`ecgtk.inference.sessions`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ecgtk.inference.inputs import SCALE_HALF_WIDTH_S as QRS_HALF_WIDTH_S
from ecgtk.inference.inputs import model_windows, ventricular_inputs
from ecgtk.inference.sessions import (
    DEFAULT_GPU_MEM_GB,
    ModelInfo,
    open_session,
    predict,
    predict_with_passes,
    read_model_info,
    shipped_model_path,
)
from ecgtk.kernels.resample import resample_poly, resample_ratio, samples_to_rate
from ecgtk.labelling.rescue import PauseRule, rescue_pauses
from ecgtk.labelling.rules import qrs_amplitude
from ecgtk.timing import NO_CLOCK, StageClock

#: Windows per model call on the CPU: small batches keep ONNX Runtime's activations in each
#: core's cache. Two one-thread lanes sharing a session ran model 2 at 6,970 windows/s with 32,
#: 6,660 with 64 and 5,690 with 256 (model 1: 23,260, 22,740, 21,240), with identical outputs.
CPU_BATCH = 32
#: Windows per model call on a GPU (``--batch-size 1024`` kept the H100 busier; docs/scaling.md).
GPU_BATCH = 256


@dataclass(frozen=True)
class ModelSettings:
    """Where and how the models run."""

    device: str = "cpu"  # "auto", "cpu" or "cuda"
    gpu_mem_gb: float = DEFAULT_GPU_MEM_GB
    batch_size: int = CPU_BATCH  # windows per model call; GPUs like 1024
    threads: int = 1  # ONNX Runtime intra-op threads per session
    #: chunks of one recording whose model calls run at once, each on its own thread and all
    #: sharing the sessions, while the next chunk is read and detected
    #: (:func:`ecgtk.pipeline.call_recording`)
    lanes: int = 1
    #: let idle ONNX Runtime threads spin between calls (off: measured faster on 2 cores)
    spin_threads: bool = False
    #: uncertainty at and above which a beat is marked for review (None: the model's default)
    review_threshold: float | None = None
    #: model 1's calls corrected by the rhythm around them (:mod:`ecgtk.labelling.rescue`): rejected
    #: candidates that fill a pause the accepted beats leave are beats; None: off
    pause_rule: PauseRule | None = PauseRule()
    beat_path: Path | None = None  # default: the shipped model
    ventricular_path: Path | None = None

    def __post_init__(self) -> None:
        if min(self.threads, self.lanes, self.batch_size) < 1:
            raise ValueError(f"threads, lanes and batch_size must be >= 1, got "
                             f"{self.threads}, {self.lanes} and {self.batch_size}")

    @classmethod
    def using(cls, models_dir: Path | None = None, **options) -> ModelSettings:
        """Settings with ``beat.onnx`` and ``ventricular.onnx`` from ``models_dir`` (default:
        the shipped models) and the other ``options`` as given."""
        if models_dir is None:
            return cls(**options)
        return cls(beat_path=Path(models_dir) / "beat.onnx",
                   ventricular_path=Path(models_dir) / "ventricular.onnx", **options)


def worker_layout(device: str, cores: int, lanes: int | None = None,
                  batch_size: int | None = None) -> dict[str, int]:
    """How one worker with ``cores`` CPU cores runs the models: ``threads``, ``lanes`` and
    ``batch_size`` for :class:`ModelSettings` (``lanes`` and ``batch_size`` where given).

    On the CPU, ``cores`` lanes of one-thread sessions (fewer lanes asked for share the cores
    as intra-op threads): the model calls of two chunks run at
    once while the next chunk is read and detected, so the single-threaded work (reading,
    detection, window slicing) no longer leaves a core idle; and batches of
    :data:`CPU_BATCH`. With a GPU (``auto``, ``cuda``): by default one lane, ``cores``
    intra-op threads and batches of :data:`GPU_BATCH`, as measured on an H100 (docs/scaling.md);
    more lanes there have not been measured.
    """
    cores = max(1, int(cores))
    if device == "cpu":
        lanes = lanes or cores
        return {"threads": max(1, cores // lanes), "lanes": lanes,
                "batch_size": batch_size or CPU_BATCH}
    return {"threads": cores, "lanes": lanes or 1, "batch_size": batch_size or GPU_BATCH}


@dataclass(frozen=True)
class ChunkCalls:
    """The models' calls on the candidates of one chunk (arrays aligned with the candidates)."""

    p_beat: np.ndarray  # float32
    is_beat: np.ndarray  # bool
    p_ventricular: np.ndarray  # float32, NaN for artefacts
    morphology: np.ndarray  # float32 (n, features): the beat's window, coarsened (templates)
    amplitude: np.ndarray  # float32 QRS peak-to-peak in units of the chunk's typical QRS
    #: float32 (n, T): p_ventricular in each Monte-Carlo dropout pass (NaN for artefacts;
    #: T = 0 when the model has no passes)
    p_passes: np.ndarray


class BeatModels:
    """Both models with open sessions; build one per worker process and reuse it."""

    def __init__(self, settings: ModelSettings | None = None) -> None:
        self.settings = settings or ModelSettings()
        paths = {"beat": self.settings.beat_path or shipped_model_path("beat"),
                 "ventricular": self.settings.ventricular_path
                 or shipped_model_path("ventricular")}
        self.info: dict[str, ModelInfo] = {k: read_model_info(p, k) for k, p in paths.items()}
        self.sessions = {k: open_session(p, self.settings.device, self.settings.gpu_mem_gb,
                                         self.settings.threads, self.settings.spin_threads)
                         for k, p in paths.items()}
        rates = {info.rate_hz for info in self.info.values()}
        if len(rates) != 1:
            raise ValueError(f"the two models declare different rates {sorted(rates)} Hz")
        self.rate_hz = rates.pop()

    @property
    def providers(self) -> list[str]:
        return self.sessions["beat"].get_providers()

    def call_chunk(self, signal: np.ndarray, fs: float, candidates: np.ndarray,
                   clock: StageClock = NO_CLOCK) -> ChunkCalls:
        """Run both models on ``candidates`` (indices into ``signal``, at ``fs``)."""
        with clock.stage("model1"):
            x, centres = self.at_model_rate(signal, fs, candidates)
            beat_windows = self.windows("beat", x, centres, centres)
            p_beat = self._probability("beat", beat_windows)
            is_beat = p_beat >= self.info["beat"].threshold
            if self.settings.pause_rule is not None:
                is_beat = rescue_pauses(centres, p_beat, is_beat, self.rate_hz,
                                        self.settings.pause_rule)
            amplitude = qrs_amplitude(beat_windows[:, :, :self.info["beat"].input_leads],
                                      int(QRS_HALF_WIDTH_S * self.rate_hz))
        with clock.stage("model2"):
            windows = self.windows("ventricular", x, centres[is_beat], centres)
            p_ventricular = np.full(len(centres), np.nan, dtype=np.float32)
            passes = self.info["ventricular"].mc_passes
            p_passes = np.full((len(centres), passes), np.nan, dtype=np.float32)
            if passes:
                probabilities, p_passes[is_beat] = predict_with_passes(
                    self.sessions["ventricular"], windows, self.settings.batch_size)
                p_ventricular[is_beat] = probabilities[:, -1]
            else:
                p_ventricular[is_beat] = self._probability("ventricular", windows)
        leads = windows[:, :, :self.info["ventricular"].input_leads]
        morphology = np.zeros((len(centres), coarse_length(leads)), dtype=np.float32)
        morphology[is_beat] = coarsen(leads)
        return ChunkCalls(p_beat, is_beat, p_ventricular, morphology, amplitude, p_passes)

    def ventricular_windows(self, signal: np.ndarray, fs: float, beats: np.ndarray,
                            candidates: np.ndarray) -> np.ndarray:
        """Model 2's inputs for ``beats``, normalised by the chunk's ``candidates`` (indices
        into ``signal`` at ``fs``), exactly as :meth:`call_chunk` makes them."""
        x, centres = self.at_model_rate(signal, fs, candidates)
        at_rate = np.asarray(beats, dtype=np.int64)
        if fs != self.rate_hz:
            at_rate = samples_to_rate(at_rate, fs, self.rate_hz)
        return self.windows("ventricular", x, at_rate, centres)

    def windows(self, name: str, x: np.ndarray, centres: np.ndarray,
                scale_beats: np.ndarray) -> np.ndarray:
        """Model ``name``'s inputs around ``centres`` of ``x`` (at the models' rate, from
        :meth:`at_model_rate`), normalised by the QRS scale of ``scale_beats`` (the chunk's
        candidates, which also give model 2 its template and RR channels)."""
        info = self.info[name]
        make = ventricular_inputs if info.context else model_windows
        return make(self._leads(x, info), centres, info.before, info.after, scale_beats,
                    self.rate_hz, span_s=np.inf)

    def _probability(self, name: str, windows: np.ndarray) -> np.ndarray:
        """Probability of the model's last class (beat / ventricular)."""
        probabilities = predict(self.sessions[name], windows, self.settings.batch_size)
        return probabilities[:, -1] if len(probabilities) else np.empty(0, np.float32)

    def at_model_rate(self, signal: np.ndarray, fs: float,
                       candidates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The leads the models read, resampled to their rate, and the candidates there."""
        used = max(info.input_leads for info in self.info.values())
        signal = signal[:, :used]
        if fs == self.rate_hz:
            return signal, np.asarray(candidates, dtype=np.int64)
        up, down = resample_ratio(fs, self.rate_hz)
        return (resample_poly(signal, up, down),
                samples_to_rate(np.asarray(candidates, dtype=np.int64), fs, self.rate_hz))

    @staticmethod
    def _leads(x: np.ndarray, info: ModelInfo) -> np.ndarray:
        """The model's input leads: the first ``input_leads`` (lead 0 repeated if too few)."""
        if x.shape[1] >= info.input_leads:
            return x[:, :info.input_leads]
        return np.repeat(x[:, :1], info.input_leads, axis=1)


#: Templates compare beats on their model-2 window kept at every this-many samples.
COARSEN_STEP = 5


def coarse_length(windows: np.ndarray) -> int:
    return -(-windows.shape[1] // COARSEN_STEP) * windows.shape[2]


def coarsen(windows: np.ndarray) -> np.ndarray:
    """Beat morphology for templates: each normalised window at every 5th sample (72 Hz),
    leads side by side, ``(n, features)``."""
    coarse = windows[:, ::COARSEN_STEP, :]
    return np.ascontiguousarray(coarse.transpose(0, 2, 1).reshape(len(windows),
                                                                  coarse_length(windows)))
