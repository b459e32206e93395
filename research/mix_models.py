"""Score model 1 of one ``ecgtk.export.evaluate`` run paired with model 2 of another.

    python -m research.mix_models --data ../shared/data --design cv --seed 0 \
        --beat-from scratch/compact/cv_s0/cv --ventricular-from scratch/eval/cv \
        --out scratch/mix/beat_compact_cv_s0

Model 1 and model 2 train independently in each fold of ``evaluate``, so when two runs share
their folds and seed (checked here: same training, validation and test records), each fold's
model 1 from ``--beat-from`` can be paired with model 2 from ``--ventricular-from`` and the held-
out records scored again, without training anything: the difference against either run is
then one network alone. Writes ``OUT/evaluation.json`` (``evaluate``'s summary) and prints its
table. Used by research/compact_models_plan.md (experiment 2).
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path


def mixed_folds(beat_from: Path, ventricular_from: Path, out: Path) -> int:
    """Copy each fold's model files into ``out/fold<i>``; returns the number of folds."""
    folds = sorted(p.name for p in Path(beat_from).glob("fold*") if p.is_dir())
    for name in folds:
        a = json.loads((Path(beat_from) / name / "fold.json").read_text())
        b = json.loads((Path(ventricular_from) / name / "fold.json").read_text())
        for key in ("train_records", "val_records", "test_records"):
            if a[key] != b[key]:
                raise SystemExit(f"{name}: the two runs' {key} differ; they cannot be paired")
        target = out / name
        target.mkdir(parents=True, exist_ok=True)
        for kind, source in (("beat", beat_from), ("ventricular", ventricular_from)):
            for suffix in (".keras", ".train.json"):
                shutil.copyfile(Path(source) / name / f"{kind}{suffix}",
                                target / f"{kind}{suffix}")
    return len(folds)


def main(argv: list[str] | None = None) -> dict:
    from ecgtk.export.evaluate import evaluate, table
    from ecgtk.export.train import configure_tensorflow

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, nargs="+", required=True)
    ap.add_argument("--design", choices=("cv", "lodo"), required=True)
    ap.add_argument("--seed", type=int, required=True, help="the two runs' seed")
    ap.add_argument("--beat-from", type=Path, required=True, help="a run's cv/ or lodo/ folder")
    ap.add_argument("--ventricular-from", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    configure_tensorflow(args.threads)
    n = mixed_folds(args.beat_from, args.ventricular_from, args.out / args.design)
    print(f"{n} folds paired; scoring", flush=True)
    summary = evaluate(args.data, args.out, seed=args.seed, designs=[args.design])
    summary["beat_from"], summary["ventricular_from"] = str(args.beat_from), \
        str(args.ventricular_from)
    (args.out / "evaluation.json").write_text(json.dumps(summary, indent=1))
    print(table(summary))
    return summary


if __name__ == "__main__":
    main()
