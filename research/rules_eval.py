"""The shipped models' labels on a folder of annotated records under variants of the rules.

    python -m research.rules_eval --data ../shared/data/svdb [--json OUT] [--variants ...]

Each record is read, detected and run through both shipped models once
(:func:`ecgtk.pipeline.call_recording`); the labelling after the models
(:func:`ecgtk.pipeline.finish_analysis`) then runs once per variant of
:class:`ecgtk.labelling.rules.ValidationRules`, and each variant is scored beat by beat (EC57,
150 ms) against the records' ``.atr``. The models never saw these patients when the folder is
another database (svdb): this is leave-one-database-out for the rules, which were tuned on
MIT-BIH.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ecgtk.inference.models import BeatModels, ModelSettings
from ecgtk.labelling.rules import ValidationRules
from ecgtk.pipeline import call_recording, finish_analysis
from ecgtk.readers import read_recording
from ecgtk.scoring import load_reference, score_many, score_record

#: The variants, by name: changes to the shipped ValidationRules.
VARIANTS = {
    "shipped": {},
    "no_early_templates": {"early_template_rr_ratio": None},
    "no_template_vote": {"template_ventricular_above": None},
}


def evaluate(data: Path, variants: list[str]) -> dict:
    """Gross beats and VEB scores of each variant over every annotated record of ``data``."""
    models = BeatModels(ModelSettings())
    info = models.info["ventricular"]
    rules = {name: ValidationRules(**VARIANTS[name]) for name in variants}
    scores: dict[str, list] = {name: [] for name in variants}
    for header in sorted(Path(data).glob("*.hea")):
        if not header.with_suffix(".atr").is_file():
            continue
        recording = read_recording(header)
        reference = load_reference(header.with_suffix(""))
        samples, calls = call_recording(recording, models)
        for name in variants:
            analysis = finish_analysis(recording.record_id, recording.fs,
                                       recording.duration_s, samples, calls, info, rules[name])
            labels = analysis.beats["label"].to_numpy(zero_copy_only=False)
            result = score_record(reference, analysis.beats["sample"].to_numpy(), labels)
            scores[name].append({**result, "record_id": recording.record_id})
        print(f"{recording.record_id}: " + "  ".join(
            f"{n} V FP {scores[n][-1]['veb']['FP']}" for n in variants), flush=True)
    return {name: score_many(s)["gross"] for name, s in scores.items()}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(prog="python -m research.rules_eval",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, required=True, help="folder of .hea/.dat/.atr")
    ap.add_argument("--variants", nargs="+", choices=tuple(VARIANTS),
                    default=list(VARIANTS))
    ap.add_argument("--json", type=Path, help="write the gross scores here")
    args = ap.parse_args(argv)
    gross = evaluate(args.data, args.variants)
    for name, g in gross.items():
        b, v = g["beats"], g["veb"]
        print(f"{name:<20} beats Se {b['Se']:.2f} +P {b['+P']:.2f}  VEB Se {v['Se']:.2f} "
              f"+P {v['+P']:.2f} F1 {v['F1']:.2f}")
    if args.json:
        args.json.write_text(json.dumps(gross, indent=1))
    return gross


if __name__ == "__main__":
    main()
