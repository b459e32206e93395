"""Tests for ecgtk.scoring: EC57-style beat-by-beat scoring against WFDB references.

All references are synthetic, written with ``wfdb.wrann`` into ``tmp_path``.
"""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from rich.console import Console

from ecgtk.scoring import (
    AAMI_CLASSES,
    EvaluationError,
    SkippedRecordWarning,
    aami_class,
    evaluate,
    in_intervals,
    load_output,
    load_reference,
    match_beats,
    reference_path,
    render_table,
    score_many,
    score_record,
)

FS = 360

# A hand-made reference: (sample, symbol, aux_note)
REFERENCE_ANNOTATIONS = [
    (100, "+", "(N"),
    (360, "N", ""),
    (720, "N", ""),
    (1080, "V", ""),
    (1440, "A", ""),
    (1800, "N", ""),
    (2160, "F", ""),
    (2520, "/", ""),
    (2880, "[", ""),  # VF on
    (3000, "!", ""),  # flutter waves are not beats
    (3100, "!", ""),
    (3300, "N", ""),  # a beat inside the VF stretch (ignored when exclude_vf)
    (3500, "]", ""),  # VF off -> excluded [2880, 3500]
    (3600, "N", ""),
    (3960, "V", ""),
    (4300, "+", "(VFL"),  # flutter rhythm until the next rhythm change
    (4400, "!", ""),
    (4500, "V", ""),  # inside (VFL -> ignored when exclude_vf
    (4700, "+", "(N"),  # -> excluded [4300, 4700)
    (5040, "N", ""),
    (5400, "Q", ""),
    (5760, "E", ""),
    (6120, "N", ""),
    (6300, "~", ""),
]

# Detections: (sample, label)
TEST_BEATS = [
    (362, "N"),  # N -> n
    (722, "V"),  # N -> v  (VEB false positive)
    (1085, "V"),  # V -> v
    (1440, "N"),  # S -> n
    # 1800 N missed
    (2160, "V"),  # F -> v  (not a VEB false positive)
    (2525, "N"),  # Q -> n
    (3000, "V"),  # inside VF: ignored when exclude_vf, else extra V
    (3300, "N"),  # inside VF
    (3600, "artefact"),  # rejected candidate: 3600 N counts as missed
    (3960, "N"),  # V -> n  (VEB false negative)
    (4500, "V"),  # inside (VFL
    (5040, "N"),  # N -> n
    (5200, "V"),  # extra detection labelled V (Ov)
    (5400, "N"),  # Q -> n
    (5814, "V"),  # E at 5760 + 54 samples = exactly 150 ms: matched (inclusive)
    (6175, "N"),  # N at 6120 + 55 samples: just outside -> miss + extra
    (8000, "N"),  # extra
]


def write_reference(
    directory: Path,
    name: str = "rec",
    annotations=REFERENCE_ANNOTATIONS,
    fs: int = FS,
    n_samples: int | None = 36_000,
) -> Path:
    """Write NAME.atr (and NAME.hea when n_samples is given); return the record base path."""
    directory.mkdir(parents=True, exist_ok=True)
    samples = np.array([a[0] for a in annotations], dtype=np.int64)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", module=r"wfdb(\.|$)")  # wfdb's pandas deprecations
        import wfdb

        wfdb.wrann(
            name,
            "atr",
            samples,
            symbol=[a[1] for a in annotations],
            aux_note=[a[2] for a in annotations],
            fs=fs,
            write_dir=str(directory),
        )
    if n_samples is not None:
        (directory / f"{name}.hea").write_text(
            f"{name} 1 {fs} {n_samples}\n{name}.dat 16 200/mV 16 0 0 0 0 MLII\n"
        )
    return directory / name


