"""Students: narrower networks that learn from wider ones (issue 38).

A student learns from targets that are part label, part the probability its teachers give the
same augmented window (``TrainSettings.teacher``, :func:`ecgtk.export.batches.soft_targets`),
so one network about 3.4x cheaper than model 2's two-member ensemble can carry what the pair
learnt, and a narrower model 1 what the wide one did.
``python -m ecgtk.export.evaluate --recipe distilled_middle|distilled_both --teacher-run RUN``
judges the recipes fold by fold; ``python -m ecgtk.export.reproduce --student-of
TEACHERS/ventricular.keras TEACHERS/ventricular_1.keras`` trains the shipped model 2 student
(2.0.0) and ``--beat-student-of TEACHER/beat.keras`` a model 1 student
(research/compact_models_plan.md, experiments 3-5).
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

__all__ = ["NARROW_BEAT_ARCH", "NARROW_VENTRICULAR_ARCH", "SLIM_BEAT_ARCH", "STUDENT_ARCH",
           "STUDENT_ARCHS", "distillation_notes", "student_settings"]

#: The student's width (:func:`ecgtk.export.architecture.build_model` arguments over model 2's
#: defaults): the middle width of research/compact_models_plan.md, experiment 4 (the compact
#: width of experiment 3 lost nstdb at 6 dB).
STUDENT_ARCH = {"stem_filters": 32, "block_filters": (32, 64, 128), "lstm_units": 32}
#: Model 1's narrow student width (experiment 5), between the compact and the middle width.
NARROW_BEAT_ARCH = {"stem_filters": 24, "block_filters": (24, 48, 96), "lstm_units": 24}
#: A narrower model 1 student (experiment 7): the compact channels with the narrow width's LSTM
#: (the compact width's LSTM 16 missed beats in experiments 2-3).
SLIM_BEAT_ARCH = {"stem_filters": 16, "block_filters": (16, 32, 64), "lstm_units": 24}
#: A narrower model 2 student (experiment 8): the middle width's stem and first blocks, the
#: last block at 96 channels and an LSTM of 24 (about 1.2x cheaper than 0.4.0's).
NARROW_VENTRICULAR_ARCH = {"stem_filters": 32, "block_filters": (32, 64, 96), "lstm_units": 24}
#: Each model's student width (model 1's: the narrow width kept by experiment 5).
STUDENT_ARCHS = {"beat": NARROW_BEAT_ARCH, "ventricular": STUDENT_ARCH}


def student_settings(teachers: Sequence[str | Path], work: Path, arch: dict | None = None, *,
                     kind: str = "ventricular"):
    """Model ``kind``'s :class:`ecgtk.export.train.TrainSettings` as a student of ``teachers``
    (their probabilities averaged): a network of ``arch`` (default :data:`STUDENT_ARCHS`),
    half its targets from the teachers. The teachers are copied to ``work/teacher`` (model 2)
    or ``work/teacher_beat`` (model 1) first, so that writing the new model over them in
    ``--out`` cannot change what a resumed run learns from."""
    from ecgtk.export.train import TrainSettings

    if kind not in STUDENT_ARCHS:
        raise ValueError(f"kind must be one of {', '.join(STUDENT_ARCHS)}, not {kind!r}")
    folder = Path(work) / ("teacher" if kind == "ventricular" else f"teacher_{kind}")
    folder.mkdir(parents=True, exist_ok=True)
    copies = []
    for i, teacher in enumerate(teachers):
        copy = folder / f"teacher_{i}.keras"
        if not copy.is_file():
            if not Path(teacher).is_file():
                raise FileNotFoundError(f"{teacher}: no such teacher model")
            shutil.copyfile(teacher, copy)
        copies.append(str(copy))
    return TrainSettings(verbose=2, arch=dict(arch or STUDENT_ARCHS[kind]), teacher=copies)


def distillation_notes(teachers: Sequence[str | Path], settings,
                       kind: str = "ventricular") -> str:
    """The model card's note on how the student learnt."""
    arch = settings.arch
    replaces = ("the two-member ensemble" if kind == "ventricular"
                else "the wider network (48/96/192 channels)")
    return (f"One network of {arch['block_filters']} channels (LSTM {arch['lstm_units']}) in "
            f"place of {replaces}, cheaper to run: trained on targets "
            f"that are {settings.teacher_weight:.0%} the label and "
            f"{1 - settings.teacher_weight:.0%} the averaged probability that the teachers "
            f"({', '.join(Path(t).name for t in teachers)}: the previous shipped model) give "
            "the same augmented window"
            + (", then refitted on every patient the same way. " if kind == "ventricular"
               else ". ")
            + "Chosen by research/compact_models_plan.md, "
            + ("experiments 3-4" if kind == "ventricular" else "experiment 5")
            + " (the same students distilled fold by fold in the evaluation across "
              "databases).")
