"""Rule 8 (``noisy_on_time``) on and off over the fold models of finished evaluation runs.

    python -m research.noise_rule --runs scratch/eval scratch/eval_shipped_s1 \
        --data ../shared/data --json research/results/noise_rule.json

Each run is an ``ecgtk.export.evaluate`` output folder (``cv/`` and/or ``lodo/``, each fold's
held-out probabilities). Rule 8 changes labels only, so the held-out records are labelled
again with the pipeline's rules, rule 8 on and off, and scored per group (database, nstdb SNR)
as ``evaluate`` scores them; nothing is trained. Plan and keep rule: research/recorders_plan.md
(experiment 7).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from ecgtk.export.evaluate import _brief, group_of
from ecgtk.export.out_of_fold import labels_of, load_folds, search_dirs
from ecgtk.labelling.rules import ValidationRules
from ecgtk.scoring import score_many, score_record

ARMS = {"on": ValidationRules(), "off": replace(ValidationRules(), noise_window_s=None)}


def parse_setting(text: str) -> tuple[str, float | int | None]:
    """``noise_min_rejected=3`` -> ``("noise_min_rejected", 3)`` (``none``: None)."""
    key, _, value = text.partition("=")
    if not hasattr(ValidationRules(), key) or not value:
        raise SystemExit(f"--set takes RULE=VALUE with a field of ValidationRules, not {text!r}")
    if value.lower() == "none":
        return key, None
    return key, int(value) if value.lstrip("-").isdigit() else float(value)


def run_designs(runs: list[Path]) -> Iterator[tuple[str, Path]]:
    """``("<run>/<design>", folder)`` of each design (``cv``, ``lodo``) each run holds."""
    for run in runs:
        for design in ("cv", "lodo"):
            if (run / design).is_dir():
                yield f"{run.name}/{design}", run / design


def score_design(design_dir: Path, data: list[Path]) -> dict:
    """``{group: {arm: brief gross scores, "changed": beats rule 8 changed}}``."""
    features, thresholds = load_folds(design_dir, search_dirs(data))
    scores: dict[str, dict[str, list]] = {}
    changed: dict[str, int] = {}
    for f in features:
        group = group_of(f["record"])
        if group is None:
            continue
        slot = scores.setdefault(group, {arm: [] for arm in ARMS})
        for arm, rules in ARMS.items():
            labels, counts = labels_of(f, thresholds, rules)
            slot[arm].append(score_record(f["reference"], f["samples"], labels))
            if arm == "on":
                changed[group] = changed.get(group, 0) + counts["noisy_on_time"]
    return {group: {**{arm: _brief(score_many(s[arm])["gross"]) for arm in ARMS},
                    "changed": changed[group]}
            for group, s in sorted(scores.items())}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=Path, nargs="+", required=True)
    ap.add_argument("--data", type=Path, nargs="+", required=True)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--set", action="append", default=[], metavar="RULE=VALUE",
                    help="a rule-8 setting of the 'on' arm (default: the shipped rules)")
    args = ap.parse_args(argv)
    ARMS["on"] = replace(ARMS["on"], **dict(parse_setting(t) for t in args.set))
    out: dict = {"on": {k: getattr(ARMS["on"], k) for k in
                        ("noise_window_s", "noise_min_rejected", "noise_late_rr_ratio",
                         "on_time_rr_ratio")}}
    for name, folder in run_designs(args.runs):
        out[name] = result = score_design(folder, args.data)
        for group, s in result.items():
            on, off = s["on"].get("veb", {}), s["off"].get("veb", {})
            if on:
                print(f"{name:<20} {group:<11} VEB F1 off {off['F1']:6.2f} on {on['F1']:6.2f} "
                      f"({on['F1'] - off['F1']:+.2f}; FP {off['FP']} -> {on['FP']}, TP "
                      f"{off['TP']} -> {on['TP']}; {s['changed']} changed)", flush=True)
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    main()
