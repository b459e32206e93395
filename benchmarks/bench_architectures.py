"""How fast are the two networks at the widths ecgtk could ship? (Issue 38's compact models.)

    python -m benchmarks.bench_architectures            (needs the ``train`` extra)

Builds each architecture with random weights (:func:`ecgtk.export.architecture.build_model`),
exports it with ecgtk's own exporter (model 2 with its 32 Monte-Carlo dropout passes, as
shipped) and times it in ONNX Runtime as one pipeline lane runs it: one thread, batches of 32,
best of 3 after a warm-up. Speed does not depend on the weights, so the table is a fair
picture of a trained model's cost; model 2 1.3.0 averaged two members, half the
one-member rate below. The compact networks were measured for labels too and not kept
(research/compact_models_plan.md). Results: ``benchmarks/results/bench_architectures.json``.
"""

from __future__ import annotations

import os
import time

import numpy as np

from benchmarks import write_result
from ecgtk.export.distill import (
    NARROW_BEAT_ARCH,
    NARROW_VENTRICULAR_ARCH,
    SLIM_BEAT_ARCH,
    STUDENT_ARCH,
)

#: ``(model, window length, channels, name, build_model arguments)``
ARCHITECTURES = (
    ("beat", 100, 2, "wide (1.2.0, the teacher)", {}),
    ("beat", 100, 2, "compact (not kept)", {"stem_filters": 16, "block_filters": (16, 32, 64),
                                         "lstm_units": 16}),
    ("beat", 100, 2, "narrow (24/48/96; shipped 2.0.0)", NARROW_BEAT_ARCH),
    ("beat", 100, 2, "slim (16/32/64, LSTM 24; not kept)", SLIM_BEAT_ARCH),
    ("beat", 100, 2, "middle (32/64/128; not needed)", STUDENT_ARCH),
    ("ventricular", 300, 6, "wide, one member of 1.3.0", {"stem_stride": 2}),
    ("ventricular", 300, 6, "compact (not kept)", {"stem_stride": 2, "stem_filters": 24,
                                                "block_filters": (24, 48, 96),
                                                "lstm_units": 24}),
    ("ventricular", 300, 6, "middle (32/64/128; shipped 2.0.0)",
     {"stem_stride": 2, **STUDENT_ARCH}),
    ("ventricular", 300, 6, "narrow (32/64/96, LSTM 24; not kept)",
     {"stem_stride": 2, **NARROW_VENTRICULAR_ARCH}),
)


def windows_per_s(proto, x: np.ndarray, batch: int = 32, repeats: int = 3) -> float:
    """Best-of-``repeats`` windows per second of one ONNX graph on one thread."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(proto.SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    session.run(None, {"window": x[:batch]})
    best = np.inf
    for _ in range(repeats):
        started = time.perf_counter()
        for i in range(0, len(x) - batch + 1, batch):
            session.run(None, {"window": x[i:i + batch]})
        best = min(best, time.perf_counter() - started)
    return (len(x) // batch * batch) / best


def main() -> list[dict]:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from ecgtk.export.architecture import build_model
    from ecgtk.export.mc_dropout import dropout_masks
    from ecgtk.export.onnx_direct import build_onnx

    rng = np.random.default_rng(0)
    rows = []
    for kind, length, channels, name, arch in ARCHITECTURES:
        model = build_model(length, channels, **arch)
        masks = (dropout_masks(2 * arch.get("lstm_units", 32), 0.2, 32)
                 if kind == "ventricular" else None)
        x = rng.standard_normal((2048, length, channels)).astype(np.float32)
        rate = windows_per_s(build_onnx(model, masks=masks), x)
        rows.append({"model": kind, "network": name, "parameters": model.count_params(),
                     "windows_per_s": round(rate)})
        print(f"{kind:<12} {name:<34} {model.count_params():>8,} parameters "
              f"{rate:>9,.0f} windows/s", flush=True)
    write_result("bench_architectures", rows)
    return rows


if __name__ == "__main__":
    main()
