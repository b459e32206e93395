"""Archive throughput of ``ecgtk run`` with N workers (CPU or GPU), and peak GPU memory.

    python -m benchmarks.bench_workers --records 32 --workers 16 --device cuda \\
        --gpu-mem-gb 0.35 --json workers.json
    python -m benchmarks.bench_workers --records 32 --workers 1 --device cuda \\
        --lanes 16 --batch-size 1024 --json one_gpu_process.json

Builds ``records`` tiled 24-hour recordings (two leads, 360 Hz; :mod:`ecgtk.bench.tiling`)
in parallel, then times one ``ecgtk run`` over them in a subprocess, as a nightly job would run
it, while ``nvidia-smi`` is polled for the GPU memory in use by all processes. Reports
recordings per hour, the median seconds per recording (per worker), and the peak GPU memory.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from ecgtk.bench.pipeline import GpuMemoryPeak
from ecgtk.bench.tiling import write_tiled_wfdb


def _tile(args: tuple[Path, int, float]) -> None:
    folder, i, hours = args
    write_tiled_wfdb(folder, f"t{i:03d}", hours, offset_s=97.0 * i)


def bench_workers(records: int, workers: int, device: str, hours: float,
                  gpu_mem_gb: float, gpu_workers: int | None = None,
                  lanes: int | None = None, batch_size: int | None = None) -> dict:
    """Tile, run, and report (see the module docstring)."""
    import pyarrow.parquet as pq

    with tempfile.TemporaryDirectory() as tmp:
        archive, out = Path(tmp) / "archive", Path(tmp) / "out"
        archive.mkdir()
        with ProcessPoolExecutor() as pool:
            list(pool.map(_tile, [(archive, i, hours) for i in range(records)]))
        started = time.perf_counter()
        with GpuMemoryPeak(0.1) as gpu:
            rc = subprocess.run([sys.executable, "-m", "ecgtk", "run", str(archive), "--out",
                                 str(out), "--workers", str(workers), "--device", device,
                                 "--gpu-mem-gb", str(gpu_mem_gb), "--quiet",
                                 *(["--gpu-workers", str(gpu_workers)] if gpu_workers is not None
                                   else []),
                                 *(["--lanes", str(lanes)] if lanes else []),
                                 *(["--batch-size", str(batch_size)] if batch_size else [])]
                                ).returncode
        wall = time.perf_counter() - started
        rows = pq.read_table(out / "records").to_pylist()
    seconds = sorted(r["seconds"] for r in rows)
    return {"recordings": records, "hours_each": hours, "workers": workers, "device": device,
            "gpu_mem_gb_per_worker": gpu_mem_gb, "gpu_workers": gpu_workers, "lanes": lanes,
            "batch_size": batch_size, "exit_code": rc,
            "wall_s": round(wall, 1),
            "recordings_per_hour": round(records * 3600 / wall, 1),
            "per_recording_seconds_median": seconds[len(seconds) // 2],
            "peak_gpu_mb_all_processes": gpu.peak_mb,
            "status": sorted({r["status"] for r in rows})}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--device", default="cpu", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--gpu-mem-gb", type=float, default=6.0)
    parser.add_argument("--gpu-workers", type=int, default=None,
                        help="only this many workers use the GPU (ecgtk run --gpu-workers)")
    parser.add_argument("--lanes", type=int, default=None,
                        help="chunks per worker at once (ecgtk run --lanes; default: its own)")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="windows per model call (ecgtk run --batch-size)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    result = bench_workers(args.records, args.workers, args.device, args.hours,
                           args.gpu_mem_gb, args.gpu_workers, args.lanes, args.batch_size)
    print(json.dumps(result, indent=1))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
