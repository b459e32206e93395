"""``ecgtk eval``: score an output against reference annotations (ANSI/AAMI EC57)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ecgtk.cli.app import app, console, fail


@app.command("eval")
def evaluate_command(
    output: Annotated[Path, typer.Argument(
        help="A beats Parquet file, a folder of them, or an 'ecgtk run' output folder.")],
    reference: Annotated[Path, typer.Option(
        "--reference", "-r", help="Folder with the reference WFDB annotations "
        "(<record_id>.atr, or <record name>.atr) and their headers.")],
    tolerance_s: Annotated[float, typer.Option(
        help="A detection within this many seconds of a reference beat matches it.",
        min=0.0)] = 0.15,
    include_vf: Annotated[bool, typer.Option(
        "--include-vf", help="Also score inside ventricular flutter/fibrillation episodes "
        "(excluded by default, as ANSI/AAMI EC57 does).")] = False,
    json_out: Annotated[Path | None, typer.Option(
        "--json", help="Also write all results (counts and percentages) to this JSON file.")]
    = None,
) -> None:
    """Score detections (and V labels, when present) against reference annotations.

    Beats: Se, +P and F1 per record and gross. Ventricular ectopic beats (V, E) and
    supraventricular ectopic beats (A, a, J, S; the label S): Se, +P and F1 as in ANSI/AAMI
    EC57. Atrial fibrillation, for an 'ecgtk run' folder: duration Se and +P
    of its AF events against the (AFIB rhythm annotations.

    Example: ecgtk eval ecgtk-out --reference /data/mitdb --json s.json
    """
    import warnings

    from ecgtk.scoring import EvaluationError, evaluate, render_table
    from ecgtk.scoring.report import render_af_table, render_sveb_table

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = evaluate(output, reference, tolerance_s=tolerance_s,
                              exclude_vf=not include_vf)
        except EvaluationError as error:
            fail(str(error))
    for warning in caught:
        console.print(f"[yellow]warning:[/] {warning.message}", highlight=False)
    table_console = Console()
    if not table_console.is_terminal:  # piped: rich would assume 80 columns
        table_console = Console(width=max(table_console.width, 110))
    table_console.print(render_table(result))
    sveb_table = render_sveb_table(result)
    if sveb_table is not None:
        table_console.print(sveb_table)
    af_table = render_af_table(result)
    if af_table is not None:
        table_console.print(af_table)
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(result, indent=2))
        console.print(f"wrote {json_out}")
    if not result["records"]:
        fail("no record could be scored (no reference annotations matched the output)")
