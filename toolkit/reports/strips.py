"""Which ECG strips a report page shows, and their signal: pure choice, then a small read.

:func:`choose_strips` picks, from one recording's ``events`` and ``beats`` columns, the
stretches a cardiologist looks at first: the longest V run, the fastest and the slowest
heart rate, the longest pause, the onset of the longest atrial fibrillation episode and, when
the output has them, the longest supraventricular run. Each is a :class:`Strip` of
``length_s`` seconds (10 by default) with the event centred (an event longer than the strip,
and an AF onset, are shown from just before their onset). A strip whose event the recording
does not have comes back with ``found`` false and a note saying so.

:func:`read_strip_signals` then reads only those seconds from the recording's source file
(through :func:`ecgtk.readers.read_recording`); a missing or unreadable file gives an error
message naming it, never an exception.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from ecgtk.reports.summary import clock

#: Default strip length, s.
STRIP_S = 10.0
#: An event longer than the strip (and an AF onset) is shown from this long before it, s.
LEAD_IN_S = 2.0
#: Event kinds of a ventricular run.
V_RUN_KINDS = ("v_run", "vt")
#: Event kind of a supraventricular run (written by outputs that have the S columns).
SV_RUN_KIND = "sv_run"


@dataclass(frozen=True)
class Strip:
    """One ECG strip of the page (times in s from the start of the recording).

    ``start_s``/``stop_s`` bound the strip; ``event_start_s``/``event_end_s`` the event in it
    (shaded on the page); ``at_s`` is the time its title gives. When ``found`` is false the
    recording has no such event, ``note`` says why and the times are None.
    """

    name: str
    title: str
    start_s: float | None = None
    stop_s: float | None = None
    event_start_s: float | None = None
    event_end_s: float | None = None
    at_s: float | None = None
    note: str = ""

    @property
    def found(self) -> bool:
        return self.start_s is not None


def format_time(seconds: float, start_time: datetime | None = None) -> str:
    """``hh:mm:ss`` from the start, plus the time of day when the recording's start is known."""
    elapsed = clock(seconds)
    if start_time is None:
        return f"{elapsed} from start"
    return f"{(start_time + timedelta(seconds=float(seconds))):%H:%M:%S} ({elapsed} from start)"


def _window(start: float, end: float, length_s: float, duration_s: float,
            onset: bool = False) -> tuple[float, float]:
    """The strip around an event: centred, or from ``LEAD_IN_S`` before a long event's onset."""
    if onset:
        low = start - length_s / 2
    elif end - start > length_s - 2 * LEAD_IN_S:
        low = start - LEAD_IN_S
    else:
        low = (start + end) / 2 - length_s / 2
    if duration_s > 0:
        low = min(low, duration_s - length_s)
    low = max(0.0, low)
    high = low + length_s if duration_s <= 0 else min(low + length_s, duration_s)
    return float(low), float(high)


def _columns(table: Any) -> Mapping[str, Sequence]:
    """Columns of a pyarrow Table or a mapping of column -> values; {} for None."""
    if table is None:
        return {}
    return table.to_pydict() if hasattr(table, "to_pydict") else table


def beat_times(beats: Mapping[str, Sequence], fs: float) -> tuple[np.ndarray, np.ndarray,
                                                                   np.ndarray]:
    """(times s, labels, clean) of the beats (N and V; artefacts dropped), in time order.

    ``clean[i]`` says the interval from beat ``i`` to ``i + 1`` holds no artefact candidate.
    """
    labels = np.asarray(beats.get("label", []), dtype=object)
    if "time_s" in beats:
        times = np.asarray(beats["time_s"], dtype=float)
    else:
        times = np.asarray(beats.get("sample", []), dtype=float) / fs
    order = np.argsort(times, kind="stable")
    times, labels = times[order], labels[order]
    position = np.flatnonzero(labels != "artefact")
    clean = np.diff(position) == 1
    return times[position], labels[position], clean


def _extreme_rates(times: np.ndarray, clean: np.ndarray,
                   length_s: float) -> tuple[tuple[int, int, float], tuple[int, int, float]] | None:
    """(first beat, last beat, rate) of the fastest and the slowest ``length_s`` stretch of
    clean intervals; None when there is none."""
    if len(times) < 3:
        return None
    rr = np.diff(times)
    clean_sum = np.concatenate([[0], np.cumsum(np.where(clean, rr, 0.0))])
    clean_count = np.concatenate([[0], np.cumsum(clean)])
    first = np.arange(len(times))
    last = np.searchsorted(times, times + length_s, side="right") - 1
    n = last - first
    covered = clean_sum[last] - clean_sum[first]
    ok = (n >= 2) & (clean_count[last] - clean_count[first] == n) & (covered >= 0.6 * length_s)
    if not ok.any():
        return None
    rate = np.where(ok, 60.0 * n / np.where(covered > 0, covered, 1.0), np.nan)
    fast, slow = int(np.nanargmax(rate)), int(np.nanargmin(rate))
    return ((fast, int(last[fast]), float(rate[fast])),
            (slow, int(last[slow]), float(rate[slow])))


def _longest_v_sequence(labels: np.ndarray, clean: np.ndarray) -> tuple[int, int] | None:
    """(first, last) beat of the longest stretch of adjacent V beats; None without V."""
    is_v = labels == "V"
    if not is_v.any():
        return None
    joined = np.concatenate([[False], is_v[1:] & is_v[:-1] & clean])  # V after an adjacent V
    starts = np.flatnonzero(is_v & ~joined)
    ends = np.flatnonzero(is_v & ~np.append(joined[1:], False))
    lengths = ends - starts + 1
    best = int(np.argmax(lengths))
    return int(starts[best]), int(ends[best])


