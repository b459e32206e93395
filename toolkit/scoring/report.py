"""The whole evaluation of an ecgtk output, and its table for the terminal."""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from rich import box
from rich.table import Table

from ecgtk.scoring.af import af_scores, load_af_events, sum_af_scores
from ecgtk.scoring.errors import EvaluationError, SkippedRecordWarning
from ecgtk.scoring.matching import DEFAULT_TOLERANCE_S
from ecgtk.scoring.metrics import score_many, score_record
from ecgtk.scoring.output import load_output
from ecgtk.scoring.reference import load_reference, reference_path

__all__ = ["evaluate", "render_af_table", "render_sveb_table", "render_table"]


def evaluate(
    output_path: str | os.PathLike[str],
    reference_dir: str | os.PathLike[str],
    tolerance_s: float = DEFAULT_TOLERANCE_S,
    exclude_vf: bool = True,
) -> dict:
    """Score an ecgtk output against the reference annotations in ``reference_dir``.

    Records without a reference ``.atr`` (or with one that cannot be read) are skipped with a
    :class:`SkippedRecordWarning` and listed under ``skipped``. Returns a JSON-serialisable
    dict: ``options``, ``records`` (one :func:`score_record` result each, plus ``record_id``
    and ``reference``), ``gross`` (:func:`score_many`) and ``skipped``.

    When the output is an ``ecgtk run`` folder with an ``events/`` sub-folder, every record
    and the gross also get ``af``: the atrial fibrillation duration scores of
    :mod:`ecgtk.scoring.af` (its ``af`` events against the ``(AFIB`` annotations); otherwise
    ``af`` is ``None``.
    """
    ref_root = Path(reference_dir)
    if not ref_root.is_dir():
        raise EvaluationError(f"reference folder not found: {ref_root}")
    outputs = load_output(output_path)
    af_events = load_af_events(output_path) if Path(output_path).is_dir() else None

    scored: list[dict] = []
    skipped: list[dict] = []
    for rid, (samples, labels) in outputs.items():
        atr = reference_path(rid, ref_root)
        if atr is None:
            reason = f"no reference annotations ({rid}.atr) under {ref_root}"
        else:
            try:
                reference = load_reference(atr)
            except EvaluationError as exc:
                reason = str(exc)
            else:
                res = score_record(reference, samples, labels, tolerance_s, exclude_vf)
                res["af"] = None if af_events is None else af_scores(
                    reference, af_events.get(rid, np.zeros((0, 2), np.int64)))
                scored.append({"record_id": rid, "reference": str(atr), **res})
                continue
        warnings.warn(f"{rid}: skipped: {reason}", SkippedRecordWarning, stacklevel=2)
        skipped.append({"record_id": rid, "reason": reason})

    pooled = score_many(scored)
    pooled["gross"]["af"] = None if af_events is None else sum_af_scores(
        r["af"] for r in scored)
    return {
        "options": {
            "output": str(output_path),
            "reference": str(ref_root),
            "tolerance_s": float(tolerance_s),
            "exclude_vf": bool(exclude_vf),
        },
        "records": pooled["records"],
        "gross": pooled["gross"],
        "skipped": skipped,
    }


def _fmt_pct(value: float | None) -> str:
    return "-" if value is None else f"{round(value, 2):.2f}"


#: Ratio columns of the table (percent, two decimals): the score keys, also the headers.
_RATIOS = ("Se", "+P", "F1")


