"""``ecgtk explain``: Grad-CAM heatmaps of chosen beats of one recording."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ecgtk.cli.app import ModelsDir, app, console, fail


@app.command()
def explain(
    record: Annotated[Path, typer.Argument(help="Recording to explain (.hea, .edf, .ecg, .npy).")],
    out: Annotated[Path, typer.Option(
        "--out", "-o", help="Folder for heatmaps.parquet and one PNG per explained beat.")],
    beats: Annotated[str, typer.Option(
        help="Which beats: V (ventricular), N (normal) or all.")] = "V",
    limit: Annotated[int, typer.Option(
        help="At most this many beats, spread evenly over the recording.", min=1)] = 20,
    fs: Annotated[float | None, typer.Option(
        help="Sampling rate in Hz, for .npy files without a .json sidecar.")] = None,
    models: ModelsDir = None,
) -> None:
    """Grad-CAM: which samples of a beat drove its normal/ventricular call.

    Writes heatmaps.parquet (record_id, sample, label, p_ventricular, heatmap in [0, 1] per
    sample of the 150+150-sample window at 360 Hz) and PNGs: each beat coloured by its heatmap
    beside the record's typical N beat. Example: ecgtk explain 208.hea --beats V --out expl
    """
    from ecgtk.inference.models import BeatModels, ModelSettings
    from ecgtk.inference.sessions import ModelError
    from ecgtk.readers import read_recording
    from ecgtk.recording import RecordingError
    from ecgtk.reports.explain import (
        BEAT_CHOICES,
        explain_recording,
        heatmaps_table,
        load_heatmapper,
        write_figures,
    )
    from ecgtk.tables import write_parquet_atomic

    if beats not in BEAT_CHOICES:
        fail(f"--beats must be one of {', '.join(BEAT_CHOICES)}, not {beats!r}", code=1)
    try:
        loaded = BeatModels(ModelSettings.using(models))
        heatmapper = load_heatmapper(loaded)
        recording = read_recording(record, fs=fs)
        explanation = explain_recording(recording, loaded, heatmapper, beats, limit)
    except (ModelError, ImportError) as error:
        fail(str(error), code=1)
    except RecordingError as error:
        fail(str(error))
    write_parquet_atomic(heatmaps_table(explanation), out / "heatmaps.parquet")
    try:
        figures = write_figures(explanation, out, loaded.rate_hz)
    except ImportError:
        console.print("[yellow]warning:[/] matplotlib is not installed, so no PNGs were drawn "
                      "(pip install 'ecgtk[plot]')")
        figures = []
    console.print(f"{recording.record_id}: {len(explanation.samples)} {beats} beats explained "
                  f"-> {out / 'heatmaps.parquet'} and {len(figures)} PNGs", highlight=False)
