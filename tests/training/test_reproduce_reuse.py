"""``python -m ecgtk.export.reproduce --skip-cv`` reuses the cross-validation of
``python -m ecgtk.export.evaluate`` and the cards repeat its tables (no training here)."""

from __future__ import annotations

import json
import shutil

from ecgtk.export import reproduce
from ecgtk.export.records import SVDB, TRAINING_RECORDS, database_of, patient_of


def test_the_shipped_models_learn_from_65_patients_of_both_databases():
    assert len({patient_of(r) for r in TRAINING_RECORDS}) == 65
    val = reproduce.FINAL_VAL_RECORDS
    assert set(val) <= set(TRAINING_RECORDS)
    assert {database_of(r) for r in val} == {"mitdb", "svdb"}
    # the richest svdb records in V beats and the bundle-branch-block patients train
    assert not {"854", "860", "870", "879", "109", "207", "118", "124"} & set(val)
    assert len([r for r in val if r in SVDB]) == 8


def test_skip_cv_summarises_the_folds_evaluate_left(fake_cv_run, tmp_path, data_dir,
                                                    monkeypatch):
    import ecgtk.export.crossval as crossval_module

    calls = []

    def summarise_only(data, out, **kw):  # crossval with folds=[] trains nothing
        calls.append(kw)
        (out / "crossval.json").write_text("{}")

    monkeypatch.setattr(crossval_module, "crossval", summarise_only)
    shutil.copytree(fake_cv_run, tmp_path / "cv")
    defaults = {"beat": tmp_path / "cv", "ventricular": tmp_path / "cv_ensemble"}
    dirs = reproduce.reused_cv_dirs(tmp_path, [data_dir], defaults, k=4, seed=0)
    assert dirs == {"beat": tmp_path / "cv", "ventricular": tmp_path / "cv"}
    assert calls == [{"k": 4, "seed": 0, "records": TRAINING_RECORDS, "folds": [],
                      "verbose": False}]
    reproduce.reused_cv_dirs(tmp_path, [data_dir], defaults)  # summarised: not again
    assert len(calls) == 1
    (tmp_path / "cv_ensemble").mkdir()  # an ensemble cross-validation is used when there
    assert reproduce.reused_cv_dirs(tmp_path, [data_dir], defaults) == defaults


def test_cards_repeat_the_evaluation_tables(tmp_path):
    veb = {"TP": 90, "FN": 10, "FP": 5, "Se": 90.0, "+P": 94.74, "F1": 92.31}
    beats = {"TP": 999, "FN": 1, "FP": 1, "Se": 99.9, "+P": 99.9, "F1": 99.9}
    scores = {"pipeline": {"beats": beats, "veb": veb}, "model_alone": {"beats": beats,
                                                                        "veb": veb},
              "records": ["101", "106"]}
    path = tmp_path / "evaluation.json"
    path.write_text(json.dumps({"seed": 1, "k": 4, "recipe": "shipped",
                                "cv_databases": ["mitdb"], "cv": {"mitdb": scores}}))
    text = reproduce.evaluation_notes([path])
    assert "--designs cv --seed 1 --recipe shipped --cv-databases mitdb" in text
    assert "92.31" in text and "mitdb" in text
