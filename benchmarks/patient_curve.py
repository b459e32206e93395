"""How does model 2's honest VEB F1 grow with the patients it was trained on? (a learning curve)

    R=benchmarks/results
    python -m ecgtk.benchmarks.patient_curve \\
        --point scratch/cv_quarter01_refit $R/validation_eval_curve_cv_quarter01.json \\
        --point scratch/cv_plain_refit $R/validation_eval_rerun4b_seeds01_maxv200.json \\
        ... --json $R/patient_curve.json

Each ``--point`` is a refitted cross-validation run (:mod:`ecgtk.export.refit`, trained on a
share of each fold's patients with ``ensemble_cv --train-share``, or on all of them) and its
:mod:`ecgtk.benchmarks.validation_eval` results. The patients a run's models saw are counted
from its folds (training + validation patients, mean over the folds); runs with the same count
are replicates (other seeds, other subsets) and are averaged. Three fits of the mean honest F1
against patients say where 95 % would lie: a line in log2(patients), error (100 - F1) as a
power of patients, and the last step alone (the two largest counts). With few points and a
spread of several points between replicates, these are rough projections, not estimates.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ecgtk.export.records import patient_of

#: validation_eval's figures read per run: honest (every setting chosen on the other folds)
#: over DS1 + paced and over DS1 alone, both means over the template seed sets.
FIGURES = {"honest": ("ds1_paced", "chosen_on_other_folds"),
           "ds1_alone_honest": ("ds1_alone", "chosen_on_other_folds"),
           "shipped_rules": ("ds1_paced", "default")}


def patients_seen(run_dir: str | Path) -> float:
    """Mean over a run's folds of the patients its models were trained on (training and
    validation records' patients, as a refit uses both)."""
    folds = [json.loads(p.read_text()) for p in sorted(Path(run_dir).glob("fold*/fold.json"))]
    if not folds:
        raise FileNotFoundError(f"{run_dir}: no fold*/fold.json")
    return float(np.mean([len({patient_of(r) for r in f["train_records"] + f["val_records"]})
                          for f in folds]))


def run_figures(validation_eval: dict) -> dict[str, float]:
    """The :data:`FIGURES` of one validation_eval result, in %."""
    return {name: float(np.mean(validation_eval[part]["veb_f1_per_template_seed"][setting]))
            for name, (part, setting) in FIGURES.items()}


def patients_for(target: float, patients: Sequence[float], f1: Sequence[float]) -> dict:
    """Where each fit of mean F1 (%) against ``patients`` reaches ``target`` %: ``line`` (F1
    linear in log2 patients), ``power`` (100 - F1 = k * patients**c), ``last_step`` (the line
    through the two largest counts); inf where a fit does not rise."""
    n, f = np.asarray(patients, float), np.asarray(f1, float)
    if len(n) < 2 or len(set(n.tolist())) < len(n):
        raise ValueError("need at least two different patient counts, one figure each "
                         "(average replicates first: curve)")
    out = {}
    slope, icpt = np.polyfit(np.log2(n), f, 1)
    out["line"] = {"points_per_doubling": float(slope),
                   "patients": float(2 ** ((target - icpt) / slope)) if slope > 0 else np.inf}
    c, logk = np.polyfit(np.log(n), np.log(100.0 - f), 1)
    out["power"] = {"exponent": float(c),
                    "patients": float(np.exp((np.log(100.0 - target) - logk) / c))
                    if c < 0 else np.inf}
    order = np.argsort(n)
    (n_before, f_before), (n_last, f_last) = ((n[i], f[i]) for i in order[-2:])
    step = (f_last - f_before) / np.log2(n_last / n_before)
    out["last_step"] = {"points_per_doubling": float(step),
                        "patients": float(n_last * 2 ** ((target - f_last) / step)) if step > 0
                        else np.inf}
    return out


def curve(points: Sequence[tuple[float, dict[str, float]]], target: float = 95.0) -> dict:
    """Average the replicates of each patient count and fit each figure (:func:`patients_for`)."""
    by_count: dict[float, list[dict[str, float]]] = {}
    for seen, figures in points:
        by_count.setdefault(round(seen, 2), []).append(figures)
    sizes = [{"patients": seen, "replicates": len(rows),
              **{name: float(np.mean([r[name] for r in rows])) for name in FIGURES},
              "honest_each": [r["honest"] for r in rows]}
             for seen, rows in sorted(by_count.items())]
    fits = {name: patients_for(target, [s["patients"] for s in sizes], [s[name] for s in sizes])
            for name in FIGURES} if len(sizes) >= 2 else {}
    return {"target": target, "sizes": sizes, "fits": fits}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--point", nargs=2, action="append", required=True,
                        metavar=("REFIT_RUN", "VALIDATION_EVAL_JSON"),
                        help="a refitted run and its validation_eval --json results")
    parser.add_argument("--target", type=float, default=95.0, help="VEB F1 in %% (default 95)")
    parser.add_argument("--json", type=Path, default=None, help="write the summary here")
    args = parser.parse_args(argv)
    points = [(patients_seen(run), run_figures(json.loads(Path(ve).read_text())))
              for run, ve in args.point]
    summary = curve(points, args.target)
    for s in summary["sizes"]:
        each = " / ".join(f"{x:.2f}" for x in s["honest_each"])
        print(f"{s['patients']:5.2f} patients ({s['replicates']} runs): honest {s['honest']:.2f} %"
              f" ({each}), DS1 alone {s['ds1_alone_honest']:.2f} %, "
              f"shipped rules {s['shipped_rules']:.2f} %")
    for name, fits in summary["fits"].items():
        print(f"{name}: {args.target:g} % at about " + ", ".join(
            f"{fits[k]['patients']:.0f} patients ({k})" for k in ("line", "power", "last_step")))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
