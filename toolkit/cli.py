"""The ``ecgtk`` command line (Typer). Each command is a thin shell over a toolkit function."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:
    from ecgtk.archive import Source
    from ecgtk.beat_models import ModelSettings
    from ecgtk.ray_engine import RayPlan
    from ecgtk.runner import RecordResult

app = typer.Typer(
    help="ecgtk: analyse long ambulatory (Holter) ECG recordings in bulk. Finds every "
    "heartbeat and writes Parquet tables that pandas, Polars, DuckDB and Spark read.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)


#: The ``--models`` option of every command that runs the models.
ModelsDir = Annotated[Path | None, typer.Option(
    "--models", help="Folder with your own beat.onnx and ventricular.onnx (e.g. fine-tuned with "
    "'ecgtk train --init'). Default: the models shipped with ecgtk.", show_default=False)]


def _fail(message: str, code: int = 2) -> None:
    """Print ``message`` (plain text, on one line) as an error and exit with ``code``."""
    from rich.markup import escape

    console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _check_device(device: str) -> None:
    from ecgtk.sessions import DEVICES

    if device not in DEVICES:
        _fail(f"--device must be one of {', '.join(DEVICES)}, not {device!r}", code=1)


@app.command()
def run(
    archive: Annotated[Path | None, typer.Argument(
        help="Folder of recordings (searched recursively for .hea, .edf, .ecg, .npy) or a text "
        "file listing one recording per line. Default: the sample archive shipped with ecgtk.",
        show_default=False)] = None,
    out: Annotated[Path, typer.Option(
        "--out", "-o", help="Output folder: beats/, clusters/ and records/ Parquet datasets, "
        "one file per recording.")] = Path("ecgtk-out"),
    glob: Annotated[str | None, typer.Option(
        help="Only recordings matching this pattern, relative to ARCHIVE (e.g. '2026/**/*.edf')."
    )] = None,
    workers: Annotated[int | None, typer.Option(
        help="Local engine: worker processes analysing recordings in parallel (default: one per "
        "CPU core). Ray engine: model actors (default: one per GPU of the cluster, or one per "
        "CPU when it has none).", min=1, show_default=False)] = None,
    device: Annotated[str, typer.Option(
        help="Where the models run: auto (CUDA when onnxruntime-gpu finds a GPU, else CPU), "
        "cpu, or cuda (falls back to CPU with a warning).")] = "cpu",
    gpu_mem_gb: Annotated[float, typer.Option(
        help="GPU memory cap per worker for ONNX Runtime's CUDA provider, in GB.",
        min=0.1)] = 6.0,
    gpu_workers: Annotated[int | None, typer.Option(
        help="Local engine with --device cuda/auto: only this many workers run the models on "
        "the GPU, the others on the CPU. Each GPU worker holds its own CUDA context (about "
        "1.4 GB on an H100) besides --gpu-mem-gb; e.g. --workers 16 --gpu-workers 3 "
        "--gpu-mem-gb 0.5 stays under 6 GB. Default: every worker.", min=0,
        show_default=False)] = None,
    batch_size: Annotated[int | None, typer.Option(
        help="Windows per model call. Default: 32 on the CPU (fastest measured: activations "
        "stay in cache), 256 with a GPU (1024 keeps a large GPU busier).", min=1,
        show_default=False)] = None,
    lanes: Annotated[int | None, typer.Option(
        help="Chunks of a recording detected and run through the models at once in each "
        "worker, on threads sharing its sessions, while the next chunk is read. Default: on "
        "the CPU the worker's share of the cores (one-thread sessions each; fewer lanes "
        "share the cores as threads), with a GPU 1.", min=1,
        show_default=False)] = None,
    review_threshold: Annotated[float | None, typer.Option(
        help="Mark beats whose uncertainty (spread of model 2's probability over its "
        "Monte-Carlo dropout passes, 0 to 0.5) is at least this for review (beats.review, "
        "records.n_review). Default: the model's, which flags about 5 % of beats.",
        min=0.0, show_default=False)] = None,
    models: ModelsDir = None,
    force: Annotated[bool, typer.Option(
        "--force", help="Redo recordings that an earlier run already finished.")] = False,
    quiet: Annotated[bool, typer.Option(
        "--quiet", "-q", help="No progress bar and no per-recording lines (for cron); errors "
        "are still printed.")] = False,
    engine: Annotated[str, typer.Option(
        help="local: worker processes on this machine. ray: a Ray Data pipeline on a Ray "
        "cluster (detection on CPUs, the models on GPUs when the cluster has them); needs "
        "pip install 'ecgtk\\[ray]' on the driver and every worker. Same tables, resume and exit "
        "codes.")] = "local",
    address: Annotated[str | None, typer.Option(
        help="With --engine ray: the cluster to run on ('auto' for the one started with 'ray "
        "start' on this machine, HOST:PORT, or ray://HOST:10001). Default: $RAY_ADDRESS, else a "
        "new Ray on this machine.", show_default=False)] = None,
) -> None:
    """Analyse every recording of an archive into Parquet tables (resumable).

    Re-running skips recordings already done whose source is unchanged (size and mtime).
    Exit code: 0 when every recording is ok, 2 when any failed (all others are still analysed),
    1 on a usage error. Example: ecgtk run /archive/2026 --out /results/2026 --workers 8;
    on a Ray cluster: ecgtk run /shared/archive --out /shared/out --engine ray --address auto
    """
    from dataclasses import replace

    from ecgtk.archive import ArchiveError, find_recordings, sample_archive
    from ecgtk.beat_models import ModelSettings, worker_layout
    from ecgtk.run_command import show_run, summary_table
    from ecgtk.runner import models_for, run_archive
    from ecgtk.sessions import ModelError

    _check_device(device)
    _check_engine(engine, address)
    archive = archive if archive is not None else sample_archive()
    try:
        sources = find_recordings(archive, glob, exclude=out)
    except ArchiveError as error:
        _fail(str(error), code=1)
    if not sources:
        _fail(f"{archive}: no recordings (.hea, .edf, .ecg, .npy) found", code=1)
    local_workers = min(workers or os.cpu_count() or 1, len(sources))
    settings = ModelSettings.using(models, device=device, gpu_mem_gb=gpu_mem_gb,
                                   review_threshold=review_threshold,
                                   **worker_layout(device, (os.cpu_count() or 1) // local_workers,
                                                   lanes, batch_size))
    try:  # fail early, and say where the models run (the Ray driver only reads them)
        providers = models_for(settings if engine == "local"
                               else replace(settings, device="cpu")).providers
    except ModelError as error:
        _fail(str(error), code=1)
    started = time.perf_counter()
    if engine == "ray":
        results = _run_on_ray(sources, out, settings, force, address, workers, quiet)
    else:
        if not quiet:
            console.print(f"{len(sources)} recordings, {local_workers} worker(s), models on "
                          f"{', '.join(providers)}", highlight=False)
        results = show_run(run_archive(sources, out, workers=local_workers, force=force,
                                       gpu_workers=gpu_workers,
                                       settings=settings), len(sources), console, quiet)
    if not quiet:
        console.print(summary_table(results, out, time.perf_counter() - started))
    if any(r.failed for r in results):
        raise typer.Exit(2)


def _check_engine(engine: str, address: str | None) -> None:
    """Usage errors of --engine and --address; for ray, that Ray is installed."""
    if engine not in ("local", "ray"):
        _fail(f"--engine must be local or ray, not {engine!r}", code=1)
    if address is not None and engine != "ray":
        _fail("--address is for --engine ray", code=1)
    if engine == "ray":
        from ecgtk.ray_engine import RayUnavailable, import_ray

        try:
            import_ray()
        except RayUnavailable as error:
            _fail(str(error), code=1)


def _run_on_ray(sources: list[Source], out: Path, settings: ModelSettings, force: bool,
                address: str | None, workers: int | None, quiet: bool) -> list[RecordResult]:
    """``ecgtk run --engine ray``: the results, shown as the local engine's are."""
    from ecgtk.ray_engine import RayEngineError, run_archive_ray
    from ecgtk.run_command import show_run

    def announce(plan: RayPlan) -> None:
        if not quiet:
            console.print(f"{len(sources)} recordings; {plan.describe()}", highlight=False)

    try:
        return show_run(run_archive_ray(sources, out, settings, force=force, address=address,
                                        workers=workers, on_plan=announce),
                        len(sources), console, quiet)
    except RayEngineError as error:
        _fail(f"{error} (finished recordings are written; run again to go on)", code=1)


