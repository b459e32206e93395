"""The detector alone against sleepecg's, on the same signal in one run, alternating.

    python -m benchmarks.bench_detector_vs_sleepecg [--hours 24] [--repeat 5] [--json out.json]

A single-lead 360 Hz signal of ``--hours`` (lead 0 of the shipped sample excerpts, tiled; in mV
as float64, what sleepecg takes) goes to ``ecgtk.kernels.rpeaks.detect_rpeaks`` and to
``sleepecg.detect_heartbeats(signal, fs, backend="c")``: both filter, detect and return beat
indices, nothing read or written. Both are warmed up first (Numba compiles, sleepecg designs
its filter), then each repeat runs ecgtk and sleepecg back to back, the order swapped every
other repeat, so that a machine that slows down or speeds up weighs on both alike. Prints each
repeat's seconds, the medians and the ratio ``sleepecg / ecgtk`` (above 1: ecgtk is faster);
also ecgtk on both leads (time per lead given). sleepecg is the ``bench`` extra.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np

from ecgtk.bench.tiling import tiled_signal
from ecgtk.kernels.rpeaks import detect_rpeaks

FS = 360.0


def _timed(fn, *args) -> tuple[float, int]:
    t0 = time.perf_counter()
    beats = fn(*args)
    return time.perf_counter() - t0, len(beats)


def run(hours: float, repeat: int, both_leads: bool = True) -> dict:
    import sleepecg

    digital, gain = tiled_signal(hours)
    leads = np.ascontiguousarray(digital / gain)  # float64 mV, both leads
    lead0 = np.ascontiguousarray(leads[:, 0])
    warm = lead0[: int(60 * FS)]
    detect_rpeaks(warm, FS)
    detect_rpeaks(leads[: int(60 * FS)], FS)
    sleepecg.detect_heartbeats(warm, FS, backend="c")

    def ecgtk_lead0():
        return detect_rpeaks(lead0, FS)

    def sleepecg_lead0():
        return sleepecg.detect_heartbeats(lead0, FS, backend="c")

    contenders = {"ecgtk": ecgtk_lead0, "sleepecg": sleepecg_lead0}
    seconds: dict[str, list[float]] = {name: [] for name in contenders}
    n_beats: dict[str, int] = {}
    for r in range(repeat):
        order = list(contenders) if r % 2 == 0 else list(reversed(contenders))
        for name in order:
            s, n_beats[name] = _timed(contenders[name])
            seconds[name].append(s)
        print(f"repeat {r + 1}: " + ", ".join(f"{k} {v[-1]:.3f} s" for k, v in seconds.items()),
              flush=True)
    medians = {k: statistics.median(v) for k, v in seconds.items()}
    result = {
        "hours": hours, "fs": FS, "n_samples": int(len(lead0)), "repeat": repeat,
        "seconds": {k: [round(s, 3) for s in v] for k, v in seconds.items()},
        "median_seconds": {k: round(v, 3) for k, v in medians.items()},
        "n_beats": n_beats,
        "ratio_sleepecg_over_ecgtk": round(medians["sleepecg"] / medians["ecgtk"], 3),
    }
    if both_leads:
        both = [_timed(detect_rpeaks, leads, FS)[0] for _ in range(max(1, repeat // 2))]
        result["ecgtk_both_leads_median_seconds"] = round(statistics.median(both), 3)
    return result


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-both-leads", dest="both_leads", action="store_false",
                        help="skip timing ecgtk on both leads")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    result = run(args.hours, max(1, args.repeat), args.both_leads)
    med = result["median_seconds"]
    print(f"median over {result['repeat']}: ecgtk {med['ecgtk']:.3f} s, sleepecg "
          f"{med['sleepecg']:.3f} s; sleepecg / ecgtk = {result['ratio_sleepecg_over_ecgtk']}")
    if "ecgtk_both_leads_median_seconds" in result:
        print(f"ecgtk on both leads: {result['ecgtk_both_leads_median_seconds']:.3f} s")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
