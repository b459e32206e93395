"""Which records and patients, and reading an annotated record at the model rate.

The record sets (MIT-BIH DS1, the paced records, the nstdb noise-stress records, the half of
the MIT-BIH Supraventricular Arrhythmia Database we have), the database and patient a record
belongs to, patient-wise folds, and :func:`load_record`: a WFDB record brought to the
model rate (360 Hz) with its reference beats, plus the detector's candidates on it. The window
builders of :mod:`ecgtk.export.dataset` and the experiments start here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ecgtk.inference.inputs import MODEL_RATE_HZ
from ecgtk.scoring import AAMI_CLASSES, load_reference, match_beats
from ecgtk.scoring.matching import tolerance_samples

#: MIT-BIH DS1 (the usual inter-patient training set) and the four paced records.
DS1 = ("101", "106", "108", "109", "112", "114", "115", "116", "118", "119", "122", "124",
       "201", "203", "205", "207", "208", "209", "215", "220", "223", "230")
PACED = ("102", "104", "107", "217")
ALL_RECORDS = DS1 + PACED
#: nstdb records 118/119 with electrode-motion noise at 24 ... -6 dB (patients 118 and 119).
NSTDB_RECORDS = tuple(f"{p}e{s}" for p in ("118", "119")
                      for s in ("24", "18", "12", "06", "00", "_6"))

#: MIT-BIH Supraventricular Arrhythmia Database (svdb), the 39 of its 78 records in
#: ../shared/data/svdb (128 Hz Holter, 2 leads, 30 min; one patient per record; the other 39
#: patients are kept aside to judge the models).
SVDB = ("800", "803", "805", "806", "810", "811", "812", "822", "823", "824", "825", "826",
        "827", "829", "841", "845", "846", "847", "851", "852", "854", "855", "860", "861",
        "863", "869", "870", "872", "874", "875", "877", "879", "880", "881", "882", "883",
        "885", "889", "891")
#: The 65 patients the shipped models learn from: MIT-BIH DS1 + paced and the svdb records.
TRAINING_RECORDS = ALL_RECORDS + SVDB
#: Each database's records, by the folder it lives in under a data directory.
DATABASES = {"mitdb": ALL_RECORDS, "nstdb": NSTDB_RECORDS, "svdb": SVDB}
#: The record names of a database whose records it does not list (ours: 3 digits) are
#: recognised by this range of their number.
_SVDB_RANGE = (800, 899)

VENTRICULAR_SYMBOLS = AAMI_CLASSES["V"]  # V E
NON_VENTRICULAR_SYMBOLS = AAMI_CLASSES["N"] + AAMI_CLASSES["S"]  # N L R e j A a J S
ALL_BEAT_SYMBOLS = tuple(s for syms in AAMI_CLASSES.values() for s in syms)

#: A detection within this long of an annotated beat matches it (EC57), seconds.
MATCH_TOLERANCE_S = 0.15
#: Random negative windows lie at least this far from any annotated beat, seconds.
RANDOM_MIN_DISTANCE_S = 0.20

def patient_of(record: str) -> str:
    """The patient a record belongs to: ``'118e06' -> '118'``, ``'mitdb/101' -> '101'``."""
    name = str(record).replace("\\", "/").rsplit("/", 1)[-1]
    if len(name) > 3 and name[:3].isdigit() and name[3] == "e":
        return name[:3]
    return name


def database_of(record: str) -> str:
    """The database a record comes from: ``'mitdb'``, ``'svdb'`` or ``'nstdb'`` (a
    noise-stress copy of a MIT-BIH record, ``'118e06'``)."""
    name = str(record).replace("\\", "/").rsplit("/", 1)[-1]
    if name in NSTDB_RECORDS or (len(name) > 3 and name[:3].isdigit() and name[3] == "e"):
        return "nstdb"
    if name in SVDB or (name.isdigit() and _SVDB_RANGE[0] <= int(name) <= _SVDB_RANGE[1]):
        return "svdb"
    return "mitdb"


def records_of_patients(records: Iterable[str], patients: Iterable[str]) -> list[str]:
    """The ``records`` whose patient is in ``patients`` (order kept)."""
    wanted = {str(p) for p in patients}
    return [r for r in records if patient_of(r) in wanted]

# ---------------------------------------------------------------------------------------------
# records


def find_record(data_dirs: Sequence[str | Path] | str | Path, record: str) -> Path:
    """Path (without extension) of WFDB ``record`` in ``data_dirs`` (each searched as is and in
    its database folders, :data:`DATABASES`). FileNotFoundError when absent."""
    dirs = [data_dirs] if isinstance(data_dirs, (str, Path)) else list(data_dirs)
    for d in dirs:
        for sub in ("", *DATABASES):
            base = Path(d) / sub / record
            if Path(f"{base}.hea").is_file():
                return base
    raise FileNotFoundError(f"record {record!r} not found in {', '.join(map(str, dirs))}")


def read_at_rate(path: str | Path, fs: float = MODEL_RATE_HZ) -> tuple[np.ndarray, float]:
    """The whole recording at ``path`` as float32 ``(n, leads)`` mV at ``fs`` Hz (resampled
    with :func:`ecgtk.kernels.resample.resample_poly` when needed) and its own rate."""
    from ecgtk.kernels.resample import resample_poly, resample_ratio
    from ecgtk.readers import read_recording

    p = Path(path)
    rec = read_recording(p if p.suffix else Path(f"{p}.hea"))
    signal = rec.signal
    if abs(rec.fs - fs) > 1e-9 * fs:
        up, down = resample_ratio(rec.fs, fs)
        signal = resample_poly(signal, up, down)
    return np.ascontiguousarray(signal, dtype=np.float32), float(rec.fs)


def to_record_rate(samples: np.ndarray, record_fs: float,
                   fs: float = MODEL_RATE_HZ) -> np.ndarray:
    """Positions at the model rate ``fs`` mapped back to the record's own rate."""
    from ecgtk.kernels.resample import samples_to_rate

    if abs(record_fs - fs) <= 1e-9 * fs:
        return np.asarray(samples, dtype=np.int64)
    return samples_to_rate(np.asarray(samples, dtype=np.int64), fs, record_fs)


