"""Beat-by-beat scoring of ecgtk output against reference annotations (ANSI/AAMI EC57 style).

This is what ``ecgtk eval OUTPUT --reference DIR`` runs:

1. :func:`load_output` reads the ``beats`` table that ``ecgtk run`` or ``ecgtk detect`` wrote
   (one Parquet file, a folder of them, or a ``run`` folder with a ``beats/`` sub-folder).
2. For every ``record_id``, :func:`reference_path` finds the reference ``.atr`` file and
   :func:`load_reference` reads it (beats in the AAMI classes, sampling rate, and the stretches
   of ventricular flutter/fibrillation that EC57 leaves out of QRS detection scoring).
3. :func:`match_beats` pairs reference and detected beats one-to-one within a tolerance
   (150 ms by default), closest pairs first; :func:`score_record` counts QRS detection
   TP/FN/FP and, when beats carry labels, ventricular ectopic beat (VEB) scores;
   :func:`score_many` adds records up into gross totals.
4. :func:`evaluate` does all of the above and returns a JSON-serialisable dict;
   :func:`render_table` turns it into a :class:`rich.table.Table`.

Ratios (Se, +P, F1, FPR) are percentages (0-100) in the dicts, unrounded, ``None`` where the
denominator is zero; the table rounds them to two decimals. Counts are plain ints.

Modules: :mod:`~ecgtk.scoring.reference` (AAMI classes, reference annotations),
:mod:`~ecgtk.scoring.matching` (pairing beats), :mod:`~ecgtk.scoring.metrics` (scores),
:mod:`~ecgtk.scoring.output` (reading ecgtk output), :mod:`~ecgtk.scoring.report`
(whole evaluation and table), :mod:`~ecgtk.scoring.errors`.
"""

from __future__ import annotations

from ecgtk.scoring.errors import EvaluationError, SkippedRecordWarning
from ecgtk.scoring.matching import DEFAULT_TOLERANCE_S, match_beats
from ecgtk.scoring.metrics import score_many, score_record
from ecgtk.scoring.output import load_output
from ecgtk.scoring.reference import (
    AAMI_CLASSES,
    Reference,
    aami_class,
    in_intervals,
    load_reference,
    reference_path,
)
from ecgtk.scoring.report import evaluate, render_table

__all__ = [
    "AAMI_CLASSES",
    "DEFAULT_TOLERANCE_S",
    "EvaluationError",
    "Reference",
    "SkippedRecordWarning",
    "aami_class",
    "evaluate",
    "in_intervals",
    "load_output",
    "load_reference",
    "match_beats",
    "reference_path",
    "render_table",
    "score_many",
    "score_record",
]
