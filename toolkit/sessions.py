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

from ecgtk.info import sha256_of

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
        return ModelInfo(
            name=name or path.stem, path=path, sha256=sha256_of(path),
            rate_hz=float(meta["rate_hz"]), before=int(meta["window_before"]),
            after=int(meta["window_after"]), classes=tuple(json.loads(meta["classes"])),
            input_leads=_count(meta["input_leads"]),
            threshold=float(meta.get("decision_threshold", meta.get("threshold", 0.5))),
        )
    except (KeyError, ValueError) as error:
        raise ModelError(f"{path}: model metadata incomplete or invalid ({error})") from None


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
    cuda_options = {"device_id": 0, "gpu_mem_limit": int(gpu_mem_gb * 1024**3),
                    "arena_extend_strategy": "kSameAsRequested"}
    return [("CUDAExecutionProvider", cuda_options), cpu]


def open_session(path: Path, device: str = "cpu", gpu_mem_gb: float = DEFAULT_GPU_MEM_GB,
                 threads: int = 1):
    """An inference session on the requested device (falls back to CPU, with a warning)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, threads)
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # ONNX Runtime's own CUDA warnings would repeat ours
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


def predict(session, windows: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """Class probabilities ``(n, n_classes)`` float32 of ``windows`` ``(n, L, leads)``."""
    if batch_size < 1:
        raise ValueError(f"batch size must be >= 1, got {batch_size}")
    name = session.get_inputs()[0].name
    n_classes = session.get_outputs()[0].shape[-1]
    if len(windows) == 0:
        return np.empty((0, n_classes if isinstance(n_classes, int) else 2), np.float32)
    parts = [session.run(None, {name: np.ascontiguousarray(windows[i:i + batch_size],
                                                            dtype=np.float32)})[0]
             for i in range(0, len(windows), batch_size)]
    return np.concatenate(parts).astype(np.float32, copy=False)
