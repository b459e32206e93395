"""What the V decision's groupings cost on a 24-hour recording.

    python -m benchmarks.bench_templates --hours 24 --repeat 3

The models' calls on one tiled recording (:mod:`ecgtk.bench.tiling`) are made once; then
the decision (:func:`ecgtk.labelling.classify.classify_calls`) is timed with each
``template_starts``
setting, alternating the settings ``--repeat`` times, so that both see the same machine. The
first setting is the baseline of the ratios. The K-means of tiled beats converge faster than
a real patient's, so the absolute seconds are a floor; the ratio is the figure to compare.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from ecgtk.bench.tiling import write_tiled_wfdb
from ecgtk.inference.models import BeatModels, ModelSettings
from ecgtk.labelling.classify import classify_calls
from ecgtk.labelling.rules import ValidationRules
from ecgtk.pipeline import call_recording
from ecgtk.readers import read_recording

#: 0.2.2's three groupings of 20, and six of five granularities.
DEFAULT_SETTINGS = ("20,20,20", "20,15,25,30,35,40")


def time_decisions(samples: np.ndarray, calls, threshold: float, settings: list[tuple],
                   repeat: int) -> dict[str, list[float]]:
    """Seconds of each decision, ``{setting: [one per repeat]}``, the settings alternated."""
    seconds: dict[str, list[float]] = {str(s): [] for s in settings}
    for _ in range(repeat):
        for starts in settings:
            rules = ValidationRules(template_starts=starts)
            t0 = time.perf_counter()
            classify_calls(samples, calls, threshold, rules)
            seconds[str(starts)].append(round(time.perf_counter() - t0, 3))
    return seconds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--settings", nargs="+", default=list(DEFAULT_SETTINGS),
                        help="template_starts settings, each as comma-separated counts")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    settings = [tuple(int(k) for k in s.split(",")) for s in args.settings]
    models = BeatModels(ModelSettings())
    with tempfile.TemporaryDirectory() as folder:
        path = write_tiled_wfdb(Path(folder), "tiled", args.hours)
        samples, calls = call_recording(read_recording(path), models)
    threshold = models.info["ventricular"].threshold
    seconds = time_decisions(samples, calls, threshold, settings, args.repeat)
    base = min(seconds[str(settings[0])])
    report = {"hours": args.hours, "beats": int(calls.is_beat.sum()), "seconds": seconds,
              "ratio_to_first": {k: round(min(v) / base, 2) for k, v in seconds.items()}}
    for k, v in seconds.items():
        print(f"{k:28s} {min(v):6.2f} s (fastest of {len(v)}), "
              f"{report['ratio_to_first'][k]:.2f}x the first")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
