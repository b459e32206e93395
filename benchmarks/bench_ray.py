"""Recordings per hour: the local engine against the Ray engine, on this machine.

    python -m benchmarks.bench_ray [--records 6] [--hours 1] [--repeat 1]
        [--configs local:1:1 ray:1 local:2 ray:2] [--patience-s 600] [--json out.json]

An archive of ``records`` recordings of ``hours`` each is tiled from the shipped sample (WFDB
format 212, two leads at 360 Hz, each copy from a different offset). Each configuration runs
in a fresh Python process on the whole archive, redoing every recording:

- ``local:N``: the local engine with N worker processes, as ``ecgtk run --workers N`` runs it
  (ONNX Runtime threads per worker = cores / N); ``local:N:T`` with T threads per worker;
- ``ray:N``: a new local Ray instance with N CPUs (``ray.init(num_cpus=N)``), then the Ray
  engine with its default plan (``ecgtk run --engine ray``).

Reported per configuration: ``start_s`` (Ray's start-up; 0 for local), ``run_s`` (the run
itself, models loaded inside it; the best of ``--repeat`` runs), ``recordings_per_hour`` and
``ecg_hours_per_hour`` (from ``run_s``), the rate with the start-up included, and
``machine_cpu_s``, the busy CPU seconds of the whole machine during the run, start-up included
(the cost of the run, when nothing else runs). The configurations run one after the other, never
side by side, and each waits (up to ``--patience-s``) until the machine's CPUs are idle;
``busy_before`` is the share of CPU time that other programs used just before it started.
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

from ecgtk.bench.tiling import write_tiled_wfdb
from ecgtk.engines.archive import find_recordings

DEFAULT_CONFIGS = ("local:1:1", "ray:1", "local:2", "ray:2")


def make_archive(folder: Path, records: int, hours: float) -> Path:
    """``records`` tiled recordings of ``hours`` each in ``folder``."""
    for i in range(records):
        write_tiled_wfdb(folder, f"tiled{i:03d}", hours, offset_s=97.0 * i)
    return folder


def run_config(config: str, archive: Path, out: Path) -> dict:
    """Run one configuration (``local:N`` or ``ray:N``) in this process; timings in s."""
    from ecgtk.inference.models import ModelSettings

    engine, n, *threads = config.split(":")
    n = int(n)
    sources = find_recordings(archive)
    start_s = 0.0
    if engine == "local":
        from ecgtk.engines.local import run_archive

        per_worker = int(threads[0]) if threads else max(1, (os.cpu_count() or 1) // n)
        settings = ModelSettings(threads=per_worker)
        started = time.perf_counter()
        results = list(run_archive(sources, out, workers=n, force=True, settings=settings))
    elif engine == "ray":
        import ray

        from ecgtk.engines.ray_engine import run_archive_ray

        started = time.perf_counter()
        ray.init(num_cpus=n, include_dashboard=False, logging_level="WARNING")
        start_s = time.perf_counter() - started
        started = time.perf_counter()
        results = list(run_archive_ray(sources, out, ModelSettings(), force=True))
    else:
        raise ValueError(f"unknown configuration {config!r} (local:N or ray:N)")
    run_s = time.perf_counter() - started
    failed = [r.error for r in results if r.status != "ok"]
    if failed:
        raise RuntimeError(f"{config}: recordings failed: {failed}")
    return {"config": config, "records": len(sources), "start_s": round(start_s, 2),
            "run_s": round(run_s, 2), "beats": sum(r.n_beats for r in results)}


def with_rates(result: dict, hours: float) -> dict:
    """Add recordings and hours of ECG analysed per hour of wall time."""
    n = result["records"]
    total = result["run_s"] + result["start_s"]
    return {**result,
            "recordings_per_hour": round(3600 * n / result["run_s"]),
            "ecg_hours_per_hour": round(3600 * n * hours / result["run_s"], 1),
            "recordings_per_hour_with_start": round(3600 * n / total)}


def run_in_child(config: str, archive: Path, out: Path, patience_s: float) -> dict:
    command = [sys.executable, "-m", "benchmarks.bench_ray", "--only", config,
               "--archive", str(archive), "--out", str(out)]
    busy = wait_until_idle(patience_s=patience_s)
    before = machine_cpu_s()
    done = subprocess.run(command, capture_output=True, text=True)
    cpu_s = machine_cpu_s() - before
    if done.returncode != 0:
        raise RuntimeError(f"{config} failed:\n{done.stderr[-3000:]}")
    return {**json.loads(done.stdout.strip().splitlines()[-1]), "busy_before": busy,
            "machine_cpu_s": round(cpu_s, 1)}


def _proc_stat() -> tuple[int, int]:
    """``(busy, total)`` CPU time of the whole machine since boot, in clock ticks."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def machine_cpu_s() -> float:
    """Busy CPU seconds of the whole machine since boot (Linux; 0 elsewhere)."""
    try:
        return _proc_stat()[0] / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError):
        return 0.0


def cpu_busy(seconds: float = 2.0) -> float | None:
    """Share of all CPUs' time spent busy over ``seconds`` (Linux /proc/stat; else None)."""
    try:
        busy0, total0 = _proc_stat()
        time.sleep(seconds)
        busy1, total1 = _proc_stat()
    except OSError:
        return None
    return (busy1 - busy0) / max(1, total1 - total0)


def wait_until_idle(below: float = 0.15, patience_s: float = 600.0) -> float | None:
    """Wait until other programs use less than ``below`` of the CPUs (at most
    ``patience_s``); returns the last share measured."""
    deadline = time.monotonic() + patience_s
    busy = cpu_busy()
    while busy is not None and busy >= below and time.monotonic() < deadline:
        time.sleep(5.0)
        busy = cpu_busy()
    return None if busy is None else round(busy, 3)


def best_of(config: str, archive: Path, out: Path, repeat: int, patience_s: float) -> dict:
    """The fastest of ``repeat`` runs of ``config`` (all run times kept)."""
    runs = [run_in_child(config, archive, out, patience_s) for _ in range(repeat)]
    best = min(runs, key=lambda r: r["run_s"])
    return {**best, "all_run_s": [r["run_s"] for r in runs]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=6)
    parser.add_argument("--hours", type=float, default=1.0, help="length of each recording, h")
    parser.add_argument("--configs", nargs="+", default=list(DEFAULT_CONFIGS))
    parser.add_argument("--repeat", type=int, default=1, help="runs per configuration")
    parser.add_argument("--patience-s", type=float, default=600.0,
                        help="longest wait for idle CPUs before each run, s")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--only", help=argparse.SUPPRESS)  # child mode: one configuration
    parser.add_argument("--archive", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.only:
        print(json.dumps(run_config(args.only, args.archive, args.out)))
        return
    summary = {"records": args.records, "hours_per_record": args.hours,
               "cpu_count": os.cpu_count(), "repeat": args.repeat, "runs": []}
    with tempfile.TemporaryDirectory() as tmp:
        archive = make_archive(Path(tmp) / "archive", args.records, args.hours)
        for config in args.configs:
            out = Path(tmp) / config.replace(":", "_")
            result = with_rates(best_of(config, archive, out, args.repeat, args.patience_s),
                                args.hours)
            summary["runs"].append(result)
            print(json.dumps(result), file=sys.stderr)
    print(json.dumps(summary, indent=2))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
