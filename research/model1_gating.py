"""Can model 1 see only the candidates the detector is unsure of? Measured on out-of-fold calls.

    python -m research.model1_gating --data ../shared/data --cv-dir scratch/eval/cv \
        --lodo-dir scratch/eval/lodo --json research/results/model1_gating.json
    python -m research.model1_gating --data ../shared/data --cv-dir scratch/eval/cv \
        --lodo-dir scratch/eval/lodo --diagnose 1.5 0.15 \
        --json research/results/model1_gating_diagnosis.json

Plan and keep rule, written first: ``research/model1_gating_plan.md`` (issue 38). Per held-out
record of a run (``ecgtk.export.evaluate``'s folders: ``fold<i>/probs_<record>.npz`` and
``fold.json``), the detector is run again at the model rate, 10-minute chunk by chunk as it
made the candidates (:func:`ecgtk.kernels.rpeaks.detect_with_confidence`), and each
candidate gets its ``ratio`` and ``agreement``. For each setting of :data:`GRID`, the
candidates that :func:`research.sure_beats.sure_beats` calls sure are taken as beats
(model 1's call replaced), then the labels are made as ``ecgtk run`` makes them
(:func:`ecgtk.export.out_of_fold.labels_of`: the pause rescue, the small-QRS rule, templates,
rules, template vote) and scored per group as :func:`ecgtk.export.evaluate.score_run` scores
them: mitdb, svdb, nstdb 6 dB, nstdb 0 dB.

Beats do not depend on the templates (a beat is model 1's call after the rescue, less the
small-QRS rule), so every setting's beats are scored; VEB F1 (the whole decision, K-means
included) is scored for the settings whose beats pass the bounds, most skipped first, until one
passes all (the choice on ``--cv-dir``), then that setting alone on ``--lodo-dir``.
``--diagnose MIN_RATIO RR_TOLERANCE`` instead lists, for one setting on ``--cv-dir``, the
records whose labels it changes and the K-means seed spread of ungated VEB F1, and its
scores on ``--lodo-dir`` for information (chosen on nothing).
"""

from __future__ import annotations

import argparse
import itertools
import json
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from ecgtk.detection.chunked import DEFAULT_CHUNK_S, DEFAULT_OVERLAP_S
from ecgtk.export.evaluate import group_of
from ecgtk.export.out_of_fold import chunked_rescue, labels_of, load_folds, search_dirs
from ecgtk.kernels.rpeaks import detect_with_confidence
from ecgtk.labelling.rescue import PauseRule
from ecgtk.labelling.rules import ValidationRules, qrs_too_small
from ecgtk.scoring import score_many, score_record
from research.sure_beats import SureBeatRule, sure_beats

GRID = {"min_ratio": [1.5, 2.0, 3.0, 4.0], "rr_tolerance": [0.1, 0.15, 0.2, 0.3],
        "lead_ratio": [None, 0.3]}
#: Largest fall (points) allowed per group: beats Se and +P, VEB F1 (the plan's keep rule).
BEAT_BOUND = {"mitdb": 0.02, "svdb": 0.02, "nstdb 6 dB": 0.1, "nstdb 0 dB": 0.5}
VEB_BOUND = {"mitdb": 0.3, "svdb": 0.3, "nstdb 6 dB": 1.0}
MIN_SKIPPED = 0.5
MODEL_RATE_HZ = 360.0


