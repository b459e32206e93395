"""crossval's summary covers every finished fold, those an earlier ``--folds`` ran too."""

import json

import ecgtk.export.crossval as cv


def test_a_run_of_some_folds_summarises_the_folds_run_before(tmp_path, monkeypatch):
    ran = []

    def fake_fold(i, train, test, data_dirs, out_dir, **kwargs):
        ran.append(i)
        return {"fold": i, "records": {}}

    monkeypatch.setattr(cv, "run_fold", fake_fold)
    monkeypatch.setattr(cv, "summarise", lambda results: {"folds": [r["fold"] for r in results]})
    (tmp_path / "fold0").mkdir()
    (tmp_path / "fold0" / "fold.json").write_text(json.dumps({"fold": 0, "records": {}}))
    summary = cv.crossval([tmp_path], tmp_path, k=4, folds=[1, 2], verbose=False)
    assert ran == [1, 2]  # fold 0 is not run again, fold 3 (never run) is left out
    assert summary["folds"] == [0, 1, 2]
    assert json.loads((tmp_path / "crossval.json").read_text())["folds"] == [0, 1, 2]
