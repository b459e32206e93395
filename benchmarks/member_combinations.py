"""How much does model 2's cross-validated VEB F1 depend on which trainings are its members?

    python -m ecgtk.benchmarks.member_combinations --data ../shared/data --baseline scratch/cv \\
        --runs scratch/cv_ap scratch/cv_s23_val_ap --sizes 2 3 --out scratch/combos --honest

Model 2 ships as the average of a few trainings that differ only in their seed, and one
training of the recipe can move the out-of-fold VEB F1 by a point or two. Each run of
``--runs`` (:mod:`ecgtk.benchmarks.ensemble_cv`, refitted by :mod:`ecgtk.export.refit` into
``RUN_refit`` or ``--refits``) holds some members per fold; this benchmark assembles every
combination of ``--sizes`` members out of all of them *without training anything*: each
combination's folders link the members' validated trainings (``seed<s>/``) and refits
(``member<i>/``), ``ensemble_cv`` averages them and chooses the fold's threshold on its
validation patients as it does for any ensemble, ``refit`` calls the held-out records with the
refitted members, and :mod:`ecgtk.benchmarks.template_model_eval` scores them with the
shipped rules (``--honest``: :mod:`ecgtk.benchmarks.validation_eval` too, every rule setting
chosen on the other folds; about 8 minutes a combination on 2 cores). Writes
``OUT/summary.json`` and prints one line per combination: the spread of the recipe over its
trainings, which one cross-validation run of two members cannot show.
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Member:
    """One training of model 2 in a cross-validation run: its ``seed``, the run whose folds
    hold it as ``seed<seed>/`` and the refit run whose folds hold its refit as
    ``member<index>/``."""

    seed: int
    run: Path
    refit: Path
    index: int


def run_members(run: Path, refit: Path) -> list[Member]:
    """The members of an ensemble run, in its order (its first fold's ``fold.json``)."""
    meta = Path(run) / "fold0" / "fold.json"
    if not meta.is_file():
        raise FileNotFoundError(f"{meta}: not a finished ensemble run")
    seeds = (json.loads(meta.read_text()).get("ensemble") or {}).get("seeds")
    if not seeds:
        raise ValueError(f"{meta}: no ensemble seeds (run ecgtk.benchmarks.ensemble_cv)")
    return [Member(int(s), Path(run), Path(refit), i) for i, s in enumerate(seeds)]


def all_members(runs: Sequence[Path], refits: Sequence[Path]) -> dict[int, Member]:
    """Every member of ``runs`` by seed; a seed may come from one run only."""
    members: dict[int, Member] = {}
    for run, refit in zip(runs, refits, strict=True):
        for m in run_members(run, refit):
            if m.seed in members:
                raise ValueError(f"seed {m.seed} is in both {members[m.seed].run} and {run}")
            members[m.seed] = m
    return members


def link_combination(members: Sequence[Member], folds: Sequence[str], ensemble: Path,
                     refit: Path) -> None:
    """Folders ``ensemble/<fold>/seed<s>`` and ``refit/<fold>/member<j>`` (``j``: the
    member's place in ``members``) as links to the trained members, so that ``ensemble_cv``
    and ``refit`` reuse them. Checks that each refit is of the seed it is linked for."""
    for fold in folds:
        for j, m in enumerate(members):
            pairs = ((ensemble / fold / f"seed{m.seed}", m.run / fold / f"seed{m.seed}"),
                     (refit / fold / f"member{j}", m.refit / fold / f"member{m.index}"))
            for link, target in pairs:
                facts = target / "ventricular.train.json"
                if not facts.is_file():
                    raise FileNotFoundError(f"{facts}: member of seed {m.seed} not found")
                if json.loads(facts.read_text()).get("seed") != m.seed:
                    raise ValueError(f"{target} is not the training of seed {m.seed}")
                link.parent.mkdir(parents=True, exist_ok=True)
                if not link.exists():
                    link.symlink_to(target.resolve(), target_is_directory=True)


def combination_name(seeds: Sequence[int]) -> str:
    """The folder name of a combination of member seeds: ``seeds_0_2``."""
    return "seeds_" + "_".join(str(s) for s in seeds)


def run_module(module: str, *args: object) -> None:
    """``python -m ecgtk.<module> args`` in a process of its own (TensorFlow is configured
    once per process)."""
    subprocess.run([sys.executable, "-m", f"ecgtk.{module}", *map(str, args)], check=True,
                   stdout=subprocess.DEVNULL)


def score_combination(members: Sequence[Member], folds: Sequence[str],
                      args: argparse.Namespace) -> dict:
    """Assemble, threshold, call and score one combination; returns its summary line."""
    seeds = [m.seed for m in members]
    name = combination_name(seeds)
    ensemble, refit = args.out / name, args.out / f"{name}_refit"
    link_combination(members, folds, ensemble, refit)
    data = [str(d) for d in args.data]
    run_module("benchmarks.ensemble_cv", "--data", *data, "--baseline", args.baseline,
               "--out", ensemble, "--seeds", *seeds, "--without-baseline")
    run_module("export.refit", "--data", *data, "--baseline", args.baseline,
               "--ensemble", ensemble, "--out", refit)
    shipped_json = args.out / f"{name}.template_model_eval.json"
    run_module("benchmarks.template_model_eval", "--cv-dir", refit, "--data", *data,
               "--template-seeds", args.template_seeds, "--json", shipped_json)
    shipped = json.loads(shipped_json.read_text())["per_seed_set"]
    line = {"seeds": seeds, "shipped_rules": per_seed_set_f1(shipped)}
    if args.honest:
        honest_json = args.out / f"{name}.validation_eval.json"
        run_module("benchmarks.validation_eval", "--cv-dir", refit, "--data", *data,
                   "--template-seeds", args.template_seeds, "--json", honest_json)
        f1 = json.loads(honest_json.read_text())["ds1_paced"]["veb_f1_per_template_seed"]
        line["honest"] = f1["chosen_on_other_folds"]
    return line


def per_seed_set_f1(per_seed_set: list[dict]) -> list[float]:
    """DS1 + paced VEB F1 of the shipped rules per template seed set, from
    ``template_model_eval``'s report."""
    return [s["shipped:ds1_paced"] for s in per_seed_set]


def summarise(lines: list[dict]) -> dict[str, dict[str, float]]:
    """Mean, min and max VEB F1 per ensemble size, of each line's mean over seed sets."""
    out = {}
    for size in sorted({len(line["seeds"]) for line in lines}):
        for key in ("shipped_rules", "honest"):
            means = [float(np.mean(line[key])) for line in lines
                     if len(line["seeds"]) == size and key in line]
            if means:
                out[f"{size} members, {key}"] = {"mean": float(np.mean(means)),
                                                 "min": min(means), "max": max(means),
                                                 "combinations": len(means)}
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, nargs="+", required=True)
    parser.add_argument("--baseline", type=Path, required=True,
                        help="the cross-validation run (model 1 and the folds)")
    parser.add_argument("--runs", type=Path, nargs="+", required=True,
                        help="ensemble runs (ecgtk.benchmarks.ensemble_cv) whose members to mix")
    parser.add_argument("--refits", type=Path, nargs="*", default=None,
                        help="their refit runs (ecgtk.export.refit; default RUN_refit)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[2])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--template-seeds", type=int, default=3)
    parser.add_argument("--honest", action="store_true",
                        help="also choose every rule setting on the other folds "
                             "(validation_eval; slow)")
    args = parser.parse_args(argv)
    refits = args.refits or [r.with_name(r.name + "_refit") for r in args.runs]
    if len(refits) != len(args.runs):
        parser.error("give one --refits folder per --runs folder")
    try:
        members = all_members(args.runs, refits)
    except (FileNotFoundError, ValueError) as error:
        parser.error(str(error))
    folds = sorted(p.parent.name for p in args.runs[0].glob("fold*/fold.json"))
    if any(size < 1 or size > len(members) for size in args.sizes):
        parser.error(f"--sizes must be between 1 and {len(members)} (the members found)")
    args.out.mkdir(parents=True, exist_ok=True)
    lines = []
    for size in args.sizes:
        for seeds in itertools.combinations(sorted(members), size):
            line = score_combination([members[s] for s in seeds], folds, args)
            lines.append(line)
            cells = "  ".join(f"{key} {np.mean(line[key]):.2f}"
                              for key in ("shipped_rules", "honest") if key in line)
            print(f"seeds {seeds}: VEB F1 {cells}", flush=True)
    report = {"combinations": lines, "by_size": summarise(lines)}
    (args.out / "summary.json").write_text(json.dumps(report, indent=1))
    for key, value in report["by_size"].items():
        print(f"{key}: mean {value['mean']:.2f} ({value['min']:.2f}-{value['max']:.2f}) over "
              f"{value['combinations']} combinations")
    return report


if __name__ == "__main__":
    main()
