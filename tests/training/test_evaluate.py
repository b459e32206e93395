"""``python -m ecgtk.export.evaluate``: leave-one-database-out folds, groups per database, and
the per-database scores of a run's out-of-fold calls (on a fake run: no training)."""

from __future__ import annotations

import json
import shutil

import pytest

from ecgtk.export import evaluate
from ecgtk.export.records import (
    ALL_RECORDS,
    SVDB,
    database_of,
    find_record,
    kfold_by_patient,
    patient_of,
)


def test_records_know_their_database():
    assert database_of("101") == database_of("217") == "mitdb"
    assert database_of("800") == database_of("891") == database_of("svdb/845") == "svdb"
    assert database_of("118e06") == database_of("119e_6") == "nstdb"
    assert {evaluate.group_of(r) for r in ("118e06", "119e06")} == {"nstdb 6 dB"}
    assert evaluate.group_of("118e00") == "nstdb 0 dB" and evaluate.group_of("118e24") is None


def test_each_lodo_fold_trains_on_one_database_and_holds_out_the_other():
    (name0, train0, test0), (name1, train1, test1) = evaluate.lodo_folds()
    assert {database_of(r) for r in train0} == {"mitdb"} == {database_of(r) for r in test1}
    assert {database_of(r) for r in train1} == {"svdb"} == {database_of(r) for r in test0}
    assert set(train0) == set(test1) == set(ALL_RECORDS) and set(train1) == set(SVDB)
    assert name0 == "mitdb -> svdb" and name1 == "svdb -> mitdb"


def test_cross_validation_over_both_databases_keeps_patients_together():
    folds = kfold_by_patient(list(ALL_RECORDS) + list(SVDB), 4, seed=0)
    held = [patient_of(r) for _, test in folds for r in test]
    assert len(held) == len(set(held)) == 65
    for train, test in folds:
        assert not {patient_of(r) for r in train} & {patient_of(r) for r in test}
        assert {database_of(r) for r in test} == {"mitdb", "svdb"}


def test_svdb_records_are_found_in_their_folder(tmp_path, data_dir):
    (tmp_path / "svdb").mkdir()
    for ext in ("hea", "dat", "atr"):
        shutil.copy(data_dir / "mitdb" / f"119.{ext}", tmp_path / "svdb" / f"119.{ext}")
    assert find_record(tmp_path, "119") == tmp_path / "svdb" / "119"


def test_scores_per_database_with_rules_and_model_alone(fake_cv_run, data_dir, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(fake_cv_run, run)
    summary = evaluate.score_run(run, [data_dir])
    assert set(summary) == {"mitdb"} and sorted(summary["mitdb"]["records"]) == ["119", "208"]
    for name in ("pipeline", "model_alone"):
        veb = summary["mitdb"][name]["veb"]
        assert veb["F1"] > 90  # the fake model 2 is right on every beat
    text = evaluate.table({"cv": summary})
    assert "mitdb" in text and len(text.splitlines()) == 2
    json.dumps(summary)  # plain data


def test_score_only_prints_the_table(fake_cv_run, data_dir, tmp_path, capsys):
    shutil.copytree(fake_cv_run, tmp_path / "cv")
    assert evaluate.main(["--data", str(data_dir), "--out", str(tmp_path), "--designs", "cv",
                          "--score-only"]) == 0
    assert "cv" in capsys.readouterr().out
    assert not (tmp_path / "evaluation.json").exists()  # no settings to keep: none written


def test_score_only_updates_the_runs_tables_and_keeps_its_settings(fake_cv_run, data_dir,
                                                                   tmp_path):
    shutil.copytree(fake_cv_run, tmp_path / "cv")
    stale = {"seed": 3, "recipe": "shipped", "cv": {"mitdb": "stale"}, "lodo": {"kept": 1}}
    (tmp_path / "evaluation.json").write_text(json.dumps(stale))
    assert evaluate.main(["--data", str(data_dir), "--out", str(tmp_path), "--designs", "cv",
                          "--score-only"]) == 0
    whole = json.loads((tmp_path / "evaluation.json").read_text())
    assert whole["seed"] == 3 and whole["recipe"] == "shipped" and whole["lodo"] == {"kept": 1}
    assert whole["cv"]["mitdb"]["pipeline"]["veb"]["F1"] > 90


def test_a_run_without_folds_says_so(tmp_path, data_dir):
    (tmp_path / "cv").mkdir()
    with pytest.raises(SystemExit, match="no fold results"):
        evaluate.score_run(tmp_path / "cv", [data_dir])


def test_recipes_set_augmentation_over_the_defaults():
    from ecgtk.export.train import DEFAULT_AUGMENT

    assert evaluate.recipe_settings("shipped") is None
    settings = evaluate.recipe_settings("recorders")
    for kind in ("beat", "ventricular"):
        aug = settings[kind].augment
        assert aug.resample_rates == (128.0, 250.0, 500.0) and aug.swap_probability == 0.5
        assert aug.scale_range == DEFAULT_AUGMENT[kind].scale_range
    with pytest.raises(ValueError, match="recipe"):
        evaluate.recipe_settings("magic")


def test_recipes_can_set_the_architecture():
    from ecgtk.export.train import DEFAULT_AUGMENT

    settings = evaluate.recipe_settings("compact")
    assert settings["beat"].arch["block_filters"] == (16, 32, 64)
    assert settings["ventricular"].arch["lstm_units"] == 24
    assert settings["ventricular"].augment == DEFAULT_AUGMENT["ventricular"]  # "arch" is not
    # an augmentation setting
    mild = evaluate.recipe_settings("noise_mild")["ventricular"]
    assert mild.augment.real_noise_probability == 0.25 and mild.arch == {}


def test_first_tensorflow_thread_setting_wins():
    pytest.importorskip("tensorflow")
    from ecgtk.export import train

    train.configure_tensorflow(1)  # whatever came first in this process stays
    first = list(train._THREADS_SET)
    train.configure_tensorflow(7)
    assert train._THREADS_SET == first


def test_cross_validation_arms_split_one_or_both_databases():
    assert evaluate.cv_records(("mitdb",)) == list(ALL_RECORDS)
    assert evaluate.cv_records() == list(ALL_RECORDS) + list(SVDB)
    with pytest.raises(ValueError, match="mitdb and/or svdb"):
        evaluate.cv_records(("nstdb",))
