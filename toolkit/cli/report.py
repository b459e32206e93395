"""``ecgtk report``: one page (PNG or PDF) per analysed recording."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from ecgtk.cli.app import ModelsDir, app, console, fail

#: File suffixes ``--out`` may end with to name one page file.
PAGE_SUFFIXES = (".png", ".pdf")


class PageFormat(str, Enum):
    """The page file's format."""

    png = "png"
    pdf = "pdf"


@app.command()
def report(
    out_dir: Annotated[Path, typer.Argument(help="An 'ecgtk run' output folder.")],
    out: Annotated[Path, typer.Option(
        "--out", "-o", help="Folder for the pages (one file per recording, named like its "
        "Parquet files), or one file ending in .png or .pdf when one recording is reported.")],
    record: Annotated[str | None, typer.Option(
        help="Only this record id (default: every ok recording).")] = None,
    page_format: Annotated[PageFormat | None, typer.Option(
        "--format", help="png or pdf. Default: the suffix of --out when it names a file, "
        "else png.", show_default=False)] = None,
    strip_s: Annotated[float, typer.Option(
        "--strip-s", min=2.0, max=60.0, help="Length of each ECG strip, seconds.")] = 10.0,
    models: ModelsDir = None,
) -> None:
    """One page per recording: the Holter summary, ECG strips of its events, then the
    heart-rate trend, V beats per hour, templates and Grad-CAM of a few V beats.

    The summary gives heart rate min/mean/max (beats/min, over 1-minute windows), V and S
    totals, couplets, runs and the longest run (beats), pauses (RR > 2.0 s) and the longest
    RR (s), AF episodes and burden (% of the analysable time), SDNN and RMSSD (ms), and the
    analysable time (hh:mm:ss). Figures the output lacks (the S counts of an older output)
    read "not available".

    The strips (lead 1, --strip-s seconds each, the event centred and shaded, beat labels
    above the trace, time from the start as hh:mm:ss and the time of day when the file gives
    its start) show the longest V run, the fastest and the slowest heart rate over a strip,
    the longest pause, the onset of the longest AF episode and the longest SV run; the page
    names those the recording does not have. The strips are read from the source file the
    records table names; when it is missing or unreadable the page says so and shows the
    rest.

    Example: ecgtk report ecgtk-out --out pages --format pdf
    """
    from ecgtk.engines.archive import output_name
    from ecgtk.inference.models import BeatModels, ModelSettings
    from ecgtk.inference.sessions import ModelError
    from ecgtk.reports.explain import load_heatmapper
    from ecgtk.reports.page import draw_page, load_run

    if not (out_dir / "records").is_dir():
        fail(f"{out_dir}: not an 'ecgtk run' output folder (no records/)", code=1)
    as_file = out.suffix.lower() in PAGE_SUFFIXES
    if as_file and page_format is not None and out.suffix.lower() != f".{page_format.value}":
        fail(f"--out {out} does not end in .{page_format.value} (--format)", code=1)
    suffix = out.suffix.lower() if as_file else f".{(page_format or PageFormat.png).value}"
    runs = load_run(out_dir, record)
    if not runs:
        fail(f"{out_dir}: no analysed recording{' ' + record if record else ''} to report",
             code=1)
    if as_file and len(runs) > 1:
        fail(f"--out {out} names one file but {len(runs)} recordings are to be reported: give "
             "a folder, or one recording with --record", code=1)
    try:
        loaded = BeatModels(ModelSettings.using(models))
        heatmapper = load_heatmapper(loaded)
    except (ModelError, ImportError) as error:
        console.print(f"[yellow]warning:[/] no Grad-CAM panel: {error}")
        loaded = heatmapper = None
    (out.parent if as_file else out).mkdir(parents=True, exist_ok=True)
    for record_id, run in runs.items():
        page = out if as_file else out / output_name(record_id).replace(".parquet", suffix)
        draw_page(run, loaded, heatmapper, page, strip_s)
        console.print(f"{record_id} -> {page}", highlight=False)