@dataclass
class RecordData:
    """One annotated record at the model rate.

    ``samples``/``symbols``: reference beats (AAMI symbols), ``excluded``: ventricular
    flutter/fibrillation intervals ``(k, 2)``, all at the model rate ``fs``; ``record_fs`` is the
    file's own rate.
    """

    name: str
    signal: np.ndarray
    samples: np.ndarray
    symbols: np.ndarray
    excluded: np.ndarray
    record_fs: float
    fs: float = MODEL_RATE_HZ

    @property
    def patient(self) -> str:
        return patient_of(self.name)


def load_record(data_dirs: Sequence[str | Path] | str | Path, record: str,
                fs: float = MODEL_RATE_HZ) -> RecordData:
    """Read ``record`` (signal and ``.atr`` reference) and bring it to ``fs``."""
    from ecgtk.kernels.resample import samples_to_rate

    base = find_record(data_dirs, record)
    signal, record_fs = read_at_rate(base, fs)
    ref = load_reference(base)
    samples, excluded = ref.samples, ref.excluded
    if abs(ref.fs - fs) > 1e-9 * fs:
        samples = samples_to_rate(samples, ref.fs, fs)
        excluded = samples_to_rate(excluded, ref.fs, fs).reshape(-1, 2)
    excluded = np.minimum(excluded, len(signal))
    return RecordData(record, signal, np.asarray(samples, np.int64), np.asarray(ref.symbols),
                      np.asarray(excluded, np.int64).reshape(-1, 2), record_fs, fs)


def array_recording(signal: np.ndarray, fs: float, name: str = "array"):
    """A :class:`ecgtk.recording.Recording` over an in-memory ``(n, leads)`` mV array."""
    from ecgtk.recording import Recording

    x = np.asarray(signal, dtype=np.float32)
    x = x[:, None] if x.ndim == 1 else x
    return Recording(path=Path(name), record_id=name, fs=float(fs), n_samples=len(x),
                     lead_names=tuple(f"lead{i + 1}" for i in range(x.shape[1])),
                     read_samples=lambda a, b: x[a:b])


def detector_candidates(signal: np.ndarray, fs: float = MODEL_RATE_HZ) -> np.ndarray:
    """The R-peak detector's candidates (:func:`ecgtk.detection.chunked.detect_beats`) on an
    array."""
    from ecgtk.detection.chunked import detect_beats

    return detect_beats(array_recording(signal, fs))


def match_tolerance(fs: float) -> int:
    """The EC57 match window (:data:`MATCH_TOLERANCE_S`) in samples at ``fs`` Hz."""
    return tolerance_samples(MATCH_TOLERANCE_S * fs)


def match_candidates(ref: np.ndarray, candidates: np.ndarray, fs: float) -> np.ndarray:
    """For each candidate, the index of the reference beat it matches, or -1."""
    out = np.full(len(candidates), -1, dtype=np.int64)
    ri, ti = match_beats(ref, candidates, match_tolerance(fs))
    out[ti] = ri
    return out


