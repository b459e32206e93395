"""Would an ensemble of model 2 (several training seeds, probabilities averaged) label better?

    python -m research.ensemble_cv --data ../shared/data --baseline scratch/cv \\
        --out scratch/cv_ensemble --seeds 1

Runs :func:`ecgtk.export.ensemble_crossval.ensemble_crossval` on a finished cross-validation
run (``--baseline``, :mod:`ecgtk.export.crossval`): model 2 trained again per fold with each of
``--seeds`` (``--stem-stride``: another architecture; ``--stretch LO HI``: time-stretch
augmentation; ``--rr-dropout P``: the RR context of a share P of windows zeroed;
``--lead-mix A``: each lead plus up to A of the other, templates alike;
``--fusion-as-v``: F beats trained as ventricular; ``--max-v N``: at
most N V beats per training patient, 0 for all of them (default: the shipped recipe's 200);
``--monitor val_ap``: early
stopping on the validation patients' average precision; ``--without-baseline``: the new
members alone), the probabilities averaged, written as a run of its own. Then
``python -m research.validation_eval --cv-dir OUT`` scores it through the pipeline's
per-template decision, as it scores the baseline. Measured here: models/ventricular.md,
'Ensemble of seeds'.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, nargs="+", required=True)
    parser.add_argument("--baseline", type=Path, required=True,
                        help="a finished cross-validation run (folds with model 2 and probs)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1],
                        help="training seeds of the extra members")
    parser.add_argument("--folds", type=int, nargs="*", default=None)
    parser.add_argument("--stem-stride", type=int, default=None,
                        help="build the new members with this stem stride (default: model 2's)")
    parser.add_argument("--without-baseline", action="store_true",
                        help="leave the baseline's model 2 out: the new members alone")
    parser.add_argument("--stretch", type=float, nargs=2, metavar=("LO", "HI"), default=None,
                        help="train the new members with time-stretch augmentation by "
                             "factors in [LO, HI] (e.g. 0.85 1.15; default: none)")
    parser.add_argument("--rr-dropout", type=float, default=None, metavar="P",
                        help="train the new members with the RR context of a share P of "
                             "windows set to on time (0), so they must tell V beats by shape "
                             "alone, as inside a run of ventricular tachycardia (default: 0)")
    parser.add_argument("--lead-mix", type=float, default=None, metavar="A",
                        help="train the new members with lead mixing: each lead plus a share "
                             "of the other drawn from [-A, A], their templates mixed alike, as "
                             "the electrical axis differs between patients (e.g. 0.3; default: "
                             "none)")
    parser.add_argument("--fusion-as-v", action="store_true",
                        help="train the new members with the F (fusion) beats as ventricular "
                             "(default: F left out; the validation windows always leave it out)")
    parser.add_argument("--max-v", type=int, default=None,
                        help="train the new members on at most this many V/E beats per "
                             "patient, 0 for all of them (default: the shipped recipe's, "
                             "TRAINING_WINDOWS, 200 since 0.2.5; the validation windows keep "
                             "all)")
    parser.add_argument("--monitor", choices=("val_loss", "val_ap"), default=None,
                        help="what early stopping of the new members watches on the validation "
                             "patients: loss or average precision of V (default: model 2's, "
                             "val_ap since 0.2.4)")
    parser.add_argument("--train-share", type=float, default=None, metavar="S",
                        help="train the new members on a share S in (0, 1] of each fold's "
                             "training patients (at least one), drawn with --subset-seed; the "
                             "validation and held-out patients unchanged, and a refit of the "
                             "run uses the same subset (default: all of them)")
    parser.add_argument("--subset-seed", type=int, default=0,
                        help="seed of the --train-share draw (default: 0)")
    args = parser.parse_args(argv)
    if args.train_share is not None and not 0 < args.train_share <= 1:
        parser.error(f"--train-share must be in (0, 1], got {args.train_share}")
    from ecgtk.export.ensemble_crossval import ensemble_crossval
    from ecgtk.export.train import configure_tensorflow

    configure_tensorflow(2)
    try:
        summary = ensemble_crossval(
            args.baseline, args.out, args.data, args.seeds, folds=args.folds,
            arch={"stem_stride": args.stem_stride} if args.stem_stride else None,
            with_baseline=not args.without_baseline,
            augment=_augment_config(args),
            windows=_windows_config(args),
            monitor=args.monitor, train_share=args.train_share,
            subset_seed=args.subset_seed)
    except FileNotFoundError as error:
        parser.error(str(error))
    if summary is not None:
        print(json.dumps({"veb_per_beat": summary["pipeline"]["veb"]}, indent=1))


def _augment_config(args: argparse.Namespace) -> dict | None:
    """The AugmentConfig fields the options ask for over model 2's default augmentation, None
    for that default."""
    fields = {}
    if args.stretch:
        fields["stretch_range"] = tuple(args.stretch)
    if args.rr_dropout:
        if not 0 < args.rr_dropout <= 1:
            raise SystemExit(f"--rr-dropout must be in (0, 1], got {args.rr_dropout}")
        fields["rr_dropout_probability"] = float(args.rr_dropout)
    if args.lead_mix:
        if not 0 < args.lead_mix <= 1:
            raise SystemExit(f"--lead-mix must be in (0, 1], got {args.lead_mix}")
        fields["lead_mix"] = float(args.lead_mix)
    return fields or None


def _windows_config(args: argparse.Namespace) -> dict | None:
    """The VentricularConfig fields the options ask for over the shipped training windows'
    (TRAINING_WINDOWS), None for those windows."""
    from ecgtk.export.dataset import max_ventricular_option

    fields = max_ventricular_option(args.max_v)
    if args.fusion_as_v:
        fields["fusion_as_ventricular"] = True
    return fields or None


if __name__ == "__main__":
    main()
