"""The S classifier's training side (ecgtk.export.supraventricular) on synthetic patients."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ecgtk.export.supraventricular import (
    FEATURE_SETS,
    Prepared,
    choose_threshold,
    fit,
    with_bootstrap,
)
from ecgtk.export.sv_collect import PipelineRecord
from ecgtk.labelling.supraventricular import FEATURE_NAMES, MorphologyLayout, beat_features


def _patient(name: str, seed: int) -> Prepared:
    rng = np.random.default_rng(seed)
    n = 600
    rr = rng.normal(300, 10, n)
    early = rng.random(n) < 0.1
    rr[early] *= 0.65  # the interval before an S beat is short
    samples = np.cumsum(rr).astype(np.int64)
    labels = np.array(["N"] * n, dtype=object)
    morphology = np.zeros((n, 120), np.float32)
    layout = MorphologyLayout.of_model(150, 150, 360.0, 2, 5)
    rows, x = beat_features(samples, labels, morphology, layout, shape=False)
    record = PipelineRecord(name, 360.0, n, samples, labels, morphology, Path(name))
    return Prepared(record, rows, x, early[rows], np.zeros(rows.size, bool), [])


def test_fit_learns_prematurity_and_chooses_a_threshold_inside():
    parts = [_patient(f"p{i}", i) for i in range(6)]
    threshold, info = choose_threshold(parts, FEATURE_SETS["rr"], k=3)
    model = fit(parts, FEATURE_SETS["rr"], threshold)
    assert model.features == FEATURE_NAMES
    assert model.coef[0] < 0  # early -> S
    assert (model.coef[3:] == 0).all() and not model.uses_shape
    held = _patient("new", 99)
    called = model.probability(held.x) >= model.threshold
    f1 = 2 * (called & held.y).sum() / (called.sum() + held.y.sum())
    assert f1 > 0.9 and info["inner_f1_per_beat"] > 0.9


def test_the_bootstrap_refits_resampled_patients_and_leaves_the_main_fit_alone():
    parts = [_patient(f"p{i}", i) for i in range(6)]
    columns = FEATURE_SETS["rr"]
    model = fit(parts, columns, 0.3)
    boot = with_bootstrap(parts, columns, model, fits=5, seed=3)
    for name in ("mean", "scale", "coef"):
        np.testing.assert_array_equal(getattr(boot, name), getattr(model, name))
    assert (boot.intercept, boot.threshold) == (model.intercept, model.threshold)
    b = boot.bootstrap
    assert b.coef.shape == (5, len(FEATURE_NAMES)) and b.intercept.shape == (5,) and b.seed == 3
    assert (b.coef[:, 3:] == 0).all() and (b.coef[:, 0] < 0).all()
    assert len({tuple(c) for c in b.coef}) == 5  # each fit saw another draw of patients
    # a fit on all patients once, on the main fit's scale, is the main fit again
    same = fit(parts, columns, 0.3, standardisation=(model.mean, model.scale))
    np.testing.assert_allclose(same.coef, model.coef, rtol=1e-6)
    again = with_bootstrap(parts, columns, model, fits=5, seed=3).bootstrap
    np.testing.assert_array_equal(again.coef, b.coef)  # the seed decides the draws


def test_cached_calls_are_made_again_when_the_models_change(tmp_path, data_dir, monkeypatch):
    from ecgtk.export import sv_collect

    runs = []
    key = {"value": "models-a"}

    def fake_pipeline(base):
        runs.append(base.name)
        return {"models": np.str_(key["value"]), "samples": np.array([10, 400], np.int64),
                "labels": np.array(["N", "N"]), "morphology": np.zeros((2, 4), np.float32),
                "fs": np.float64(360.0), "duration_s": np.float64(2.0)}

    monkeypatch.setattr(sv_collect, "_run_pipeline", fake_pipeline)
    monkeypatch.setattr(sv_collect, "models_key", lambda: key["value"])
    sv_collect.collect(data_dir, ["119"], tmp_path, verbose=False)
    sv_collect.collect(data_dir, ["119"], tmp_path, verbose=False)
    assert runs == ["119"]  # the second read the cache
    key["value"] = "models-b"
    (record,) = sv_collect.collect(data_dir, ["119"], tmp_path, verbose=False)
    assert runs == ["119", "119"] and list(record.samples) == [10, 400]


def test_the_protocol_splits_leave_each_database_out_then_cross_validate_by_patient():
    from ecgtk.export.records import database_of, patient_of
    from ecgtk.export.supraventricular import protocol_splits

    names = ["100", "101", "103", "105", "201", "202", "800", "801", "802", "803"]
    parts = [_patient(r, i) for i, r in enumerate(names)]
    splits = list(protocol_splits(parts, k=2, seed=0))
    lodo = [(n, tr, te) for design, n, tr, te in splits if design == "lodo"]
    assert [n for n, *_ in lodo] == ["mitdb->svdb", "svdb->mitdb"]
    for name, train, test in lodo:
        source, target = name.split("->")
        assert {database_of(p.record.name) for p in train} == {source}
        assert {database_of(p.record.name) for p in test} == {target}
    cv = [(tr, te) for design, _, tr, te in splits if design == "cv"]
    assert len(cv) == 2
    held = sorted(p.record.name for _, te in cv for p in te)
    assert held == sorted(names)  # every patient held out once
    for train, test in cv:  # 201 and 202 are one patient: never on both sides
        assert not ({patient_of(p.record.name) for p in train}
                    & {patient_of(p.record.name) for p in test})
    assert [d for d, *_ in protocol_splits(parts, k=2, lodo=False)] == ["cv", "cv"]
