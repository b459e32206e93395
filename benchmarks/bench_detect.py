"""Detection throughput on a tiled 24 h two-lead 360 Hz recording, stage by stage.

    python -m benchmarks.bench_detect [--hours 24] [--json out.json]

Stages: read (WFDB 212, in 10-minute chunks; a pass that only reads), filter (the band-pass,
timed on those chunks), detect (``detect_beats`` minus the other two), write (Parquet); and the
detection step (filter + detect) on lead 0 alone, the read time subtracted, for comparison with
single-lead detectors. Then
the whole ``ecgtk detect`` process (start, read, detect, write) as a subprocess; and, when
sleepecg is installed, sleepecg's detector on lead 0 of the same signal in-process (reading
excluded), the baseline the foundation issue names.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from ecgtk.bench.tiling import write_tiled_wfdb
from ecgtk.detection.chunked import DEFAULT_CHUNK_S, DEFAULT_OVERLAP_S, detect_beats
from ecgtk.kernels.filters import bandpass_sos, sosfiltfilt
from ecgtk.kernels.rpeaks import DetectorParams, detect_rpeaks
from ecgtk.readers import read_recording
from ecgtk.recording import iter_chunks, select_leads
from ecgtk.tables import beats_table, write_parquet_atomic


def run(hours: float, workdir: Path) -> dict:
    header = write_tiled_wfdb(workdir, "tiled", hours)
    recording = read_recording(header)
    fs = recording.fs
    params = DetectorParams()
    detect_rpeaks(np.zeros((int(10 * fs), 2), np.float32), fs)  # compile outside the timings
    overlap = int(DEFAULT_OVERLAP_S * fs)
    sos = bandpass_sos(*params.band_hz, fs)
    timings = {"read": 0.0, "filter": 0.0}
    t0 = time.perf_counter()
    for chunk in iter_chunks(recording, DEFAULT_CHUNK_S, overlap):  # reading alone
        t1 = time.perf_counter()
        sosfiltfilt(sos, chunk.signal)
        timings["filter"] += time.perf_counter() - t1
    timings["read"] = time.perf_counter() - t0 - timings["filter"]
    t0 = time.perf_counter()
    beats = detect_beats(recording, params)  # read + filter + the rest of the detector
    in_process = time.perf_counter() - t0
    timings["detect"] = in_process - timings["read"] - timings["filter"]
    lead0 = select_leads(recording, (0,))
    t0 = time.perf_counter()
    detect_beats(lead0, params)
    lead0_seconds = time.perf_counter() - t0 - timings["read"]  # filter + detect, one lead
    t0 = time.perf_counter()
    write_parquet_atomic(beats_table("tiled", beats, fs), workdir / "beats.parquet")
    timings["write"] = time.perf_counter() - t0
    in_process += timings["write"]

    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "ecgtk", "detect", str(header), "--out",
                    str(workdir / "cli.parquet")], check=True, capture_output=True)
    cli_seconds = time.perf_counter() - t0

    result = {
        "hours": hours, "fs": fs, "n_leads": recording.n_leads, "n_beats": int(len(beats)),
        "stage_seconds": {k: round(v, 3) for k, v in timings.items()},
        "in_process_seconds": round(in_process, 3),
        "cli_process_seconds": round(cli_seconds, 3),
        "ecgtk_detect_only_seconds": round(timings["filter"] + timings["detect"], 3),
        "ecgtk_detect_lead0_only_seconds": round(lead0_seconds, 3),
    }
    result.update(sleepecg_baseline(recording))
    return result


def sleepecg_baseline(recording) -> dict:
    """sleepecg's detector on lead 0 (whole signal in memory, reading not timed)."""
    try:
        import sleepecg
    except ImportError:
        return {"sleepecg_seconds": None}
    lead0 = recording.signal[:, 0].astype(np.float64)
    sleepecg.detect_heartbeats(lead0[: int(60 * recording.fs)], recording.fs)  # warm up
    t0 = time.perf_counter()
    beats = sleepecg.detect_heartbeats(lead0, recording.fs)
    return {"sleepecg_seconds": round(time.perf_counter() - t0, 3),
            "sleepecg_n_beats": int(len(beats))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = run(args.hours, Path(tmp))
    mine, theirs = result["ecgtk_detect_only_seconds"], result["sleepecg_seconds"]
    if theirs:
        result["speedup_vs_sleepecg"] = round(theirs / mine, 2)
        result["speedup_vs_sleepecg_lead0"] = round(
            theirs / result["ecgtk_detect_lead0_only_seconds"], 2)
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
