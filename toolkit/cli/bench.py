"""``ecgtk bench``: time the pipeline per stage on tiled recordings, with a Keras baseline."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ecgtk.cli.app import ModelsDir, app, check_device, console, fail


@app.command()
def bench(
    archive: Annotated[Path | None, typer.Argument(
        help="Recordings to time (folder or list). Default: recordings tiled from the shipped "
        "sample.", show_default=False)] = None,
    hours: Annotated[float, typer.Option(
        help="Length of each tiled recording, hours.", min=0.01)] = 24.0,
    records: Annotated[int, typer.Option(help="How many tiled recordings.", min=1)] = 2,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda (see ecgtk run).")] = "cpu",
    gpu_mem_gb: Annotated[float, typer.Option(
        help="GPU memory cap for the CUDA provider, GB.", min=0.1)] = 6.0,
    batch_size: Annotated[int | None, typer.Option(
        help="Windows per model call (default: 32 on the CPU, 256 with a GPU; see ecgtk run "
        "--help).", min=1, show_default=False)] = None,
    lanes: Annotated[int | None, typer.Option(
        help="Chunks whose model calls run at once (see ecgtk run --help).", min=1,
        show_default=False)] = None,
    baseline: Annotated[bool, typer.Option(
        help="Also time the same models through Keras (needs the train extra).")] = True,
    models: ModelsDir = None,
    json_out: Annotated[Path | None, typer.Option(
        "--json", help="Write every figure to this JSON file (keys: see the docs).")] = None,
) -> None:
    """Time the whole pipeline per stage: recordings per hour, beats per second, peak memory.

    Runs in this process on one worker, as 'ecgtk run' does per recording. Example:
    ecgtk bench --hours 24 --records 2 --json bench.json
    """
    import tempfile

    from rich.table import Table

    from ecgtk.bench.pipeline import run_bench, tiled_archive
    from ecgtk.engines.archive import ArchiveError, find_recordings
    from ecgtk.inference.models import ModelSettings, worker_layout
    from ecgtk.inference.sessions import ModelError

    check_device(device)
    settings = ModelSettings.using(models, device=device, gpu_mem_gb=gpu_mem_gb,
                                   **worker_layout(device, os.cpu_count() or 1, lanes,
                                                   batch_size))
    with tempfile.TemporaryDirectory() as tmp:
        try:
            if archive is None:
                console.print(f"building {records} tiled recording(s) of {hours:g} h ...")
                sources = tiled_archive(Path(tmp), records, hours)
            else:
                sources = find_recordings(archive)
            result = run_bench(sources, settings, baseline)
        except (ArchiveError, ModelError) as error:
            fail(str(error), code=1)
    table = Table(title="ecgtk bench", show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value", justify="right")
    for key in ("providers", "records", "hours_per_record", "total_seconds",
                "recordings_per_hour", "seconds_per_24h_recording", "beats_per_second",
                "peak_rss_mb", "lanes"):
        table.add_row(key, str(result[key]))
    summed = " summed over lanes" if result["lanes"] > 1 else ""
    for stage, seconds in result["stage_seconds"].items():
        table.add_row(f"stage {stage} (s{summed})", f"{seconds:.2f}")
    for name, figures in result["baseline"].items():
        table.add_row(f"Keras baseline {name}", str(figures))
    Console().print(table)
    if json_out is not None:
        json_out.write_text(json.dumps(result, indent=2))
