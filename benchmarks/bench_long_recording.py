"""Peak memory of ``ecgtk run`` on one 7-day recording: 168 h, 3 leads, 200 Hz (issue #39).

    python -m benchmarks.bench_long_recording [--hours 168] [--json out.json] [--keep DIR]

The recording is an NPY file (float32, 120,960,000 x 3 samples for 168 h, 1.45 GB) with its
JSON sidecar, tiled from the shipped sample excerpts (resampled 360 -> 200 Hz, their two leads
mixed into three) and written an hour at a time through a memory map, so that making it needs
little memory. ``ecgtk run --workers 1 --force --quiet`` then analyses it in a fresh process;
its wall time and peak RSS (``os.wait4``) are printed as JSON. Target: peak RSS under 2 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from ecgtk.bench.tiling import tiled_signal
from ecgtk.kernels.resample import resample_poly

FS = 200
#: Three leads from the excerpts' two (MLII, V1).
MIX = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, -0.5]], np.float32)


def write_long_npy(folder: Path, hours: float, name: str = "week") -> Path:
    """Write ``<name>.npy`` (``hours`` of 3-lead 200 Hz float32 mV) and its sidecar."""
    folder.mkdir(parents=True, exist_ok=True)
    digital, gain = tiled_signal(0.25)  # one cycle of the three 5-minute excerpts
    cycle = resample_poly(digital.astype(np.float32) / gain, 5, 9) @ MIX.T  # 200 Hz, mV
    cycle = np.ascontiguousarray(cycle, dtype=np.float32)
    n = int(round(hours * 3600 * FS))
    path = folder / f"{name}.npy"
    array = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, 3))
    block = 3600 * FS
    for start in range(0, n, block):
        stop = min(n, start + block)
        index = np.arange(start, stop) % len(cycle)
        array[start:stop] = cycle[index]
    array.flush()
    del array
    (folder / f"{name}.json").write_text(json.dumps({"fs": FS,
                                                     "lead_names": ["I", "II", "III"]}))
    return path


def measure_run(archive: Path, out: Path, extra: list[str] = ()) -> dict:
    """Wall time and peak RSS of one ``ecgtk run`` process on ``archive``."""
    command = [sys.executable, "-m", "ecgtk", "run", str(archive), "--out", str(out),
               "--workers", "1", "--force", "--quiet", *extra]
    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=errors)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            errors.seek(0)
            raise RuntimeError(f"ecgtk run failed ({code}): {errors.read()[-2000:].decode()}")
    return {"seconds": round(seconds, 1), "peak_rss_mb": round(usage.ru_maxrss / 1024, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=168.0)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--keep", type=Path, default=None,
                        help="write the recording and outputs here (kept) instead of a temp dir")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        started = time.perf_counter()
        write_long_npy(root / "archive", args.hours)
        result = {"hours": args.hours, "leads": 3, "fs": FS,
                  "write_seconds": round(time.perf_counter() - started, 1)}
        result["run"] = measure_run(root / "archive", root / "out")
        import pyarrow.parquet as pq

        record = pq.read_table(next((root / "out" / "records").glob("*.parquet"))).to_pylist()[0]
        result.update(status=record["status"], n_beats=record["n_beats"],
                      under_2_gb=result["run"]["peak_rss_mb"] < 2048)
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
