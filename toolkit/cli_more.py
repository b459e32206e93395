"""The ``ecgtk`` commands around the models: explain, report, bench, train, export.

They register on the same Typer app as :mod:`ecgtk.cli` (which imports this module last).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ecgtk.cli import ModelsDir, _check_device, _fail, app, console


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
    from ecgtk.beat_models import BeatModels, ModelSettings
    from ecgtk.explain import (
        BEAT_CHOICES,
        explain_recording,
        heatmaps_table,
        load_heatmapper,
        write_figures,
    )
    from ecgtk.readers import read_recording
    from ecgtk.recording import RecordingError
    from ecgtk.sessions import ModelError
    from ecgtk.tables import write_parquet_atomic

    if beats not in BEAT_CHOICES:
        _fail(f"--beats must be one of {', '.join(BEAT_CHOICES)}, not {beats!r}", code=1)
    try:
        loaded = BeatModels(ModelSettings.using(models))
        heatmapper = load_heatmapper(loaded)
        recording = read_recording(record, fs=fs)
        explanation = explain_recording(recording, loaded, heatmapper, beats, limit)
    except (ModelError, ImportError) as error:
        _fail(str(error), code=1)
    except RecordingError as error:
        _fail(str(error))
    write_parquet_atomic(heatmaps_table(explanation), out / "heatmaps.parquet")
    try:
        figures = write_figures(explanation, out, loaded.rate_hz)
    except ImportError:
        console.print("[yellow]warning:[/] matplotlib is not installed, so no PNGs were drawn "
                      "(pip install 'ecgtk[plot]')")
        figures = []
    console.print(f"{recording.record_id}: {len(explanation.samples)} {beats} beats explained "
                  f"-> {out / 'heatmaps.parquet'} and {len(figures)} PNGs", highlight=False)


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
    from ecgtk.archive import output_name
    from ecgtk.beat_models import BeatModels, ModelSettings
    from ecgtk.explain import load_heatmapper
    from ecgtk.report import draw_page, load_run
    from ecgtk.sessions import ModelError

    if not (out_dir / "records").is_dir():
        _fail(f"{out_dir}: not an 'ecgtk run' output folder (no records/)", code=1)
    runs = load_run(out_dir, record)
    if not runs:
        _fail(f"{out_dir}: no analysed recording{' ' + record if record else ''} to report",
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

    from ecgtk.archive import ArchiveError, find_recordings
    from ecgtk.beat_models import ModelSettings, worker_layout
    from ecgtk.benchmarks.pipeline import run_bench, tiled_archive
    from ecgtk.sessions import ModelError

    _check_device(device)
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
            _fail(str(error), code=1)
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
        _fail("training needs TensorFlow: pip install 'ecgtk[train]'", code=1)
    if kind not in ("beat", "ventricular"):
        _fail(f"kind must be beat or ventricular, not {kind!r}", code=1)
    try:
        path = train_command(kind, data, out, init, epochs, val_records, refit)
    except (FileNotFoundError, ValueError) as error:
        _fail(str(error), code=1)
    console.print(f"trained {kind} model -> {path}; export it with: ecgtk export {path} "
                  f"--out {path.with_suffix('.onnx')}", highlight=False)


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
        _fail("export needs TensorFlow and tf2onnx: pip install 'ecgtk[train]'", code=1)
    for path in [model, *(member or [])]:
        if not path.is_file():
            _fail(f"{path}: no such model file", code=1)
    try:
        report = export_command(model, out, gradcam,
                                read_calibration(calibration) if calibration else None,
                                members=member or [])
    except ValueError as error:
        _fail(str(error), code=1)
    console.print(f"{out}: parity max |ONNX - Keras| = {report['max_abs_diff']:.1e}, "
                  f"sha256 {report['sha256'][:12]}", highlight=False)
    if report["kind"] == "ventricular" and calibration is None:
        console.print(f"[yellow]warning:[/] {out} has no calibration: ecgtk run will report "
                      "its raw probability and mark no beat for review (see --calibration)",
                      highlight=False)
