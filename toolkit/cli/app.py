"""The Typer app every ``ecgtk`` command registers on, and the helpers they share."""

from __future__ import annotations

import atexit
import gc
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

app = typer.Typer(
    help="ecgtk: analyse long ambulatory (Holter) ECG recordings in bulk. Finds every "
    "heartbeat and writes Parquet tables that pandas, Polars, DuckDB and Spark read.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)
# At exit, the collector would walk every object of numpy, scipy, numba, onnxruntime and the
# rest once more (about 0.2 s a process); freezing them skips that walk. Objects are still freed
# by reference counting, files are closed and atexit handlers run as before.
atexit.register(gc.freeze)


#: The ``--models`` option of every command that runs the models.
ModelsDir = Annotated[Path | None, typer.Option(
    "--models", help="Folder with your own beat.onnx and ventricular.onnx (e.g. fine-tuned with "
    "'ecgtk train --init'). Default: the models shipped with ecgtk.", show_default=False)]


def fail(message: str, code: int = 2) -> None:
    """Print ``message`` (plain text, on one line) as an error and exit with ``code``."""
    from rich.markup import escape

    console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def check_device(device: str) -> None:
    from ecgtk.inference.sessions import DEVICES

    if device not in DEVICES:
        fail(f"--device must be one of {', '.join(DEVICES)}, not {device!r}", code=1)