def beats_table(
    rows: list[tuple[str, int, str | None]],
    with_label: bool = True,
    p_ventricular: list[float | None] | None = None,
) -> pa.Table:
    """A table in the beats schema of DESIGN.md; p_ventricular 0 unless given."""
    n = len(rows)
    if p_ventricular is None:
        p_ventricular = [0.0] * n
    cols = {
        "record_id": pa.array([r[0] for r in rows], pa.string()),
        "sample": pa.array([r[1] for r in rows], pa.int64()),
        "time_s": pa.array([r[1] / FS for r in rows], pa.float64()),
    }
    if with_label:
        cols["label"] = pa.array([r[2] for r in rows], pa.string())
    cols.update(
        {
            "p_beat": pa.array(np.ones(n, np.float32)),
            "p_ventricular": pa.array(p_ventricular, pa.float32()),
            "uncertainty": pa.array(np.zeros(n, np.float32)),
            "cluster": pa.array(np.zeros(n, np.int32)),
            "rr_prev_s": pa.array(np.ones(n, np.float32)),
            "rr_next_s": pa.array(np.ones(n, np.float32)),
        }
    )
    return pa.table(cols)


def make_rows(record_id: str) -> list[tuple[str, int, str]]:
    return [(record_id, s, lab) for s, lab in TEST_BEATS]


# --------------------------------------------------------------------------------------------
# classes and references
# --------------------------------------------------------------------------------------------


def test_aami_classes():
    assert AAMI_CLASSES["N"] == ("N", "L", "R", "e", "j")
    assert AAMI_CLASSES["S"] == ("A", "a", "J", "S")
    assert AAMI_CLASSES["V"] == ("V", "E")
    assert AAMI_CLASSES["F"] == ("F",)
    assert AAMI_CLASSES["Q"] == ("/", "f", "Q")
    for cls, symbols in AAMI_CLASSES.items():
        for s in symbols:
            assert aami_class(s) == cls
    for not_a_beat in ("!", "+", "~", "[", "]", "|", "x", '"'):
        assert aami_class(not_a_beat) is None


def test_load_reference(tmp_path):
    base = write_reference(tmp_path)
    for path in (base, str(base), tmp_path / "rec.atr"):
        ref = load_reference(path)
        assert ref.fs == FS
        assert ref.n_samples == 36_000
        assert ref.samples.dtype == np.int64
        assert ref.samples.tolist() == [
            360, 720, 1080, 1440, 1800, 2160, 2520, 3300, 3600, 3960, 4500, 5040, 5400,
            5760, 6120,
        ]  # fmt: skip
        assert "".join(ref.symbols) == "NNVANF/NNVVNQEN"
        assert "".join(ref.classes) == "NNVSNFQNNVVNQVN"
        assert ref.excluded.tolist() == [[2880, 3501], [4300, 4700]]
        assert ref.excluded_mask.tolist() == [s in (3300, 4500) for s in ref.samples]
        assert ref.n_excluded == 2


def test_load_reference_without_header_and_open_vf(tmp_path):
    annotations = [
        (100, "N", ""),
        (400, "+", "(VF"),
        (500, "N", ""),
        (700, "+", "(VF"),  # still VF: no change
        (800, "+", "(N"),
        (900, "N", ""),
        (1000, "[", ""),  # never closed
        (1100, "V", ""),
    ]
    write_reference(tmp_path, "nohea", annotations, fs=250, n_samples=None)
    ref = load_reference(tmp_path / "nohea")
    assert ref.fs == 250  # from the annotation file
    assert ref.n_samples is None
    assert ref.excluded[0].tolist() == [400, 800]
    assert ref.excluded[1, 0] == 1000 and ref.excluded[1, 1] > 10**12
    assert ref.excluded_mask.tolist() == [False, True, False, True]

    # with a header an unclosed stretch ends at the end of the record
    write_reference(tmp_path, "hea", annotations, fs=250, n_samples=5000)
    assert load_reference(tmp_path / "hea").excluded.tolist() == [[400, 800], [1000, 5000]]


def test_load_reference_missing(tmp_path):
    with pytest.raises(EvaluationError, match="nothere.atr"):
        load_reference(tmp_path / "nothere")