def snap_to_candidates(beats: np.ndarray, candidates: np.ndarray, fs: float,
                       all_ref: np.ndarray | None = None) -> np.ndarray:
    """Each of ``beats`` moved to the detector candidate it matches (one-to-one, closest first,
    within 150 ms), else left where it is. Matching runs over ``all_ref`` (every annotated beat
    of the record, default ``beats``) so that one candidate never serves two beats."""
    beats = np.asarray(beats, dtype=np.int64)
    ref = beats if all_ref is None else np.asarray(all_ref, dtype=np.int64)
    ri, ti = match_beats(ref, candidates, match_tolerance(fs))
    moved = dict(zip(ref[ri].tolist(), np.asarray(candidates)[ti].tolist(), strict=True))
    return np.array([moved.get(b, b) for b in beats.tolist()], dtype=np.int64)

# ---------------------------------------------------------------------------------------------
# patient-wise splits


def kfold_by_patient(records: Iterable[str], k: int, seed: int = 0) -> list[tuple[list[str],
                                                                                   list[str]]]:
    """``k`` folds ``(train_records, test_records)`` with every patient's records on one side.

    Patients are shuffled with ``seed`` and dealt round-robin, so fold sizes differ by at most
    one patient.
    """
    records = list(records)
    patients = sorted({patient_of(r) for r in records})
    if not 2 <= k <= len(patients):
        raise ValueError(f"k={k} folds need 2 <= k <= {len(patients)} patients")
    order = np.random.default_rng(seed).permutation(len(patients))
    folds = [[patients[i] for i in order[j::k]] for j in range(k)]
    out = []
    for held in folds:
        test = records_of_patients(records, held)
        train = [r for r in records if r not in test]
        out.append((train, test))
    return out


def subsample_patients(records: Iterable[str], n_patients: int, seed: int = 0) -> list[str]:
    """The records of ``n_patients`` patients drawn from ``records`` with ``seed`` (a patient's
    records stay together), in their given order: a smaller training side for measuring how
    accuracy grows with the patients a model has seen."""
    records = list(records)
    patients = sorted({patient_of(r) for r in records})
    if not 1 <= n_patients <= len(patients):
        raise ValueError(f"n_patients={n_patients} must be in [1, {len(patients)}]")
    chosen = np.random.default_rng(seed).choice(patients, n_patients, replace=False)
    return records_of_patients(records, chosen.tolist())


def split_validation(records: Iterable[str], fraction: float = 0.2, seed: int = 0, *,
                     positives: Mapping[str, int] | None = None, min_positives: int = 0,
                     tries: int = 100) -> tuple[list[str], list[str]]:
    """``(train, validation)`` records, about ``fraction`` of the patients in validation.

    ``positives`` (beats of the class a threshold is chosen for, per record; e.g. from
    :func:`count_ventricular_beats`) with ``min_positives``: the seeded draw is repeated, with
    the same generator, until the validation patients hold at least ``min_positives`` of them
    (after ``tries`` draws, the draw that holds most). A first draw that holds enough is kept,
    so such splits are the plain seeded draw. Records missing from ``positives`` count 0.
    """
    records = list(records)
    patients = sorted({patient_of(r) for r in records})
    n_val = max(1, int(round(fraction * len(patients))))
    if n_val >= len(patients):
        raise ValueError("need at least two patients to split")
    if tries < 1:
        raise ValueError(f"tries must be >= 1, got {tries}")
    rng = np.random.default_rng(seed)
    best: tuple[int, list[str]] | None = None
    for _ in range(tries if positives is not None else 1):
        val_patients = set(rng.choice(patients, n_val, replace=False).tolist())
        val = records_of_patients(records, val_patients)
        held = sum(int(positives.get(r, 0)) for r in val) if positives is not None else 0
        if best is None or held > best[0]:
            best = (held, val)
        if held >= min_positives:
            break
    val = best[1]
    return [r for r in records if r not in val], val


def count_ventricular_beats(data_dirs: Sequence[str | Path] | str | Path,
                            records: Iterable[str]) -> dict[str, int]:
    """Annotated ventricular beats (:data:`VENTRICULAR_SYMBOLS`) of each of ``records``
    from their WFDB ``.atr`` files (FileNotFoundError or EvaluationError naming a record whose
    annotations are missing or unreadable)."""
    counts = {}
    for record in records:
        reference = load_reference(find_record(data_dirs, record))
        counts[record] = int(np.isin(reference.symbols, VENTRICULAR_SYMBOLS).sum())
    return counts
