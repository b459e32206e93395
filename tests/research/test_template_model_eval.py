"""The learned per-template V decision experiment, on fake out-of-fold calls of two folds."""

import json

import numpy as np
import pytest

import research.template_model_eval as tm
import research.validation_eval as ve
from research.stacking_eval import THRESHOLDS


@pytest.fixture(scope="module")
def folds(fake_cv_run, data_dir):
    return ve.load_folds(fake_cv_run, ve.search_dirs([data_dir]))


def test_rows_are_the_decisions_beats_with_one_feature_row_and_target_each(folds):
    features, thresholds = folds
    f = next(f for f in features if f["record"] == "208")
    table = tm.template_rows(f, thresholds)
    n = len(table["rows"])
    assert n > 0 and table["x"].shape == (n, len(tm.FEATURES))
    assert np.isfinite(table["x"]).all()
    assert set(np.unique(table["target"])) <= {-1, 0, 1}
    # the fake model 2 is sure and right: V beats' templates sit above the threshold
    above = table["x"][:, 0] > 0
    assert (table["target"][above] == 1).mean() > 0.9
    assert (table["target"][~above] != 1).mean() > 0.9
    # template features are shared by a template's beats (the shape medians, the share)
    for k in np.unique(table["assignment"]):
        members = table["x"][table["assignment"] == k, 2:]
        assert np.allclose(members, members[0])


def test_fitted_on_one_fold_the_template_probability_counts_for_v(folds):
    features, thresholds = folds
    tables = [tm.template_rows(f, thresholds) for f in features]
    model, cut = tm.fit(tables[:1])
    assert model[-1].coef_[0][0] > 0
    assert cut in THRESHOLDS


def test_main_reports_the_three_decisions_per_seed_set(fake_cv_run, data_dir, tmp_path):
    report = tm.main(["--cv-dir", str(fake_cv_run), "--data", str(data_dir),
                      "--template-seeds", "2", "--json", str(tmp_path / "r.json")])
    assert json.loads((tmp_path / "r.json").read_text())["mean"] == report["mean"]
    assert len(report["per_seed_set"]) == 2
    assert set(report["per_fold"]) == {"fold0", "fold1"}
    # the shipped decision is right on sure, right calls; the learned one, fitted on one
    # other record, nearly so
    assert report["mean"]["shipped:ds1_paced"] == pytest.approx(100.0)
    assert report["mean"]["learned:ds1_paced"] > 80.0
    assert set(report["per_record"]) == {"119", "208"}
