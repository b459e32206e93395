"""Reading a 24-hour WFDB recording: ecgtk's format-212 decoder against ``wfdb.rdrecord``.

    python -m benchmarks.bench_read [--hours 24] [--repeat 5]

Both read the same tiled two-lead 360 Hz format-212 record in the pipeline's 10-minute chunks,
as physical float32 millivolts, alternated ``--repeat`` times so that the machine's drift hits
both; the numbers are checked equal, bit for bit. Results: ``benchmarks/results/bench_read.json``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks import write_result
from ecgtk.bench.tiling import write_tiled_wfdb
from ecgtk.readers import read_recording


def read_all(read_samples, n: int, step: int) -> float:
    """Seconds to read samples ``[0, n)`` in chunks of ``step``."""
    started = time.perf_counter()
    for start in range(0, n, step):
        read_samples(start, min(n, start + step))
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> dict:
    from dataclasses import replace

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hours", type=float, default=24.0)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        header = write_tiled_wfdb(Path(tmp), "tiled", args.hours)
        recording = read_recording(header)
        fast = recording.read_samples
        if fast.fast is None:
            raise SystemExit("the tiled record should be format 212 in one file")
        through_wfdb = replace(fast, fast=None)
        step = int(600 * recording.fs)
        probe = (0, min(recording.n_samples, step))
        np.testing.assert_array_equal(fast(*probe), through_wfdb(*probe))
        fast(*probe)  # compile before timing
        times: dict[str, list[float]] = {"ecgtk": [], "wfdb": []}
        for _ in range(args.repeat):
            times["ecgtk"].append(read_all(fast, recording.n_samples, step))
            times["wfdb"].append(read_all(through_wfdb, recording.n_samples, step))
    result = {"hours": args.hours, "seconds": {k: [round(t, 3) for t in v]
                                               for k, v in times.items()},
              "median_s": {k: round(float(np.median(v)), 3) for k, v in times.items()},
              "speedup": round(float(np.median(times["wfdb"]) / np.median(times["ecgtk"])), 2)}
    print(json.dumps(result, indent=1))
    write_result("bench_read", result)
    return result


if __name__ == "__main__":
    main()
