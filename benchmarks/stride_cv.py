"""Shorter sequences before the BiLSTM: what a strided stem buys in speed and does to accuracy.

    python -m ecgtk.benchmarks.stride_cv --data ../shared/data --out scratch/cv_stride

1. Speed: ONNX Runtime windows/s of both architectures (random weights, the shipped sizes and
   32 dropout passes for model 2) with stem stride 1 and ``--stride``, on the same windows,
   2 threads; the ratio is what the stride buys.
2. Accuracy: the patient-wise cross-validation of :mod:`ecgtk.export.crossval` (same folds,
   seeds and settings as the shipped models' run) with the ``--kinds`` models built with
   ``stem_stride=--stride`` and the others with stride 1; compare its ``crossval.json`` with
   another run's, and run ``python -m ecgtk.benchmarks.validation_eval --cv-dir OUT`` for the
   figures after the per-template decision and the rules. ``--speed-only`` skips it (it takes
   about 15 minutes on 2 cores).

Measured here (2-core CPU): stride 2 makes model 2 1.8-2.4x and model 1 1.9x faster (two
runs). Decided beat by beat, it cost VEB F1 (model 2 alone 76.9 -> 74.1 %). Decided per
template (ecgtk.classify), model 2 strided was better in every fold: 84.2 -> 89.9 % with the
settings chosen on the other folds. So the shipped model 2 is strided. Model 1 strided rejected
more real beats (beats Se 99.45 -> 99.33 %), so it keeps stride 1.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

SHAPES = {"beat": (100, 2, 0), "ventricular": (300, 6, 32)}  # length, channels, passes


def windows_per_second(stride: int, kind: str, batch: int = 256) -> float:
    """Windows/s of a fresh ONNX graph of ``kind``'s architecture with stem ``stride``,
    measured as the model cards measure it (:func:`ecgtk.export.modelcard.cpu_throughput`)."""
    from ecgtk.export.architecture import build_model
    from ecgtk.export.mc_dropout import dropout_masks
    from ecgtk.export.modelcard import cpu_throughput
    from ecgtk.export.onnx_direct import build_onnx

    length, channels, passes = SHAPES[kind]
    model = build_model(length, channels, stem_stride=stride)
    masks = (dropout_masks(model.get_layer("probabilities").kernel.shape[0], 0.2, passes)
             if passes else None)
    x = np.random.default_rng(0).standard_normal((batch, length, channels)).astype(np.float32)
    graph = build_onnx(model, masks=masks).SerializeToString()
    return cpu_throughput(graph, x, batch=batch, threads=2)["windows_per_s"]


def speed(stride: int) -> dict:
    out = {}
    for kind in SHAPES:
        plain, strided = windows_per_second(1, kind), windows_per_second(stride, kind)
        out[kind] = {"stride_1_windows_per_s": round(plain), f"stride_{stride}_windows_per_s":
                     round(strided), "ratio": round(strided / plain, 2)}
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, nargs="+", default=[Path("../shared/data")])
    parser.add_argument("--out", type=Path, default=Path("scratch/cv_stride"))
    parser.add_argument("--stride", type=int, default=2)
    parser.add_argument("--kinds", nargs="+", choices=tuple(SHAPES), default=["ventricular"],
                        help="models built with the stride (the others: stride 1)")
    parser.add_argument("--speed-only", action="store_true")
    args = parser.parse_args(argv)
    from ecgtk.export.train import TrainSettings, configure_tensorflow

    configure_tensorflow(2)
    report = {"speed": speed(args.stride)}
    print(json.dumps(report, indent=1), flush=True)
    if not args.speed_only:
        from ecgtk.export.crossval import crossval

        settings = {kind: TrainSettings(verbose=2, arch={
            "stem_stride": args.stride if kind in args.kinds else 1}) for kind in SHAPES}
        summary = crossval(args.data, args.out, settings=settings)
        report["crossval"] = {"beats": summary["pipeline"]["beats"],
                              "veb": summary["pipeline"].get("veb"),
                              "nstdb": summary.get("nstdb_headline")}
        print(json.dumps(report["crossval"], indent=1))
    return report


if __name__ == "__main__":
    main()
