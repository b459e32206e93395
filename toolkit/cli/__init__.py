"""The ``ecgtk`` command line (Typer): one module per command, each a thin layer over the API.

Importing this package registers every command on :data:`app` (``ecgtk.cli.app``).
"""

from ecgtk.cli import (  # noqa: F401  (each module registers its command on the app)
    bench,
    check,
    detect,
    evaluate,
    explain,
    export_model,
    info,
    report,
    run,
    train,
)
from ecgtk.cli.app import app


def main() -> None:  # pragma: no cover - console-script entry point
    app()


__all__ = ["app", "main"]
