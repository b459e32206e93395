"""Model 2's inputs: one pass (``ventricular_inputs``) against the plain way, CPU seconds.

    python -m benchmarks.bench_inputs [--hours 2] [--repeat 5]

On a two-lead 360 Hz recording tiled from the shipped sample, each 10-minute chunk's detector
candidates are made into model-2 inputs (the beats' windows, the typical beat, the RR
channels) by :func:`ecgtk.inference.inputs.ventricular_inputs`, which normalises the beats'
and the typical beats' windows once, together, and assembles the input in one pass
(``kernels.windows.context_stack``), and by ``ventricular_inputs_reference``, 0.5.0's way
(the typical beats' windows made again, the channels filled one after another). Both give the
same inputs bit for bit (checked here and in tests/pipeline/test_context_inputs.py). Times are
one thread, best of ``--repeat`` alternated passes over the chunks, scaled to 24 hours.
Results: ``benchmarks/results/bench_inputs.json``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks import write_result
from ecgtk.bench.tiling import write_tiled_wfdb
from ecgtk.inference.inputs import ventricular_inputs, ventricular_inputs_reference
from ecgtk.inference.models import BeatModels
from ecgtk.pipeline import iter_model_inputs
from ecgtk.readers import read_recording


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=2.0)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    models = BeatModels()
    info = models.info["ventricular"]
    with tempfile.TemporaryDirectory() as tmp:
        recording = read_recording(write_tiled_wfdb(Path(tmp), "tiled", args.hours))
        chunks = []
        for item in iter_model_inputs(recording):
            x, centres = models.at_model_rate(item.signal, recording.fs, item.candidates)
            chunks.append((x[:, :info.input_leads], centres))
    ways = {"one pass": ventricular_inputs, "plain (0.5.0)": ventricular_inputs_reference}
    made = {name: [make(x, c, info.before, info.after, c, models.rate_hz, np.inf)
                   for x, c in chunks] for name, make in ways.items()}  # also the warm-up
    if not all(np.array_equal(a, b) for a, b in zip(*made.values(), strict=True)):
        raise SystemExit("the two ways made different inputs")
    del made
    best = dict.fromkeys(ways, np.inf)
    for _ in range(args.repeat):
        for name, make in ways.items():
            started = time.process_time()
            for x, c in chunks:
                make(x, c, info.before, info.after, c, models.rate_hz, np.inf)
            best[name] = min(best[name], time.process_time() - started)
    scale = 24.0 / args.hours
    result = {"hours": args.hours, "chunks": len(chunks),
              "windows": int(sum(len(c) for _, c in chunks)),
              "cpu_seconds_per_24h": {k: round(v * scale, 3) for k, v in best.items()},
              "ratio": round(best["plain (0.5.0)"] / best["one pass"], 2)}
    print(result)
    write_result("bench_inputs", result)
    return result


if __name__ == "__main__":
    main()