def _pick(events: Mapping[str, Sequence], kinds: Sequence[str], key) -> int | None:
    rows = [i for i, kind in enumerate(events.get("kind", [])) if kind in kinds]
    return max(rows, key=key) if rows else None


def choose_strips(events: Any, beats: Any, record: Mapping[str, Any],
                  length_s: float = STRIP_S) -> list[Strip]:
    """The page's strips, found or not, in page order.

    Parameters
    ----------
    events, beats : the recording's ``events`` and ``beats`` (pyarrow Tables or mappings of
        column -> values; ``beats`` needs ``label`` and ``time_s`` or ``sample``).
    record : its ``records`` row (``fs``, ``duration_s``; the S columns when present).
    length_s : strip length, s.

    Returns
    -------
    list of Strip: longest V run, fastest rate, slowest rate, longest pause, AF onset,
    longest SV run.
    """
    events, beats = _columns(events), _columns(beats)
    fs = float(record.get("fs") or 1.0)
    duration = float(record.get("duration_s") or 0.0)
    times, labels, clean = beat_times(beats, fs)
    strips: list[Strip] = []

    def event_strip(name: str, title: str, row: int, onset: bool = False) -> Strip:
        start, end = float(events["start_s"][row]), float(events["end_s"][row])
        low, high = _window(start, end, length_s, duration, onset)
        return Strip(name, title, low, high, start, end, start)

    def length(row: int) -> float:
        return float(events["end_s"][row]) - float(events["start_s"][row])

    def rate_text(row: int) -> str:
        rate = events.get("rate_bpm", [None] * (row + 1))[row]
        return "" if rate is None or not np.isfinite(rate) else f", {rate:.0f} beats/min"

    row = _pick(events, V_RUN_KINDS, lambda i: (events["n_beats"][i], length(i)))
    if row is not None:
        kind = "VT" if events["kind"][row] == "vt" else "V run"
        strips.append(event_strip("longest_v_run", f"Longest V run ({kind}): "
                                  f"{events['n_beats'][row]} beats{rate_text(row)}", row))
    elif (found := _longest_v_sequence(labels, clean)) is not None:
        first, last = found
        n = last - first + 1
        what = "couplet" if n == 2 else "isolated V beat" if n == 1 else f"{n} V beats"
        low, high = _window(times[first], times[last], length_s, duration)
        strips.append(Strip("longest_v_run", f"Longest V sequence: {what} (no V run of 3 or "
                            "more)", low, high, float(times[first]), float(times[last]),
                            float(times[first])))
    else:
        strips.append(Strip("longest_v_run", "Longest V run", note="no ventricular beat"))

    extremes = _extreme_rates(times, clean, length_s)
    for which, name, title in ((0, "fastest_rate", "Fastest rate"),
                               (1, "slowest_rate", "Slowest rate")):
        if extremes is None:
            strips.append(Strip(name, title, note=f"no {length_s:g}-s stretch free of noise"))
            continue
        first, last, rate = extremes[which]
        low, high = _window(times[first], times[last], length_s, duration)
        strips.append(Strip(name, f"{title}: {rate:.0f} beats/min over {length_s:g} s",
                            low, high, None, None, float(times[first])))

    row = _pick(events, ("pause",), length)
    if row is not None:
        strips.append(event_strip("longest_pause", f"Longest pause: {length(row):.2f} s", row))
    else:
        strips.append(Strip("longest_pause", "Longest pause", note="no pause (RR > 2.0 s)"))

    row = _pick(events, ("af",), length)
    if row is not None:
        strips.append(event_strip("af_onset", f"AF onset: episode of {clock(length(row))}"
                                  f"{rate_text(row)}", row, onset=True))
    else:
        strips.append(Strip("af_onset", "AF onset", note="no atrial fibrillation episode"))

    row = _pick(events, (SV_RUN_KIND,), lambda i: (events["n_beats"][i], length(i)))
    if row is not None:
        strips.append(event_strip("longest_sv_run", f"Longest SV run: {events['n_beats'][row]} "
                                  f"beats{rate_text(row)}", row))
    else:
        has_sv = "n_sv_runs" in record
        strips.append(Strip("longest_sv_run", "Longest SV run",
                            note="no SV run" if has_sv else
                            "not available (this output has no supraventricular columns)"))
    return strips


@dataclass
class StripSignals:
    """The strips' samples: per strip name, (times s, float32 (n, leads) mV)."""

    signals: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    lead_names: tuple[str, ...] = ()
    start_time: datetime | None = None
    error: str | None = None


def read_strip_signals(record: Mapping[str, Any], strips: Sequence[Strip]) -> StripSignals:
    """Read the found strips' seconds from the source file the ``records`` row names.

    Returns a :class:`StripSignals` whose ``error`` names the file and the problem when it is
    missing or unreadable (then no signal).
    """
    from ecgtk.readers import read_recording
    from ecgtk.recording import RecordingError

    path = record.get("path")
    if not path:
        return StripSignals(error="the records row names no source file")
    try:
        recording = read_recording(Path(path), record_id=record.get("record_id"))
        out = StripSignals(lead_names=recording.lead_names, start_time=recording.start_time)
        fs = recording.fs
        for strip in strips:
            if not strip.found:
                continue
            start = int(np.floor(strip.start_s * fs))
            data = recording.read(start, int(np.ceil(strip.stop_s * fs)))
            out.signals[strip.name] = ((start + np.arange(len(data))) / fs, data)
    except (RecordingError, OSError, ValueError) as error:
        text = str(error)
        return StripSignals(error=text if str(path) in text else f"{path}: {text}")
    return out