def test_in_intervals():
    iv = np.array([[10, 20], [30, 31]])
    s = np.array([0, 9, 10, 19, 20, 29, 30, 31, 100])
    assert in_intervals(s, iv).tolist() == [0, 0, 1, 1, 0, 0, 1, 0, 0]
    assert not in_intervals(s, np.zeros((0, 2))).any()


def test_reference_path(tmp_path):
    write_reference(tmp_path / "mitdb", "100")
    write_reference(tmp_path, "100")
    assert reference_path("mitdb/100", tmp_path) == tmp_path / "mitdb" / "100.atr"
    assert reference_path("100", tmp_path / "mitdb") == tmp_path / "mitdb" / "100.atr"
    # falls back to the base name
    assert reference_path("archive/2024/100", tmp_path) == tmp_path / "100.atr"
    assert reference_path("101", tmp_path) is None


# --------------------------------------------------------------------------------------------
# matching
# --------------------------------------------------------------------------------------------


def brute_force_match(ref, test, tol):
    """All pairs within tol, greedy by (distance, ref order, test order)."""
    ref, test = np.asarray(ref, np.int64), np.asarray(test, np.int64)
    r_pos = np.empty(len(ref), np.int64)
    r_pos[np.argsort(ref, kind="stable")] = np.arange(len(ref))
    t_pos = np.empty(len(test), np.int64)
    t_pos[np.argsort(test, kind="stable")] = np.arange(len(test))
    pairs = sorted(
        (abs(int(ref[i]) - int(test[j])), r_pos[i], t_pos[j], i, j)
        for i in range(len(ref))
        for j in range(len(test))
        if abs(int(ref[i]) - int(test[j])) <= tol
    )
    used_r, used_t, out = set(), set(), []
    for *_, i, j in pairs:
        if i not in used_r and j not in used_t:
            used_r.add(i)
            used_t.add(j)
            out.append((i, j))
    return sorted(out)


def check_matching(ref, test, tol, ri, ti):
    ref, test = np.asarray(ref), np.asarray(test)
    assert ri.dtype == np.int64 and ti.dtype == np.int64
    assert len(set(ri.tolist())) == len(ri)  # one-to-one
    assert len(set(ti.tolist())) == len(ti)
    assert np.all(np.abs(ref[ri] - test[ti]) <= tol)
    assert np.all(np.diff(ri) > 0)  # ordered by reference index
    # maximal: no unmatched pair left within the tolerance
    free_r = np.setdiff1d(np.arange(len(ref)), ri)
    free_t = np.setdiff1d(np.arange(len(test)), ti)
    if len(free_r) and len(free_t):
        assert np.abs(ref[free_r][:, None] - test[free_t][None, :]).min() > tol


def test_match_simple_closest_first():
    # 100 takes 95 (5 apart) rather than 140; 200 then ties between 140 and 260 (60 apart
    # each) and takes the earlier one
    ri, ti = match_beats([100, 200], [95, 140, 260], 60)
    assert list(zip(ri.tolist(), ti.tolist(), strict=True)) == [(0, 0), (1, 1)]
    # a test beat between two reference beats goes to the closer one, the other stays free
    ri, ti = match_beats([100, 180], [150], 60)
    assert (ri.tolist(), ti.tolist()) == ([1], [0])
    # ties go to the earlier beat
    ri, ti = match_beats([100, 200], [150], 50)
    assert (ri.tolist(), ti.tolist()) == ([0], [0])
    ri, ti = match_beats([100], [50, 150], 50)
    assert (ri.tolist(), ti.tolist()) == ([0], [0])


def test_match_tolerance_edge_inclusive():
    assert match_beats([1000], [1054], 54)[0].tolist() == [0]
    assert match_beats([1000], [946], 54)[0].tolist() == [0]
    assert match_beats([1000], [1055], 54)[0].tolist() == []
    assert match_beats([1000], [945], 54)[0].tolist() == []
    assert match_beats([1000], [1037], 37.5)[0].tolist() == [0]
    assert match_beats([1000], [1038], 37.5)[0].tolist() == []


