"""ONNX Runtime sessions for the shipped models: which provider, how many threads, batching.

CPU is the default that always works. With ``device="auto"`` or ``"cuda"`` the CUDA provider is
asked for (it exists only with onnxruntime-gpu and a usable NVIDIA GPU), capped at
``gpu_mem_gb`` of GPU memory; when the session cannot use it, ecgtk says so and runs on CPU.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import numpy as np

from ecgtk.inference.inputs import CONTEXT_KIND, leads_of_context_input
from ecgtk.models import sha256_of

log = logging.getLogger(__name__)

DEVICES = ("auto", "cpu", "cuda")
DEFAULT_GPU_MEM_GB = 6.0


class ModelError(Exception):
    """A model file is missing or unusable."""


@dataclass(frozen=True)
class ModelInfo:
    """What a shipped ONNX model declares about itself (its ONNX metadata) and its digest."""

    name: str
    path: Path
    sha256: str
    rate_hz: float
    before: int  # window samples before the centre, at rate_hz
    after: int  # window samples after the centre
    classes: tuple[str, ...]
    input_leads: int  # how many leads the model reads (the recording's first ones)
    threshold: float  # decision threshold on the positive (last) class's probability
    #: what the input holds beside its leads (``ecgtk.inference.inputs.CONTEXT_KIND``), None: leads
    # only
    context: str | None = None
    #: Monte-Carlo dropout passes the model also outputs (0: none; see ecgtk.labelling.uncertainty)
    mc_passes: int = 0
    #: Platt calibration ``(a, b)`` of the positive class's probability
    # (ecgtk.labelling.uncertainty)
    calibration: tuple[float, float] | None = None
    #: default uncertainty at and above which a beat is marked for review
    review_threshold: float | None = None
    #: trainings the graph averages (an ensemble, ``ecgtk.export.ensemble``; 1: one model)
    members: int = 1

    @property
    def model_id(self) -> str:
        """``name@sha256-prefix``: what the records table stores."""
        return f"{self.name}@{self.sha256[:12]}"


def shipped_model_path(name: str) -> Path:
    """Path of a model shipped in the package (``beat`` or ``ventricular``)."""
    path = Path(str(files("ecgtk.models"))) / f"{name}.onnx"
    if not path.is_file():
        raise ModelError(f"model {name!r} is not shipped in this installation ({path})")
    return path


def read_model_info(path: Path, name: str | None = None) -> ModelInfo:
    """Read a model's metadata without building a full session."""
    import onnxruntime as ort

    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: model file not found")
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta().custom_metadata_map
    try:
        context = meta.get("context") or None
        if context not in (None, CONTEXT_KIND):
            raise ValueError(f"input context {context!r} is unknown to this ecgtk")
        channels = _count(meta["input_leads"])
        return ModelInfo(
            name=name or path.stem, path=path, sha256=sha256_of(path),
            rate_hz=float(meta["rate_hz"]), before=int(meta["window_before"]),
            after=int(meta["window_after"]), classes=tuple(json.loads(meta["classes"])),
            input_leads=leads_of_context_input(channels) if context else channels,
            threshold=float(meta.get("decision_threshold", meta.get("threshold", 0.5))),
            context=context, mc_passes=int(meta.get("mc_passes", 0)),
            calibration=_calibration(meta.get("calibration")),
            review_threshold=(float(meta["review_threshold"]) if meta.get("review_threshold")
                              else None),
            members=int(meta.get("ensemble_members", 1)),
        )
    except (KeyError, ValueError) as error:
        raise ModelError(f"{path}: model metadata incomplete or invalid ({error})") from None


def _calibration(value: str | None) -> tuple[float, float] | None:
    """``{"method": "platt", "a": ..., "b": ...}`` (JSON) -> ``(a, b)``."""
    if not value:
        return None
    parsed = json.loads(value)
    if parsed.get("method") != "platt":
        raise ValueError(f"calibration method {parsed.get('method')!r} is unknown")
    return float(parsed["a"]), float(parsed["b"])


def _count(value: str) -> int:
    """Input leads are stored as a JSON list of names (or, older, as a number)."""
    parsed = json.loads(value)
    return len(parsed) if isinstance(parsed, list) else int(parsed)


def providers_for(device: str, gpu_mem_gb: float = DEFAULT_GPU_MEM_GB) -> list:
    """The provider list to ask ONNX Runtime for (explicit, always ending with CPU)."""
    if device not in DEVICES:
        raise ValueError(f"device must be one of {DEVICES}, got {device!r}")
    if gpu_mem_gb <= 0:
        raise ValueError(f"GPU memory cap must be positive, got {gpu_mem_gb} GB")
    cpu = "CPUExecutionProvider"
    if device == "cpu":
        return [cpu]
    import onnxruntime as ort

    if "CUDAExecutionProvider" not in ort.get_available_providers():
        if device == "cuda":
            log.warning("CUDA requested but this ONNX Runtime has no CUDA provider "
                        "(install onnxruntime-gpu); running on CPU")
        return [cpu]
    # cuDNN's largest convolution workspace would add hundreds of MB per process outside the
    # arena cap; ecgtk's batches have one shape, so the default algorithm search runs once
    cuda_options = {"device_id": 0, "gpu_mem_limit": int(gpu_mem_gb * 1024**3),
                    "arena_extend_strategy": "kSameAsRequested",
                    "cudnn_conv_use_max_workspace": "0"}
    return [("CUDAExecutionProvider", cuda_options), cpu]


