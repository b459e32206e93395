"""Held-out MIT-BIH patients with electrode-motion noise at 0 dB from minute 5, scored with
the fold models of finished evaluation runs (issue 35's noise condition, on 26 patients).

    python -m research.em_heldout --runs scratch/eval scratch/eval_shipped_s1 \
        --data ../shared/data --json research/results/em_heldout.json

Issue 35 judges the labels on its unseen DS2 patients with electrode-motion noise at 0 dB
after minute 5. nstdb 118e00/119e00 give that condition on two patients only. Here every
MIT-BIH record (DS1 + paced) a fold held out is made noisy the same way and labelled by that
fold's models: nstdb's ``em`` record (its first half, all ``../shared/data`` holds; wrapped
around to cover minutes 5-30) added from minute 5 on, both leads, one gain per lead for the
record from the clean record's QRS (:func:`ecgtk.export.noise.signal_power`) and the noise
power. ``--scaling record`` (default) takes the noise power over the whole ``em`` record, its
mean removed (:func:`ecgtk.export.noise.noise_power`): the issue's test, which it calls about
as hard as nstdb's 6 dB records. ``--scaling nst`` takes it as ``nst`` made nstdb
(:func:`ecgtk.export.real_noise.nst_noise_rms`, one-second windows), about 6 dB stronger for
``em``: as hard as nstdb's 0 dB records. Candidates, models 1 and 2 as
``ecgtk.export.evaluate`` runs them (:func:`ecgtk.export.crossval.run_pipeline`); labels as
``ecgtk run`` gives them, with two settings of the rules (by default rule 8, the noise rule,
on and off; ``--set``, ``--base``); EC57 scores gross over the records. Model 1 learned
artefacts from ``em`` among other noise, so this is not noise it never saw (as with nstdb);
model 2 never saw ``em``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from ecgtk.export.evaluate import _brief
from ecgtk.export.records import ALL_RECORDS
from research.noise_rule import ARMS, add_arm_options, configure_arms, run_designs

ONSET_S = 300.0
SNR_DB = 0.0
SCALINGS = ("record", "nst")


def add_em(signal: np.ndarray, beats: np.ndarray, em: np.ndarray, fs: float,
           snr_db: float = SNR_DB, onset_s: float = ONSET_S, scaling: str = "record"
           ) -> np.ndarray:
    """``signal`` ``(n, leads)`` with ``em`` ``(m, noise leads)`` added from ``onset_s`` on at
    ``snr_db`` (one gain per lead for the record; ``scaling`` of the module docstring),
    wrapped when shorter."""
    from ecgtk.export.noise import noise_power, signal_power
    from ecgtk.export.real_noise import nst_noise_rms

    out = np.array(signal, dtype=np.float32, copy=True)
    start = int(round(onset_s * fs))
    length = len(out) - start
    if length <= 0:
        return out
    noise = np.asarray(em, np.float64)
    noise = noise - noise.mean(axis=0)
    piece = noise[np.arange(length) % len(noise)][:, np.arange(out.shape[1]) % noise.shape[1]]
    if scaling not in SCALINGS:
        raise ValueError(f"scaling must be one of {SCALINGS}, not {scaling!r}")
    rms = nst_noise_rms(noise, fs) if scaling == "nst" else np.sqrt(noise_power(noise))
    rms = rms[np.arange(out.shape[1]) % noise.shape[1]]
    gain = np.sqrt(signal_power(out, beats, fs) / (rms ** 2 * 10.0 ** (snr_db / 10.0)))
    out[start:] += (piece * gain).astype(np.float32)
    return out


def fold_models(fold_dir: Path):
    """The fold's Keras models and thresholds as ``evaluate`` ran them."""
    from ecgtk.export.crossval import PipelineModels, _load
    from ecgtk.export.train import trained_before

    infos = {kind: trained_before(fold_dir, kind)[1] for kind in ("beat", "ventricular")}
    return PipelineModels(
        _load(fold_dir / "beat.keras"), _load(fold_dir / "ventricular.keras"),
        infos["beat"]["threshold"]["threshold"], infos["ventricular"]["threshold"]["threshold"],
        infos["beat"]["n_leads"], infos["ventricular"]["n_leads"],
        beat_context=bool(infos["beat"].get("context", False)))


def noisy_features(data: list[Path], record: str, models, em: np.ndarray, cache: Path,
                   scaling: str = "record") -> dict:
    """:func:`ecgtk.export.out_of_fold.record_features` of ``record`` made noisy; the models'
    calls cached in ``cache``."""
    from ecgtk.export.crossval import run_pipeline
    from ecgtk.export.out_of_fold import record_features
    from ecgtk.export.records import load_record

    rd = load_record(data, record)
    x = add_em(rd.signal, rd.samples, em, rd.fs, scaling=scaling)
    if not cache.is_file():
        np.savez(cache, **run_pipeline(x, models, rd.fs))
    return record_features(data, record, cache, signal=x)


def score_design(design_dir: Path, data: list[Path], em: np.ndarray, scaling: str = "record"
                 ) -> dict:
    """Gross scores of the design's held-out MIT-BIH records made noisy, rule 8 on and off."""
    from ecgtk.export.out_of_fold import labels_of
    from ecgtk.scoring import score_many, score_record

    scores = {arm: [] for arm in ARMS}
    for fold_dir in sorted(design_dir.glob("fold*")):
        fold = json.loads((fold_dir / "fold.json").read_text())
        held = [r for r in fold["test_records"] if r in ALL_RECORDS]
        if not held:
            continue
        models = fold_models(fold_dir)
        thresholds = {fold_dir.name: fold["thresholds"]}
        for record in held:
            f = noisy_features(data, record, models, em,
                               fold_dir / f"em00_{scaling}_{record}.npz", scaling)
            f["fold"] = fold_dir.name
            for arm, rules in ARMS.items():
                labels, _ = labels_of(f, thresholds, rules)
                scores[arm].append(score_record(f["reference"], f["samples"], labels))
            print(f"  {fold_dir.name} {record}", flush=True)
    return {arm: _brief(score_many(s)["gross"]) for arm, s in scores.items()}


def main(argv: list[str] | None = None) -> dict:
    from ecgtk.export.noise import load_noise
    from ecgtk.export.records import find_record
    from ecgtk.export.train import configure_tensorflow

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=Path, nargs="+", required=True)
    ap.add_argument("--data", type=Path, nargs="+", required=True)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--scaling", choices=SCALINGS, default="record",
                    help="noise power over the whole em record (the issue's test) or as nst")
    add_arm_options(ap)
    args = ap.parse_args(argv)
    arms = configure_arms(args.set, args.base)
    configure_tensorflow(args.threads)
    em = load_noise(find_record(args.data, "em").parent, "em")
    out: dict = {"snr_db": SNR_DB, "onset_s": ONSET_S, "scaling": args.scaling, "arms": arms}
    for name, folder in run_designs(args.runs):
        out[name] = result = score_design(folder, args.data, em, args.scaling)
        for arm in ("off", "on"):
            b, v = result[arm]["beats"], result[arm]["veb"]
            print(f"{name} arm {arm}: beats Se {b['Se']:.2f} +P {b['+P']:.2f}; VEB Se "
                  f"{v['Se']:.2f} +P {v['+P']:.2f} F1 {v['F1']:.2f}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    main()
