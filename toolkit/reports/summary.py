"""The Holter summary that opens a report page: the figures of one ``records`` row, as text.

Pure functions, no plotting: :func:`summary_rows` turns a ``records`` row (a mapping of column
to value, as ``pyarrow.Table.to_pylist`` gives it) and the recording's ``events`` columns into
:class:`SummaryRow` s, grouped in sections, each value formatted with its unit. A value that is
null or NaN reads ``—``; a column the row does not have (an output written before the column
existed, such as the supraventricular counts) reads ``not available``. Nothing here raises on a
missing or empty value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

#: What a null or NaN value reads.
MISSING = "—"
#: What a column the row does not have reads.
NOT_AVAILABLE = "not available"


@dataclass(frozen=True)
class SummaryRow:
    """One line of the summary: its section, what it is, and the value as text."""

    section: str
    label: str
    value: str


def clock(seconds: float | None) -> str:
    """``seconds`` as ``hh:mm:ss`` (hours may exceed 24); ``—`` for null or NaN."""
    if seconds is None or not math.isfinite(seconds):
        return MISSING
    total = int(round(seconds))
    return f"{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def _value(record: Mapping[str, Any], column: str, fmt: str = "{:d}", scale: float = 1.0,
           unit: str = "") -> str:
    """``record[column]`` formatted, ``—`` when null/NaN, ``not available`` when absent."""
    if column not in record:
        return NOT_AVAILABLE
    value = record[column]
    if not _present(value):
        return MISSING
    if fmt == "{:d}":
        return f"{int(value):d}{unit}"
    return fmt.format(float(value) * scale) + unit


def _events_of(events: Mapping[str, Sequence] | None, kinds: Sequence[str]) -> list[int]:
    """Row indices of the events of ``kinds``."""
    if not events or "kind" not in events:
        return []
    return [i for i, kind in enumerate(events["kind"]) if kind in kinds]


def _longest_duration(events: Mapping[str, Sequence] | None, kinds: Sequence[str]) -> str:
    rows = _events_of(events, kinds)
    if not rows:
        return MISSING
    longest = max(events["end_s"][i] - events["start_s"][i] for i in rows)
    return clock(longest)


def _fastest_rate(events: Mapping[str, Sequence] | None, kinds: Sequence[str]) -> str:
    rates = [events["rate_bpm"][i] for i in _events_of(events, kinds)]
    rates = [r for r in rates if _present(r)]
    return f"{max(rates):.0f} beats/min" if rates else MISSING


def analysable_s(record: Mapping[str, Any]) -> float | None:
    """Analysable time, s: ``duration_s * (1 - artefact_share)``; None when unknown."""
    duration, share = record.get("duration_s"), record.get("artefact_share")
    if not _present(duration):
        return None
    if not _present(share):
        return None if "artefact_share" in record else float(duration)
    return float(duration) * (1.0 - float(share))


def summary_rows(record: Mapping[str, Any],
                 events: Mapping[str, Sequence] | None = None) -> list[SummaryRow]:
    """The summary lines of one recording, in the order a Holter report gives them.

    Parameters
    ----------
    record : one ``records`` row (column -> value); columns may be missing.
    events : the recording's ``events`` columns (column -> list), or None.

    Returns
    -------
    list of SummaryRow, sections: recording, heart rate, ventricular, supraventricular,
    pauses, atrial fibrillation, heart-rate variability.
    """
    rows: list[SummaryRow] = []

    def add(section: str, label: str, value: str) -> None:
        rows.append(SummaryRow(section, label, value))

    duration = record.get("duration_s")
    analysable = analysable_s(record)
    share = (f" ({100 * analysable / duration:.0f} %)"
             if analysable is not None and _present(duration) and duration > 0 else "")
    add("Recording", "duration (hh:mm:ss)", clock(duration))
    add("Recording", "analysable time", clock(analysable) + share)
    add("Recording", "beats (N + S + V)", _value(record, "n_beats"))
    add("Recording", "beats marked for review", _value(record, "n_review"))

    add("Heart rate", "minimum (1-min)", _value(record, "hr_min_bpm", "{:.0f}", unit=" beats/min"))
    add("Heart rate", "mean", _value(record, "hr_mean_bpm", "{:.0f}", unit=" beats/min"))
    add("Heart rate", "maximum (1-min)", _value(record, "hr_max_bpm", "{:.0f}", unit=" beats/min"))

    add("Ventricular", "V beats", _value(record, "n_ventricular"))
    add("Ventricular", "isolated", _value(record, "n_v_isolated"))
    add("Ventricular", "couplets", _value(record, "n_v_couplets"))
    add("Ventricular", "runs (>= 3 beats)", _value(record, "n_v_runs"))
    add("Ventricular", "of which VT (>= 100/min)", _value(record, "n_vt_runs"))
    add("Ventricular", "longest run", _value(record, "longest_v_run_beats", unit=" beats"))
    add("Ventricular", "fastest run", _fastest_rate(events, ("v_run", "vt")))
    add("Ventricular", "bigeminy / trigeminy episodes",
        f"{_value(record, 'n_bigeminy_episodes')} / {_value(record, 'n_trigeminy_episodes')}")

    add("Supraventricular", "S beats", _value(record, "n_supraventricular"))
    add("Supraventricular", "couplets", _value(record, "n_sv_couplets"))
    add("Supraventricular", "runs", _value(record, "n_sv_runs"))
    add("Supraventricular", "longest run", _value(record, "longest_sv_run_beats", unit=" beats"))

    add("Pauses", "pauses (RR > 2.0 s)", _value(record, "n_pauses"))
    add("Pauses", "longest RR", _value(record, "longest_rr_s", "{:.2f}", unit=" s"))

    add("Atrial fibrillation", "episodes", _value(record, "n_af_episodes"))
    add("Atrial fibrillation", "burden", _value(record, "af_burden", "{:.1f}", 100.0, " %"))
    add("Atrial fibrillation", "longest episode", _longest_duration(events, ("af",)))

    add("HRV", "SDNN", _value(record, "sdnn_ms", "{:.0f}", unit=" ms"))
    add("HRV", "RMSSD", _value(record, "rmssd_ms", "{:.0f}", unit=" ms"))
    return rows


def sections(rows: Sequence[SummaryRow]) -> dict[str, list[SummaryRow]]:
    """``rows`` grouped by section, in their order."""
    grouped: dict[str, list[SummaryRow]] = {}
    for row in rows:
        grouped.setdefault(row.section, []).append(row)
    return grouped
