"""Training sets for the two models, built from annotated WFDB records, cached per record.

Model 1 (beat vs artefact, ``BEAT_WINDOW`` = 50 + 50 samples) sees the R-peak detector's
candidates, as at inference:

- positives (``y = 1``): candidates that match an annotated beat (within 150 ms,
  :func:`ecgtk.scoring.match_beats`), subsampled: half N-class beats, half the others
  (V, S, F, paced), so that abnormal beats are not learnt as artefacts;
- negatives (``y = 0``): candidates that match no beat, on the clean record, on copies of it with
  nstdb noise (bw, em, ma) added to alternate 2-minute stretches at SNR 24 ... -6 dB
  (:mod:`ecgtk.export.noise`), and on the nstdb records ``118e*``/``119e*``; windows at random
  positions at least 200 ms from any beat; and windows every 100 ms inside ventricular
  flutter/fibrillation episodes (``[`` ... ``]``, ``(VFL``).

Model 2 (normal vs ventricular, ``VENTRICULAR_WINDOW`` = 150 + 150 samples) sees annotated beats,
each moved to the detector candidate it matches (within 150 ms) so that windows are aligned as at
inference: ``y = 1`` for V, E; ``y = 0`` for N L R e j A a J S (N-class beats subsampled);
F and Q (``/``, ``f``, ``Q``) are left out (``VentricularConfig.fusion_as_ventricular``: F is
``y = 1`` too). Its windows carry the context channels of
:func:`ecgtk.inference.inputs.ventricular_inputs` (the 10-minute stretch's median beat per lead,
and the
log RR ratios before and after the beat); :meth:`WindowSet.context_inputs` picks them.

Both models' windows are stored with the context channels (model 1's too, so that one cache
serves a model 1 with or without them; :meth:`WindowSet.leads` gives the leads alone).

Windows are cut and normalised by :func:`ecgtk.inference.inputs.model_windows` with the detector's
candidates as ``scale_beats`` -- the one code path inference uses. Every record is brought to
the model rate (360 Hz) with :mod:`ecgtk.kernels.resample` when its rate differs; positions are
kept at the model rate together with the record's own rate (:func:`to_record_rate` maps them
back).

Which records, patients and folds, and reading a record: :mod:`ecgtk.export.records` (its
helpers are importable from here too). Both leads of each record are stored;
:meth:`WindowSet.leads` picks the model's input leads (the first ``n`` leads of the recording,
as the run pipeline feeds them). Builds are cached as
one ``.npz`` per (model, record, seed) under ``cache_dir``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ecgtk.export.noise import NOISE_KINDS, NOISE_SNRS_DB, add_noise_stretches, load_noise
from ecgtk.export.records import (  # the record helpers, re-exported for the builders' users
    ALL_RECORDS,
    DS1,
    NON_VENTRICULAR_SYMBOLS,
    NSTDB_RECORDS,
    PACED,
    RANDOM_MIN_DISTANCE_S,
    VENTRICULAR_SYMBOLS,
    RecordData,
    array_recording,
    detector_candidates,
    find_record,
    kfold_by_patient,
    load_record,
    match_candidates,
    match_tolerance,
    patient_of,
    read_at_rate,
    records_of_patients,
    snap_to_candidates,
    split_validation,
    to_record_rate,
)
from ecgtk.export.windowset import (  # re-exported: training code imports them from here
    SOURCE_ANNOTATION,
    SOURCE_CANDIDATE,
    SOURCE_RANDOM,
    SOURCE_VF,
    WindowSet,
    default_cache_dir,
    window_set,
)
from ecgtk.inference.inputs import BEAT_WINDOW, VENTRICULAR_WINDOW
from ecgtk.scoring import AAMI_CLASSES, match_beats

__all__ = [
    "ALL_RECORDS",
    "BeatConfig",
    "DS1",
    "NON_VENTRICULAR_SYMBOLS",
    "NSTDB_RECORDS",
    "PACED",
    "RecordData",
    "TRAINING_WINDOWS",
    "VENTRICULAR_SYMBOLS",
    "VentricularConfig",
    "WindowSet",
    "array_recording",
    "build_training_windows",
    "build_windows",
    "default_cache_dir",
    "detector_candidates",
    "find_record",
    "kfold_by_patient",
    "load_record",
    "max_ventricular_option",
    "patient_of",
    "read_at_rate",
    "records_of_patients",
    "snap_to_candidates",
    "split_validation",
    "to_record_rate",
    "training_window_fields",
]
#: Bump a kind's number when its builder changes, so stale caches are not reused.
CACHE_VERSION = {"beat": 6, "ventricular": 5}

# ---------------------------------------------------------------------------------------------
# model 1: beat vs artefact


@dataclass(frozen=True)
class BeatConfig:
    """Sizes of the model-1 set per record (see the module docstring)."""

    positives_clean: int = 200  # matched candidates kept from the clean record
    positives_noisy: int = 200  # ... from each noisy copy (taken inside its noisy stretches)
    positives_nstdb: int = 100  # ... from each nstdb 118e*/119e* record
    random_per_variant: int = 50  # random non-beat windows per record variant
    noisy_copies: int = 2  # noisy copies per clean record (alternate 2-min stretches noisy)
    stretch_s: float = 120.0
    vf_step_s: float = 0.1  # grid of windows in VF/flutter episodes


def _random_nonbeat(rng: np.random.Generator, n_samples: int, beats: np.ndarray, fs: float,
                    count: int, margin: int) -> np.ndarray:
    if count <= 0 or n_samples <= 2 * margin:
        return np.zeros(0, np.int64)
    min_d = int(round(RANDOM_MIN_DISTANCE_S * fs))
    pos = rng.integers(margin, n_samples - margin, size=count * 4)
    beats = np.sort(beats)
    if len(beats):
        k = np.searchsorted(beats, pos)
        left = np.abs(pos - beats[np.clip(k - 1, 0, len(beats) - 1)])
        right = np.abs(beats[np.clip(k, 0, len(beats) - 1)] - pos)
        pos = pos[np.minimum(left, right) >= min_d]
    return np.unique(pos[:count])


def _stratified(rng: np.random.Generator, idx: np.ndarray, is_normal: np.ndarray,
                count: int) -> np.ndarray:
    """Up to ``count`` of ``idx``: half N-class beats, half the others (V, S, F, Q), the
    unused share going to the other group. Uniform sampling would leave the rare abnormal
    beats -- which model 1 must not reject -- almost unseen."""
    if len(idx) <= count:
        return idx
    normal, other = idx[is_normal], idx[~is_normal]
    n_other = min(len(other), count // 2)
    n_normal = min(len(normal), count - n_other)
    n_other = min(len(other), count - n_normal)
    pick = [rng.choice(normal, n_normal, replace=False), rng.choice(other, n_other,
                                                                     replace=False)]
    return np.sort(np.concatenate(pick))


def _noisy_stretches(n_samples: int, fs: float, copy: int, stretch_s: float,
                     rng: np.random.Generator) -> list[tuple[int, int, str, float]]:
    """Alternate stretches of a record made noisy: copy 0 the odd ones, copy 1 the even ones
    (so two copies cover every stretch once); each gets a random noise kind and SNR."""
    step = int(round(stretch_s * fs))
    out = []
    for i, start in enumerate(range(0, n_samples, step)):
        if i % 2 != (copy + 1) % 2:
            continue
        kind = NOISE_KINDS[int(rng.integers(len(NOISE_KINDS)))]
        snr = float(NOISE_SNRS_DB[int(rng.integers(len(NOISE_SNRS_DB)))])
        out.append((start, min(start + step, n_samples), kind, snr))
    return out


def _beat_variant(rd: RecordData, signal: np.ndarray, variant: int, rng: np.random.Generator,
                  max_pos: int, n_random: int, snr_map: np.ndarray | None,
                  pos_mask_fn=None, vf_step: int = 0) -> WindowSet:
    fs = rd.fs
    cands = detector_candidates(signal, fs)
    ref_idx = match_candidates(rd.samples, cands, fs)
    matched = ref_idx >= 0
    pos_idx = np.flatnonzero(matched)
    if pos_mask_fn is not None:
        pos_idx = pos_idx[pos_mask_fn(cands[pos_idx])]
    pos_idx = _stratified(rng, pos_idx, np.isin(rd.symbols[ref_idx[pos_idx]],
                                                AAMI_CLASSES["N"]), max_pos)
    neg_idx = np.flatnonzero(~matched)
    margin = max(BEAT_WINDOW)
    rand = _random_nonbeat(rng, len(signal), rd.samples, fs, n_random, margin)
    vf = np.zeros(0, np.int64)
    if vf_step > 0 and len(rd.excluded):
        vf = np.concatenate([np.arange(a, b, vf_step) for a, b in rd.excluded])
        vf = vf[(vf >= margin) & (vf < len(signal) - margin)]
    centres = np.concatenate([cands[pos_idx], cands[neg_idx], rand, vf])
    y = np.concatenate([np.ones(len(pos_idx)), np.zeros(len(neg_idx) + len(rand) + len(vf))])
    source = np.concatenate([np.full(len(pos_idx) + len(neg_idx), SOURCE_CANDIDATE),
                             np.full(len(rand), SOURCE_RANDOM), np.full(len(vf), SOURCE_VF)])
    sym = np.full(len(centres), "", "<U1")
    sym[:len(pos_idx)] = rd.symbols[ref_idx[pos_idx]]
    snr = (np.full(len(centres), np.nan, np.float32) if snr_map is None
           else snr_map[np.clip(centres, 0, len(snr_map) - 1)])
    return window_set(rd, signal, centres, y, cands, BEAT_WINDOW, variant, source, snr, sym,
                      context=True)


def _nstdb_snr_map(n_samples: int, fs: float, record: str) -> np.ndarray:
    """SNR of each sample of an nstdb 118e*/119e* record: noise in alternate 2-minute
    stretches from minute 5 on."""
    tag = record[4:]
    snr = -6.0 if tag == "_6" else float(tag)
    out = np.full(n_samples, np.nan, np.float32)
    start, step = int(300 * fs), int(120 * fs)
    for s in range(start, n_samples, 2 * step):
        out[s:s + step] = snr
    return out


def build_beat_record(rd: RecordData, noises: dict[str, np.ndarray] | None, seed: int,
                      config: BeatConfig | None = None) -> WindowSet:
    """Model-1 windows of one record (see the module docstring)."""
    cfg = config or BeatConfig()
    rng = np.random.default_rng([seed, int.from_bytes(rd.name.encode(), "little") % 2**31])
    if rd.name in NSTDB_RECORDS or (len(rd.name) > 3 and rd.name[3] == "e"):
        snr_map = _nstdb_snr_map(len(rd.signal), rd.fs, rd.name)
        return _beat_variant(rd, rd.signal, 0, rng, cfg.positives_nstdb, cfg.random_per_variant,
                             snr_map)
    vf_step = max(1, int(round(cfg.vf_step_s * rd.fs)))
    sets = [_beat_variant(rd, rd.signal, 0, rng, cfg.positives_clean, cfg.random_per_variant,
                          None, vf_step=vf_step)]
    if noises:
        for copy in range(cfg.noisy_copies):
            stretches = _noisy_stretches(len(rd.signal), rd.fs, copy, cfg.stretch_s, rng)
            noisy, _ = add_noise_stretches(rd.signal, rd.samples, noises, stretches, rng, rd.fs)
            snr_map = np.full(len(noisy), np.nan, np.float32)
            for start, stop, _, snr in stretches:
                snr_map[start:stop] = snr
            in_noise = lambda c, m=snr_map: ~np.isnan(m[c])  # noqa: E731
            sets.append(_beat_variant(rd, noisy, copy + 1, rng, cfg.positives_noisy,
                                      cfg.random_per_variant, snr_map, pos_mask_fn=in_noise))
    return WindowSet.concat(sets)


# ---------------------------------------------------------------------------------------------
# model 2: normal vs ventricular


@dataclass(frozen=True)
class VentricularConfig:
    """Model-2 set per record: all V/E and S-class beats, N-class beats subsampled."""

    max_normal: int = 500
    #: at most this many V/E beats per record (a random draw), so that the few patients who
    #: hold most of the V beats (208, 106, 223, 119, 203) do not make up most of what model 2
    #: learns V is; None keeps them all
    max_ventricular: int | None = None
    #: F beats (fusions of a ventricular and a normal beat, which EC57 does not count against
    #: V calls) as ventricular too, so that their templates lean to V; off: left out
    fusion_as_ventricular: bool = False


#: Model 2's training windows in the shipped recipe (0.2.5): at most 200 V/E beats per record, so
#: that the five patients who hold 72 % of the V beats do not decide what a V beat looks like
#: (patient-wise cross-validation: research/ventricular_experiments.md, 'At most 200 V beats per
#: training patient'; 100 was measured after 0.2.5 and not kept: 'At most 100 V beats'). The
#: validation windows, which choose the epochs and the threshold, keep every beat.
TRAINING_WINDOWS = {"max_ventricular": 200}


def training_window_fields(kind: str, windows: dict | None = None) -> dict:
    """The :class:`VentricularConfig` fields of model ``kind``'s training windows:
    :data:`TRAINING_WINDOWS` overridden by ``windows`` (``{}`` for model 1, which has no such
    options). A training's facts keep them (``"windows"``) so that a refit rebuilds the same
    windows; facts without them mean ``VentricularConfig()``, every beat."""
    return {**TRAINING_WINDOWS, **(windows or {})} if kind == "ventricular" else {}


def max_ventricular_option(max_v: int | None) -> dict:
    """The VentricularConfig fields of a ``--max-v N`` command-line option: ``{}`` when it is
    not given (the shipped :data:`TRAINING_WINDOWS`), ``0`` for every V beat."""
    return {} if max_v is None else {"max_ventricular": max_v or None}


def build_training_windows(kind: str, data_dirs: Sequence[str | Path] | str | Path,
                           records: Iterable[str], *, windows: dict | None = None,
                           **kwargs) -> WindowSet:
    """:func:`build_windows` of the training side: model 2's windows as
    :func:`training_window_fields` says (validation windows: plain :func:`build_windows`)."""
    fields = training_window_fields(kind, windows)
    return build_windows(kind, data_dirs, records,
                         ventricular_config=VentricularConfig(**fields), **kwargs)


def build_ventricular_record(rd: RecordData, seed: int,
                             config: VentricularConfig | None = None) -> WindowSet:
    """Model-2 windows of one record (see the module docstring)."""
    cfg = config or VentricularConfig()
    rng = np.random.default_rng([seed, int.from_bytes(rd.name.encode(), "little") % 2**31])
    cands = detector_candidates(rd.signal, rd.fs)
    is_v = np.isin(rd.symbols, VENTRICULAR_SYMBOLS)
    is_s = np.isin(rd.symbols, AAMI_CLASSES["S"])
    is_n = np.isin(rd.symbols, AAMI_CLASSES["N"])
    if cfg.fusion_as_ventricular:
        is_v = is_v | np.isin(rd.symbols, AAMI_CLASSES["F"])
    inside = (rd.samples >= 0) & (rd.samples < len(rd.signal))
    n_idx = np.flatnonzero(is_n & inside)
    if len(n_idx) > cfg.max_normal:
        n_idx = np.sort(rng.choice(n_idx, cfg.max_normal, replace=False))
    v_idx = np.flatnonzero(is_v & inside)
    if cfg.max_ventricular is not None and len(v_idx) > cfg.max_ventricular:
        v_idx = np.sort(rng.choice(v_idx, cfg.max_ventricular, replace=False))
    keep = np.sort(np.concatenate([v_idx, np.flatnonzero(is_s & ~is_v & inside), n_idx]))
    ri, ti = match_beats(rd.samples, cands, match_tolerance(rd.fs))
    snapped = rd.samples.copy()
    snapped[ri] = cands[ti]
    found = np.zeros(len(rd.samples), bool)
    found[ri] = True
    centres = snapped[keep]
    y = is_v[keep].astype(np.int8)
    source = np.where(found[keep], SOURCE_CANDIDATE, SOURCE_ANNOTATION)
    scale = cands if len(cands) else rd.samples
    return window_set(rd, rd.signal, centres, y, scale, VENTRICULAR_WINDOW, 0, source,
                       np.full(len(keep), np.nan, np.float32), rd.symbols[keep], context=True)


# ---------------------------------------------------------------------------------------------
# building with a cache


def build_windows(kind: str, data_dirs: Sequence[str | Path] | str | Path,
                  records: Iterable[str], *, seed: int = 0, cache_dir: str | Path | None = None,
                  beat_config: BeatConfig | None = None,
                  ventricular_config: VentricularConfig | None = None,
                  verbose: bool = False) -> WindowSet:
    """Windows of ``kind`` (``"beat"`` or ``"ventricular"``) for ``records``, concatenated.

    Each record's windows are cached in ``cache_dir`` (default :func:`default_cache_dir`;
    ``cache_dir=""`` disables caching) and reused when the same record,
    seed and configuration come again. Noise for model 1 comes from ``nstdb/bw|em|ma`` in
    ``data_dirs`` (skipped, with only the clean record, when they are absent).
    """
    if kind not in ("beat", "ventricular"):
        raise ValueError(f"kind must be 'beat' or 'ventricular', got {kind!r}")
    records = list(records)
    cache = Path(cache_dir) if cache_dir not in (None, "") else (
        default_cache_dir() if cache_dir is None else None)
    cfg = (beat_config or BeatConfig()) if kind == "beat" else (
        ventricular_config or VentricularConfig())
    digest = hashlib.sha1(repr(cfg).encode()).hexdigest()[:8]
    tag = f"v{CACHE_VERSION[kind]}_s{seed}_{digest}"
    noises = None
    sets = []
    for record in records:
        path = cache / f"{kind}_{record}_{tag}.npz" if cache else None
        if path is not None and path.is_file():
            sets.append(WindowSet.load(path))
            continue
        rd = load_record(data_dirs, record)
        if kind == "beat":
            if noises is None:
                noises = _load_noises(data_dirs)
            ws = build_beat_record(rd, noises, seed, cfg)
        else:
            ws = build_ventricular_record(rd, seed, cfg)
        if path is not None:
            ws.save(path)
        if verbose:
            print(f"  built {kind} {record}: {len(ws)} windows {ws.counts()}", flush=True)
        sets.append(ws)
    if not sets:
        length = sum(BEAT_WINDOW if kind == "beat" else VENTRICULAR_WINDOW)
        return WindowSet.empty(length, 6)
    return WindowSet.concat(sets)


def _load_noises(data_dirs) -> dict[str, np.ndarray]:
    out = {}
    for kind in NOISE_KINDS:
        try:
            base = find_record(data_dirs, kind)
        except FileNotFoundError:
            continue
        out[kind] = load_noise(base.parent, kind)
    return out

