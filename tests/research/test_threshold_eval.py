"""The threshold-sensitivity benchmark on fake cross-validation folds of two test excerpts."""

import json

import numpy as np
import pytest
import wfdb

from research.threshold_eval import f1, sensitivity, with_ventricular


def _fake_fold(root, fold, record, data_dir, p_v, p_other, threshold):
    """A fold whose "model 2" gives ``p_v`` to the record's V beats and ``p_other`` to the
    rest, with the reference beats as candidates."""
    ann = wfdb.rdann(str(data_dir / "mitdb" / record), "atr")
    is_beat = np.isin(ann.symbol, list("NLRejAaJSVEF/fQ"))
    beats, symbols = ann.sample[is_beat], np.asarray(ann.symbol)[is_beat]
    folder = root / fold
    folder.mkdir()
    np.savez(folder / f"probs_{record}.npz", candidates=beats.astype(np.int64),
             p_beat=np.full(len(beats), 0.9, np.float32),
             p_ventricular=np.where(symbols == "V", p_v, p_other).astype(np.float32))
    (folder / "fold.json").write_text(json.dumps(
        {"thresholds": {"beat": 0.05, "ventricular": threshold}}))


@pytest.fixture(scope="module")
def report(tmp_path_factory, data_dir):
    from research.validation_eval import load_folds

    root = tmp_path_factory.mktemp("cv")
    # fold 0 needs a high threshold (its N beats get 0.7), fold 1 a low one (its V beats 0.6)
    _fake_fold(root, "fold0", "119", data_dir, 0.93, 0.7, 0.8)
    _fake_fold(root, "fold1", "208", data_dir, 0.6, 0.1, 0.4)
    features, thresholds = load_folds(root, [data_dir / "mitdb"])
    return sensitivity(features, thresholds)


def test_each_fold_at_its_own_threshold_gets_its_v_beats(report):
    own = report["own_moved_by"]["+0.00"]
    assert own["per_fold"]["fold0"] > 90 and own["per_fold"]["fold1"] > 90
    assert report["best_per_fold_upper_bound"]["F1"] >= own["F1"]


def test_a_threshold_from_the_other_fold_ruins_both(report):
    other = report["chosen_on_other_folds"]
    assert other["thresholds"]["fold1"] > 0.6  # fold 0's choice misses fold 1's V beats
    assert other["thresholds"]["fold0"] <= 0.6  # and fold 1's calls fold 0's N beats V
    assert other["per_fold"]["fold1"] == 0.0
    assert other["F1"] < report["own_moved_by"]["+0.00"]["F1"] - 30


def test_moving_the_threshold_past_the_v_beats_loses_them(report):
    assert report["own_moved_by"]["+0.10"]["per_fold"]["fold0"] > 90  # 0.9 < 0.93: still V
    assert report["fixed"]["0.95"]["TP"] == 0


def test_helpers():
    assert f1(np.array([10, 0, 0])) == 100.0
    assert f1(np.array([0, 0, 0])) == 0.0
    assert f1(np.array([5, 5, 0])) == pytest.approx(100 * 10 / 15)
    moved = with_ventricular({"a": {"beat": 0.1, "ventricular": 0.95}}, lambda f, t: t + 0.1)
    assert moved == {"a": {"beat": 0.1, "ventricular": 1.0}}
