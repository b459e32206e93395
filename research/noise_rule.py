"""Rules 8 and 9 (noise) on and off over the fold models of finished evaluation runs.

    python -m research.noise_rule --runs scratch/eval scratch/eval_shipped_s1 \
        --data ../shared/data --json research/results/noise_rule.json

Each run is an ``ecgtk.export.evaluate`` output folder (``cv/`` and/or ``lodo/``, each fold's
held-out probabilities). The noise rules change labels only, so the held-out records are
labelled again with two settings of the pipeline's rules (``--set``, ``--base``; by default
the shipped rules against rule 8 off) and scored per group (database, nstdb SNR)
as ``evaluate`` scores them; nothing is trained. Plans and keep rules:
research/recorders_plan.md (experiments 7, 8 and 10).
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

#: The two arms: "on" the pipeline's rules, "off" the same with rule 8 off (both can be
#: changed with :func:`configure_arms`).
ARMS = {"on": ValidationRules(), "off": replace(ValidationRules(), noise_window_s=None)}


def parse_setting(text: str) -> tuple[str, float | int | None]:
    """``noise_min_rejected=3`` -> ``("noise_min_rejected", 3)`` (``none``: None)."""
    key, _, value = text.partition("=")
    if not hasattr(ValidationRules(), key) or not value:
        raise SystemExit(f"--set takes RULE=VALUE with a field of ValidationRules, not {text!r}")
    if value.lower() == "none":
        return key, None
    if value.lower() in ("true", "false"):
        return key, value.lower() == "true"
    return key, int(value) if value.lstrip("-").isdigit() else float(value)


def configure_arms(on: list[str], off: list[str] | None) -> dict:
    """Set :data:`ARMS` from ``RULE=VALUE`` texts: ``on`` changes the pipeline's rules for the
    "on" arm; ``off`` (None: rule 8 off) gives the "off" arm's changes. Returns the settings
    of both, for the results file."""
    ARMS["on"] = replace(ValidationRules(), **dict(parse_setting(t) for t in on))
    off = ["noise_window_s=none"] if off is None else off
    ARMS["off"] = replace(ValidationRules(), **dict(parse_setting(t) for t in off))
    return {"on": on, "off": off}


def add_arm_options(ap: argparse.ArgumentParser) -> None:
    """The ``--set`` and ``--base`` options of :func:`configure_arms`."""
    ap.add_argument("--set", action="append", default=[], metavar="RULE=VALUE",
                    help="a rule setting of the 'on' arm (default: the shipped rules)")
    ap.add_argument("--base", action="append", default=None, metavar="RULE=VALUE",
                    help="a rule setting of the 'off' arm (default: noise_window_s=none, "
                         "rule 8 off)")


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
                changed[group] = (changed.get(group, 0) + counts["noisy_on_time"]
                                  + counts["noisy_template"])
    return {group: {**{arm: _brief(score_many(s[arm])["gross"]) for arm in ARMS},
                    "changed": changed[group]}
            for group, s in sorted(scores.items())}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=Path, nargs="+", required=True)
    ap.add_argument("--data", type=Path, nargs="+", required=True)
    ap.add_argument("--json", type=Path)
    add_arm_options(ap)
    args = ap.parse_args(argv)
    out: dict = {"arms": configure_arms(args.set, args.base)}
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
