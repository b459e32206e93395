"""Rule 7's benchmark (distinct templates), on fake out-of-fold calls of two folds."""

import json

import pytest

import ecgtk.benchmarks.distinct_eval as de
from ecgtk.validation import ValidationRules


def test_the_grid_starts_with_the_rule_off_and_keeps_the_other_rules_as_shipped():
    grid = de.settings()
    assert grid[0] == ValidationRules() and grid[0].distinct_template_margin is None
    assert len(grid) == 1 + len(de.MARGINS) * len(de.GAPS)
    assert {de.name_of(r) for r in grid[1:]} == {f"margin {m:g} gap {g:g}"
                                                 for m in de.MARGINS for g in de.GAPS}
    assert all(r.early_template_rr_ratio == ValidationRules().early_template_rr_ratio
               for r in grid)


def test_main_scores_every_setting_and_chooses_per_fold(fake_cv_run, data_dir, tmp_path):
    out = tmp_path / "r.json"
    report = de.main(["--cv-dir", str(fake_cv_run), "--data", str(data_dir),
                      "--template-seeds", "1", "--show", "0.5", "4", "--json", str(out)])
    assert json.loads(out.read_text())["chosen_per_fold"] == report["chosen_per_fold"]
    assert set(report["settings"]) == {de.name_of(r) for r in de.settings()}
    # the fake model 2 is sure and right: rule 7 has nothing to add, every line is perfect
    assert report["settings"]["off"]["ds1_paced"] == pytest.approx(100.0)
    assert report["chosen_on_other_folds"]["mean"] == pytest.approx(100.0)
    assert set(report["chosen_per_fold"]) == {"fold0", "fold1"}
    assert set(report["per_record"]) == {"off", "margin 0.5 gap 4"}
    assert set(report["per_record"]["off"]) == {"119", "208"}
