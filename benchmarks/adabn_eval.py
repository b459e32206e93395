"""Would model 2 generalise better with its BatchNorm statistics adapted to each record?

    python -m ecgtk.benchmarks.adabn_eval --validated scratch/cv_plain \
        --refit scratch/cv_plain_refit --out scratch/cv_plain_refit_normals --mode normals

An experiment, not part of the pipeline (measured after 0.2.5, not kept: see
docs/ventricular_experiments.md, "Batch-norm statistics per record"). Model 2's errors are
whole templates of patients unlike the training ones, so each record's windows are used, with
no labels, to move every BatchNormalization layer's statistics (layer by layer, in order):

- ``plain`` (AdaBN, Li et al. 2016): a share ``--share`` of each layer's statistics becomes
  the mean and variance of its inputs over the record's detector candidates;
- ``normals``: the statistics are moved so that the record's beats the unadapted members call
  normal (p < ``--p-normal``) land where the training patients' normal beats land, mean and
  spread per channel, so a record rich in V beats does not shift its own scale.

``--layers N`` adapts only the first N BatchNorm layers (1: the stem's).

For each fold of a refitted run (:mod:`ecgtk.export.refit`) the threshold is chosen again
(:func:`ecgtk.export.thresholds.choose_threshold`) on the validated twin's members, each
adapted on its validation record, and the refitted members' adapted probabilities of the
held-out records are written as a run of its own (``OUT/fold<i>/probs_<record>.npz``,
``fold.json``), which ``validation_eval`` and ``template_model_eval`` read like any run.
"""

from __future__ import annotations

import argparse
import json
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np

MODES = ("plain", "normals")
#: Training normal windows drawn per member for the reference statistics of ``normals``.
REFERENCE_WINDOWS = 4000


def aligned_statistics(moving_mean: np.ndarray, moving_variance: np.ndarray, epsilon: float,
                       record_mean: np.ndarray, record_variance: np.ndarray,
                       reference_mean: np.ndarray, reference_variance: np.ndarray,
                       ) -> tuple[np.ndarray, np.ndarray]:
    """A BatchNorm layer's new (moving mean, moving variance), per channel, under which inputs
    with ``record_mean`` / ``record_variance`` normalise to what inputs with
    ``reference_mean`` / ``reference_variance`` normalise to under the old statistics.

    With the layer's own statistics as the reference this is AdaBN: the record's mean and
    variance (less ``epsilon``, which the layer adds back)."""
    sigma = np.sqrt(moving_variance + epsilon)
    new_sigma = sigma * np.sqrt((record_variance + 1e-12) / (reference_variance + 1e-12))
    new_mean = record_mean - (reference_mean - moving_mean) * new_sigma / sigma
    return new_mean, np.maximum(new_sigma ** 2 - epsilon, 0.0)


def batch_norm_layers(model) -> list:
    import keras

    return [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]


