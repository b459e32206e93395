"""Exceptions and warnings of :mod:`ecgtk.scoring`."""

from __future__ import annotations

__all__ = ["EvaluationError", "SkippedRecordWarning"]


class EvaluationError(ValueError):
    """Evaluation cannot proceed (missing or unreadable reference or output). Message says why."""


class SkippedRecordWarning(UserWarning):
    """A record in the output has no usable reference and was left out of the scores."""
