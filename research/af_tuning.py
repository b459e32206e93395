"""Tune and check the AF detector (ecgtk.summary.af) on the pipeline's beats of MIT-BIH DS1.

Run from the repository root, after ``ecgtk run ../shared/data/mitdb --out /tmp/af_mitdb``::

    python -m research.af_tuning [--beats /tmp/af_mitdb] [--reference ../shared/data/mitdb]

It reads the beats tables (samples and N / V / artefact labels) that ``ecgtk run`` wrote,
computes the detector's window statistics once per record, and scores the AF seconds of the
episodes against the ``(AFIB`` rhythm annotations (seconds in ``(AFL`` count neither way;
ecgtk.scoring.af). Printed: per record the AF seconds annotated / found / false, and gross
duration Se and +P, for the shipped settings (``DEFAULT_AF``) and for the tuning rule below.

Tuning rule (written before any result was looked at)
----------------------------------------------------

Only the two thresholds are tuned; every other setting is fixed a priori (AFSettings).

- Grid: ``min_irregularity`` 0.04 to 0.14 in steps of 0.01, ``min_entropy`` 0.4 to 1.4 in
  steps of 0.1.
- Objective on a set of training records: ``min(Se, +P)`` of the gross AF seconds.
- Conservative choice: among the grid points within 1 percentage point of the best objective,
  the one with the largest ``min_irregularity``, then the largest ``min_entropy`` (higher
  thresholds call less AF, the safer error on records full of ectopy).
- Leave-one-AF-record-out: for each of 201, 203, 217, the rule is applied to the other 25
  records and the held-out record is scored with the thresholds it picks. The shipped
  thresholds are those the rule picks on all 26 records only if every held-out AF record
  scores within 5 points of its in-sample Se; otherwise the a priori defaults stay.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np

from ecgtk.scoring.af import af_scores, sum_af_scores
from ecgtk.scoring.output import load_output
from ecgtk.scoring.reference import load_reference, reference_path
from ecgtk.summary.af import DEFAULT_AF, af_features, episodes_from_flags

AF_RECORDS = ("201", "203", "217")
IRREGULARITY_GRID = np.round(np.arange(0.04, 0.1401, 0.01), 2)
ENTROPY_GRID = np.round(np.arange(0.4, 1.401, 0.1), 1)


def load(beats: Path, reference: Path) -> dict:
    data = {}
    for rid, (samples, labels) in load_output(beats).items():
        atr = reference_path(rid, reference)
        if atr is None or labels is None:
            continue
        ref = load_reference(atr)
        start, end, irr, ent = af_features(samples, labels, ref.fs)
        data[rid] = (ref, start, end, irr, ent)
    return data


def score(data: dict, rids, irr_min: float, ent_min: float) -> tuple[dict, dict]:
    settings = dataclasses.replace(DEFAULT_AF, min_irregularity=irr_min, min_entropy=ent_min)
    per = {}
    for rid in rids:
        ref, start, end, irr, ent = data[rid]
        with np.errstate(invalid="ignore"):
            flag = (irr >= irr_min) & (ent >= ent_min)
        eps = np.array(episodes_from_flags(start, end, flag, ref.fs, settings)).reshape(-1, 2)
        per[rid] = af_scores(ref, eps)
    return per, sum_af_scores(per.values())


def objective(gross: dict) -> float:
    se, pp = gross["Se"], gross["+P"]
    return min(se if se is not None else 0.0, pp if pp is not None else 0.0)


def tune(data: dict, rids) -> tuple[float, float]:
    results = [(objective(score(data, rids, a, b)[1]), a, b)
               for a in IRREGULARITY_GRID for b in ENTROPY_GRID]
    best = max(r[0] for r in results)
    near = [r for r in results if r[0] >= best - 1.0]
    _, a, b = max(near, key=lambda r: (r[1], r[2]))
    return float(a), float(b)


def show(title: str, per: dict, gross: dict) -> None:
    print(f"\n{title}")
    print(f"{'record':>8} {'annot_s':>8} {'found_s':>8} {'false_s':>8} {'episodes':>8}")
    for rid, r in per.items():
        print(f"{rid:>8} {r['annotated_s']:8.0f} {r['found_s']:8.0f} {r['false_s']:8.0f} "
              f"{r['n_episodes']:8d}")
    fmt = lambda v: "-" if v is None else f"{v:.1f}"  # noqa: E731
    print(f"{'gross':>8} {gross['annotated_s']:8.0f} {gross['found_s']:8.0f} "
          f"{gross['false_s']:8.0f} {gross['n_episodes']:8d}   "
          f"Se {fmt(gross['Se'])} %  +P {fmt(gross['+P'])} %")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--beats", type=Path, default=Path("/tmp/af_mitdb"))
    parser.add_argument("--reference", type=Path, default=Path("../shared/data/mitdb"))
    parser.add_argument("--no-tune", action="store_true", help="only the shipped settings")
    args = parser.parse_args()
    data = load(args.beats, args.reference)
    rids = sorted(data)
    d = DEFAULT_AF
    per, gross = score(data, rids, d.min_irregularity, d.min_entropy)
    show(f"shipped settings: min_irregularity {d.min_irregularity}, "
         f"min_entropy {d.min_entropy}", per, gross)
    if args.no_tune or not any(r in data for r in AF_RECORDS):
        return
    a, b = tune(data, rids)
    per, gross = score(data, rids, a, b)
    show(f"rule on all records: min_irregularity {a}, min_entropy {b}", per, gross)
    print("\nleave-one-AF-record-out")
    for held in [r for r in AF_RECORDS if r in data]:
        ta, tb = tune(data, [r for r in rids if r != held])
        r = score(data, [held], ta, tb)[0][held]
        print(f"  {held}: thresholds {ta}, {tb}: annotated {r['annotated_s']:.0f} s, "
              f"found {r['found_s']:.0f} s, false {r['false_s']:.0f} s, "
              f"Se {r['Se'] if r['Se'] is None else round(r['Se'], 1)} %")


if __name__ == "__main__":
    main()
