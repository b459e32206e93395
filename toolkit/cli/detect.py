"""``ecgtk detect``: the R peaks of one recording (the detector alone), as a beats table."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from ecgtk.cli.app import app, console, fail


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
    from ecgtk.api import detect_beats, read
    from ecgtk.recording import RecordingError
    from ecgtk.tables import beats_table, write_parquet_atomic

    started = time.perf_counter()
    try:
        recording = read(record, fs=fs)
        beats = detect_beats(recording, chunk_s=chunk_s)
    except RecordingError as error:
        fail(str(error))
    table = beats_table(recording.record_id, beats, recording.fs)
    write_parquet_atomic(table, out, {"ecgtk_version": __version__, "source": str(record),
                                      "fs": str(recording.fs)})
    seconds = time.perf_counter() - started
    console.print(f"{recording.record_id}: {len(beats)} beats in {recording.duration_s / 3600:.2f}"
                  f" h of {recording.n_leads}-lead ECG at {recording.fs:g} Hz -> {out} "
                  f"({seconds:.1f} s)", highlight=False)
