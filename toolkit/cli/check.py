"""``ecgtk check``: is an output folder whole? Damaged recordings and orphan files, no analysis."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ecgtk.cli.app import app, console, fail


@app.command()
def check(
    out: Annotated[Path, typer.Argument(help="Output folder of 'ecgtk run' (its --out).")],
    deep: Annotated[bool, typer.Option(
        "--deep", help="Read every file whole, not only its footer (slower: catches damage "
        "inside a file whose footer is intact).")] = False,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print the report as JSON on stdout.")] = False,
) -> None:
    """Check an output folder without analysing anything: damaged recordings (a file missing,
    unreadable, or disagreeing with the records row) and orphans (files without a records
    row, temporaries of a killed run). 'ecgtk run' redoes damaged recordings.

    Exit code: 0 when the folder is whole, 2 when problems were found, 1 when OUT is not an
    output folder.
    """
    from rich.markup import escape

    from ecgtk.engines.outputs import check_folder

    if not (out / "records").is_dir():
        fail(f"{out}: not an output folder of 'ecgtk run' (no records/ in it)", code=1)
    report = check_folder(out, deep=deep)
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
    else:
        for damaged in report.damaged:
            console.print(f"[red]damaged[/] {escape(str(damaged['record_id']))}: "
                          f"{escape('; '.join(damaged['problems']))}", highlight=False,
                          soft_wrap=True)
        for orphan in report.orphans:
            console.print(f"[yellow]orphan[/]  {escape(orphan['path'])}: {orphan['why']}",
                          highlight=False, soft_wrap=True)
        console.print(f"{out}: {report.recordings} recordings ({report.ok} ok, {report.failed} "
                      f"failed), {len(report.damaged)} damaged, {len(report.orphans)} orphan "
                      f"file(s)" + ("" if report.clean else "; 'ecgtk run' with the same "
                                    "archive redoes the damaged ones"), highlight=False,
                  soft_wrap=True)
    if not report.clean:
        raise typer.Exit(2)