def test_match_empty_and_bad_tolerance():
    for ref, test in (([], []), ([1, 2], []), ([], [1, 2])):
        ri, ti = match_beats(ref, test, 10)
        assert len(ri) == len(ti) == 0
    with pytest.raises(ValueError):
        match_beats([1], [1], -1)


def test_match_unsorted_and_duplicates():
    ref = [500, 100, 300, 300]
    test = [310, 95, 290, 505, 5000]
    ri, ti = match_beats(ref, test, 20)
    assert list(zip(ri.tolist(), ti.tolist(), strict=True)) == brute_force_match(ref, test, 20)
    check_matching(ref, test, 20, ri, ti)
    assert len(ri) == 4


@pytest.mark.parametrize("seed", range(8))
def test_match_against_brute_force(seed):
    rng = np.random.default_rng(seed)
    for _ in range(40):
        span = int(rng.integers(50, 3000))
        ref = rng.integers(0, span, int(rng.integers(0, 60)))
        test = rng.integers(0, span, int(rng.integers(0, 60)))
        tol = float(rng.integers(0, 120)) + float(rng.choice([0.0, 0.5]))
        ri, ti = match_beats(ref, test, tol)
        expected = brute_force_match(ref, test, tol)
        assert list(zip(ri.tolist(), ti.tolist(), strict=True)) == expected
        check_matching(ref, test, tol, ri, ti)


def test_match_long_chain_of_ties():
    # every test beat is exactly half-way between two reference beats: a 200-long tie chain
    ref = np.arange(0, 300 * 200, 300)
    test = ref[:-1] + 150
    ri, ti = match_beats(ref, test, 150)
    assert list(zip(ri.tolist(), ti.tolist(), strict=True)) == brute_force_match(ref, test, 150)
    assert ri.tolist() == list(range(199)) and ti.tolist() == list(range(199))


def test_match_is_fast_on_100k_beats():
    rng = np.random.default_rng(1)
    ref = np.cumsum(rng.integers(150, 500, 100_000))
    test = np.concatenate([ref + rng.integers(-70, 70, len(ref)), rng.integers(0, ref[-1], 5000)])
    rng.shuffle(test)
    t0 = time.perf_counter()
    ri, ti = match_beats(ref, test, 54)
    elapsed = time.perf_counter() - t0
    assert elapsed < 2.0
    assert 0.7 * len(ref) < len(ri) <= len(ref)
    assert len(np.unique(ri)) == len(ri) and len(np.unique(ti)) == len(ti)
    assert np.all(np.abs(ref[ri] - test[ti]) <= 54)


# --------------------------------------------------------------------------------------------
# scoring
# --------------------------------------------------------------------------------------------


@pytest.fixture
def reference(tmp_path):
    return load_reference(write_reference(tmp_path))


def test_score_record_hand_counts(reference):
    samples = [s for s, _ in TEST_BEATS]
    labels = [lab for _, lab in TEST_BEATS]
    r = score_record(reference, samples, labels)
    assert r["tolerance_samples"] == 54
    assert r["n_reference"] == 13 and r["n_reference_excluded"] == 2
    assert r["n_artefact"] == 1
    assert r["n_test"] == 13 and r["n_test_excluded"] == 3
    b = r["beats"]
    assert (b["TP"], b["FN"], b["FP"]) == (10, 3, 3)
    assert b["Se"] == pytest.approx(100 * 10 / 13)
    assert b["+P"] == pytest.approx(100 * 10 / 13)
    assert b["F1"] == pytest.approx(100 * 20 / 26)

    v = r["veb"]
    assert (v["TP"], v["FN"], v["FP"]) == (2, 1, 2)
    assert (v["Nv"], v["Sv"], v["Ov"], v["Fv"], v["Qv"]) == (1, 0, 1, 1, 0)
    assert v["TN"] == 7
    assert v["Se"] == pytest.approx(100 * 2 / 3)
    assert v["+P"] == pytest.approx(50.0)
    assert v["F1"] == pytest.approx(100 * 4 / 7)
    assert v["FPR"] == pytest.approx(100 * 2 / 9)

    c = r["confusion"]
    assert c["N"] == {"N": 2, "V": 1, "O": 3}
    assert c["S"] == {"N": 1, "V": 0, "O": 0}
    assert c["V"] == {"N": 1, "V": 2, "O": 0}
    assert c["F"] == {"N": 0, "V": 1, "O": 0}
    assert c["Q"] == {"N": 2, "V": 0, "O": 0}
    assert c["O"] == {"N": 2, "V": 1, "O": 0}
    assert r["per_class"]["N"] == {"reference": 6, "detected": 3, "missed": 3}
    assert r["per_class"]["V"] == {"reference": 3, "detected": 3, "missed": 0}
    json.dumps(r)


