"""research/sv_uncertainty.py: the scored beats of a held-out record, the wrong calls, the
baseline and the figures, on a real reference (MIT-BIH 119's excerpt, no S beats in it)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from ecgtk.export.supraventricular import Prepared
from ecgtk.export.sv_collect import PipelineRecord
from ecgtk.labelling.supraventricular import MorphologyLayout, load_supraventricular
from ecgtk.scoring.reference import load_reference
from research.sv_uncertainty import BAR, closeness_to_threshold, figures, held_out_beats

LAYOUT = MorphologyLayout.of_model(150, 150, 360.0, 2, 5)


def _record_119(data_dir) -> tuple[Prepared, np.ndarray]:
    """119 as if the pipeline had found every reference beat and labelled the V beats V."""
    base = data_dir / "mitdb" / "119"
    ref = load_reference(base)
    labels = np.where(ref.classes == "V", "V", "N").astype(object)
    morphology = np.zeros((ref.samples.size, LAYOUT.leads * LAYOUT.length), np.float32)
    record = PipelineRecord("119", ref.fs, 60.0, ref.samples.astype(np.int64), labels,
                            morphology, base)
    empty = np.zeros(0)
    return Prepared(record, empty, empty, empty.astype(bool), empty.astype(bool), []), ref.classes


def test_the_baseline_is_highest_at_the_threshold():
    p = np.array([0.01, 0.1, 0.15, 0.3, 0.99])
    score = closeness_to_threshold(p, np.full(5, 0.15))
    assert score[2] == pytest.approx(0.0) and np.argmax(score) == 2
    assert score[1] > score[0] and score[3] > score[4]


def test_held_out_beats_and_figures(data_dir):
    part, classes = _record_119(data_dir)
    shipped = load_supraventricular()
    probe = held_out_beats(part, shipped, LAYOUT)
    # the N beats only: V beats are neither scored nor given a probability
    assert probe["p"].size == int((classes == "N").sum()) and not probe["y"].any()
    # a threshold near the median probability calls about half the beats S: all of those are
    # wrong (set between two distinct probabilities, so that no beat sits on it)
    distinct = np.unique(probe["p"])
    middle = distinct.size // 2
    model = replace(shipped, threshold=float(distinct[middle - 1:middle + 1].mean()))
    held = held_out_beats(part, model, LAYOUT)
    np.testing.assert_array_equal(held["wrong"], held["p"] >= model.threshold)
    assert 0 < held["wrong"].sum() < held["wrong"].size
    assert np.isfinite(held["u"]).all() and (held["u"] >= 0).all()
    f = figures([held])
    assert (f["beats"], f["reference_s"], f["wrong"]) == (held["p"].size, 0,
                                                         int(held["wrong"].sum()))
    assert 0 <= f["auroc_bootstrap"] <= 1 and f["auroc_threshold_closeness"] > 0.5
    assert f["ece"] == pytest.approx(float(held["p"].mean()), rel=1e-6)  # no S: ECE = mean p
    assert f["passes_bar"]["bootstrap"] == (f["auroc_bootstrap"] >= BAR["auroc"]
                                            and f["ece"] <= BAR["ece"])
