"""``ecgtk report``: one page (PNG or PDF) per recording from an ``ecgtk run`` output folder.

Top to bottom: the Holter summary (:mod:`ecgtk.reports.summary`: heart rate, V and S counts,
couplets, runs, pauses, AF episodes and burden, HRV, analysable time), ECG strips of the events
that matter (:mod:`ecgtk.reports.strips`: longest V run, fastest and slowest rate, longest
pause, AF onset, longest SV run; strips whose event is absent are named, not drawn), the
heart-rate trend (per minute, with the hourly means) and ventricular beats per hour, the
template grid (each cluster's mean beat with its size and label), and a few ventricular beats
coloured by their Grad-CAM heatmaps. Needs matplotlib (the ``plot`` extra). The strips and the
Grad-CAM panel need the source recording where the ``records`` row says it is; without it the
page says so, naming the file, and shows the rest.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from ecgtk.engines.archive import output_name
from ecgtk.inference.models import COARSEN_STEP, BeatModels
from ecgtk.readers import read_recording
from ecgtk.recording import RecordingError
from ecgtk.reports.draw import draw_strip_notes, draw_strips, draw_summary
from ecgtk.reports.explain import choose_beats, windows_for
from ecgtk.reports.strips import STRIP_S, choose_strips, read_strip_signals
from ecgtk.reports.summary import clock, summary_rows

#: Templates and explained ventricular beats drawn per page.
MAX_TEMPLATES = 12
MAX_EXPLAINED = 4


def load_run(out_dir: Path, record_id: str | None = None) -> dict[str, dict]:
    """Per record id: its ``records`` row and ``beats``, ``clusters``, ``events`` columns.

    Only ok records. Each ``records`` file is read on its own, so a row keeps the columns its
    file has (an older output lacks newer columns; the page says "not available").
    """
    found = {}
    for file in sorted((out_dir / "records").glob("*.parquet")):
        if file.name.startswith((".", "_")):
            continue
        for row in pq.read_table(file).to_pylist():
            if row.get("status") != "ok" or (record_id is not None
                                            and row["record_id"] != record_id):
                continue
            name = output_name(row["record_id"])
            found[row["record_id"]] = {
                "record": row,
                "beats": _columns(out_dir / "beats" / name),
                "clusters": _columns(out_dir / "clusters" / name),
                "events": _columns(out_dir / "events" / name),
            }
    return found


def _columns(path: Path) -> dict[str, list]:
    """A table's columns, or {} when its file is missing."""
    return pq.read_table(path).to_pydict() if path.is_file() else {}