@app.command()
def detect(
    record: Annotated[Path, typer.Argument(
        help="Recording to analyse: a WFDB header (.hea), EDF (.edf), ISHNE Holter (.ecg) or "
        "NumPy array (.npy, samples x leads in mV).")],
    out: Annotated[Path, typer.Option(
        "--out", "-o", help="Parquet file to write (the beats schema, one row per beat).")],
    fs: Annotated[float | None, typer.Option(
        help="Sampling rate in Hz, for .npy files without a .json sidecar.")] = None,
    chunk_s: Annotated[float, typer.Option(
        help="Seconds of signal read and detected at once (memory stays bounded).",
        min=10.0)] = 600.0,
) -> None:
    """Find every R peak of one recording and write them as a beats table.

    Labels are "N" and probabilities are null: the detector's candidates before any model.
    Example: ecgtk detect data/100.hea --out 100-beats.parquet
    """
    from ecgtk import __version__
    from ecgtk.detect import detect_beats
    from ecgtk.readers import read_recording
    from ecgtk.recording import RecordingError
    from ecgtk.tables import beats_table, write_parquet_atomic

    started = time.perf_counter()
    try:
        recording = read_recording(record, fs=fs)
        beats = detect_beats(recording, chunk_s=chunk_s)
    except RecordingError as error:
        _fail(str(error))
    table = beats_table(recording.record_id, beats, recording.fs)
    write_parquet_atomic(table, out, {"ecgtk_version": __version__, "source": str(record),
                                      "fs": str(recording.fs)})
    seconds = time.perf_counter() - started
    console.print(f"{recording.record_id}: {len(beats)} beats in {recording.duration_s / 3600:.2f}"
                  f" h of {recording.n_leads}-lead ECG at {recording.fs:g} Hz -> {out} "
                  f"({seconds:.1f} s)", highlight=False)


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

    Beats: Se, +P and F1 per record and gross. Ventricular ectopic beats (V, E): Se, +P and F1
    as in ANSI/AAMI EC57. Example: ecgtk eval ecgtk-out --reference /data/mitdb --json s.json
    """
    import warnings

    from ecgtk.scoring import EvaluationError, evaluate, render_table

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = evaluate(output, reference, tolerance_s=tolerance_s,
                              exclude_vf=not include_vf)
        except EvaluationError as error:
            _fail(str(error))
    for warning in caught:
        console.print(f"[yellow]warning:[/] {warning.message}", highlight=False)
    table_console = Console()
    if not table_console.is_terminal:  # piped: rich would assume 80 columns
        table_console = Console(width=max(table_console.width, 110))
    table_console.print(render_table(result))
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(result, indent=2))
        console.print(f"wrote {json_out}")
    if not result["records"]:
        _fail("no record could be scored (no reference annotations matched the output)")


@app.command()
def info() -> None:
    """Show versions, the ONNX Runtime providers this machine offers, and the shipped models."""
    from ecgtk.info import collect_info, render_info

    Console().print(render_info(collect_info()))


def main() -> None:  # pragma: no cover - console-script entry point
    app()


from ecgtk import cli_more  # noqa: E402, F401  (registers explain, report, bench, train, export)