def test_score_record_vf_included(reference):
    samples = [s for s, _ in TEST_BEATS]
    labels = [lab for _, lab in TEST_BEATS]
    r = score_record(reference, samples, labels, exclude_vf=False)
    assert r["n_reference"] == 15 and r["n_test"] == 16
    assert r["n_reference_excluded"] == r["n_test_excluded"] == 0
    assert (r["beats"]["TP"], r["beats"]["FN"], r["beats"]["FP"]) == (12, 3, 4)
    v = r["veb"]
    assert (v["TP"], v["FN"], v["FP"], v["Ov"]) == (3, 1, 3, 2)


def test_score_record_without_labels(reference):
    samples = [s for s, lab in TEST_BEATS]  # the artefact row now counts as a detection
    r = score_record(reference, samples)
    assert r["veb"] is None and r["confusion"] is None
    assert r["n_artefact"] == 0
    assert (r["beats"]["TP"], r["beats"]["FN"], r["beats"]["FP"]) == (11, 2, 3)


def test_score_record_tolerance(reference):
    # at 0.1 s (36 samples) the 54-sample-late E beat is no longer matched
    samples = [s for s, _ in TEST_BEATS]
    labels = [lab for _, lab in TEST_BEATS]
    r = score_record(reference, samples, labels, tolerance_s=0.1)
    assert r["tolerance_samples"] == 36
    assert (r["beats"]["TP"], r["beats"]["FN"], r["beats"]["FP"]) == (9, 4, 4)
    with pytest.raises(ValueError):
        score_record(reference, samples, labels[:-1])


def test_score_record_perfect_and_empty(reference):
    r = score_record(reference, reference.samples, ["N"] * len(reference.samples))
    assert r["beats"]["Se"] == 100.0 and r["beats"]["+P"] == 100.0
    assert r["veb"]["Se"] == 0.0 and r["veb"]["+P"] is None  # no test V at all
    r = score_record(reference, [], [])
    assert r["beats"]["TP"] == 0 and r["beats"]["Se"] == 0.0 and r["beats"]["+P"] is None


def test_score_many_pools_counts(reference):
    samples = [s for s, _ in TEST_BEATS]
    labels = [lab for _, lab in TEST_BEATS]
    r1 = score_record(reference, samples, labels)
    r2 = score_record(reference, reference.samples)  # perfect, no labels
    pooled = score_many({"a": r1, "b": r2})
    g = pooled["gross"]
    assert [r["record_id"] for r in pooled["records"]] == ["a", "b"]
    assert g["n_records"] == 2 and g["n_records_with_labels"] == 1
    assert (g["beats"]["TP"], g["beats"]["FN"], g["beats"]["FP"]) == (23, 3, 3)
    assert g["beats"]["Se"] == pytest.approx(100 * 23 / 26)
    assert g["veb"]["TP"] == 2 and g["veb"]["FP"] == 2
    assert g["confusion"]["N"] == {"N": 2, "V": 1, "O": 3}
    assert g["per_class"]["N"]["reference"] == 12
    assert g["n_reference_excluded"] == 4
    json.dumps(pooled)
    assert score_many([r2, r2])["gross"]["veb"] is None


