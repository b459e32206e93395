"""Distillation (issue 38): a student learns half from a teacher's probabilities on the windows
it is shown; the teacher of a cross-validation fold must have trained on the same patients."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ecgtk.export.batches import soft_targets

pytest.importorskip("tensorflow")

from ecgtk.export import train as tr  # noqa: E402
from ecgtk.export.batches import augmented_batches, class_weights  # noqa: E402
from ecgtk.export.crossval import fold_teachers  # noqa: E402
from ecgtk.export.evaluate import evaluate  # noqa: E402
from tests.training.test_train import TINY, _windows  # noqa: E402  (synthetic windows)


def test_soft_targets_mix_label_and_teacher():
    got = soft_targets(np.array([0, 1, 1]), np.array([0.8, 0.2, 1.0]), 0.5)
    assert np.allclose(got[:, 1], [0.4, 0.6, 1.0]) and np.allclose(got.sum(axis=1), 1.0)
    assert np.allclose(soft_targets(np.array([1]), np.array([0.3]), 0.0)[:, 1], [1.0])
    with pytest.raises(ValueError, match="teacher_weight"):
        soft_targets(np.array([1]), np.array([0.3]), 1.5)


def test_batches_carry_the_teachers_probability_of_the_window_given():
    x = np.random.default_rng(0).normal(size=(10, 100, 2)).astype(np.float32)
    y = np.array([0, 1] * 5)

    def teacher(xb, training=False):  # a stand-in: P(V) from the window's first sample
        p = 1 / (1 + np.exp(-xb[:, 0, 0]))
        return np.stack([1 - p, p], axis=1)

    seq = augmented_batches(x, y, 4, 0, class_weights(y), None, 2, None, teacher, 0.5)
    xb, tb, wb = seq[0]
    assert tb.shape == (len(xb), 2) and len(wb) == len(xb)
    rows = [int(np.flatnonzero((x == row).all(axis=(1, 2)))[0]) for row in xb]
    expect = 0.5 * (1 / (1 + np.exp(-xb[:, 0, 0]))) + 0.5 * y[rows]
    assert np.allclose(tb[:, 1], expect, atol=1e-6)


@pytest.mark.slow
def test_a_student_trains_from_its_teacher(tmp_path):
    train, val = _windows(320, 100, "a", 0), _windows(64, 100, "b", 1)
    settings = tr.TrainSettings(arch=TINY, verbose=0, batch_size=32, context=False)
    teacher, _ = tr.train_windows("beat", train, val, tmp_path / "teacher", epochs=1,
                                  settings=settings)
    student = tr.TrainSettings(arch={**TINY, "lstm_units": 2}, verbose=0, batch_size=32,
                               context=False, teacher=str(teacher))
    path, info = tr.train_windows("beat", train, val, tmp_path / "student", epochs=1,
                                  settings=student)
    assert path.is_file() and info["settings"]["teacher"] == str(teacher)
    assert info["parameters"] < json.loads(
        (tmp_path / "teacher" / "beat.train.json").read_text())["parameters"]
    pair = tr._load_teacher([str(teacher), str(teacher)], (100, 2))
    one = tr._load_teacher(str(teacher), (100, 2))
    np.testing.assert_allclose(pair(train.x[:8]), np.asarray(one(train.x[:8])), rtol=1e-6)
    with pytest.raises(ValueError, match="the teacher reads"):
        tr._load_teacher(str(teacher), (300, 6))
    with pytest.raises(FileNotFoundError, match="no such teacher"):
        tr.train_windows("beat", train, val, tmp_path / "x", epochs=1,
                         settings=tr.TrainSettings(arch=TINY, verbose=0, context=False,
                                                   teacher=str(tmp_path / "none.keras")))


def test_a_fold_teacher_must_have_trained_on_the_same_patients(tmp_path):
    fold = tmp_path / "fold0"
    fold.mkdir()
    with pytest.raises(FileNotFoundError, match="not a finished fold"):
        fold_teachers(tmp_path, 0, ["101"], ["119"])
    (fold / "fold.json").write_text(json.dumps({"train_records": ["101", "100"],
                                                "val_records": ["119"]}))
    assert fold_teachers(tmp_path, 0, ["100", "101"], ["119"])["ventricular"] == str(
        fold / "ventricular.keras")
    with pytest.raises(ValueError, match="other patients"):
        fold_teachers(tmp_path, 0, ["100", "208"], ["119"])


def test_the_distilled_recipe_needs_a_teacher_run(tmp_path):
    with pytest.raises(ValueError, match="teacher run"):
        evaluate([tmp_path], tmp_path / "out", recipe="distilled")
    with pytest.raises(ValueError, match="teacher run"):
        evaluate([tmp_path], tmp_path / "out", recipe="shipped", teacher_run=tmp_path)


def test_the_shipped_student_learns_from_copies_of_its_teachers(tmp_path):
    from ecgtk.export.distill import STUDENT_ARCH, distillation_notes, student_settings
    from ecgtk.export.evaluate import COMPACT_ARCH, RECIPES

    teachers = [tmp_path / "ventricular.keras", tmp_path / "ventricular_1.keras"]
    for i, t in enumerate(teachers):
        t.write_bytes(b"member %d" % i)
    s = student_settings(teachers, tmp_path / "work")
    assert s.arch == STUDENT_ARCH == RECIPES["distilled_middle"]["ventricular"]["arch"]
    assert len(s.teacher) == 2
    assert student_settings(teachers, tmp_path / "work", COMPACT_ARCH["ventricular"]).arch == \
        COMPACT_ARCH["ventricular"]
    assert [open(c, "rb").read() for c in s.teacher] == [b"member 0", b"member 1"]
    teachers[0].write_bytes(b"a new model written over the old one")
    again = student_settings(teachers, tmp_path / "work")  # a resumed run: the copies stay
    assert open(again.teacher[0], "rb").read() == b"member 0"
    assert "ventricular_1.keras" in distillation_notes(teachers, s)
    with pytest.raises(FileNotFoundError, match="no such teacher"):
        student_settings([tmp_path / "none.keras"], tmp_path / "other")


def test_a_model_1_student_keeps_its_teacher_apart_from_model_2s(tmp_path):
    from ecgtk.export.distill import STUDENT_ARCHS, distillation_notes, student_settings
    from ecgtk.export.evaluate import RECIPES

    teacher = tmp_path / "beat.keras"
    teacher.write_bytes(b"model 1")
    (tmp_path / "ventricular.keras").write_bytes(b"model 2")
    beat = student_settings([teacher], tmp_path / "work", kind="beat")
    vent = student_settings([tmp_path / "ventricular.keras"], tmp_path / "work")
    assert Path(beat.teacher[0]).parent != Path(vent.teacher[0]).parent
    assert [open(c, "rb").read() for c in (beat.teacher[0], vent.teacher[0])] == \
        [b"model 1", b"model 2"]
    assert beat.arch == STUDENT_ARCHS["beat"]
    assert STUDENT_ARCHS["beat"] in (RECIPES["distilled_both"]["beat"]["arch"],
                                     RECIPES["distilled_both_narrow"]["beat"]["arch"])
    note = distillation_notes([teacher], beat, "beat")
    assert "wider network" in note and "refitted" not in note
    with pytest.raises(ValueError, match="kind must be"):
        student_settings([teacher], tmp_path / "work", kind="supraventricular")
