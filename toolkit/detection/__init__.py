"""Detection: every R peak of a recording, read in overlapping chunks.

The Numba detector itself (band-pass, adaptive multi-lead thresholds) is
:func:`ecgtk.kernels.rpeaks.detect_rpeaks`; this stage streams a recording through it.
"""

from ecgtk.detection.chunked import (
    DEFAULT_CHUNK_S,
    DEFAULT_OVERLAP_S,
    detect_beats,
    iter_detections,
)

__all__ = ["DEFAULT_CHUNK_S", "DEFAULT_OVERLAP_S", "detect_beats", "iter_detections"]
