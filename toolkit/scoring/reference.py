"""Reference annotations: AAMI (EC57) beat classes and WFDB ``.atr`` files.

:func:`load_reference` reads a record's reference beats (the symbols in :data:`AAMI_CLASSES`),
its sampling rate, and the stretches of ventricular flutter/fibrillation that EC57 leaves out
of QRS detection scoring; :func:`reference_path` finds the ``.atr`` of a ``record_id``.
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ecgtk.scoring.errors import EvaluationError

__all__ = [
    "AAMI_CLASSES",
    "CLASS_ORDER",
    "Reference",
    "aami_class",
    "in_intervals",
    "load_reference",
    "reference_path",
    "rhythm_intervals",
]

#: Beat annotation symbols of each AAMI (EC57) class. Symbols outside these (rhythm '+',
#: noise '~', flutter waves '!', VF markers '[' ']', ...) are not reference beats.
AAMI_CLASSES: dict[str, tuple[str, ...]] = {
    "N": ("N", "L", "R", "e", "j"),
    "S": ("A", "a", "J", "S"),
    "V": ("V", "E"),
    "F": ("F",),
    "Q": ("/", "f", "Q"),
}
_CLASS_OF: dict[str, str] = {s: c for c, syms in AAMI_CLASSES.items() for s in syms}
CLASS_ORDER: tuple[str, ...] = tuple(AAMI_CLASSES)  # N S V F Q


def aami_class(symbol: str) -> str | None:
    """AAMI class (``N``, ``S``, ``V``, ``F``, ``Q``) of a WFDB beat symbol, or ``None``."""
    return _CLASS_OF.get(symbol)


@dataclass(frozen=True)
class Reference:
    """Reference beats of one record.

    Attributes
    ----------
    record : the record path without extension.
    fs : sampling rate in Hz (from the header, else from the annotation file).
    samples : int64 sample index of every reference beat (symbols in :data:`AAMI_CLASSES`),
        ascending.
    symbols : the WFDB symbol of each beat.
    excluded : int64 array ``(k, 2)`` of half-open ``[start, stop)`` sample intervals of
        ventricular flutter/fibrillation, merged and sorted. Beats and detections inside them
        are ignored when scoring with ``exclude_vf=True``.
    n_samples : record length in samples when the header gives it, else ``None``.
    af, flutter : int64 arrays ``(k, 2)`` of half-open sample intervals of the rhythm
        annotations ``(AFIB`` (atrial fibrillation) and ``(AFL`` (atrial flutter): from the
        annotation to the next rhythm annotation, or the end of the record.
    """

    record: str
    fs: float
    samples: np.ndarray
    symbols: np.ndarray
    excluded: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), dtype=np.int64))
    n_samples: int | None = None
    af: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), dtype=np.int64))
    flutter: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), dtype=np.int64))

    @property
    def classes(self) -> np.ndarray:
        """AAMI class letter of each reference beat."""
        return np.array([_CLASS_OF[s] for s in self.symbols.tolist()], dtype="<U1")

    @property
    def excluded_mask(self) -> np.ndarray:
        """True for reference beats that lie in an excluded (VF/flutter) interval."""
        return in_intervals(self.samples, self.excluded)

    @property
    def n_excluded(self) -> int:
        return int(self.excluded_mask.sum())


def in_intervals(samples: np.ndarray, intervals: np.ndarray) -> np.ndarray:
    """Boolean mask: which ``samples`` fall in any half-open ``[start, stop)`` interval.

    ``intervals`` must be sorted and non-overlapping (as :attr:`Reference.excluded` is).
    """
    samples = np.asarray(samples, dtype=np.int64).ravel()
    intervals = np.asarray(intervals, dtype=np.int64).reshape(-1, 2)
    out = np.zeros(samples.shape, dtype=bool)
    if len(intervals) == 0 or len(samples) == 0:
        return out
    idx = np.searchsorted(intervals[:, 0], samples, side="right") - 1
    ok = idx >= 0
    out[ok] = samples[ok] < intervals[idx[ok], 1]
    return out


def _merge_intervals(intervals: list[tuple[int, int]]) -> np.ndarray:
    merged: list[list[int]] = []
    for start, stop in sorted(intervals):
        if stop <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], stop)
        else:
            merged.append([start, stop])
    return np.array(merged, dtype=np.int64).reshape(-1, 2)


def _vf_intervals(
    samples: np.ndarray, symbols: np.ndarray, aux: np.ndarray, end: int
) -> np.ndarray:
    """Ventricular flutter/fibrillation stretches, as EC57 defines them for exclusion.

    - ``[`` ... ``]`` (VFON/VFOFF): both ends included; an unclosed ``[`` runs to ``end``.
    - rhythm annotation ``+`` whose aux note starts with ``(VF`` (``(VF``, ``(VFL``): from it
      up to (not including) the next ``+`` annotating another rhythm, or ``end``.
    """
    intervals: list[tuple[int, int]] = []
    vf_on: int | None = None
    rhythm_on: int | None = None
    for i in np.flatnonzero(np.isin(symbols, ["[", "]", "+"])):
        s, sym = int(samples[i]), symbols[i]
        if sym == "[":
            if vf_on is None:
                vf_on = s
        elif sym == "]":
            if vf_on is not None:
                intervals.append((vf_on, s + 1))
                vf_on = None
        else:  # rhythm change
            rhythm = aux[i]
            if not rhythm:
                continue
            if rhythm.startswith("(VF"):
                if rhythm_on is None:
                    rhythm_on = s
            elif rhythm_on is not None:
                intervals.append((rhythm_on, s))
                rhythm_on = None
    if vf_on is not None:
        intervals.append((vf_on, end))
    if rhythm_on is not None:
        intervals.append((rhythm_on, end))
    return _merge_intervals(intervals)


def rhythm_intervals(samples: np.ndarray, symbols: np.ndarray, aux: np.ndarray, end: int,
                     rhythm: str) -> np.ndarray:
    """Half-open sample intervals of one rhythm (an aux note such as ``(AFIB``, matched
    exactly): from each rhythm annotation ``+`` that starts it to the next ``+`` that names
    another rhythm, or ``end``; merged and sorted."""
    intervals: list[tuple[int, int]] = []
    on: int | None = None
    for i in np.flatnonzero(symbols == "+"):
        note = aux[i]
        if not note:
            continue
        if note == rhythm:
            if on is None:
                on = int(samples[i])
        elif on is not None:
            intervals.append((on, int(samples[i])))
            on = None
    if on is not None:
        intervals.append((on, end))
    return _merge_intervals(intervals)


def _record_base(path: str | os.PathLike[str]) -> Path:
    p = Path(path)
    return p.with_suffix("") if p.suffix == ".atr" else p


def load_reference(path: str | os.PathLike[str]) -> Reference:
    """Read reference beats of a WFDB record: ``path`` is ``dir/100`` or ``dir/100.atr``.

    The sampling rate comes from ``dir/100.hea`` when it exists, else from the annotation file.
    Raises :class:`EvaluationError` when the ``.atr`` is missing or unreadable, or the
    sampling rate cannot be found.
    """
    base = _record_base(path)
    atr = base.parent / f"{base.name}.atr"
    if not atr.is_file():
        raise EvaluationError(f"reference annotations not found: {atr} does not exist")
    with warnings.catch_warnings():
        # wfdb's own pandas deprecation noise is of no use to someone scoring beats
        warnings.filterwarnings("ignore", module=r"wfdb(\.|$)")
        import wfdb  # imported here: it is slow to import and only eval needs it

        try:
            ann = wfdb.rdann(str(base), "atr", return_label_elements=["symbol"])
        except Exception as exc:  # wfdb raises assorted exception types on bad files
            raise EvaluationError(f"{atr}: cannot read annotations ({exc})") from exc

    fs: float | None = None
    n_samples: int | None = None
    hea = base.parent / f"{base.name}.hea"
    if hea.is_file():
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", module=r"wfdb(\.|$)")
                header = wfdb.rdheader(str(base))
        except Exception as exc:
            raise EvaluationError(f"{hea}: cannot read header ({exc})") from exc
        fs = header.fs
        n_samples = int(header.sig_len) if header.sig_len else None
    if not fs:
        fs = ann.fs
    if not fs or not math.isfinite(float(fs)) or float(fs) <= 0:
        raise EvaluationError(
            f"{atr}: sampling rate unknown (no usable {hea.name} and the annotation file "
            "does not store it)"
        )

    samples = np.asarray(ann.sample, dtype=np.int64)
    symbols = np.asarray(ann.symbol if ann.symbol is not None else [], dtype=object)
    aux_raw = ann.aux_note if ann.aux_note is not None else [""] * len(samples)
    aux = np.array([(a or "").strip("\x00 \t\r\n") for a in aux_raw], dtype=object)
    order = np.argsort(samples, kind="stable")
    samples, symbols, aux = samples[order], symbols[order], aux[order]

    end = n_samples if n_samples is not None else np.iinfo(np.int64).max
    excluded = _vf_intervals(samples, symbols, aux, end)
    if n_samples is None and len(samples):  # rhythms run at most to the last annotation
        end = int(samples[-1]) + 1
    is_beat = np.isin(symbols, list(_CLASS_OF))
    return Reference(
        record=str(base),
        fs=float(fs),
        samples=samples[is_beat],
        symbols=symbols[is_beat].astype(str),
        excluded=excluded,
        n_samples=n_samples,
        af=rhythm_intervals(samples, symbols, aux, end, "(AFIB"),
        flutter=rhythm_intervals(samples, symbols, aux, end, "(AFL"),
    )


def reference_path(record_id: str, reference_dir: str | os.PathLike[str]) -> Path | None:
    """The ``.atr`` for ``record_id``: ``DIR/record_id.atr``, else ``DIR/basename.atr``.

    ``None`` when neither exists.
    """
    root = Path(reference_dir)
    rid = str(record_id).replace("\\", "/").strip("/")
    for candidate in (root / f"{rid}.atr", root / f"{rid.rsplit('/', 1)[-1]}.atr"):
        if candidate.is_file():
            return candidate
    return None
