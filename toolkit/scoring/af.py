"""Atrial fibrillation duration scores: AF seconds found against the ``(AFIB`` annotations.

The reference AF is the union of a record's ``(AFIB`` rhythm intervals
(:attr:`Reference.af`); the detected AF is the union of the output's ``af`` events, each from
its ``start_sample`` to its ``end_sample``. Seconds inside ``(AFL`` (atrial flutter,
:attr:`Reference.flutter`) count neither way. Per record and gross (seconds summed first):

- ``annotated_s``: reference AF seconds; ``found_s``: those inside a detected episode;
  ``missed_s``: the rest; ``detected_s``: detected seconds outside flutter; ``false_s``: the
  detected seconds outside the reference AF;
- ``Se`` = found / annotated and ``+P`` = (detected - false) / detected, percent, ``None``
  where the denominator is 0 (a record with no AF in either counts toward the gross ``+P``
  only, and adds nothing to it but its false seconds, 0).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from ecgtk.scoring.errors import EvaluationError
from ecgtk.scoring.reference import Reference

__all__ = ["af_scores", "load_af_events", "sum_af_scores"]

_SKIP_PREFIXES = (".", "_")


def _union(intervals: np.ndarray) -> np.ndarray:
    iv = np.asarray(intervals, dtype=np.int64).reshape(-1, 2)
    iv = iv[iv[:, 1] > iv[:, 0]]
    iv = iv[np.argsort(iv[:, 0], kind="stable")]
    out: list[list[int]] = []
    for a, b in iv.tolist():
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return np.array(out, dtype=np.int64).reshape(-1, 2)


def _length(iv: np.ndarray) -> int:
    return int((iv[:, 1] - iv[:, 0]).sum())


def _overlap(a: np.ndarray, b: np.ndarray) -> int:
    """Samples in both unions ``a`` and ``b`` (each sorted and disjoint)."""
    total, i, j = 0, 0, 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i, 0], b[j, 0]), min(a[i, 1], b[j, 1])
        total += max(0, int(hi - lo))
        if a[i, 1] < b[j, 1]:
            i += 1
        else:
            j += 1
    return total


def _pct(num: float, den: float) -> float | None:
    return 100.0 * num / den if den > 0 else None


def _scores(annotated: float, found: float, detected: float, false: float) -> dict:
    return {"annotated_s": annotated, "found_s": found, "missed_s": annotated - found,
            "detected_s": detected, "false_s": false,
            "Se": _pct(found, annotated), "+P": _pct(detected - false, detected)}


def af_scores(reference: Reference, episodes: np.ndarray) -> dict:
    """AF duration scores of one record; ``episodes`` ``(k, 2)`` start and end samples of the
    detected AF (at the reference's rate)."""
    fs = float(reference.fs)
    ref = _union(reference.af)
    flutter = _union(reference.flutter)
    found = _union(episodes)
    n_found = len(np.asarray(episodes).reshape(-1, 2))
    detected = _length(found) - _overlap(found, flutter)
    hit = _overlap(found, ref)
    out = _scores(_length(ref) / fs, hit / fs, detected / fs, (detected - hit) / fs)
    out["n_episodes"] = n_found
    return out


def sum_af_scores(records: Iterable[dict]) -> dict:
    """Gross scores: the seconds of the per-record :func:`af_scores` summed."""
    records = list(records)
    keys = ("annotated_s", "found_s", "detected_s", "false_s")
    totals = [sum(float(r[k]) for r in records) for k in keys]
    out = _scores(*totals)
    out["n_episodes"] = sum(int(r["n_episodes"]) for r in records)
    out["n_records"] = len(records)
    return out


def load_af_events(path: str | Path) -> dict[str, np.ndarray] | None:
    """``{record_id: (k, 2) int64 start and end samples}`` of the ``af`` events of an
    ``ecgtk run`` output folder (its ``events/`` sub-folder), every record of the run
    included (an empty array when it has none); ``None`` when there is no ``events/`` folder
    (a beats file of ``ecgtk detect``, say)."""
    root = Path(path) / "events"
    if not root.is_dir():
        return None
    out: dict[str, list[np.ndarray]] = {}
    for file in sorted(root.rglob("*.parquet")):
        if any(p.startswith(_SKIP_PREFIXES) for p in file.relative_to(root).parts):
            continue
        try:
            table = pq.read_table(file, columns=["record_id", "kind", "start_sample",
                                                 "end_sample"]).to_pydict()
        except Exception as exc:
            raise EvaluationError(f"{file}: not a readable events table ({exc})") from exc
        for rid, kind, a, b in zip(table["record_id"], table["kind"], table["start_sample"],
                                   table["end_sample"], strict=True):
            rows = out.setdefault(str(rid), [])
            if kind == "af":
                rows.append(np.array([a, b], dtype=np.int64))
    return {rid: np.array(rows, dtype=np.int64).reshape(-1, 2) for rid, rows in out.items()}
