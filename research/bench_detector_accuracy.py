"""Detector accuracy on the annotated PhysioNet records in ../shared/data (not in the package).

    python -m research.bench_detector_accuracy --data ../shared/data [--leads 0]

Runs ``ecgtk.detection.chunked.detect_beats`` (the detector behind ``ecgtk detect``) over MIT-BIH
DS1
(22 records), the paced records (102 104 107 217) and the noise-stress records 118e*/119e*, and
scores it with ``ecgtk.scoring`` (150 ms window, whole records). Each set is reported gross
(sums of TP, FN, FP over records), with ventricular flutter excluded as in ANSI/AAMI EC57 and
included. ``--leads 0`` runs the detector on lead 0 only.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from ecgtk.detection.chunked import detect_beats
from ecgtk.readers import read_recording
from ecgtk.recording import select_leads
from ecgtk.scoring import load_reference, score_many, score_record

DS1 = ("101 106 108 109 112 114 115 116 118 119 122 124 201 203 205 207 208 209 215 220 223 "
       "230").split()
PACED = ("102", "104", "107", "217")
SNRS = ("24", "18", "12", "06", "00", "_6")


def record_sets(data: Path) -> dict[str, list[Path]]:
    sets = {"DS1": [data / "mitdb" / r for r in DS1], "paced": [data / "mitdb" / r for r in PACED]}
    for snr in SNRS:
        sets[f"nstdb {snr.replace('_', '-')} dB"] = [data / "nstdb" / f"{r}e{snr}"
                                                    for r in ("118", "119")]
    return sets


def score_set(paths: list[Path], leads: tuple[int, ...] | None) -> dict:
    by_vf = {True: [], False: []}
    for path in paths:
        recording = read_recording(path.with_suffix(".hea"))
        if leads is not None:
            recording = select_leads(recording, leads)
        beats = detect_beats(recording)
        reference = load_reference(path)
        for exclude in by_vf:
            by_vf[exclude].append(score_record(reference, beats, exclude_vf=exclude))
    return {("vf_excluded" if k else "whole"): score_many(v) for k, v in by_vf.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--leads", type=int, nargs="*", default=None,
                        help="lead indices to use (default: all)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    leads = tuple(args.leads) if args.leads else None
    results = {name: score_set(paths, leads)
               for name, paths in record_sets(args.data).items()}
    table = Table(title=f"Detector, {'leads ' + str(leads) if leads else 'all leads'}, "
                  "gross over records, 150 ms")
    for column in ("set", "Se % (VF excl.)", "+P % (VF excl.)", "Se % (whole)", "+P % (whole)",
                   "FN", "FP"):
        table.add_column(column, justify="right")
    for name, result in results.items():
        ex, whole = result["vf_excluded"]["gross"]["beats"], result["whole"]["gross"]["beats"]
        table.add_row(name, f"{ex['Se']:.2f}", f"{ex['+P']:.2f}", f"{whole['Se']:.2f}",
                      f"{whole['+P']:.2f}", str(ex["FN"]), str(ex["FP"]))
    Console(width=120).print(table)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