# --------------------------------------------------------------------------------------------
# reading output and the whole evaluation
# --------------------------------------------------------------------------------------------


def test_load_output_single_file(tmp_path):
    rows = make_rows("db/rec") + [("other", 50, "N"), ("other", 10, "V")]
    path = tmp_path / "beats.parquet"
    pq.write_table(beats_table(rows), path)
    out = load_output(path)
    assert sorted(out) == ["db/rec", "other"]
    samples, labels = out["other"]
    assert samples.dtype == np.int64
    assert samples.tolist() == [10, 50] and labels.tolist() == ["V", "N"]  # sorted by sample
    assert len(out["db/rec"][0]) == len(TEST_BEATS)


def test_load_output_run_folder(tmp_path):
    run = tmp_path / "run"
    (run / "beats").mkdir(parents=True)
    (run / "clusters").mkdir()
    pq.write_table(beats_table(make_rows("a")), run / "beats" / "a.parquet")
    (run / "beats" / "sub").mkdir()
    pq.write_table(beats_table([("sub/b", 5, "N")]), run / "beats" / "sub" / "b.parquet")
    pq.write_table(beats_table([("junk", 1, "N")]), run / "beats" / ".a.parquet.tmp.parquet")
    pq.write_table(pa.table({"record_id": ["a"], "cluster": [1]}), run / "clusters" / "a.parquet")
    out = load_output(run)
    assert sorted(out) == ["a", "sub/b"]


def test_load_output_flat_folder_and_no_labels(tmp_path):
    folder = tmp_path / "beats"
    folder.mkdir()
    pq.write_table(beats_table(make_rows("a"), with_label=False), folder / "a.parquet")
    pq.write_table(beats_table([("b", 7, None), ("b", 3, None)]), folder / "b.parquet")
    out = load_output(folder)
    assert out["a"][1] is None
    assert out["b"][0].tolist() == [3, 7] and out["b"][1] is None


def test_load_output_detector_only_is_unlabelled(tmp_path, reference):
    # what `ecgtk detect` writes: label "N" for every beat, p_ventricular null
    rows = [("rec", s, "N") for s in reference.samples.tolist()]
    path = tmp_path / "detect.parquet"
    pq.write_table(beats_table(rows, p_ventricular=[None] * len(rows)), path)
    samples, labels = load_output(path)["rec"]
    assert labels is None and len(samples) == len(rows)
    r = score_record(reference, samples, labels)
    assert r["veb"] is None and r["confusion"] is None
    assert r["beats"]["Se"] == 100.0

    # NaN is no value either; a table without p_ventricular has no model labels
    pq.write_table(beats_table(rows, p_ventricular=[float("nan")] * len(rows)), path)
    assert load_output(path)["rec"][1] is None
    pq.write_table(beats_table(rows).drop_columns(["p_ventricular"]), path)
    assert load_output(path)["rec"][1] is None


def test_load_output_model_labels_are_scored(tmp_path, reference):
    labels = ["V" if c == "V" else "N" for c in reference.classes.tolist()]
    rows = [("rec", s, lab) for s, lab in zip(reference.samples.tolist(), labels, strict=True)]
    p_v = [0.9 if lab == "V" else 0.1 for lab in labels]
    p_v[0] = None  # a few nulls (e.g. artefact rows) do not make the record unlabelled
    # a second record in the same file from the detector alone stays unlabelled
    rows += [("other", 100, "N"), ("other", 500, "N")]
    p_v += [None, None]
    path = tmp_path / "run.parquet"
    pq.write_table(beats_table(rows, p_ventricular=p_v), path)
    out = load_output(path)
    assert out["other"][1] is None
    samples, got = out["rec"]
    assert got.tolist() == labels
    v = score_record(reference, samples, got)["veb"]
    assert v is not None
    assert (v["TP"], v["FN"], v["FP"]) == (3, 0, 0)  # V, V and E outside the VF stretches
    assert v["Se"] == 100.0 and v["+P"] == 100.0