def _input_moments(model, layer, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    import keras

    a = keras.Model(model.inputs, layer.input).predict(x, batch_size=512, verbose=0)
    return a.mean(axis=(0, 1)), a.var(axis=(0, 1))


def reference_moments(model, x: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Mean and variance of every BatchNorm layer's input over windows ``x``, model as is."""
    return [_input_moments(model, layer, x) for layer in batch_norm_layers(model)]


def adapt_batch_norm(model, x: np.ndarray, reference: Sequence | None = None,
                     share: float = 1.0, layers: int | None = None):
    """Move ``model``'s BatchNorm statistics to windows ``x`` (in place, layer by layer, each on
    the inputs the already adapted layers before it give): towards ``reference`` moments
    (:func:`reference_moments` of other windows) or, None, plain AdaBN blended by ``share``;
    ``layers``: only the first so many BatchNorm layers (None: all)."""
    layers = batch_norm_layers(model)[:layers]
    for k, layer in enumerate(layers):
        mu, var = np.asarray(layer.moving_mean), np.asarray(layer.moving_variance)
        m, v = _input_moments(model, layer, x)
        ref = reference[k] if reference is not None else (mu, var + layer.epsilon)
        new_mu, new_var = aligned_statistics(mu, var, layer.epsilon, m, v, *ref)
        if reference is None:
            new_mu, new_var = share * new_mu + (1 - share) * mu, share * new_var + (1 - share) * var
        layer.moving_mean.assign(new_mu)
        layer.moving_variance.assign(new_var)
    return model


def believed_normal(p: np.ndarray, p_normal: float, least: int = 100) -> np.ndarray:
    """Rows the unadapted members call normal (``p < p_normal``); where fewer than ``least``
    are, the lower half of ``p``."""
    rows = p < p_normal
    return rows if rows.sum() >= least else p <= np.quantile(p, 0.5)


def adapted_probability(paths: Sequence[Path], references: Sequence, x_record: np.ndarray,
                        x_predict: np.ndarray, mode: str, share: float,
                        p_normal: float, layers: int | None = None) -> np.ndarray:
    """Mean p(V) of the members at ``paths`` on ``x_predict``, each adapted on ``x_record``
    (a record's candidate windows) by ``mode``. Each member is loaded afresh (adapting changes
    it in place) and once: ``normals`` asks it for its unadapted calls before adapting it."""
    from ecgtk.export.crossval import _load
    from ecgtk.export.train import predict_proba

    members = [_load(path) for path in paths]
    if mode == "normals":
        p = np.mean([predict_proba(member, x_record) for member in members], axis=0)
        x_record = x_record[believed_normal(p, p_normal)]
    out = [predict_proba(adapt_batch_norm(member, x_record,
                                          ref if mode == "normals" else None, share, layers),
                         x_predict)
           for member, ref in zip(members, references, strict=True)]
    return np.mean(out, axis=0).astype(np.float32)


def _member_references(paths: Sequence[Path], data: list[Path], records: list[str],
                       mode: str, seed: int = 0) -> list:
    if mode != "normals":
        return [None] * len(paths)

    from ecgtk.export.crossval import _load
    from ecgtk.export.dataset import build_windows

    ws = build_windows("ventricular", data, records)
    x = ws.context_inputs(2)[ws.y == 0]
    x = x[np.random.default_rng(seed).choice(len(x), min(REFERENCE_WINDOWS, len(x)), False)]
    return [reference_moments(_load(p), x) for p in paths]


def adapt_fold(validated: Path, refit: Path, out: Path, data: list[Path], mode: str,
               share: float, p_normal: float, layers: int | None = None) -> dict:
    """One fold: its threshold chosen again on adapted validation probabilities, its held-out
    records' adapted probabilities written to ``out``; returns the new fold.json."""
    from ecgtk.export.dataset import build_windows
    from ecgtk.export.ensemble_crossval import candidate_inputs
    from ecgtk.export.records import detector_candidates, load_record
    from ecgtk.export.thresholds import choose_threshold

    meta = json.loads((refit / "fold.json").read_text())
    paths = sorted(validated.glob("ventricular*.keras"))
    refs = _member_references(paths, data, meta["train_records"], mode)
    val = build_windows("ventricular", data, meta["val_records"])
    x_val, p_val = val.context_inputs(2), np.zeros(len(val), np.float32)
    for record in meta["val_records"]:
        rd, rows = load_record(data, record), val.record == record
        x = candidate_inputs(rd.signal, rd.fs, detector_candidates(rd.signal, rd.fs), 2)
        p_val[rows] = adapted_probability(paths, refs, x, x_val[rows], mode, share, p_normal,
                                          layers)
    threshold = choose_threshold("ventricular", p_val, val)
    meta["thresholds"] = {**meta["thresholds"], "ventricular": threshold["threshold"]}
    meta["adabn"] = {"mode": mode, "share": share, "p_normal": p_normal, "layers": layers,
                     "threshold": threshold}
    paths = sorted(refit.glob("ventricular*.keras"))
    refs = _member_references(paths, data, meta["train_records"] + meta["val_records"], mode)
    out.mkdir(parents=True, exist_ok=True)
    for npz in sorted(refit.glob("probs_*.npz")):
        calls = dict(np.load(npz))
        rd = load_record(data, npz.stem.removeprefix("probs_"))
        x = candidate_inputs(rd.signal, rd.fs, calls["candidates"], 2)
        calls["p_ventricular"] = adapted_probability(paths, refs, x, x, mode, share, p_normal,
                                                     layers)
        np.savez(out / npz.name, **calls)
    (out / "fold.json").write_text(json.dumps(meta, indent=1, default=str))
    return meta


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--validated", type=Path, required=True,
                        help="the validated ensemble run (ensemble_cv's OUT)")
    parser.add_argument("--refit", type=Path, required=True, help="its refit (refit's OUT)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--data", type=Path, nargs="+", default=[Path("../shared/data")])
    parser.add_argument("--mode", choices=MODES, default="normals")
    parser.add_argument("--share", type=float, default=1.0,
                        help="plain: share of the record's statistics (0-1)")
    parser.add_argument("--p-normal", type=float, default=0.1,
                        help="normals: beats under this unadapted p(V) are the record's normals")
    parser.add_argument("--layers", type=int, default=None,
                        help="adapt only the first N BatchNorm layers (default: all; 1: the stem)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    shutil.copy2(args.refit / "crossval.json", args.out / "crossval.json")
    for fold in sorted(args.refit.glob("fold*")):
        done = args.out / fold.name / "fold.json"
        if done.is_file():
            continue
        meta = adapt_fold(args.validated / fold.name, fold, args.out / fold.name, args.data,
                          args.mode, args.share, args.p_normal, args.layers)
        print(fold.name, "threshold", meta["adabn"]["threshold"]["threshold"], flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
