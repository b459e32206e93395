"""The decision threshold chosen on validation windows, and the warning when they hold few V."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from ecgtk.export.records import count_ventricular_beats, split_validation
from ecgtk.export.thresholds import (
    MIN_VALIDATION_V_BEATS,
    ValidationWarning,
    choose_threshold,
    validation_split,
)
from ecgtk.export.windowset import WindowSet


def labelled_windows(n_v: int, n_other: int, records: tuple[str, ...] = ("101", "118")
                     ) -> WindowSet:
    """A WindowSet of ``n_v`` V (y = 1) and ``n_other`` other windows spread over ``records``."""
    n = n_v + n_other
    record = np.array([records[i % len(records)] for i in range(n)])
    return WindowSet(np.zeros((n, 4, 1), np.float32),
                     np.r_[np.ones(n_v, np.int8), np.zeros(n_other, np.int8)],
                     record, record.copy(), np.arange(n, dtype=np.int64),
                     np.zeros(n, np.int8), np.zeros(n, np.int8),
                     np.full(n, np.nan, np.float32), np.full(n, "V"))


def separable_probabilities(n_v: int, n_other: int, v_low: float) -> np.ndarray:
    """V windows at ``v_low`` ... 0.95, the others at 0.05 ... 0.25."""
    return np.r_[np.linspace(v_low, 0.95, n_v), np.linspace(0.05, 0.25, n_other)]


def test_ventricular_threshold_separates_the_classes_and_counts_v():
    ws = labelled_windows(300, 900)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ValidationWarning)
        info = choose_threshold("ventricular", separable_probabilities(300, 900, 0.62), ws)
    assert info["val_f1"] == pytest.approx(1.0)
    assert 0.3 <= info["threshold"] <= 0.6
    assert info["val_positives"] == 300


def test_ventricular_threshold_ties_go_to_the_one_closest_to_half():
    ws = labelled_windows(300, 900)
    info = choose_threshold("ventricular", separable_probabilities(300, 900, 0.9), ws)
    assert info["threshold"] == 0.5


def test_few_validation_v_beats_warn_and_name_the_records():
    n_v = MIN_VALIDATION_V_BEATS - 1
    ws = labelled_windows(n_v, 900, records=("109", "122"))
    with pytest.warns(ValidationWarning, match=rf"\(109, 122\) hold {n_v} V beats"):
        info = choose_threshold("ventricular", separable_probabilities(n_v, 900, 0.7), ws)
    assert info["val_positives"] == n_v


def test_beat_threshold_does_not_warn_about_v_beats():
    ws = labelled_windows(10, 10)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ValidationWarning)
        info = choose_threshold("beat", separable_probabilities(10, 10, 0.9), ws)
    assert info["threshold"] == 0.5
    assert "val_positives" not in info


# ---------------------------------------------------------------------------------------------
# validation patients with enough V beats to choose the threshold on

PATIENTS = tuple(f"p{i:02d}" for i in range(20))


def test_split_keeps_a_first_draw_that_holds_enough_positives():
    plain = split_validation(PATIENTS, 0.2, seed=3)
    every_record_rich = dict.fromkeys(PATIENTS, 1000)
    assert split_validation(PATIENTS, 0.2, seed=3, positives=every_record_rich,
                            min_positives=MIN_VALIDATION_V_BEATS) == plain


def test_split_draws_again_until_validation_holds_the_positives():
    # only p07 holds V beats: the validation must include it, and stay patient-wise and seeded
    positives = {"p07": 500}
    plain_train, plain_val = split_validation(PATIENTS, 0.2, seed=0)
    assert "p07" not in plain_val  # the plain draw misses it, so a redraw is needed
    train, val = split_validation(PATIENTS, 0.2, seed=0, positives=positives,
                                  min_positives=MIN_VALIDATION_V_BEATS)
    assert "p07" in val and len(val) == len(plain_val)
    assert set(train) | set(val) == set(PATIENTS) and not set(train) & set(val)
    assert (train, val) == split_validation(PATIENTS, 0.2, seed=0, positives=positives,
                                            min_positives=MIN_VALIDATION_V_BEATS)


def test_split_without_enough_positives_anywhere_takes_the_richest_draw():
    positives = {"p07": 50, "p11": 40}
    _, val = split_validation(PATIENTS, 0.2, seed=0, positives=positives,
                              min_positives=MIN_VALIDATION_V_BEATS)
    assert {"p07", "p11"} <= set(val)  # 90 is the most any draw of 4 can hold
    with pytest.raises(ValueError, match="tries"):
        split_validation(PATIENTS, 0.2, positives=positives, tries=0)


def test_ventricular_beats_are_counted_from_the_annotations(data_dir):
    counts = count_ventricular_beats(data_dir, ["101", "119", "208"])
    assert counts == {"101": 0, "119": 27, "208": 67}  # V and E of the 2-minute excerpts
    with pytest.raises(FileNotFoundError, match="999"):
        count_ventricular_beats(data_dir, ["999"])


def test_validation_split_puts_the_v_beats_in_validation(data_dir):
    # one validation patient of three; none holds 200 V beats, so the richest one: 208 (67)
    for seed in range(4):
        _, val = validation_split(data_dir, ["101", "119", "208"], seed=seed, fraction=0.3)
        assert val == ["208"]
