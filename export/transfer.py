"""Transfer-learning experiment for model 2 (normal vs ventricular).

1. DS1's patients are split in two halves (seeded, patient-wise).
2. Model 2 is pre-trained on half A (patient-wise validation split inside A), on training
   windows as the shipped recipe's (at most 200 V beats per patient; ``--max-v``).
3. On half B, the first ``adapt_minutes`` (5) of every patient are pooled into one adaptation
   set: minutes 0-4 to train, minute 4-5 to validate (early stopping, threshold); all beats of
   those minutes are used (no subsampling).
4. Three models are scored on the rest of B's records (minute 5 to the end, 25 minutes):
   (a) the pre-trained model as is, (b) the pre-trained model fine-tuned on the adaptation set
   (trunk frozen first, then all layers at a low learning rate), (c) a model trained from
   scratch on the adaptation set.

Scoring: every detector candidate after minute 5 gets ``'V'`` or ``'N'`` from the model
(``p >= threshold``; model 1 is not involved, so the three differ only in model 2) and
:func:`ecgtk.scoring.score_record` gives VEB Se/+P/F1, summed over B's records. Each model's
threshold comes from its own validation data; scores at 0.5 are reported too.

Command line::

    python -m ecgtk.export.transfer --data /work/shared/data --out scratch/transfer
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ecgtk.export.dataset import (
    DS1,
    VentricularConfig,
    build_training_windows,
    build_windows,
    detector_candidates,
    find_record,
    kfold_by_patient,
    load_record,
    max_ventricular_option,
    to_record_rate,
    training_window_fields,
)
from ecgtk.export.thresholds import validation_split
from ecgtk.inference.inputs import (
    MODEL_RATE_HZ,
    VENTRICULAR_WINDOW,
    leads_of_context_input,
    ventricular_inputs,
)

__all__ = ["main", "transfer_experiment"]


def _score_after(models: dict, thresholds: dict, data_dirs, records: Sequence[str],
                 start_s: float) -> dict:
    """VEB scores of each model on ``records`` from ``start_s`` on (detector candidates, no
    model 1)."""
    from ecgtk.export.train import predict_proba
    from ecgtk.scoring import load_reference, score_many, score_record

    per_model: dict[str, dict] = {f"{m}@{t}": {} for m in models
                                  for t in ("chosen", "0.5")}
    for record in records:
        rd = load_record(data_dirs, record)
        ref = load_reference(find_record(data_dirs, record))
        cands = detector_candidates(rd.signal, rd.fs)
        start = int(round(start_s * rd.fs))
        ref_start = int(round(start_s * ref.fs))
        keep_ref = ref.samples >= ref_start
        ref_late = dataclasses.replace(ref, samples=ref.samples[keep_ref],
                                       symbols=ref.symbols[keep_ref])
        late = cands[cands >= start]
        for name, model in models.items():
            n_leads = leads_of_context_input(model.input_shape[-1])
            x = ventricular_inputs(rd.signal[:, :n_leads], late, *VENTRICULAR_WINDOW, cands,
                                   fs=rd.fs)
            p = predict_proba(model, x)
            samples = to_record_rate(late, rd.record_fs)
            for tag, thr in (("chosen", thresholds[name]), ("0.5", 0.5)):
                labels = np.where(p >= thr, "V", "N")
                per_model[f"{name}@{tag}"][record] = score_record(ref_late, samples, labels)
    out = {}
    for key, recs in per_model.items():
        gross = score_many(recs)["gross"]
        out[key] = {"veb": {k: gross["veb"][k] for k in ("TP", "FN", "FP", "Se", "+P", "F1")},
                    "per_record_veb_f1": {r: s["veb"]["F1"] for r, s in recs.items()}}
    return out


def transfer_experiment(data_dirs: Sequence[str | Path], out_dir: str | Path, *, seed: int = 0,
                        records: Sequence[str] = DS1, adapt_minutes: float = 5.0,
                        epochs_pretrain: int | None = None, epochs_adapt: int = 12,
                        settings=None, windows: dict | None = None) -> dict:
    """Run the experiment (see the module docstring); writes ``out_dir/transfer.json``."""
    import keras

    import ecgtk.export.architecture  # noqa: F401
    from ecgtk.export.train import TrainSettings, configure_tensorflow, train_windows

    configure_tensorflow(2)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    half_b, half_a = kfold_by_patient(list(records), 2, seed=seed)[0]  # (train, test) = (B, A)
    s = settings or TrainSettings(verbose=2)
    t0 = time.time()

    # (a) pre-train on A
    tr_a, va_a = validation_split(data_dirs, half_a, seed=seed)
    pre_path, pre_info = train_windows(
        "ventricular", build_training_windows("ventricular", data_dirs, tr_a, windows=windows),
        build_windows("ventricular", data_dirs, va_a), out_dir / "pretrained",
        epochs=epochs_pretrain, seed=seed, settings=s)

    # adaptation set: the first minutes of every B patient, all beats
    full_b = build_windows("ventricular", data_dirs, half_b, seed=seed,
                           ventricular_config=VentricularConfig(max_normal=10**7))
    end = int(round(adapt_minutes * 60 * MODEL_RATE_HZ))
    split = int(round((adapt_minutes - 1) * 60 * MODEL_RATE_HZ))
    adapt_tr = full_b.subset(full_b.sample < split)
    adapt_va = full_b.subset((full_b.sample >= split) & (full_b.sample < end))

    # (b) fine-tune, (c) from scratch
    ft_path, ft_info = train_windows("ventricular", adapt_tr, adapt_va, out_dir / "finetuned",
                                     init=pre_path, epochs=epochs_adapt, seed=seed, settings=s)
    sc_path, sc_info = train_windows("ventricular", adapt_tr, adapt_va, out_dir / "scratch",
                                     epochs=epochs_adapt, seed=seed, settings=s)
    infos = {"pretrained": pre_info, "finetuned": ft_info, "scratch": sc_info}
    models = {k: keras.models.load_model(str(p)) for k, p in
              (("pretrained", pre_path), ("finetuned", ft_path), ("scratch", sc_path))}
    thresholds = {k: infos[k]["threshold"]["threshold"] for k in infos}
    scores = _score_after(models, thresholds, data_dirs, half_b, adapt_minutes * 60)
    result = {
        "seed": seed,
        "pretrain_windows": training_window_fields("ventricular", windows),
        "pretrain_records": list(half_a),
        "adapt_records": list(half_b),
        "adapt_minutes": adapt_minutes,
        "adaptation": "pooled: the first minutes of all half-B patients together "
                      f"(0-{adapt_minutes - 1:g} min train, {adapt_minutes - 1:g}-"
                      f"{adapt_minutes:g} min validation)",
        "adapt_counts": {"train": adapt_tr.counts(), "val": adapt_va.counts()},
        "thresholds": thresholds,
        "train_seconds": {k: infos[k]["train_seconds"] for k in infos},
        "epochs_run": {k: [p["epochs_run"] for p in infos[k]["phases"]] for k in infos},
        "phases": {k: [{"phase": p["phase"], "trainable_params": p["trainable_params"],
                        "learning_rate": p["learning_rate"]} for p in infos[k]["phases"]]
                   for k in infos},
        "scores": scores,
        "seconds": round(time.time() - t0, 1),
    }
    (out_dir / "transfer.json").write_text(json.dumps(result, indent=1, default=str))
    return result


def table(result: dict) -> str:
    """Markdown table of the experiment's VEB scores."""
    lines = ["| model | threshold | VEB Se | VEB +P | VEB F1 | TP | FN | FP |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for key, s in result["scores"].items():
        name, tag = key.split("@")
        thr = result["thresholds"][name] if tag == "chosen" else 0.5
        v = s["veb"]
        lines.append(f"| {name} | {thr:g} ({tag}) | {v['Se']:.2f} | {v['+P']:.2f} | "
                     f"{v['F1']:.2f} | {v['TP']} | {v['FN']} | {v['FP']} |")
    return "\n".join(lines)


def summary(result: dict) -> str:
    """One sentence on the experiment's outcome (VEB F1, %), for the model card."""
    f1 = {key: s["veb"]["F1"] for key, s in result["scores"].items()}
    return (f"Fine-tuning the pre-trained model on the patients' first "
            f"{result['adapt_minutes']:g} minutes moved its VEB F1 from "
            f"{f1['pretrained@chosen']:.1f} to {f1['finetuned@chosen']:.1f} % at the chosen "
            f"threshold ({f1['finetuned@0.5']:.1f} % at p >= 0.5), against "
            f"{f1['scratch@chosen']:.1f} % for a model trained from scratch on those minutes "
            f"({f1['scratch@0.5']:.1f} % at p >= 0.5).")


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m ecgtk.export.transfer",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, nargs="+", required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs-pretrain", type=int, default=None)
    ap.add_argument("--epochs-adapt", type=int, default=12)
    ap.add_argument("--max-v", type=int, default=None,
                    help="pre-train on at most this many V beats per patient, 0 for all of "
                         "them (default: the shipped recipe's TRAINING_WINDOWS)")
    args = ap.parse_args(argv)
    result = transfer_experiment(args.data, args.out, seed=args.seed,
                                 epochs_pretrain=args.epochs_pretrain,
                                 epochs_adapt=args.epochs_adapt,
                                 windows=max_ventricular_option(args.max_v))
    print(table(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
