"""Supraventricular ectopy in the Holter summary: S beats, couplets and runs.

Counted as :mod:`ecgtk.summary.rhythm` counts V ectopy, over *adjacent* beats (no artefact
candidate between them): a run is a maximal stretch of adjacent ``S`` beats; an artefact
candidate or any other beat ends it.

Contract: ``records/`` columns (after ``af_burden``, in this order; see ``RHYTHM_COLUMNS``)

- ``n_supraventricular`` int64 — beats labelled ``S``.
- ``n_sv_couplets`` int64 — runs of exactly 2 adjacent S beats.
- ``n_sv_runs`` int64 — runs of 3 or more adjacent S beats; each is an ``sv_run`` event.
- ``longest_sv_run_beats`` int64 — beats in the longest run of adjacent S beats (1 for
  isolated S only, 0 without S).
"""

from __future__ import annotations

import numpy as np

__all__ = ["adjacent_runs", "supraventricular_columns"]

#: Fewest adjacent S beats that make an ``sv_run`` event.
MIN_RUN = 3


def adjacent_runs(flag: np.ndarray, noisy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(first, last)`` beat index of each maximal run of adjacent flagged beats.

    ``flag``: bool per beat; ``noisy``: bool per gap (``noisy[j]``: artefacts between beat
    ``j`` and ``j + 1``), one shorter than ``flag``."""
    n = flag.size
    if n == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    joined = np.zeros(n, dtype=bool)  # joined[j]: beat j is flagged, adjacent to flagged j - 1
    joined[1:] = flag[1:] & flag[:-1] & ~noisy
    starts = np.flatnonzero(flag & ~joined)
    ends = np.flatnonzero(flag & ~np.append(joined[1:], False))
    return starts, ends


def supraventricular_columns(is_s: np.ndarray, noisy: np.ndarray
                             ) -> tuple[dict[str, int], list[tuple[int, int, int]]]:
    """The four ``records/`` columns of the module docstring, and ``(first, last, n_beats)``
    (beat indices) of each run of at least :data:`MIN_RUN` adjacent S beats."""
    starts, ends = adjacent_runs(is_s, noisy)
    lengths = ends - starts + 1
    runs = [(int(s), int(e), int(k)) for s, e, k in zip(starts, ends, lengths, strict=True)
            if k >= MIN_RUN]
    columns = {
        "n_supraventricular": int(is_s.sum()),
        "n_sv_couplets": int((lengths == 2).sum()),
        "n_sv_runs": len(runs),
        "longest_sv_run_beats": int(lengths.max()) if lengths.size else 0,
    }
    return columns, runs