def test_load_output_errors(tmp_path):
    with pytest.raises(EvaluationError, match="not found"):
        load_output(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(EvaluationError, match="no beats Parquet"):
        load_output(tmp_path / "empty")
    pq.write_table(pa.table({"x": [1]}), tmp_path / "bad.parquet")
    with pytest.raises(EvaluationError, match="record_id"):
        load_output(tmp_path / "bad.parquet")


def test_evaluate_end_to_end(tmp_path):
    refs = tmp_path / "refs"
    write_reference(refs, "rec")
    run = tmp_path / "run"
    (run / "beats").mkdir(parents=True)
    pq.write_table(beats_table(make_rows("mitdb/rec")), run / "beats" / "rec.parquet")
    pq.write_table(beats_table([("mitdb/ghost", 100, "N")]), run / "beats" / "ghost.parquet")

    with pytest.warns(SkippedRecordWarning, match="ghost"):
        result = evaluate(run, refs)
    json.loads(json.dumps(result))
    assert result["options"] == {
        "output": str(run),
        "reference": str(refs),
        "tolerance_s": 0.15,
        "exclude_vf": True,
    }
    assert [r["record_id"] for r in result["records"]] == ["mitdb/rec"]
    assert result["records"][0]["reference"] == str(refs / "rec.atr")
    assert [s["record_id"] for s in result["skipped"]] == ["mitdb/ghost"]
    g = result["gross"]
    assert (g["beats"]["TP"], g["beats"]["FN"], g["beats"]["FP"]) == (10, 3, 3)
    assert (g["veb"]["TP"], g["veb"]["FN"], g["veb"]["FP"]) == (2, 1, 2)

    with pytest.warns(SkippedRecordWarning):
        both = evaluate(run, refs, exclude_vf=False)
    assert both["gross"]["beats"]["TP"] == 12

    console = Console(record=True, width=200)
    console.print(render_table(result))
    text = console.export_text()
    assert "mitdb/rec" in text and "gross (1)" in text
    assert "76.92" in text  # beats Se = +P = F1 = 10/13
    assert "66.67" in text and "50.00" in text and "57.14" in text  # VEB Se, +P, F1
    assert "1 record(s) skipped" in text


def test_render_table_without_labels(tmp_path, reference):
    pooled = score_many({"x": score_record(reference, reference.samples)})
    console = Console(record=True, width=200)
    console.print(render_table(pooled))
    text = console.export_text()
    assert "100.00" in text and "V Se" not in text and "V ref" not in text


def test_render_table_fits_100_columns(reference):
    # Holter-sized counts: 7 digits in the gross row, labels on every record
    big = score_record(reference, reference.samples, ["N"] * len(reference.samples))
    big["beats"].update(TP=1_234_567, FN=12_345, FP=23_456, Se=99.0, **{"+P": 98.1, "F1": 98.5})
    big["veb"].update(
        Vv=123_456, VFN=1_234, TP=123_456, FN=1_234, Se=99.01, **{"+P": 97.25, "F1": 98.12}
    )
    records = {f"mitdb/{i}": big for i in range(100, 148)}
    result = {**score_many(records), "options": {"tolerance_s": 0.15, "exclude_vf": True}}
    console = Console(record=True, width=100)
    console.print(render_table(result))
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= 100
    assert "…" not in text
    assert "1234567" in text and str(48 * 1_234_567) in text  # no thousands separators
    assert str(48 * 124_690) in text  # gross reference V beats
    assert "V Se" in text and "V +P" in text and "V F1" in text
    assert "99.01" in text and "97.25" in text


def test_evaluate_missing_reference_dir(tmp_path):
    pq.write_table(beats_table(make_rows("a")), tmp_path / "a.parquet")
    with pytest.raises(EvaluationError, match="reference folder"):
        evaluate(tmp_path / "a.parquet", tmp_path / "nope")
