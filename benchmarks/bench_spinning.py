"""Should ONNX Runtime's idle threads spin? The whole pipeline with spinning on and off.

    python -m benchmarks.bench_spinning --hours 24 --repeats 2

ONNX Runtime's intra-op threads spin-wait after each model call by default. On a small machine
they then take the cores from the work between calls (detection, window slicing, templates).
This runs ``ecgtk bench``'s pipeline on one tiled recording with spinning on and off,
alternated ``--repeats`` times, and prints each run's seconds per stage and the ratio of the
medians. Measured on the 2-core CPU: 24 h in 39.5 / 45.4 s spinning, 36.4 / 37.5 s not
(about 12 % faster), so ecgtk turns spinning off (``ModelSettings.spin_threads``).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

import numpy as np

from ecgtk.bench.pipeline import run_bench, tiled_archive
from ecgtk.inference.models import ModelSettings


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    threads = os.cpu_count() or 1
    runs: dict[str, list] = {"spinning": [], "not_spinning": []}
    with tempfile.TemporaryDirectory() as tmp:
        sources = tiled_archive(Path(tmp), 1, args.hours)
        for _ in range(args.repeats):
            for name, spin in (("spinning", True), ("not_spinning", False)):
                result = run_bench(sources, ModelSettings(threads=threads, spin_threads=spin),
                                   baseline=False)
                runs[name].append({"seconds": result["total_seconds"],
                                   "stage_seconds": result["stage_seconds"]})
                print(name, json.dumps(runs[name][-1]), flush=True)
    median = {k: float(np.median([r["seconds"] for r in v])) for k, v in runs.items()}
    report = {"hours": args.hours, "threads": threads, "runs": runs, "median_seconds": median,
              "speed_up_not_spinning": round(median["spinning"] / median["not_spinning"], 3)}
    print(json.dumps({k: report[k] for k in ("median_seconds", "speed_up_not_spinning")}))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    main()
