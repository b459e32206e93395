"""What the person running ``ecgtk run`` sees: progress, one line per recording, a summary."""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from ecgtk.engines.local import RecordResult


def show_run(results: Iterable[RecordResult], total: int, console: Console,
             quiet: bool, done: list[RecordResult] | None = None) -> list[RecordResult]:
    """Consume the runner's results while showing progress; returns them all (gathered in
    ``done`` when given, so that a caller still has them if the run stops with an error)."""
    done = [] if done is None else done
    started = time.perf_counter()
    progress = Progress(
        SpinnerColumn(), TextColumn("[bold]analysing"), BarColumn(), MofNCompleteColumn(),
        TextColumn("recordings"), TextColumn("{task.fields[rate]}"), TimeElapsedColumn(),
        TextColumn("ETA"), TimeRemainingColumn(), console=console, disable=quiet,
    )
    with progress:
        task = progress.add_task("run", total=total, rate="")
        for result in results:
            done.append(result)
            beats = sum(r.n_beats for r in done)
            elapsed = time.perf_counter() - started
            progress.update(task, advance=1, rate=f"{beats / max(elapsed, 1e-9):,.0f} beats/s")
            if result.status == "error":
                console.print(f"[red]error[/] {result.error}", highlight=False)
            elif result.status == "busy" and not quiet:
                console.print(f"[yellow]busy[/]  {result.record_id}: {result.error}",
                              highlight=False)
            elif not quiet and result.status == "ok":
                console.print(
                    f"[green]ok[/]    {result.record_id}: {result.n_beats} beats, "
                    f"{result.n_ventricular} V, {result.n_clusters} templates, "
                    f"{result.seconds:.1f} s", highlight=False)
    return done


def summary_table(results: list[RecordResult], out_dir: Path, seconds: float) -> Table:
    ok = sum(r.status == "ok" for r in results)
    errors = sum(r.status == "error" for r in results)
    skipped = [r for r in results if r.status == "skipped"]
    beats = sum(r.n_beats for r in results)
    table = Table(title="ecgtk run", show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value", justify="right")
    table.add_row("recordings found", str(len(results)))
    table.add_row("analysed, ok", str(ok))
    table.add_row("analysed, failed", f"[red]{errors}[/]" if errors else "0")
    table.add_row("already done (skipped)",
                  f"{len(skipped)} ({sum(r.failed for r in skipped)} of them failed before)")
    busy = sum(r.status == "busy" for r in results)
    if busy:
        table.add_row("being analysed by another run", f"[yellow]{busy}[/] (not analysed here)")
    table.add_row("beats found", f"{beats:,}")
    table.add_row("ventricular beats", f"{sum(r.n_ventricular for r in results):,}")
    table.add_row("wall time", f"{seconds:.1f} s")
    table.add_row("output", str(out_dir))
    return table
