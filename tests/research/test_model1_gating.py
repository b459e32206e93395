"""``python -m research.model1_gating``: model 1 spared the candidates the detector is sure of,
scored on out-of-fold calls (plan in research/model1_gating_plan.md)."""

import json

import numpy as np

from research.sure_beats import SureBeatRule


def _fold(tmp_path, data_dir, p_beat_value: float) -> None:
    """A fake fold holding 101 with the detector's own candidates (at 360 Hz, as the runs of
    ``ecgtk.export.evaluate`` hold them) and model 1 rejecting every one of them."""
    from ecgtk.export.records import detector_candidates, load_record

    rd = load_record([data_dir / "mitdb"], "101")
    candidates = detector_candidates(rd.signal)
    fold = tmp_path / "fold0"
    fold.mkdir()
    np.savez(fold / "probs_101.npz", candidates=candidates,
             p_beat=np.full(len(candidates), p_beat_value, np.float32),
             p_ventricular=np.full(len(candidates), 0.01, np.float32))
    (fold / "fold.json").write_text(json.dumps(
        {"thresholds": {"beat": 0.5, "ventricular": 0.5}}))


def test_sure_candidates_become_beats_and_are_counted(tmp_path, data_dir):
    from research.model1_gating import load_run, score

    _fold(tmp_path, data_dir, 0.01)  # model 1 rejects everything
    features, thresholds = load_run(tmp_path, [data_dir / "mitdb"], {})
    assert features[0]["found"] == 1.0  # the detector run again finds every candidate
    ungated = score(features, thresholds, None, False)["mitdb"]
    gated = score(features, thresholds, SureBeatRule(min_ratio=1.5), False)["mitdb"]
    assert ungated["skipped"] == 0 and ungated["beats_Se"] < 50
    assert gated["skipped_share"] > 0.5
    assert gated["beats_Se"] > ungated["beats_Se"] + 40


def test_falls_and_bounds():
    from research.model1_gating import falls, passes

    base = {"mitdb": {"beats_Se": 99.8, "beats_+P": 99.9, "veb_F1": 90.0},
            "nstdb 0 dB": {"beats_Se": 95.0, "beats_+P": 92.0}}
    run = {"mitdb": {"beats_Se": 99.79, "beats_+P": 99.9, "veb_F1": 89.8},
           "nstdb 0 dB": {"beats_Se": 95.0, "beats_+P": 91.4}}
    fall = falls(base, run, True)
    assert abs(fall["mitdb"]["beats_Se"] - 0.01) < 1e-9  # points, the scores are percentages
    assert abs(fall["mitdb"]["veb_F1"] - 0.2) < 1e-9
    assert not passes(fall)  # nstdb 0 dB +P fell 0.6 > 0.5
    run["nstdb 0 dB"]["beats_+P"] = 91.6
    assert passes(falls(base, run, True))