def chunked_confidence(signal: np.ndarray, fs: float = MODEL_RATE_HZ
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Beats, ``ratio`` and ``agreement`` of a whole signal, detected chunk by chunk as
    :func:`ecgtk.detection.chunked.iter_detections` detects (each chunk's own range kept; the
    polarity learnt on the first chunk with beats)."""
    step = int(round(DEFAULT_CHUNK_S * fs))
    overlap = int(round(DEFAULT_OVERLAP_S * fs))
    polarity = None
    found = []
    for own_start in range(0, len(signal), step):
        own_stop = min(own_start + step, len(signal))
        start, stop = max(0, own_start - overlap), min(len(signal), own_stop + overlap)
        beats, polarity, ratio, agreement = detect_with_confidence(
            signal[start:stop], fs, offset=start, polarity=polarity)
        beats = beats + start
        own = (beats >= own_start) & (beats < own_stop)
        found.append((beats[own], ratio[own], agreement[own]))
    beats, ratio, agreement = (np.concatenate([f[k] for f in found]) for k in range(3))
    return beats, ratio, agreement


def aligned_confidence(candidates: np.ndarray, signal: np.ndarray) -> tuple[np.ndarray,
                                                                            np.ndarray, float]:
    """``ratio`` and ``agreement`` per candidate (0 where the detector run again did not find
    it, so it is never skipped) and the share of candidates found again."""
    beats, ratio, agreement = chunked_confidence(signal)
    at = np.clip(np.searchsorted(beats, candidates), 0, max(len(beats) - 1, 0))
    found = (len(beats) > 0) & (beats[at] == candidates) if len(beats) else np.zeros(
        len(candidates), bool)
    return (np.where(found, ratio[at], 0.0), np.where(found, agreement[at], 0.0),
            float(found.mean()) if len(found) else 1.0)


def load_run(run_dir: Path, data: list[Path], cache: dict) -> tuple[list[dict], dict]:
    """A run's records (:func:`ecgtk.export.out_of_fold.load_folds`, only the scored groups)
    with each candidate's ``ratio`` and ``agreement`` (cached by record across runs)."""
    from ecgtk.export.records import load_record

    features, thresholds = load_folds(run_dir, data)
    kept = []
    for f in features:
        if group_of(f["record"]) is None:
            continue
        probs = np.load(next(Path(run_dir).glob(f"{f['fold']}/probs_{f['record']}.npz")))
        key = (f["record"], probs["candidates"].tobytes())
        if key not in cache:
            cache[key] = aligned_confidence(probs["candidates"],
                                            load_record(data, f["record"]).signal)
        f["ratio"], f["agreement"], f["found"] = cache[key]
        f["candidates"] = probs["candidates"]
        kept.append(f)
    return kept, thresholds


def gated(f: dict, rule: SureBeatRule | None) -> tuple[dict, np.ndarray]:
    """The record with model 1's call replaced by "beat" (p_beat 1) on its sure candidates,
    and the mask of those."""
    if rule is None:
        return f, np.zeros(len(f["samples"]), bool)
    skip = sure_beats(f["candidates"], f["ratio"], f["agreement"], rule)
    g = {k: v for k, v in f.items() if k != "_rescued"}
    g["p_beat"] = np.where(skip, np.float32(1.0), f["p_beat"])
    g["_templates"] = f.setdefault("_templates", {})  # groupings depend on rows only: shared
    return g, skip


def beat_labels(f: dict, thresholds: dict) -> np.ndarray:
    """The beats of ``ecgtk run``'s labels without the decision: model 1 after the rescue,
    less the small-QRS rule (every beat "N")."""
    t = thresholds[f["fold"]]
    beat = chunked_rescue(f, t["beat"], PauseRule()) & ~qrs_too_small(f["amplitude"],
                                                                         ValidationRules())
    return np.where(beat, "N", "artefact").astype(object)


def score(features: Iterable[dict], thresholds: dict, rule: SureBeatRule | None,
          full: bool) -> dict:
    """Per group: beats Se / +P (and VEB Se / +P / F1 when ``full``), candidates and skipped."""
    by_group: dict[str, dict] = {}
    for f in features:
        g, skip = gated(f, rule)
        labels = labels_of(g, thresholds, ValidationRules())[0] if full else beat_labels(
            g, thresholds)
        slot = by_group.setdefault(group_of(f["record"]), {"scores": [], "n": 0, "skipped": 0})
        slot["scores"].append(score_record(f["reference"], f["samples"], labels))
        slot["n"] += len(skip)
        slot["skipped"] += int(skip.sum())
    out = {}
    for group, slot in sorted(by_group.items()):
        gross = score_many(slot["scores"])["gross"]
        row = {"candidates": slot["n"], "skipped": slot["skipped"],
               "skipped_share": slot["skipped"] / max(slot["n"], 1),
               "beats_Se": gross["beats"]["Se"], "beats_+P": gross["beats"]["+P"]}
        if full and "veb" in gross:
            row.update({f"veb_{k}": gross["veb"].get(k) for k in ("Se", "+P", "F1")})
        out[group] = row
    total = sum(r["candidates"] for r in out.values())
    out["all"] = {"candidates": total,
                  "skipped_share": sum(r["skipped"] for r in out.values()) / max(total, 1)}
    return out


def falls(base: dict, run: dict, full: bool) -> dict[str, dict[str, float]]:
    """Points lost per group (positive: worse) against ``base`` (the scores are percentages)."""
    out = {}
    for group in BEAT_BOUND:
        if group not in base:
            continue
        keys = ["beats_Se", "beats_+P"] + (["veb_F1"] if full and group in VEB_BOUND else [])
        out[group] = {k: base[group][k] - run[group][k] for k in keys
                      if base[group].get(k) is not None and run[group].get(k) is not None}
    return out


def passes(fall: dict) -> bool:
    """Whether the falls of :func:`falls` are within the plan's bounds."""
    return all(v <= (VEB_BOUND[g] if k == "veb_F1" else BEAT_BOUND[g]) + 1e-9
               for g, row in fall.items() for k, v in row.items())


def grid() -> list[SureBeatRule]:
    return [SureBeatRule(**dict(zip(GRID, values, strict=True)))
            for values in itertools.product(*GRID.values())]


def rule_dict(rule: SureBeatRule) -> dict:
    return {k: getattr(rule, k) for k in ("min_ratio", "rr_tolerance", "neighbours",
                                           "lead_ratio")}


def choose(cv: list[dict], cv_t: dict) -> tuple[SureBeatRule | None, dict]:
    """The plan's step 1 on the cv run: every setting's beats, then VEB for those that pass,
    most skipped first; the first that passes all is chosen."""
    base_beats, base_full = score(cv, cv_t, None, False), score(cv, cv_t, None, True)
    screened = []
    for rule in grid():
        s = score(cv, cv_t, rule, False)
        fall = falls(base_beats, s, False)
        screened.append({"rule": rule_dict(rule), "skipped_share": s["all"]["skipped_share"],
                         "falls": fall, "beats_pass": passes(fall), "_rule": rule})
        print(f"{rule_dict(rule)} skipped {s['all']['skipped_share']:.3f} "
              f"pass {passes(fall)} {fall}", flush=True)
    chosen, checked = None, []
    for row in sorted((r for r in screened if r["beats_pass"]),
                      key=lambda r: -r["skipped_share"]):
        s = score(cv, cv_t, row["_rule"], True)
        fall = falls(base_full, s, True)
        checked.append({"rule": row["rule"], "scores": s, "falls": fall, "pass": passes(fall)})
        print(f"full {row['rule']} pass {passes(fall)} {fall}", flush=True)
        if passes(fall):
            chosen = row["_rule"]
            break
    for row in screened:
        del row["_rule"]
    return chosen, {"baseline": base_full, "screened": screened, "checked": checked}


def diagnose(features: list[dict], thresholds: dict, rule: SureBeatRule,
              seeds: int = 3) -> dict:
    """Where a setting moves the labels: per record whose labels change, the candidates
    skipped, those model 1 (after the rescue) had rejected, and the beats and VEB counts
    gated less ungated; and, per group, ungated VEB F1 with ``seeds`` K-means seed sets of the
    decision's groupings (:func:`ecgtk.export.out_of_fold.labels_of`'s ``template_seed``), the
    spread a change must exceed to be one."""
    records, spread = [], {}
    for f in features:
        g, skip = gated(f, rule)
        t = thresholds[f["fold"]]
        base_labels = labels_of(f, thresholds, ValidationRules())[0]
        gated_labels = labels_of(g, thresholds, ValidationRules())[0]
        if (base_labels != gated_labels).any():
            base = score_record(f["reference"], f["samples"], base_labels)
            run = score_record(f["reference"], f["samples"], gated_labels)
            rejected = ~chunked_rescue(f, t["beat"], PauseRule())
            records.append({
                "record": f["record"], "group": group_of(f["record"]),
                "skipped": int(skip.sum()), "skipped_model1_rejected": int((skip & rejected).sum()),
                "labels_changed": int((base_labels != gated_labels).sum()),
                "delta": {kind: {k: run[kind][k] - base[kind][k] for k in ("TP", "FN", "FP")}
                          for kind in ("beats", "veb")}})
        for seed in range(seeds):
            labels = base_labels if seed == 0 else labels_of(f, thresholds, ValidationRules(),
                                                             template_seed=seed)[0]
            spread.setdefault(group_of(f["record"]), {}).setdefault(seed, []).append(
                score_record(f["reference"], f["samples"], labels))
    f1 = {group: [score_many(by_seed[s])["gross"]["veb"]["F1"] for s in sorted(by_seed)]
          for group, by_seed in sorted(spread.items())}
    return {"rule": rule_dict(rule), "records": records, "ungated_veb_f1_by_seed": f1}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, nargs="+", required=True)
    ap.add_argument("--cv-dir", type=Path, required=True)
    ap.add_argument("--lodo-dir", type=Path, required=True)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--diagnose", type=float, nargs=2, metavar=("MIN_RATIO", "RR_TOLERANCE"),
                    help="only diagnose this setting (lead_ratio 0.3) on --cv-dir: records "
                         "whose labels change, and the K-means seed spread of VEB F1")
    args = ap.parse_args(argv)
    data, cache = search_dirs(args.data), {}
    cv, cv_t = load_run(args.cv_dir, data, cache)
    if args.diagnose:
        rule = SureBeatRule(min_ratio=args.diagnose[0], rr_tolerance=args.diagnose[1])
        found = diagnose(cv, cv_t, rule)
        lodo, lodo_t = load_run(args.lodo_dir, data, cache)  # for information, not a choice
        base, run = score(lodo, lodo_t, None, True), score(lodo, lodo_t, rule, True)
        found["lodo_for_information"] = {"baseline": base, "gated": run,
                                         "falls": falls(base, run, True)}
        print(json.dumps(found, indent=1))
        if args.json:
            args.json.write_text(json.dumps(found, indent=1) + "\n")
        return 0
    print(f"cv: {len(cv)} records, candidates found again "
          f"{np.mean([f['found'] for f in cv]):.4f}", flush=True)
    chosen, cv_result = choose(cv, cv_t)
    result = {"plan": "research/model1_gating_plan.md", "grid": GRID,
              "bounds": {"beats": BEAT_BOUND, "veb_f1": VEB_BOUND, "min_skipped": MIN_SKIPPED},
              "cv": cv_result, "chosen": rule_dict(chosen) if chosen else None}
    if chosen is not None:
        lodo, lodo_t = load_run(args.lodo_dir, data, cache)
        base, run = score(lodo, lodo_t, None, True), score(lodo, lodo_t, chosen, True)
        fall = falls(base, run, True)
        n = sum(run[g]["candidates"] for g in ("mitdb", "svdb") if g in run)
        skipped = sum(run[g]["skipped"] for g in ("mitdb", "svdb") if g in run) / max(n, 1)
        result["lodo"] = {"baseline": base, "gated": run, "falls": fall,
                          "skipped_share_mitdb_svdb": skipped,
                          "pass": passes(fall) and skipped >= MIN_SKIPPED}
        print(f"lodo: skipped {skipped:.3f} falls {fall} pass {result['lodo']['pass']}")
    result["kept"] = bool(chosen is not None and result["lodo"]["pass"])
    print(f"kept: {result['kept']}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1, default=float) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
