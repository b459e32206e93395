"""EC57 beat-by-beat scores: QRS detection, ventricular (VEB) and supraventricular (SVEB)
ectopic beats, per record and gross.

Ratios (Se, +P, F1, FPR) are percentages (0-100), unrounded, ``None`` where the denominator is
zero. Counts are plain ints. Every result is JSON-serialisable.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from ecgtk.scoring.matching import DEFAULT_TOLERANCE_S, match_beats, tolerance_samples
from ecgtk.scoring.reference import CLASS_ORDER, Reference, in_intervals

__all__ = ["ARTEFACT_LABEL", "SUPRAVENTRICULAR_LABEL", "UNMATCHED", "VENTRICULAR_LABEL",
           "score_many", "score_record"]

#: Label that ecgtk gives rejected candidates; such rows count as "not detected".
ARTEFACT_LABEL = "artefact"
#: Label of ventricular beats in the beats table.
VENTRICULAR_LABEL = "V"
#: Label of supraventricular beats in the beats table.
SUPRAVENTRICULAR_LABEL = "S"
#: The EC57 counts behind the SVEB scores (test label ``S`` against each reference class).
SVEB_COUNTS = ("Ss", "SFN", "Ns", "Vs", "Os", "Fs", "Qs", "STN")
#: Pseudo-label for "no match" (bxb's ``O``): unmatched reference beats / extra detections.
UNMATCHED = "O"


def _pct(num: int, den: int) -> float | None:
    return 100.0 * num / den if den > 0 else None


def _detection_scores(tp: int, fn: int, fp: int) -> dict:
    return {
        "TP": int(tp),
        "FN": int(fn),
        "FP": int(fp),
        "Se": _pct(tp, tp + fn),
        "+P": _pct(tp, tp + fp),
        "F1": _pct(2 * tp, 2 * tp + fn + fp),
    }


def _veb_scores(c: Mapping[str, int]) -> dict:
    """VEB scores from the EC57 counts ``Vv``, ``VFN``, ``Nv``, ``Sv``, ``Ov``, ``Fv``, ``Qv``,
    ``VTN``."""
    tp, fn = int(c["Vv"]), int(c["VFN"])
    fp = int(c["Nv"]) + int(c["Sv"]) + int(c["Ov"])
    out = _detection_scores(tp, fn, fp)
    out.update(
        {
            "TN": int(c["VTN"]),
            "FPR": _pct(fp, int(c["VTN"]) + fp),
            "Vv": tp,
            "VFN": fn,
            "Nv": int(c["Nv"]),
            "Sv": int(c["Sv"]),
            "Ov": int(c["Ov"]),
            "Fv": int(c["Fv"]),
            "Qv": int(c["Qv"]),
            "VTN": int(c["VTN"]),
        }
    )
    return out


def _sveb_scores(c: Mapping[str, int]) -> dict:
    """SVEB scores from the EC57 counts of :data:`SVEB_COUNTS`: TP ``Ss``; FN ``SFN``
    (reference S labelled otherwise or missed); FP ``Ns + Vs + Os`` (as VEB, test S on
    reference F or Q is reported but not counted)."""
    tp, fn = int(c["Ss"]), int(c["SFN"])
    fp = int(c["Ns"]) + int(c["Vs"]) + int(c["Os"])
    out = _detection_scores(tp, fn, fp)
    out["TN"] = int(c["STN"])
    out["FPR"] = _pct(fp, int(c["STN"]) + fp)
    out.update({k: int(c[k]) for k in SVEB_COUNTS})
    return out


def _label_array(labels: Iterable | None, n: int) -> np.ndarray | None:
    if labels is None:
        return None
    arr = np.array(
        ["?" if x is None else str(x) for x in np.asarray(labels, dtype=object).ravel()],
        dtype=object,
    )
    if len(arr) != n:
        raise ValueError(f"{len(arr)} test labels for {n} test samples")
    return arr


def score_record(
    reference: Reference,
    test_samples: np.ndarray,
    test_labels: Iterable | None = None,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
    exclude_vf: bool = True,
) -> dict:
    """Score one record's detected beats against its reference (EC57 beat-by-beat).

    ``test_samples`` are sample indices at the reference's rate. With ``test_labels``, rows
    labelled ``'artefact'`` are rejected candidates and count as not detected, and ventricular
    (VEB) scores are computed. With ``exclude_vf``, reference beats and detections inside
    ventricular flutter/fibrillation (:attr:`Reference.excluded`) are ignored.

    Returns a JSON-serialisable dict:

    - ``beats``: QRS detection ``TP`` (matched pairs), ``FN`` (unmatched reference beats),
      ``FP`` (unmatched detections), ``Se``, ``+P``, ``F1`` (percent or ``None``).
    - ``veb`` (``None`` without labels): ``TP`` = reference V matched to test ``V``;
      ``FN`` = reference V matched to another label or not detected; ``FP`` = test ``V``
      matched to reference N or S (``Nv``, ``Sv``) or matching no reference beat (``Ov``);
      test ``V`` on reference F or Q beats (``Fv``, ``Qv``) is reported but not counted.
      ``TN``/``FPR`` as bxb defines them; ``Se``, ``+P``, ``F1``.
    - ``sveb`` (``None`` without labels): the same for supraventricular beats and the test
      label ``S``: ``TP`` = ``Ss``, ``FN`` = ``SFN`` (reference S labelled otherwise or not
      detected), ``FP`` = ``Ns + Vs + Os``; ``Fs``, ``Qs`` reported, not counted.
    - ``per_class``: for each AAMI class, reference beats, detected, missed.
    - ``confusion`` (``None`` without labels): ``{ref_class: {test_label: n}}`` with rows
      ``N S V F Q`` and ``O`` (extra detections), columns the test labels and ``O`` (missed).
    - counts: ``n_reference``, ``n_test`` (scored), ``n_artefact``, ``n_reference_excluded``,
      ``n_test_excluded``; and the options ``fs``, ``tolerance_s``, ``tolerance_samples``,
      ``exclude_vf``.
    """
    fs = float(reference.fs)
    if not (tolerance_s > 0):
        raise ValueError(f"tolerance_s must be > 0, got {tolerance_s!r}")
    tol = tolerance_samples(tolerance_s * fs)

    test = np.asarray(test_samples, dtype=np.int64).ravel()
    labels = _label_array(test_labels, len(test))
    n_artefact = 0
    if labels is not None:
        real = labels != ARTEFACT_LABEL
        n_artefact = int((~real).sum())
        test, labels = test[real], labels[real]

    ref = np.asarray(reference.samples, dtype=np.int64)
    ref_cls = reference.classes
    n_ref_excluded = n_test_excluded = 0
    if exclude_vf and len(reference.excluded):
        ref_out = in_intervals(ref, reference.excluded)
        test_out = in_intervals(test, reference.excluded)
        n_ref_excluded, n_test_excluded = int(ref_out.sum()), int(test_out.sum())
        ref, ref_cls = ref[~ref_out], ref_cls[~ref_out]
        test = test[~test_out]
        if labels is not None:
            labels = labels[~test_out]

    ri, ti = match_beats(ref, test, tol)
    tp = len(ri)
    ref_matched = np.zeros(len(ref), dtype=bool)
    ref_matched[ri] = True
    test_matched = np.zeros(len(test), dtype=bool)
    test_matched[ti] = True

    per_class = {}
    for c in CLASS_ORDER:
        is_c = ref_cls == c
        n_c, det_c = int(is_c.sum()), int((is_c & ref_matched).sum())
        per_class[c] = {"reference": n_c, "detected": det_c, "missed": n_c - det_c}

    result: dict = {
        "fs": fs,
        "tolerance_s": float(tolerance_s),
        "tolerance_samples": tol,
        "exclude_vf": bool(exclude_vf),
        "n_reference": int(len(ref)),
        "n_test": int(len(test)),
        "n_artefact": n_artefact,
        "n_reference_excluded": n_ref_excluded,
        "n_test_excluded": n_test_excluded,
        "excluded_intervals": int(len(reference.excluded)) if exclude_vf else 0,
        "beats": _detection_scores(tp, len(ref) - tp, len(test) - tp),
        "per_class": per_class,
        "veb": None,
        "sveb": None,
        "confusion": None,
    }
    if labels is None:
        return result

    # confusion: reference class (or O) x test label (or O)
    columns = ["N", VENTRICULAR_LABEL]
    columns += sorted(set(labels.tolist()) - set(columns))
    columns.append(UNMATCHED)
    confusion = {r: dict.fromkeys(columns, 0) for r in (*CLASS_ORDER, UNMATCHED)}
    for r_c, t_l in zip(ref_cls[ri].tolist(), labels[ti].tolist(), strict=True):
        confusion[r_c][t_l] += 1
    for r_c in ref_cls[~ref_matched].tolist():
        confusion[r_c][UNMATCHED] += 1
    for t_l in labels[~test_matched].tolist():
        confusion[UNMATCHED][t_l] += 1

    def count(rows: Iterable[str], cols: Iterable[str]) -> int:
        return sum(confusion[r][c] for r in rows for c in cols)

    non_v_labels = [c for c in columns if c not in (VENTRICULAR_LABEL, UNMATCHED)]
    v = VENTRICULAR_LABEL
    ec57 = {
        "Vv": confusion["V"][v],
        "VFN": count(["V"], [c for c in columns if c != v]),
        "Nv": confusion["N"][v],
        "Sv": confusion["S"][v],
        "Ov": confusion[UNMATCHED][v],
        "Fv": confusion["F"][v],
        "Qv": confusion["Q"][v],
        "VTN": count(["N", "S", "F", "Q", UNMATCHED], non_v_labels),
    }
    result["veb"] = _veb_scores(ec57)
    s = SUPRAVENTRICULAR_LABEL
    non_s_labels = [c for c in columns if c not in (s, UNMATCHED)]
    result["sveb"] = _sveb_scores({
        "Ss": confusion["S"].get(s, 0),
        "SFN": count(["S"], [c for c in columns if c != s]),
        "Ns": confusion["N"].get(s, 0),
        "Vs": confusion["V"].get(s, 0),
        "Os": confusion[UNMATCHED].get(s, 0),
        "Fs": confusion["F"].get(s, 0),
        "Qs": confusion["Q"].get(s, 0),
        "STN": count(["N", "V", "F", "Q", UNMATCHED], non_s_labels),
    })
    result["confusion"] = confusion
    return result


_SUMMED_COUNTS = (
    "n_reference",
    "n_test",
    "n_artefact",
    "n_reference_excluded",
    "n_test_excluded",
    "excluded_intervals",
)


def score_many(records: Mapping[str, dict] | Iterable[dict]) -> dict:
    """Gross (pooled) scores over records: counts are summed, then ratios computed.

    ``records`` maps ``record_id`` to a :func:`score_record` result, or is an iterable of such
    results (each with a ``record_id`` key, else numbered). Returns
    ``{"records": [...], "gross": {...}}``; VEB and confusion totals pool only the records
    that had labels (``gross["n_records_with_labels"]``).
    """
    if isinstance(records, Mapping):
        items = [{**res, "record_id": str(rid)} for rid, res in records.items()]
    else:
        items = [
            {**res, "record_id": str(res.get("record_id", i))} for i, res in enumerate(records)
        ]

    gross: dict = {"n_records": len(items)}
    for key in _SUMMED_COUNTS:
        gross[key] = int(sum(int(r.get(key, 0)) for r in items))
    tp, fn, fp = (sum(int(r["beats"][k]) for r in items) for k in ("TP", "FN", "FP"))
    gross["beats"] = _detection_scores(tp, fn, fp)

    per_class = {c: {"reference": 0, "detected": 0, "missed": 0} for c in CLASS_ORDER}
    for r in items:
        for c, counts in r.get("per_class", {}).items():
            slot = per_class.setdefault(c, {"reference": 0, "detected": 0, "missed": 0})
            for k in slot:
                slot[k] += int(counts.get(k, 0))
    gross["per_class"] = per_class

    labelled = [r for r in items if r.get("veb") is not None]
    gross["n_records_with_labels"] = len(labelled)
    if labelled:
        ec57 = {
            k: sum(int(r["veb"][k]) for r in labelled)
            for k in ("Vv", "VFN", "Nv", "Sv", "Ov", "Fv", "Qv", "VTN")
        }
        gross["veb"] = _veb_scores(ec57)
        with_sveb = [r for r in labelled if r.get("sveb") is not None]
        gross["sveb"] = _sveb_scores({k: sum(int(r["sveb"][k]) for r in with_sveb)
                                      for k in SVEB_COUNTS}) if with_sveb else None
        confusion: dict[str, dict[str, int]] = {}
        for r in labelled:
            for row, cols in (r.get("confusion") or {}).items():
                slot = confusion.setdefault(row, {})
                for col, n in cols.items():
                    slot[col] = slot.get(col, 0) + int(n)
        columns = sorted({c for cols in confusion.values() for c in cols}, key=_column_key)
        gross["confusion"] = {
            row: {c: cols.get(c, 0) for c in columns} for row, cols in confusion.items()
        }
    else:
        gross["veb"] = None
        gross["sveb"] = None
        gross["confusion"] = None
    return {"records": items, "gross": gross}


def _column_key(label: str) -> tuple[int, str]:
    fixed = {"N": 0, SUPRAVENTRICULAR_LABEL: 1, VENTRICULAR_LABEL: 1, UNMATCHED: 3}
    return (fixed.get(label, 2), label)
