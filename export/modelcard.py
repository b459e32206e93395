"""Model cards (``models/<name>.md`` and ``models/<name>.json``) and the CPU throughput number.

A card records what a shipped model is and how it was made and measured: training data and
command, parameter count, the cross-validation metrics (K, folds), export parity, CPU
throughput through onnxruntime, sha256 of the ``.onnx`` and ``.keras``, opset, rate, window,
classes, input leads and decision threshold. The JSON holds the same facts for tools; the
markdown is rendered from the JSON alone (:func:`render_card`), so a card's notes can be
refreshed without retraining (:func:`refresh_card`)::

    python -m ecgtk.export.modelcard --card models/ventricular.json models/beat.json \
        --evaluation A/evaluation.json B/evaluation.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["ACROSS_DATABASES", "cpu_throughput", "main", "refresh_card", "render_card",
           "write_card"]

#: Title of the cards' note that repeats the tables of ``python -m ecgtk.export.evaluate``
#: (:func:`ecgtk.export.reproduce.evaluation_notes`).
ACROSS_DATABASES = "Across databases (python -m ecgtk.export.evaluate)"


def cpu_throughput(onnx_path: str | Path | bytes, windows: np.ndarray, *, batch: int = 1024,
                   threads: int = 2, min_seconds: float = 3.0) -> dict:
    """Windows per second through onnxruntime's CPU provider at ``batch`` windows per call and
    ``threads`` intra-op threads (``windows`` are tiled to the batch size; one warm-up call).
    ``onnx_path`` may also be a serialised model."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    model = onnx_path if isinstance(onnx_path, bytes) else str(onnx_path)
    sess = ort.InferenceSession(model, sess_options=opts,
                                providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    x = np.ascontiguousarray(np.resize(windows, (batch, *windows.shape[1:])), dtype=np.float32)
    sess.run(None, {name: x})
    n, t0 = 0, time.perf_counter()
    while True:
        sess.run(None, {name: x})
        n += batch
        elapsed = time.perf_counter() - t0
        if elapsed >= min_seconds and n >= 3 * batch:
            break
    return {"windows_per_s": round(n / elapsed, 1), "batch": batch, "threads": threads,
            "provider": "CPUExecutionProvider", "onnxruntime": ort.__version__,
            "cpu": platform.processor() or platform.machine(), "calls": n // batch}


def _card_json(card: dict) -> str:
    """The card as its ``.json`` file holds it."""
    return json.dumps(card, indent=1, default=str) + "\n"


def _write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder and
    :func:`os.replace`, so a reader sees the old file or the new one, never half of one."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        try:
            mode = path.stat().st_mode & 0o777
        except FileNotFoundError:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _pct(v) -> str:
    return "n/a" if v is None else f"{v:.2f}"


def _cv_section_beat(cv: dict | None) -> list[str]:
    if not cv:
        return ["Cross-validation was not run for this build."]
    lines = [f"Patient-wise {cv['k']}-fold cross-validation over the training records "
             f"({cv['n_records']} records; folds of patients: "
             + "; ".join(" ".join(f) for f in cv.get("folds_of_patients", [])) + "). Each fold's "
             "models were trained on the other folds; the threshold was chosen on a validation "
             "split of the training folds. Held-out records were run through the pipeline "
             "(detector -> model 1 -> model 2) and scored with `ecgtk.scoring` (150 ms).", "",
             "| held-out records (gross) | TP | FN | FP | Se % | +P % | F1 % |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for label, key in (("detector alone", "detector"), ("detector + model 1", "detector_model1")):
        b = cv[key]["beats"]
        lines.append(f"| {label} | {b['TP']} | {b['FN']} | {b['FP']} | {_pct(b['Se'])} | "
                     f"{_pct(b['+P'])} | {_pct(b['F1'])} |")
    noise = cv.get("nstdb") or {}
    if noise:
        lines += ["", "nstdb (electrode-motion noise on patients 118/119, scored in the fold "
                  "that held those patients out):", "",
                  "| record | beats | detector FP | + model 1 FP | detector Se % | "
                  "+ model 1 Se % | beats lost |",
                  "| --- | --- | --- | --- | --- | --- | --- |"]
        for r in sorted(noise, key=lambda r: (r[:3], -_snr(r))):
            n = noise[r]
            lines.append(f"| {r} | {n['n_reference']} | {n['detector']['FP']} | "
                         f"{n['detector_model1']['FP']} | {_pct(n['detector']['Se'])} | "
                         f"{_pct(n['detector_model1']['Se'])} | {n['beats_lost']} |")
    h = cv.get("nstdb_headline")
    if h:
        lines += ["", f"Headline ({' + '.join(h['records'])}): false beats {h['fp_detector']} "
                  f"(detector) -> {h['fp_detector_model1']} (detector + model 1); "
                  f"{h['beats_lost']} of {h['n_reference']} beats lost "
                  f"(Se lost {h['se_lost_pct']:.3f} %)."]
    return lines


def _snr(record: str) -> int:
    tag = record[4:]
    return -6 if tag == "_6" else int(tag)


def _cv_section_ventricular(cv: dict | None) -> list[str]:
    if not cv:
        return ["Cross-validation was not run for this build."]
    lines = [f"Patient-wise {cv['k']}-fold cross-validation over the training records "
             f"({cv['n_records']} records), through the models (detector -> model 1 -> model 2, "
             "each beat by its own probability, without ecgtk run's per-template decision and "
             "rules), scored with `ecgtk.scoring` (EC57 VEB: V/E vs N/S/unmatched; F, Q "
             "not counted). Thresholds chosen on the training folds' validation split.", "",
             "| fold | held-out patients | threshold | VEB Se % | VEB +P % | VEB F1 % | "
             "beats F1 % |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for f in cv["folds"]:
        v, b = f["pipeline"]["veb"], f["pipeline"]["beats"]
        lines.append(f"| {f['fold']} | {' '.join(f['test_records'])} | "
                     f"{f['thresholds']['ventricular']:g} | {_pct(v['Se'])} | {_pct(v['+P'])} | "
                     f"{_pct(v['F1'])} | {_pct(b['F1'])} |")
    v, b = cv["pipeline"]["veb"], cv["pipeline"]["beats"]
    lines.append(f"| **gross** | all {cv['n_records']} | | **{_pct(v['Se'])}** | "
                 f"**{_pct(v['+P'])}** | **{_pct(v['F1'])}** | {_pct(b['F1'])} |")
    v2 = cv["detector_model2"]["veb"]
    lines += ["", f"Without model 1 (every candidate to model 2): VEB Se {_pct(v2['Se'])} %, "
              f"+P {_pct(v2['+P'])} %, F1 {_pct(v2['F1'])} %. Gross counts: TP {v['TP']}, "
              f"FN {v['FN']}, FP {v['FP']}."]
    return lines


def render_card(card: dict) -> str:
    """The card's markdown, from the card dict alone (as :func:`write_card` stores it in the
    JSON)."""
    name, kind, t = card["name"], card["kind"], card["training"]
    files, inp, out, tp = card["files"], card["input"], card["output"], card["throughput"]
    classes, cv = out["classes"], card.get("cross_validation")
    _, length, channels = inp["shape"]
    lines = [
        f"# {name} — {card['description']}", "",
        "| | |", "| --- | --- |",
        f"| file | `{files['onnx']['file']}` (ONNX opset {card['opset']}), Keras source "
        f"`{files['keras']['file']}` |",
        f"| sha256 (onnx) | `{files['onnx']['sha256']}` |",
        f"| sha256 (keras) | `{files['keras']['sha256']}` |",
        f"| rate | {card['rate_hz']:g} Hz |",
        f"| window | {card['window']['before']} + {card['window']['after']} samples around "
        f"the {'candidate' if kind == 'beat' else 'beat'} |",
        f"| input | `{inp['name']}` float32 (batch, {length}, {channels}), from `ecgtk.inference."
        f"inputs.{'ventricular_inputs' if inp.get('context') else 'model_windows'}` |",
        f"| input leads | {', '.join(card['input_leads'])} |",
        f"| output | `{out['name']}` softmax over {classes} |",
        f"| decision threshold | p({classes[1]}) >= {card['decision_threshold']:g} "
        f"({card['threshold_rule']}) |",
        f"| parameters | {card['parameters']:,} |",
        f"| export parity | max abs diff {card['export']['parity_max_abs_diff']:.2e} (Keras vs "
        f"onnxruntime CPU, {card['export']['parity_windows']} real windows; batch sizes "
        f"{card['export']['batch_sizes_checked']}) |",
        f"| CPU throughput | {tp['windows_per_s']:,.0f} windows/s (onnxruntime "
        f"{tp['onnxruntime']} CPU, batch {tp['batch']}, {tp['threads']} threads) |",
        "", "## Training", "",
        t["data"], "",
        f"- training records: {' '.join(t['train_records'])}",
        f"- validation records (early stopping, threshold): {' '.join(t['val_records'])}",
        f"- windows: train {t['train_windows']}, validation {t['val_windows']} "
        f"(class 0 = {classes[0]}, 1 = {classes[1]})",
        f"- {t['seconds']:.0f} s on a 2-core CPU; epochs run {t['epochs_run']}, best "
        f"{t['best_epoch']}; seed {t['seed']}",
        *([f"- then refitted (ecgtk.export.refit): each member trained again from scratch on "
           f"the training and validation records together ({len(t['refit']['records'])}), "
           f"for its best epochs {t['refit']['epochs']}, keeping the threshold above"]
          if t.get("refit") else []),
        f"- command: `{t['command']}`", "",
        "## Cross-validation", "",
        *(_cv_section_beat(cv) if kind == "beat" else _cv_section_ventricular(cv)), "",
    ]
    for title, body in (card.get("notes") or {}).items():
        lines += [f"## {title}", "", body, ""]
    return "\n".join(lines)


def write_card(name: str, out_dir: str | Path, *, kind: str, description: str,
               onnx_report: dict, keras_path: str | Path, train_info: dict,
               cv: dict | None, throughput: dict, command: str, training_data: str,
               extra: dict | None = None) -> tuple[Path, Path]:
    """Write ``<out_dir>/<name>.json`` (the card dict) and ``<name>.md`` (:func:`render_card`
    of it); returns their paths."""
    from ecgtk.export.onnx_export import sha256_file

    out_dir = Path(out_dir)
    onnx_path = Path(onnx_report["path"])
    keras_path = Path(keras_path)
    meta = onnx_report["metadata"]
    leads = json.loads(meta["input_leads"])
    classes = json.loads(meta["classes"])
    threshold = train_info["threshold"]
    card = {
        "name": name,
        "kind": kind,
        "description": description,
        "version": meta.get("model_version"),
        "files": {
            "onnx": {"file": onnx_path.name, "sha256": sha256_file(onnx_path),
                     "bytes": onnx_path.stat().st_size},
            "keras": {"file": keras_path.name, "sha256": sha256_file(keras_path),
                      "bytes": keras_path.stat().st_size},
        },
        "opset": int(onnx_report["opset"]),
        "rate_hz": float(meta["rate_hz"]),
        "window": {"before": int(meta["window_before"]), "after": int(meta["window_after"])},
        "input": {"name": meta["input_name"], "shape": ["batch", int(meta["input_length"]),
                                                        int(meta["n_channels"])],
                  "normalisation": "ecgtk.inference.inputs.model_windows (median removed, "
                                   "/ QRS scale)",
                  "context": meta.get("context") or None},
        "output": {"name": meta["output_name"], "classes": classes},
        "input_leads": leads,
        "decision_threshold": threshold["threshold"],
        "threshold_rule": threshold["rule"],
        "parameters": train_info["parameters"],
        "training": {
            "data": training_data,
            "command": command,
            "train_records": train_info["train_records"],
            "val_records": train_info["val_records"],
            "train_windows": train_info["train_counts"],
            "val_windows": train_info["val_counts"],
            "seconds": train_info["train_seconds"],
            "epochs_run": [p["epochs_run"] for p in train_info["phases"]],
            "best_epoch": [p["best_epoch"] for p in train_info["phases"]],
            "seed": train_info["seed"],
            "settings": train_info.get("settings"),
            **({"refit": train_info["refit"]} if train_info.get("refit") else {}),
        },
        "cross_validation": cv,
        "export": {"parity_max_abs_diff": onnx_report["max_abs_diff"],
                   "parity_windows": onnx_report["n_windows"],
                   "batch_sizes_checked": onnx_report["batch_sizes_checked"],
                   "exporter": meta.get("exporter")},
        "throughput": throughput,
        **(extra or {}),
    }
    json_path = out_dir / f"{name}.json"
    return _write_card_texts(json_path, _card_json(card), render_card(card)), json_path


def _write_card_texts(json_path: Path, json_text: str, md_text: str) -> Path:
    """Write a card's JSON and, beside it, its markdown, each atomically; returns the .md
    path."""
    md_path = Path(json_path).with_suffix(".md")
    _write_atomic(json_path, json_text)
    _write_atomic(md_path, md_text)
    return md_path


def _load_json(path: Path, what: str) -> dict:
    """``path``'s JSON object; a missing file or invalid JSON raises an error naming it."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} file not found: {path}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{what} file {path} is not valid JSON: {e}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{what} file {path} does not hold a JSON object")
    return data


def _check_evaluation(path: Path) -> None:
    """Raise an error naming ``path`` unless it is an ``evaluation.json`` of
    ``python -m ecgtk.export.evaluate`` (seed, recipe and a table that can be made)."""
    from ecgtk.export.evaluate import table

    summary = _load_json(path, "evaluation")
    missing = [k for k in ("seed", "recipe") if k not in summary]
    if missing or not any(d in summary for d in ("lodo", "cv")):
        raise ValueError(f"evaluation file {path} is not an evaluation.json of python -m "
                         f"ecgtk.export.evaluate (missing {', '.join(missing) or 'lodo/cv'})")
    try:
        table(summary)
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise ValueError(f"evaluation file {path}: unexpected structure ({e!r})") from None


def _refreshed(card_json: Path, evaluations: Sequence[Path]) -> tuple[dict, str, str]:
    """The refreshed card of :func:`refresh_card` with its JSON and markdown texts, writing
    nothing."""
    from ecgtk.export.card_notes import NOTES
    from ecgtk.export.reproduce import evaluation_notes

    card_json = Path(card_json)
    card = _load_json(card_json, "card")
    kind = card.get("kind")
    if kind not in NOTES or not isinstance(card.get("notes", {}), dict):
        raise ValueError(f"card file {card_json} is not a model card of "
                         f"ecgtk.export.modelcard (kind {kind!r}; known: {', '.join(NOTES)})")
    for path in evaluations:
        _check_evaluation(Path(path))
    notes = dict(card.get("notes") or {})
    for title, text in NOTES[kind].items():
        notes[title] = text  # replaced in place; a note new in NOTES goes to the end
    if evaluations:
        notes[ACROSS_DATABASES] = evaluation_notes(list(evaluations))
    card["notes"] = notes
    try:
        markdown = render_card(card)
    except (KeyError, TypeError, ValueError, IndexError) as e:
        raise ValueError(f"card file {card_json}: cannot render it ({e!r})") from None
    return card, _card_json(card), markdown


def refresh_card(card_json: Path, evaluations: Sequence[Path] = ()) -> tuple[Path, Path]:
    """Re-render a card's notes without retraining: every note titled in
    ``card_notes.NOTES[kind]`` gets today's text, the note :data:`ACROSS_DATABASES` is made
    again from ``evaluations`` (``evaluation.json`` files of ``python -m
    ecgtk.export.evaluate``; left as it is when there are none); other notes and fields are
    kept. Rewrites ``card_json`` and its ``.md`` atomically; returns ``(md, json)`` paths like
    :func:`write_card`."""
    card_json = Path(card_json)
    _, json_text, md_text = _refreshed(card_json, evaluations)
    return _write_card_texts(card_json, json_text, md_text), card_json


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m ecgtk.export.modelcard``: refresh model cards' notes (see ``--help``)."""
    ap = argparse.ArgumentParser(
        prog="python -m ecgtk.export.modelcard",
        description="Re-render model cards' notes without retraining anything: each card's "
                    "static notes get export/card_notes.py's current text and its 'Across "
                    "databases' table is made again from the given evaluation.json files of "
                    "python -m ecgtk.export.evaluate (e.g. re-scored after a change of ecgtk "
                    "run's labelling rules). Every other field (files, hashes, training, "
                    "cross-validation, throughput) is kept; the .json and its .md are "
                    "rewritten atomically.",
        epilog="example: python -m ecgtk.export.modelcard --card models/ventricular.json "
               "models/beat.json --evaluation A/evaluation.json B/evaluation.json")
    ap.add_argument("--card", type=Path, nargs="+", action="extend", required=True,
                    help="card JSON(s) written by ecgtk.export.reproduce "
                         "(models/<kind>.json; the .md beside it is rewritten); repeatable")
    ap.add_argument("--evaluation", type=Path, nargs="+", action="extend", default=[],
                    help="evaluation.json files of python -m ecgtk.export.evaluate, in the "
                         "order their tables appear (without: the table is left as it is)")
    args = ap.parse_args(argv)
    try:  # check and render every card before writing any
        texts = [(Path(c), *_refreshed(Path(c), args.evaluation)[1:]) for c in args.card]
    except (OSError, ValueError) as e:
        ap.error(str(e))
    for card_json, json_text, md_text in texts:
        md_path = _write_card_texts(card_json, json_text, md_text)
        print(f"refreshed {card_json} and {md_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
