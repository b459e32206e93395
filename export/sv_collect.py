"""The pipeline's view of each annotated record, cached for the supraventricular classifier.

Training and scoring the third classifier (:mod:`ecgtk.labelling.supraventricular`) needs,
per record, what ``ecgtk run`` knows when it labels S: every candidate (samples at the record's
own rate), its label from models 1 and 2 and the rules (``N``, ``V``, ``artefact``), and its
coarse morphology (:attr:`ecgtk.inference.models.ChunkCalls.morphology`). Running the models
is the slow part, so :func:`collect` runs the shipped models once per record and stores these
arrays in ``CACHE/<record>.npz``, with the models' sha256 and the rules' settings; everything
after (features, fits, scores) reads the cache. A cached record made by other models or other
rules is made again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ecgtk.export.records import find_record


@dataclass(frozen=True)
class PipelineRecord:
    """One record as ``ecgtk run`` sees it before the S labels (arrays per candidate)."""

    name: str
    fs: float  # the record's own rate, Hz
    duration_s: float
    samples: np.ndarray  # int64, at ``fs``
    labels: np.ndarray  # object: N, V or artefact
    morphology: np.ndarray  # float32 (n, features)
    reference: Path  # the record's path without extension (its .atr is the reference)


def _run_pipeline(base: Path) -> dict[str, np.ndarray]:
    from ecgtk.inference.models import BeatModels, ModelSettings
    from ecgtk.labelling.classify import classify_calls
    from ecgtk.pipeline import DEFAULT_RULES, call_recording
    from ecgtk.readers import read_recording

    global _MODELS
    if _MODELS is None:
        _MODELS = BeatModels(ModelSettings())
    recording = read_recording(Path(f"{base}.hea"))
    samples, calls = call_recording(recording, _MODELS)
    info = _MODELS.info["ventricular"]
    out = classify_calls(samples, calls, info.threshold, DEFAULT_RULES, info.calibration, None,
                         fs=recording.fs)
    return {"models": np.str_(models_key()), "samples": samples, "labels": out.labels.astype(str),
            "morphology": calls.morphology.astype(np.float32),
            "fs": np.float64(recording.fs), "duration_s": np.float64(recording.duration_s)}


_MODELS = None


def models_key() -> str:
    """The sha256 of the shipped models 1 and 2 and of the pipeline's rule settings, which
    the cached labels depend on."""
    import hashlib

    from ecgtk.models import sha256_of, shipped_models
    from ecgtk.pipeline import DEFAULT_RULES

    rules = hashlib.sha256(repr(DEFAULT_RULES).encode()).hexdigest()[:16]
    return " ".join([*(sha256_of(path)[:16] for path in shipped_models()
                       if path.name in ("beat.onnx", "ventricular.onnx")), f"rules {rules}"])


def _cached_by_these_models(file: Path, key: str) -> bool:
    if not file.is_file():
        return False
    with np.load(file) as z:
        return "models" in z.files and str(z["models"]) == key


def collect(data: Path, records: list[str], cache: Path, verbose: bool = True
            ) -> list[PipelineRecord]:
    """The pipeline's calls on ``records`` (found under ``data``), from ``cache`` where they
    are there, else computed with the shipped models and stored."""
    cache.mkdir(parents=True, exist_ok=True)
    key = models_key()
    out = []
    for name in records:
        base = find_record(data, name)
        file = cache / f"{name}.npz"
        if not _cached_by_these_models(file, key):
            arrays = _run_pipeline(base)
            np.savez(file, **arrays)
            if verbose:
                print(f"{name}: {len(arrays['samples'])} candidates", flush=True)
        with np.load(file) as z:
            out.append(PipelineRecord(name, float(z["fs"]), float(z["duration_s"]),
                                      z["samples"].astype(np.int64),
                                      z["labels"].astype(object),
                                      z["morphology"], base))
    return out


if __name__ == "__main__":
    import sys

    from ecgtk.export.records import ALL_RECORDS, SVDB

    collect(Path(sys.argv[1]), list(ALL_RECORDS + SVDB), Path(sys.argv[2]))
