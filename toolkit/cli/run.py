"""``ecgtk run``: analyse every recording of an archive into Parquet tables."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ecgtk.cli.app import ModelsDir, app, check_device, console, fail

if TYPE_CHECKING:
    from ecgtk.engines.ray_engine import RayPlan


@app.command()
def run(
    archive: Annotated[Path | None, typer.Argument(
        help="Folder of recordings (searched recursively for .hea, .edf, .ecg, .npy) or a text "
        "file listing one recording per line. Default: the sample archive shipped with ecgtk.",
        show_default=False)] = None,
    out: Annotated[Path, typer.Option(
        "--out", "-o", help="Output folder: beats/, clusters/, events/ and records/ Parquet "
        "datasets, one file per recording.")] = Path("ecgtk-out"),
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

    Re-running skips recordings already done whose source is unchanged (size and mtime) and
    whose four files open and agree (damaged ones are redone; 'ecgtk check OUT' lists them).
    A recording whose worker process dies (out of memory, a crash) gets an error row and the
    others go on. Recordings that another run on the same --out is analysing are left to it.
    Exit code: 0 when every recording is ok, 2 when any failed (all others are still analysed),
    3 when the output disk is full (finished recordings are kept: run again once there is
    space), 1 on a usage error. Example: ecgtk run /archive/2026 --out /results/2026 --workers 8;
    on a Ray cluster: ecgtk run /shared/archive --out /shared/out --engine ray --address auto
    """
    from ecgtk.api import ArchiveError, ModelError
    from ecgtk.cli.progress import show_run, summary_table
    from ecgtk.engines.archive_run import plan_archive_run
    from ecgtk.engines.outputs import OutputFull
    from ecgtk.engines.ray_engine import RayEngineError, RayUnavailable

    check_device(device)
    try:
        plan = plan_archive_run(archive, out, glob=glob, workers=workers, device=device,
                                gpu_mem_gb=gpu_mem_gb, gpu_workers=gpu_workers,
                                batch_size=batch_size, lanes=lanes,
                                review_threshold=review_threshold, models=models, force=force,
                                engine=engine, address=address)
    except (ValueError, ArchiveError, ModelError, RayUnavailable) as error:
        fail(str(error), code=1)
    started = time.perf_counter()

    def announce(ray_plan: RayPlan) -> None:
        if not quiet:
            console.print(f"{len(plan.sources)} recordings; {ray_plan.describe()}",
                          highlight=False)

    if not quiet and engine == "local":
        console.print(f"{len(plan.sources)} recordings, {plan.workers} worker(s), models on "
                      f"{', '.join(plan.providers)}", highlight=False)
    results: list = []
    try:
        show_run(plan.results(on_plan=announce), len(plan.sources), console, quiet, results)
    except RayEngineError as error:
        fail(f"{error} (finished recordings are written; run again to go on)", code=1)
    except OutputFull as error:
        written = sum(r.status in ("ok", "error") for r in results)
        fail(f"{error}: stopped after writing {written} recording(s) in this run "
             f"({len(list((out / 'records').glob('*.parquet')))} done in {out} in all); free "
             "some space and run again: it resumes with the recordings not yet done", code=3)
    if not quiet:
        console.print(summary_table(results, out, time.perf_counter() - started))
    busy = sum(r.status == "busy" for r in results)
    if busy and quiet:
        console.print(f"{busy} recording(s) were being analysed by another run on {out}: "
                      "left to it", highlight=False)
    if any(r.failed for r in results):
        raise typer.Exit(2)