def open_session(path: Path, device: str = "cpu", gpu_mem_gb: float = DEFAULT_GPU_MEM_GB,
                 threads: int = 1, spin_threads: bool = False):
    """An inference session on the requested device (falls back to CPU, with a warning).
    ``spin_threads``: let ONNX Runtime's idle threads spin-wait (off by default, see below)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, threads)
    options.inter_op_num_threads = 1
    # Idle ONNX Runtime threads would spin between model calls, on the cores the detector,
    # the window slicing and the templates need: off, a 24 h recording runs 8-17 % faster on
    # 2 cores (python -m benchmarks.bench_spinning).
    options.add_session_config_entry("session.intra_op.allow_spinning",
                                     "1" if spin_threads else "0")
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # ONNX Runtime's own CUDA warnings would repeat ours
    ort.set_default_logger_severity(3)
    wanted = providers_for(device, gpu_mem_gb)
    try:
        session = ort.InferenceSession(str(path), options, providers=wanted)
    except Exception as error:  # a broken CUDA install can fail session creation outright
        if len(wanted) == 1:
            raise ModelError(f"{path}: cannot load model ({error})") from None
        log.warning("CUDA session failed (%s); running on CPU", error)
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    if device == "cuda" and "CUDAExecutionProvider" not in session.get_providers():
        log.warning("CUDA requested but no usable GPU was found; running on CPU")
    return session


#: The graph outputs ecgtk reads: class probabilities, and the Monte-Carlo dropout passes of
#: models exported with them (``ecgtk.export.mc_dropout``).
PROBABILITIES, PASSES = "probabilities", "p_passes"


def predict(session, windows: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """Class probabilities ``(n, n_classes)`` float32 of ``windows`` ``(n, L, channels)``."""
    return run_batched(session, windows, batch_size, [_probabilities_name(session)])[0]


def predict_with_passes(session, windows: np.ndarray,
                        batch_size: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """Class probabilities and the positive class's probability in each Monte-Carlo dropout
    pass ``(n, T)``, for a model exported with passes."""
    probabilities, passes = run_batched(session, windows, batch_size,
                                        [_probabilities_name(session), PASSES])
    return probabilities, passes


def run_batched(session, windows: np.ndarray, batch_size: int, outputs: list[str],
                fixed_shape: bool | None = None) -> list[np.ndarray]:
    """The named ``outputs`` for ``windows``, run ``batch_size`` windows at a time.

    ``fixed_shape`` (default: when the session runs on CUDA) pads the last batch to
    ``batch_size``, so the GPU sees one input shape (cuDNN picks its algorithms once per
    shape). A batch that runs out of GPU memory is split in halves and retried."""
    if batch_size < 1:
        raise ValueError(f"batch size must be >= 1, got {batch_size}")
    name = session.get_inputs()[0].name
    if len(windows) == 0:
        shapes = {o.name: o.shape for o in session.get_outputs()}
        return [np.empty((0, *(d if isinstance(d, int) else 2 for d in shapes[o][1:])),
                         np.float32) for o in outputs]
    if fixed_shape is None:
        fixed_shape = "CUDAExecutionProvider" in session.get_providers()
    parts = [_run_batch(session, name, np.ascontiguousarray(windows[i:i + batch_size],
                                                            dtype=np.float32),
                        outputs, batch_size if fixed_shape else 0)
             for i in range(0, len(windows), batch_size)]
    return [np.concatenate([p[k] for p in parts]).astype(np.float32, copy=False)
            for k in range(len(outputs))]


#: Smallest batch tried after GPU out-of-memory errors.
MIN_BATCH = 16


def _run_batch(session, name: str, batch: np.ndarray, outputs: list[str],
               pad_to: int) -> list[np.ndarray]:
    """One batch (zero-padded to ``pad_to`` rows when larger than it); on GPU out-of-memory,
    two half batches."""
    n = len(batch)
    feed = batch
    if pad_to > n:
        feed = np.zeros((pad_to, *batch.shape[1:]), dtype=np.float32)
        feed[:n] = batch
    try:
        return [out[:n] for out in session.run(outputs, {name: feed})]
    except Exception as error:  # ONNX Runtime raises its own Fail/RuntimeException types
        if not _out_of_memory(error) or max(n, pad_to) <= MIN_BATCH:
            raise
        half = max(MIN_BATCH, max(n, pad_to) // 2)
        log.warning("GPU memory cap reached at a batch of %d windows; retrying in batches "
                    "of %d (raise --gpu-mem-gb or lower --batch-size)", max(n, pad_to), half)
        pieces = [_run_batch(session, name, batch[i:i + half], outputs,
                             half if pad_to else 0) for i in range(0, n, half)]
        return [np.concatenate([p[k] for p in pieces]) for k in range(len(outputs))]


def _out_of_memory(error: Exception) -> bool:
    text = str(error)
    return any(s in text for s in ("Available memory of", "Failed to allocate memory",
                                   "out of memory", "CUDNN_STATUS_ALLOC_FAILED"))


def _probabilities_name(session) -> str:
    names = [o.name for o in session.get_outputs()]
    return PROBABILITIES if PROBABILITIES in names else names[0]
