"""Whole-process ``ecgtk run`` on long synthetic-from-real recordings: time and peak memory.

    python -m benchmarks.bench_run [--hours 24] [--edf12] [--json out.json] [--noise-mv 0.02]
        [--against "--lanes 1 --batch-size 256"] [--against-python OTHER/bin/python] [--repeat 3]

Default: one 24 h two-lead 360 Hz WFDB recording tiled from the shipped sample (the run issue's
60 s target). ``--edf12``: also one 24 h, 12-lead, 1 kHz EDF (the sample resampled to 1 kHz, its
two leads mixed into 12), for the peak-RSS target (2 GB). Each run is a fresh ``ecgtk run``
process (``--workers 1 --force``); wall time and the child's peak RSS are reported.

``--against ARGS``: the two-lead recording is also run with these extra ``ecgtk run`` options,
alternating with the default run ``--repeat`` times, so that the machine's drifts hit both; the
result gains ``against`` (the options, and each side's runs) and ``median_ratio`` (the
alternative's median seconds over the default's). The example above is the layout before chunk
lanes (one lane of two-thread sessions, batches of 256). ``--against-python``: the other side
runs another installation's ``ecgtk`` (e.g. the previous release in its own virtual
environment: ``python -m venv base && base/bin/pip install ecgtk==OLD`` or a checkout), with the
``--against`` options if given: today's release against the last, side by side. With
``--edf12`` the EDF is compared the same way (``edf_against``).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from ecgtk.bench.tiling import tiled_signal
from ecgtk.kernels.resample import resample_poly


def write_tiled_edf12(path: Path, hours: float, fs: int = 1000) -> Path:
    """A 12-lead EDF at ``fs`` Hz, written one minute at a time (never whole in memory)."""
    import pyedflib

    digital, gain = tiled_signal(hours)
    # the excerpts' samples sit on the ADC's zero (about +5 mV): centred first, or the leads
    # that add both would clip at the EDF's +-10 mV and lose their QRS for minutes
    zero = np.median(digital[:360 * 600], axis=0).astype(np.float32)
    mix = np.array([[1, 0], [0, 1], [1, -1], [-0.5, 1], [1, 0.5], [0.5, 1], [1, 1], [0.3, 1],
                    [1, 0.3], [-1, 0.5], [0.7, -0.7], [0.2, 0.8]], np.float32)
    writer = pyedflib.EdfWriter(str(path), 12, file_type=pyedflib.FILETYPE_EDFPLUS)
    writer.setSignalHeaders([{
        "label": f"ECG{i + 1}", "dimension": "uV", "sample_frequency": fs,
        "physical_max": 10000.0, "physical_min": -10000.0, "digital_max": 32767,
        "digital_min": -32768, "transducer": "", "prefilter": ""} for i in range(12)])
    minute_in = 360 * 60
    for start in range(0, len(digital), minute_in):
        block = (digital[start:start + minute_in].astype(np.float32) - zero) / gain  # mV
        if len(block) < minute_in:
            break
        at_fs = resample_poly(block, 25, 9) if fs == 1000 else block
        leads = (at_fs @ mix.T) * 1000.0  # uV
        for second in range(60):
            writer.writeSamples([np.ascontiguousarray(leads[second * fs:(second + 1) * fs, i],
                                                      dtype=np.float64) for i in range(12)])
    writer.close()
    return path


def write_in_child(folder: Path, hours: float, noise_mv: float) -> None:
    """The tiled two-lead recording, written by another process: the peak RSS of an ``ecgtk
    run`` child counts its parent's pages until it starts, so this process stays small."""
    code = ("import sys; from pathlib import Path; from ecgtk.bench.tiling import "
            "write_tiled_wfdb; write_tiled_wfdb(Path(sys.argv[1]), 'tiled', float(sys.argv[2]), "
            "noise_mv=float(sys.argv[3]))")
    subprocess.run([sys.executable, "-c", code, str(folder), str(hours), str(noise_mv)],
                   check=True)


def time_run(source: Path, out: Path, models: Path | None, extra: list[str] = (),
             python: str = sys.executable) -> dict:
    """Wall time and peak RSS of one ``ecgtk run`` process (its own, from ``os.wait4``), with
    the ``extra`` options, run by the ``python`` interpreter's ecgtk."""
    command = [python, "-m", "ecgtk", "run", str(source), "--out", str(out),
               "--workers", "1", "--force", "--quiet", *extra]
    command += ["--models", str(models)] if models else []
    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=errors)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            errors.seek(0)
            raise RuntimeError(f"ecgtk run failed: {errors.read()[-2000:].decode()}")
    return {"seconds": round(seconds, 2), "peak_rss_mb": round(usage.ru_maxrss / 1024, 1)}


def compare(source: Path, out: Path, models: Path | None, against: list[str],
            repeat: int, python: str = sys.executable) -> dict:
    """The default run and the run with the ``against`` options (by the ``python``
    interpreter's ecgtk), alternated ``repeat`` times, after one run of the other side that is
    not counted (a fresh install compiles its Numba caches on its first run; the default side
    has had its run already)."""
    time_run(source, out, models, against, python)
    default, other = [], []
    for _ in range(repeat):
        default.append(time_run(source, out, models))
        other.append(time_run(source, out, models, against, python))
    median = {name: float(np.median([r["seconds"] for r in runs]))
              for name, runs in (("default", default), ("other", other))}
    return {"options": against, "python": python, "default_runs": default, "other_runs": other,
            "default_median_seconds": median["default"],
            "other_median_seconds": median["other"],
            "median_ratio": round(median["other"] / median["default"], 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--edf12", action="store_true", help="also the 12-lead 1 kHz EDF")
    parser.add_argument("--models", type=Path, default=None, help="models folder to use")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--against", default=None,
                        help="extra ecgtk run options to compare with, e.g. '--lanes 1'")
    parser.add_argument("--against-python", default=None,
                        help="the other side runs this interpreter's ecgtk (another install)")
    parser.add_argument("--repeat", type=int, default=3, help="alternated runs with --against")
    parser.add_argument("--noise-mv", type=float, default=0.0,
                        help="Gaussian noise (mV) added to the two-lead recording, so that its "
                             "repeated beats differ as a real recording's do (e.g. 0.02)")
    args = parser.parse_args()
    result = {"hours": args.hours, "noise_mv": args.noise_mv}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        wfdb_dir = tmp / "wfdb"
        write_in_child(wfdb_dir, args.hours, args.noise_mv)
        result["wfdb_2lead_360hz"] = time_run(wfdb_dir, tmp / "out_wfdb", args.models)
        if args.against or args.against_python:
            result["against"] = compare(wfdb_dir, tmp / "out_wfdb", args.models,
                                        shlex.split(args.against or ""), args.repeat,
                                        args.against_python or sys.executable)
        if args.edf12:
            edf_dir = tmp / "edf"
            edf_dir.mkdir()
            t0 = time.perf_counter()
            write_tiled_edf12(edf_dir / "tiled12.edf", args.hours)
            result["edf_write_seconds"] = round(time.perf_counter() - t0, 1)
            result["edf_12lead_1khz"] = time_run(edf_dir, tmp / "out_edf", args.models)
            if args.against or args.against_python:
                result["edf_against"] = compare(edf_dir, tmp / "out_edf", args.models,
                                                shlex.split(args.against or ""), args.repeat,
                                                args.against_python or sys.executable)
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
