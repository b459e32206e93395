"""One cross-validation fold end to end, with tiny models on the MIT-BIH excerpts: it trains
both models, calls the held-out record, writes ``fold.json``, and is not run twice."""

import json

import numpy as np
import pytest

pytest.importorskip("tensorflow")

import ecgtk.export.crossval as cv  # noqa: E402
from ecgtk.export.train import TrainSettings  # noqa: E402

TINY = {"stem_filters": 8, "block_filters": (8, 8, 8), "block_kernel": 5, "lstm_units": 4}


@pytest.mark.slow
def test_a_fold_trains_calls_its_held_out_record_and_writes_its_result(tmp_path, data_dir,
                                                                      monkeypatch):
    monkeypatch.setenv("ECGTK_CACHE", str(tmp_path / "cache"))
    settings = {kind: TrainSettings(arch=TINY, verbose=0, batch_size=64)
                for kind in ("beat", "ventricular")}
    result = cv.run_fold(0, ["101", "119"], ["208"], [data_dir], tmp_path, seed=0,
                         epochs={"beat": 1, "ventricular": 1}, settings=settings, nstdb=False)
    saved = json.loads((tmp_path / "fold0" / "fold.json").read_text())
    assert saved["test_records"] == ["208"] and sorted(
        saved["train_records"] + saved["val_records"]) == ["101", "119"]
    assert set(saved["records"]) == {"208"} and set(saved["thresholds"]) == {"beat",
                                                                              "ventricular"}
    assert saved["epochs_run"] == {"beat": [1], "ventricular": [1]}
    with np.load(tmp_path / "fold0" / "probs_208.npz") as calls:
        assert len(calls["candidates"]) > 100 and len(calls["p_beat"]) == len(calls["candidates"])
    assert cv.finished_fold(tmp_path, 0)["fold"] == result["fold"] == 0

    def never(*args, **kwargs):
        raise AssertionError("a finished fold was trained again")

    monkeypatch.setattr("ecgtk.export.train.train_windows", never)
    assert cv.run_fold(0, ["101", "119"], ["208"], [data_dir], tmp_path)["records"].keys() == {
        "208"}
