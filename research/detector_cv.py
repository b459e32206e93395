"""Patient-wise (leave-one-record-out) cross-validation of the detector's parameter choice.

    python -m research.detector_cv --data ../shared/data [--json out.json]

For a small grid of physiological settings (QRS band edges, threshold fraction, T-wave window,
the share of its level under which a lead has lost its QRS),
every record of DS1 + paced is scored once per setting. Then, for each record in turn, the
setting with the best gross F1 on all *other* records is chosen and that record is scored with
it. The sum over held-out records is an honest estimate of how the selection procedure does on
patients it did not see; the table also shows how often each setting was chosen and the
shipped default's own score.
"""

from __future__ import annotations

import argparse
import itertools
import json
from collections import Counter
from pathlib import Path

from ecgtk.detection.chunked import detect_beats
from ecgtk.kernels.rpeaks import DetectorParams
from ecgtk.readers import read_recording
from ecgtk.scoring import load_reference, score_record
from research.bench_detector_accuracy import DS1, PACED

GRID = {
    "band_hz": [(3.0, 20.0), (5.0, 20.0), (3.0, 25.0)],
    "threshold_fraction": [0.2, 0.25, 0.3],
    "twave_window_s": [0.36, 0.42],
    "lost_qrs_ratio": [0.0, 0.5],
}


def counts(result: dict) -> tuple[int, int, int]:
    beats = result["beats"]
    return beats["TP"], beats["FN"], beats["FP"]


def f1(tp: int, fn: int, fp: int) -> float:
    return 2 * tp / (2 * tp + fn + fp)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    records = list(DS1) + list(PACED)
    settings = [dict(zip(GRID, values, strict=True))
                for values in itertools.product(*GRID.values())]
    references = {r: load_reference(args.data / "mitdb" / r) for r in records}
    recordings = {r: read_recording(args.data / "mitdb" / f"{r}.hea") for r in records}
    table = {}  # (setting index, record) -> (tp, fn, fp)
    for i, setting in enumerate(settings):
        params = DetectorParams(**setting)
        for r in records:
            table[i, r] = counts(score_record(references[r], detect_beats(recordings[r], params)))
    held_out, chosen = [0, 0, 0], Counter()
    for r in records:
        def train_f1(i: int, held: str = r) -> float:
            tot = [sum(table[i, o][k] for o in records if o != held) for k in range(3)]
            return f1(*tot)
        best = max(range(len(settings)), key=train_f1)
        chosen[best] += 1
        held_out = [a + b for a, b in zip(held_out, table[best, r], strict=True)]
    default = next(i for i, s in enumerate(settings) if DetectorParams(**s) == DetectorParams())
    default_total = [sum(table[default, o][k] for o in records) for k in range(3)]

    def summary(tp: int, fn: int, fp: int) -> dict:
        return {"TP": tp, "FN": fn, "FP": fp, "Se": 100 * tp / (tp + fn),
                "+P": 100 * tp / (tp + fp), "F1": 100 * f1(tp, fn, fp)}

    result = {
        "records": records, "grid": GRID,
        "leave_one_record_out": summary(*held_out),
        "chosen": {json.dumps(settings[i]): n for i, n in chosen.items()},
        "default": {"setting": settings[default], **summary(*default_total)},
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