def render_table(result: Mapping) -> Table:
    """A rich table of :func:`evaluate` (or :func:`score_many`) results.

    One row per record and a gross row: reference beats, TP/FN/FP, Se/+P/F1 (percent, two
    decimals); reference V beats and VEB Se/+P/F1 only when some record carries labels.
    Counts are plain digits. With record ids up to 10 characters the table fits 100 columns
    even with 8-digit counts; longer record ids wrap rather than squeezing the numbers.
    """
    records = list(result.get("records", []))
    gross = result.get("gross")
    with_veb = any(r.get("veb") is not None for r in records)
    options = result.get("options", {})

    title = "Beat-by-beat"
    if options:
        vf = "VF/flutter excluded" if options.get("exclude_vf") else "VF/flutter included"
        title += f" ({1000 * options.get('tolerance_s', 0):g} ms window, {vf})"
    # no vertical rules and single spaces of padding: 100 columns hold 8-digit counts
    table = Table(
        title=title, box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True, show_footer=False
    )
    table.add_column("Record", overflow="fold")
    names = ["Ref", "TP", "FN", "FP"] + list(_RATIOS)
    if with_veb:
        names += ["V ref"] + [f"V {key}" for key in _RATIOS]
    for name in names:
        table.add_column(name, justify="right", no_wrap=True)

    def row(name: str, r: Mapping, style: str | None = None) -> None:
        b = r["beats"]
        cells = [name, str(b["TP"] + b["FN"]), str(b["TP"]), str(b["FN"]), str(b["FP"])]
        cells += [_fmt_pct(b[key]) for key in _RATIOS]
        if with_veb:
            v = r.get("veb")
            if v is None:
                cells += ["-"] * (1 + len(_RATIOS))
            else:
                cells += [str(v["TP"] + v["FN"])] + [_fmt_pct(v[key]) for key in _RATIOS]
        table.add_row(*cells, style=style)

    for r in records:
        row(str(r.get("record_id", "?")), r)
    if gross is not None and records:
        table.add_section()
        row(f"gross ({len(records)})", gross, style="bold")
    notes = ["Se, +P, F1 in %"]
    skipped = result.get("skipped") or []
    if skipped:
        notes.append(f"{len(skipped)} record(s) skipped (no usable reference)")
    table.caption = "; ".join(notes)
    return table


def render_sveb_table(result: Mapping) -> Table | None:
    """A rich table of the supraventricular (SVEB, EC57) scores of :func:`evaluate`, or
    ``None`` when no record carries labels: per record and gross, reference S beats, TP, FN,
    FP, Se, +P, F1 (percent, two decimals)."""
    records = [r for r in result.get("records", []) if r.get("sveb") is not None]
    gross = (result.get("gross") or {}).get("sveb")
    if not records:
        return None
    table = Table(title="Supraventricular ectopic beats (SVEB: A a J S)", box=box.SIMPLE_HEAD,
                  pad_edge=False, collapse_padding=True)
    table.add_column("Record", overflow="fold")
    for name in ("S ref", "TP", "FN", "FP", *_RATIOS):
        table.add_column(name, justify="right", no_wrap=True)

    def row(name: str, s: Mapping, style: str | None = None) -> None:
        table.add_row(name, str(s["TP"] + s["FN"]), str(s["TP"]), str(s["FN"]), str(s["FP"]),
                      *(_fmt_pct(s[key]) for key in _RATIOS), style=style)

    for r in records:
        row(str(r.get("record_id", "?")), r["sveb"])
    if gross is not None:
        table.add_section()
        row(f"gross ({len(records)})", gross, style="bold")
    table.caption = "Se, +P, F1 in %"
    return table


def render_af_table(result: Mapping) -> Table | None:
    """A rich table of the AF duration scores of :func:`evaluate`, or ``None`` without them:
    per record and gross, AF seconds annotated, found, missed and false, episodes, Se and +P
    (percent, two decimals)."""
    records = [r for r in result.get("records", []) if r.get("af") is not None]
    gross = (result.get("gross") or {}).get("af")
    if not records:
        return None
    table = Table(title="Atrial fibrillation duration ((AFIB; (AFL left out)",
                  box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    table.add_column("Record", overflow="fold")
    for name in ("Ref s", "Found s", "Missed s", "False s", "Episodes", "Se", "+P"):
        table.add_column(name, justify="right", no_wrap=True)

    def row(name: str, a: Mapping, style: str | None = None) -> None:
        cells = [f"{a[k]:.0f}" for k in ("annotated_s", "found_s", "missed_s", "false_s")]
        table.add_row(name, *cells, str(a["n_episodes"]), _fmt_pct(a["Se"]), _fmt_pct(a["+P"]),
                      style=style)

    for r in records:
        row(str(r.get("record_id", "?")), r["af"])
    if gross is not None:
        table.add_section()
        row(f"gross ({len(records)})", gross, style="bold")
    table.caption = "seconds; Se, +P in %"
    return table
