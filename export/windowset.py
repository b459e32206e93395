"""WindowSet: the model windows of a training set, with their labels and origins.

One row per window: the normalised window ``x`` and what it is (class, record, patient, centre
sample, noisy variant, origin, SNR, annotation symbol). The builders of
:mod:`ecgtk.export.dataset` make them (one ``.npz`` cache per record); training and
cross-validation pick the model's inputs with :meth:`WindowSet.leads` or
:meth:`WindowSet.context_inputs`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from ecgtk.export.records import RecordData
from ecgtk.inference.inputs import leads_of_context_input, model_windows, ventricular_inputs

__all__ = ["SOURCE_ANNOTATION", "SOURCE_CANDIDATE", "SOURCE_RANDOM", "SOURCE_VF", "WindowSet",
           "default_cache_dir", "window_set"]

#: Window origin codes (``WindowSet.source``).
SOURCE_CANDIDATE, SOURCE_RANDOM, SOURCE_VF, SOURCE_ANNOTATION = 0, 1, 2, 3


def default_cache_dir() -> Path:
    """``$ECGTK_CACHE`` or ``scratch/cache`` under the repository root."""
    env = os.environ.get("ECGTK_CACHE")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent / "scratch" / "cache"



# ---------------------------------------------------------------------------------------------
# window sets


@dataclass
class WindowSet:
    """Windows and their labels and origins; all arrays have one row per window.

    ``x`` float32 ``(n, L, leads)``; ``y`` int8 class; ``record`` and ``patient`` strings;
    ``sample`` int64 centre at the model rate; ``variant`` int8 (0: clean record, 1, 2: noisy
    copies); ``source`` int8 (0 detector candidate, 1 random position, 2 VF episode,
    3 annotation not found by the detector); ``snr_db`` float32 SNR of the noise stretch the
    window is in (NaN: clean); ``symbol`` the annotation symbol of the matched beat ('' if none).
    """

    x: np.ndarray
    y: np.ndarray
    record: np.ndarray
    patient: np.ndarray
    sample: np.ndarray
    variant: np.ndarray
    source: np.ndarray
    snr_db: np.ndarray
    symbol: np.ndarray

    def __len__(self) -> int:
        return len(self.y)

    @classmethod
    def empty(cls, length: int, n_leads: int) -> WindowSet:
        return cls(np.zeros((0, length, n_leads), np.float32), np.zeros(0, np.int8),
                   np.zeros(0, "<U8"), np.zeros(0, "<U8"), np.zeros(0, np.int64),
                   np.zeros(0, np.int8), np.zeros(0, np.int8), np.zeros(0, np.float32),
                   np.zeros(0, "<U1"))

    @classmethod
    def concat(cls, sets: Sequence[WindowSet]) -> WindowSet:
        if not sets:
            raise ValueError("nothing to concatenate")
        return cls(*(np.concatenate([getattr(s, f.name) for s in sets]) for f in fields(cls)))

    def subset(self, index: np.ndarray) -> WindowSet:
        return WindowSet(*(getattr(self, f.name)[index] for f in fields(self)))

    def of_records(self, records: Iterable[str]) -> WindowSet:
        return self.subset(np.isin(self.record, list(records)))

    def of_patients(self, patients: Iterable[str]) -> WindowSet:
        return self.subset(np.isin(self.patient, [str(p) for p in patients]))

    def leads(self, n_leads: int) -> np.ndarray:
        """``x`` with the first ``n_leads`` leads."""
        if n_leads > self.x.shape[2]:
            raise ValueError(f"{n_leads} leads asked, windows have {self.x.shape[2]}")
        return np.ascontiguousarray(self.x[:, :, :n_leads])

    def context_inputs(self, n_leads: int) -> np.ndarray:
        """Model-2 inputs with context (:func:`ecgtk.inference.inputs.ventricular_inputs` layout)
        for
        the first ``n_leads`` leads: those leads, their templates, the RR channels."""
        leads = leads_of_context_input(self.x.shape[2])
        if n_leads > leads:
            raise ValueError(f"{n_leads} leads asked, windows have {leads}")
        channels = [*range(n_leads), *range(leads, leads + n_leads),
                    *range(2 * leads, self.x.shape[2])]
        return np.ascontiguousarray(self.x[:, :, channels])

    def counts(self) -> dict[str, int]:
        """Windows per class (``'0'``, ``'1'``)."""
        values, n = np.unique(self.y, return_counts=True)
        return {str(int(v)): int(c) for v, c in zip(values, n, strict=True)}

    def save(self, path: str | Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez(tmp, **{f.name: getattr(self, f.name) for f in fields(self)})
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str | Path) -> WindowSet:
        with np.load(path) as z:
            return cls(*(z[f.name] for f in fields(cls)))


def window_set(rd: RecordData, signal: np.ndarray, centres: np.ndarray, y: np.ndarray,
                scale_beats: np.ndarray, window: tuple[int, int], variant: int,
                source: np.ndarray, snr_db: np.ndarray, symbol: np.ndarray,
                context: bool = False) -> WindowSet:
    order = np.argsort(centres, kind="stable")
    centres = np.asarray(centres, np.int64)[order]
    make = ventricular_inputs if context else model_windows
    x = make(signal, centres, window[0], window[1], np.sort(scale_beats), fs=rd.fs)
    n = len(centres)
    return WindowSet(x, np.asarray(y, np.int8)[order], np.full(n, rd.name, "<U8"),
                     np.full(n, rd.patient, "<U8"), centres, np.full(n, variant, np.int8),
                     np.asarray(source, np.int8)[order], np.asarray(snr_db, np.float32)[order],
                     np.asarray(symbol, "<U1")[order])
