"""``ecgtk export``: export a trained model to ONNX with a parity check (``train`` extra)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ecgtk.cli.app import app, console, fail


@app.command("export")
def export_model(
    model: Annotated[Path, typer.Argument(help="A trained .keras model (from ecgtk train).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="The .onnx file to write.")],
    gradcam: Annotated[bool, typer.Option(
        help="Also write <out>_gradcam.onnx, so 'ecgtk explain' needs no TensorFlow.")] = False,
    calibration: Annotated[Path | None, typer.Option(
        help="Ventricular models: a calibration report (python -m ecgtk.export.calibration "
        "--cv-dir CV --json FILE) whose Platt scaling and review threshold go into the model. "
        "Without it 'ecgtk run' reports the raw probability and marks no beat for review.")
    ] = None,
    member: Annotated[list[Path] | None, typer.Option(
        "--member", help="Another training of the same architecture (a .keras) to average "
        "with MODEL in one graph (an ensemble; repeat for more). The shipped model 2 averages "
        "two seeds.", show_default=False)] = None,
) -> None:
    """Export a trained model to ONNX, checked against Keras on real windows.

    Opset 17, dynamic batch, with the metadata ecgtk reads at run time; ONNX Runtime and Keras
    must agree within 1e-4 on real windows of the shipped sample (needs the train extra).
    With --member the graph averages the models (their decision threshold is MODEL's).

    Example: ecgtk export my-models/ventricular.keras --out my-models/ventricular.onnx --gradcam
    --calibration my-cv/calibration.json
    """
    try:
        from ecgtk.export.commands import export_command, read_calibration
    except ImportError:
        fail("export needs TensorFlow and tf2onnx: pip install 'ecgtk[train]'", code=1)
    for path in [model, *(member or [])]:
        if not path.is_file():
            fail(f"{path}: no such model file", code=1)
    try:
        report = export_command(model, out, gradcam,
                                read_calibration(calibration) if calibration else None,
                                members=member or [])
    except ValueError as error:
        fail(str(error), code=1)
    console.print(f"{out}: parity max |ONNX - Keras| = {report['max_abs_diff']:.1e}, "
                  f"sha256 {report['sha256'][:12]}", highlight=False)
    if report["kind"] == "ventricular" and calibration is None:
        console.print(f"[yellow]warning:[/] {out} has no calibration: ecgtk run will report "
                      "its raw probability and mark no beat for review (see --calibration)",
                      highlight=False)
