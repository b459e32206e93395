"""Model 2 as a student: one narrower network that learns from a two-member pair (issue 38).

A student learns from targets that are part label, part the probability its teachers give the
same augmented window (``TrainSettings.teacher``, :func:`ecgtk.export.batches.soft_targets`),
so one network about 3.4x cheaper than the two-member ensemble can carry what the pair learnt.
``python -m ecgtk.export.evaluate --recipe distilled_middle --teacher-run RUN`` judges the
recipe fold by fold; ``python -m ecgtk.export.reproduce --student-of TEACHERS/ventricular.keras
TEACHERS/ventricular_1.keras`` trains the shipped student (model 2 2.0.0;
research/compact_models_plan.md, experiments 3-4).
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

__all__ = ["STUDENT_ARCH", "distillation_notes", "student_settings"]

#: The student's width (:func:`ecgtk.export.architecture.build_model` arguments over model 2's
#: defaults): the middle width of research/compact_models_plan.md, experiment 4 (the compact
#: width of experiment 3 lost nstdb at 6 dB).
STUDENT_ARCH = {"stem_filters": 32, "block_filters": (32, 64, 128), "lstm_units": 32}


def student_settings(teachers: Sequence[str | Path], work: Path, arch: dict | None = None):
    """Model 2's :class:`ecgtk.export.train.TrainSettings` as a student of ``teachers`` (their
    probabilities averaged): a network of ``arch`` (default :data:`STUDENT_ARCH`), half its
    targets from the teachers. The
    teachers are copied to ``work/teacher`` first, so that writing the new model over them in
    ``--out`` cannot change what a resumed run learns from."""
    from ecgtk.export.train import TrainSettings

    folder = Path(work) / "teacher"
    folder.mkdir(parents=True, exist_ok=True)
    copies = []
    for i, teacher in enumerate(teachers):
        copy = folder / f"teacher_{i}.keras"
        if not copy.is_file():
            if not Path(teacher).is_file():
                raise FileNotFoundError(f"{teacher}: no such teacher model")
            shutil.copyfile(teacher, copy)
        copies.append(str(copy))
    return TrainSettings(verbose=2, arch=dict(arch or STUDENT_ARCH), teacher=copies)


def distillation_notes(teachers: Sequence[str | Path], settings) -> str:
    """The model card's note on how the student learnt."""
    arch = settings.arch
    return (f"One network of {arch['block_filters']} channels (LSTM {arch['lstm_units']}) in "
            f"place of the two-member ensemble, cheaper to run: trained on targets "
            f"that are {settings.teacher_weight:.0%} the label and "
            f"{1 - settings.teacher_weight:.0%} the averaged probability that the teachers "
            f"({', '.join(Path(t).name for t in teachers)}: the previous shipped pair) give "
            "the same augmented window, then refitted on every patient the same way. Chosen by "
            "research/compact_models_plan.md, experiments 3-4 (the same students distilled "
            "fold by fold in the evaluation across databases).")
