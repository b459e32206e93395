"""``ecgtk report``: one PNG page per analysed recording."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ecgtk.cli.app import ModelsDir, app, console, fail


@app.command()
def report(
    out_dir: Annotated[Path, typer.Argument(help="An 'ecgtk run' output folder.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the PNG pages.")],
    record: Annotated[str | None, typer.Option(
        help="Only this record id (default: every ok recording).")] = None,
    models: ModelsDir = None,
) -> None:
    """One PNG page per recording: heart-rate trend, V beats per hour, templates, Grad-CAM.

    Example: ecgtk report ecgtk-out --out pages
    """
    from ecgtk.engines.archive import output_name
    from ecgtk.inference.models import BeatModels, ModelSettings
    from ecgtk.inference.sessions import ModelError
    from ecgtk.reports.explain import load_heatmapper
    from ecgtk.reports.page import draw_page, load_run

    if not (out_dir / "records").is_dir():
        fail(f"{out_dir}: not an 'ecgtk run' output folder (no records/)", code=1)
    runs = load_run(out_dir, record)
    if not runs:
        fail(f"{out_dir}: no analysed recording{' ' + record if record else ''} to report",
              code=1)
    try:
        loaded = BeatModels(ModelSettings.using(models))
        heatmapper = load_heatmapper(loaded)
    except (ModelError, ImportError) as error:
        console.print(f"[yellow]warning:[/] no Grad-CAM panel: {error}")
        loaded = heatmapper = None
    out.mkdir(parents=True, exist_ok=True)
    for record_id, run in runs.items():
        page = out / output_name(record_id).replace(".parquet", ".png")
        draw_page(run, loaded, heatmapper, page)
        console.print(f"{record_id} -> {page}", highlight=False)