def minute_heart_rate(samples: np.ndarray, labels: np.ndarray, fs: float,
                      duration_s: float) -> tuple[np.ndarray, np.ndarray]:
    """(minute start in hours, beats/min) from RR intervals of consecutive non-artefact beats."""
    t = samples[labels != "artefact"] / fs
    n_minutes = max(1, int(np.ceil(duration_s / 60)))
    rate = np.full(n_minutes, np.nan)
    if len(t) > 1:
        rr = np.diff(t)
        minute = (t[1:] // 60).astype(int).clip(0, n_minutes - 1)
        ok = (rr > 0.2) & (rr < 3.0)
        sums = np.bincount(minute[ok], weights=rr[ok], minlength=n_minutes)
        counts = np.bincount(minute[ok], minlength=n_minutes)
        has = counts >= 10
        rate[has] = 60.0 * counts[has] / sums[has]
    return np.arange(n_minutes) / 60.0, rate


def draw_page(run: dict, models: BeatModels | None, heatmapper, path: Path,
              strip_s: float = STRIP_S) -> Path:
    """Draw one recording's page to ``path`` (PNG or PDF by its suffix).

    Parameters
    ----------
    run : one value of :func:`load_run` (``record``, ``beats``, ``clusters``, ``events``).
    models, heatmapper : for the Grad-CAM panel; None leaves it out (the page says so).
    path : the file to write; ``.pdf`` writes a PDF, anything else a PNG.
    strip_s : length of each ECG strip, s.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    record, beats, clusters = run["record"], run["beats"], run["clusters"]
    events = run.get("events") or {}
    fs = record["fs"]
    samples = np.asarray(beats.get("sample", []), dtype=np.int64)
    labels = np.asarray(beats.get("label", []), dtype=object)
    if "time_s" not in beats:
        beats = {**beats, "time_s": samples / fs}
    strips = choose_strips(events, beats, record, strip_s)
    signals = read_strip_signals(record, [s for s in strips if s.found])
    n_strips = len(signals.signals)
    heights = [2.8, *([1.8] * n_strips), 0.5, 2.4, 1.3, 1.3, 1.6]
    fig = plt.figure(figsize=(12, sum(heights) + 0.6))
    grid = fig.add_gridspec(len(heights), 6, height_ratios=heights)
    draw_summary(fig.add_subplot(grid[0, :]), summary_rows(record, events))
    draw_strips(fig, [grid[1 + i, :] for i in range(n_strips)], strips, signals, beats)
    draw_strip_notes(fig.add_subplot(grid[1 + n_strips, :]), strips, signals)
    rest = 2 + n_strips
    _trend(fig.add_subplot(grid[rest, :]), record, samples, labels, fs)
    _templates(fig, grid, clusters, rest + 1)
    _explained(fig, grid[rest + 3, :], grid, rest + 3, record, samples, labels, beats, models,
               heatmapper, signals.error)
    fig.suptitle(f"{record['record_id']}: Holter summary — {record.get('n_beats')} beats, "
                 f"{clock(record.get('duration_s'))} recorded\n{record.get('path') or ''}",
                 fontsize=12)
    fig.tight_layout()
    fig.savefig(path, dpi=100, format="pdf" if Path(path).suffix.lower() == ".pdf" else "png")
    plt.close(fig)
    return path


def _trend(axis, record, samples, labels, fs) -> None:
    hours, rate = minute_heart_rate(samples, labels, fs, record["duration_s"])
    axis.plot(hours, rate, color="tab:blue", linewidth=0.8, label="per minute")
    hourly = np.asarray(record.get("hr_hourly_bpm") or [], dtype=float)
    if len(hourly):
        axis.step(np.arange(len(hourly) + 1), np.append(hourly, hourly[-1]), where="post",
                  color="navy", linewidth=2, label="hourly mean")
    axis.set_xlabel("hours from start")
    axis.set_ylabel("heart rate (beats/min)")
    hours_long = record["duration_s"] / 3600
    bin_h, unit = (1.0, "hour") if hours_long >= 2 else (1 / 60, "minute")
    n_bins = max(1, int(np.ceil(hours_long / bin_h)))
    v_bins = (samples[labels == "V"] / fs / 3600 / bin_h).astype(int).clip(0, n_bins - 1)
    bars = axis.twinx()
    bars.bar((np.arange(n_bins) + 0.5) * bin_h, np.bincount(v_bins, minlength=n_bins),
             width=0.9 * bin_h, alpha=0.25, color="tab:red")
    bars.set_ylabel(f"V beats per {unit}", color="tab:red")
    axis.set_xlim(0, n_bins * bin_h)
    axis.legend(loc="upper left", fontsize=8)


def _templates(fig, grid, clusters, first_row: int) -> None:
    n = min(len(clusters.get("cluster", [])), MAX_TEMPLATES)
    for k in range(n):
        axis = fig.add_subplot(grid[first_row + k // 6, k % 6])
        template = np.asarray(clusters["template"][k])
        length = len(template) // max(1, len(template) // 60)
        axis.plot(np.arange(length) * COARSEN_STEP, template[:length],
                  color="tab:red" if clusters["label"][k] == "V" else "black")
        axis.set_title(f"#{k} {clusters['label'][k]} n={clusters['n_beats'][k]}", fontsize=8)
        axis.set_xticks([])
        axis.set_yticks([])


def _explained(fig, cell, grid, row, record, samples, labels, beats, models, heatmapper,
               source_error: str | None) -> None:
    rows = choose_beats(labels, "V", MAX_EXPLAINED)
    why = ("no ventricular beats to explain" if not len(rows) else
           f"Grad-CAM unavailable: {source_error}" if source_error else
           "Grad-CAM unavailable (models missing)" if models is None or heatmapper is None
           else None)
    if why is None:
        try:
            recording = read_recording(Path(record["path"]), record_id=record["record_id"])
            windows = windows_for(recording, models, samples[rows], samples)
            heat = heatmapper(windows)
        except (RecordingError, OSError, ValueError) as error:
            why = f"Grad-CAM unavailable: {error}"
    if why is not None:
        axis = fig.add_subplot(cell)
        axis.axis("off")
        axis.text(0.5, 0.5, why, ha="center", fontsize=9)
        return
    width = 6 // MAX_EXPLAINED if MAX_EXPLAINED <= 6 else 1
    for i in range(len(rows)):
        axis = fig.add_subplot(grid[row, i * width:(i + 1) * width])
        t = np.arange(windows.shape[1])
        axis.scatter(t, windows[i, :, 0], c=heat[i], cmap="inferno_r", s=4, vmin=0, vmax=1)
        axis.set_title(f"V at {clock(samples[rows[i]] / record['fs'])} "
                       f"(p_V {beats['p_ventricular'][rows[i]]:.2f})", fontsize=8)
        axis.set_xticks([])
