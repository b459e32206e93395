"""Drawing the first part of a report page: the Holter summary and the ECG strips.

Matplotlib only, no decisions: what to show comes from :mod:`ecgtk.reports.summary` and
:mod:`ecgtk.reports.strips`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

import numpy as np

from ecgtk.reports.strips import Strip, StripSignals, format_time
from ecgtk.reports.summary import SummaryRow, clock, sections

#: Summary sections per column of the page, left to right.
SUMMARY_COLUMNS = (("Recording", "Heart rate"), ("Ventricular",),
                   ("Supraventricular", "Pauses"), ("Atrial fibrillation", "HRV"))
#: Colour of each beat label drawn above a strip.
LABEL_COLOURS = {"N": "black", "V": "tab:red", "S": "tab:blue", "artefact": "0.6"}
#: ECG-paper grid: small and large squares, s and mV.
GRID_S, GRID_MV = (0.04, 0.2), (0.1, 0.5)


def draw_summary(axis, rows: Sequence[SummaryRow]) -> None:
    """The summary as labelled values, sections in columns."""
    axis.axis("off")
    grouped = sections(rows)
    width = 1.0 / len(SUMMARY_COLUMNS)
    step = 1.0 / 10
    for c, names in enumerate(SUMMARY_COLUMNS):
        x, y = c * width, 1.0
        for name in names:
            axis.text(x, y, name, fontsize=10, fontweight="bold", va="top",
                      transform=axis.transAxes)
            y -= step
            for row in grouped.get(name, []):
                axis.text(x + 0.005, y, row.label, fontsize=8.5, va="top",
                          transform=axis.transAxes)
                axis.text(x + width - 0.015, y, row.value, fontsize=8.5, va="top", ha="right",
                          fontweight="bold", transform=axis.transAxes)
                y -= step
            y -= step / 2


def draw_strip(axis, strip: Strip, times: np.ndarray, data: np.ndarray, lead_name: str,
               beats: Mapping[str, Sequence], start_time: datetime | None) -> None:
    """One strip: lead-0 trace on an ECG-paper grid, beat labels above, the event shaded."""
    from matplotlib.ticker import FuncFormatter, MultipleLocator

    trace = data[:, 0] if data.ndim == 2 and data.shape[1] else np.zeros(len(times))
    axis.plot(times, trace, color="black", linewidth=0.7)
    finite = trace[np.isfinite(trace)]
    low, high = (np.percentile(finite, [0.5, 99.5]) if len(finite) else (-1.0, 1.0))
    span = max(2.5, high - low + 1.0)
    centre = (low + high) / 2 + 0.2  # room above for the labels
    axis.set_ylim(centre - span / 2, centre + span / 2)
    axis.set_xlim(strip.start_s, strip.stop_s)
    axis.xaxis.set_minor_locator(MultipleLocator(GRID_S[0]))
    axis.xaxis.set_major_locator(MultipleLocator(GRID_S[1]))
    axis.yaxis.set_minor_locator(MultipleLocator(GRID_MV[0]))
    axis.yaxis.set_major_locator(MultipleLocator(GRID_MV[1]))
    axis.xaxis.set_major_formatter(FuncFormatter(
        lambda x, _: clock(x) if abs(x - round(x)) < 1e-6 and round(x) % 2 == 0 else ""))
    axis.yaxis.set_major_formatter(FuncFormatter(
        lambda y, _: f"{y:g}" if abs(y - round(y)) < 1e-6 else ""))
    axis.grid(which="minor", color="#f6c8c8", linewidth=0.3)
    axis.grid(which="major", color="#e88f8f", linewidth=0.6)
    axis.tick_params(which="both", length=0, labelsize=7)
    axis.set_ylabel(f"{lead_name}\nmV", fontsize=7)
    if strip.event_start_s is not None:
        axis.axvspan(strip.event_start_s - 0.15, (strip.event_end_s or strip.event_start_s) + 0.15,
                     color="gold", alpha=0.25, linewidth=0)
    labels = np.asarray(beats.get("label", []), dtype=object)
    beat_t = np.asarray(beats.get("time_s", []), dtype=float)
    inside = (beat_t >= strip.start_s) & (beat_t <= strip.stop_s)
    marks = axis.get_xaxis_transform()
    for t, label in zip(beat_t[inside], labels[inside], strict=True):
        axis.text(t, 0.97, "x" if label == "artefact" else label, transform=marks, ha="center",
                  va="top", fontsize=7, color=LABEL_COLOURS.get(label, "black"),
                  fontweight="bold" if label == "V" else "normal")
    axis.set_title(f"{strip.title} — at {format_time(strip.at_s, start_time)}", fontsize=9,
                   loc="left")


def draw_strip_notes(axis, strips: Sequence[Strip], signals: StripSignals) -> None:
    """One text line: strips not shown, and why (no such event, or no signal)."""
    axis.axis("off")
    lines = []
    if signals.error is not None and any(s.found for s in strips):
        lines.append(f"ECG strips unavailable: {signals.error}")
    missing = [f"{s.title}: {s.note}" for s in strips if not s.found]
    if missing:
        lines.append("Not shown — " + "; ".join(missing) + ".")
    if not lines:
        lines.append("Shaded: the event. Above the trace: beat labels (x = artefact).")
    axis.text(0.0, 0.5, "\n".join(lines), fontsize=8.5, va="center", transform=axis.transAxes,
              wrap=True, color="darkred" if signals.error else "black")


def draw_strips(fig, cells: Sequence, strips: Sequence[Strip], signals: StripSignals,
                beats: Mapping[str, Sequence]) -> None:
    """Each found strip with a signal into its grid cell, in order."""
    lead = signals.lead_names[0] if signals.lead_names else "lead 1"
    shown = [s for s in strips if s.found and s.name in signals.signals]
    for cell, strip in zip(cells, shown, strict=False):
        times, data = signals.signals[strip.name]
        draw_strip(fig.add_subplot(cell), strip, times, data, lead, beats, signals.start_time)
