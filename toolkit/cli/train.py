"""``ecgtk train``: train a model (needs the ``train`` extra)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ecgtk.cli.app import app, console, fail


@app.command()
def train(
    kind: Annotated[str, typer.Argument(help="beat (model 1) or ventricular (model 2).")],
    data: Annotated[list[Path], typer.Option(
        help="Folder(s) with annotated WFDB records (.hea, .dat, .atr); repeat for several.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for <kind>.keras and its "
                                      "training facts.")],
    init: Annotated[Path | None, typer.Option(
        help="Fine-tune this .keras model (transfer learning): first the head with the "
        "convolutional trunk frozen, then everything at a low learning rate.")] = None,
    epochs: Annotated[int | None, typer.Option(
        help="Most epochs (early stopping on the validation patients ends sooner).",
        min=1)] = None,
    val_records: Annotated[list[str] | None, typer.Option(
        help="Records whose patients validate (early stopping, threshold); default: a seeded "
        "20 % of the patients, drawn again until they hold at least 200 V beats. For "
        "ventricular, give patients with at least 200 V beats between them (it warns "
        "otherwise).")] = None,
    refit: Annotated[bool, typer.Option(
        help="Then train it again from scratch on the training and validation records "
        "together, for its best epochs, keeping its threshold (how the shipped model 2 was "
        "made); writes <out>/refit/<kind>.keras.")] = False,
) -> None:
    """Train a model on annotated records, split by patient (needs the train extra).

    Model 2 trains on at most 200 V beats per patient (validation patients keep all).

    Example: ecgtk train ventricular --data /data/mitdb --out mine --init ventricular.keras
    """
    try:
        from ecgtk.export.commands import train_command
    except ImportError:
        fail("training needs TensorFlow: pip install 'ecgtk[train]'", code=1)
    if kind not in ("beat", "ventricular"):
        fail(f"kind must be beat or ventricular, not {kind!r}", code=1)
    try:
        path = train_command(kind, data, out, init, epochs, val_records, refit)
    except (FileNotFoundError, ValueError) as error:
        fail(str(error), code=1)
    console.print(f"trained {kind} model -> {path}; export it with: ecgtk export {path} "
                  f"--out {path.with_suffix('.onnx')}", highlight=False)
