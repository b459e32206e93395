"""Fixed-length windows around beat positions, and RR intervals.

:func:`slice_windows` cuts the model inputs (50 + 50 samples around a candidate for model 1,
150 + 150 around a beat for model 2); :func:`rr_intervals` gives each beat's previous and next
RR interval in seconds. Each has a Numba core and a plain numpy reference
(:func:`slice_windows_reference`, :func:`rr_intervals_reference`) that the tests hold it to,
exactly.
"""

from __future__ import annotations

import math
import numbers

import numba
import numpy as np

__all__ = [
    "context_stack",
    "context_stack_reference",
    "rr_intervals",
    "rr_intervals_reference",
    "slice_windows",
    "slice_windows_reference",
]


def _check_length(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer number of samples, got {value!r}")
    value = int(value)
    if value < 0:
        raise ValueError(f"{name} must be >= 0 samples, got {value}")
    return value


def _check_windows_args(
    signal: np.ndarray, centers: np.ndarray, before: int, after: int
) -> tuple[np.ndarray, np.ndarray, int, int]:
    signal = np.asarray(signal)
    if signal.ndim not in (1, 2):
        raise ValueError(f"signal must be 1-D (n,) or 2-D (n, channels), got shape {signal.shape}")
    if not (np.issubdtype(signal.dtype, np.floating) or np.issubdtype(signal.dtype, np.integer)):
        raise ValueError(f"signal must hold real numbers, got dtype {signal.dtype}")
    if signal.shape[0] == 0:
        raise ValueError("signal must have at least one sample")
    if signal.ndim == 2 and signal.shape[1] == 0:
        raise ValueError("signal must have at least one channel")
    centers = np.asarray(centers)
    if centers.ndim != 1:
        raise ValueError(f"centers must be 1-D, got shape {centers.shape}")
    if centers.dtype == np.bool_ or not (
        np.issubdtype(centers.dtype, np.integer) or centers.size == 0
    ):
        raise ValueError(f"centers must be an integer array of sample indices, got {centers.dtype}")
    before = _check_length("before", before)
    after = _check_length("after", after)
    if before + after == 0:
        raise ValueError("before + after must be >= 1 sample")
    if centers.size:
        # Keep index arithmetic far from int64 overflow.
        limit = 2**62
        if (
            int(centers.max()) > limit - after
            or int(centers.min()) < before - limit
            or signal.shape[0] > limit
        ):
            raise ValueError("centers are too far from the signal to index")
    signal2 = signal[:, None] if signal.ndim == 1 else signal
    return signal2, centers.astype(np.int64, copy=False), before, after


@numba.njit(cache=True, nogil=True)
def _slice_windows_core(
    signal: np.ndarray, centers: np.ndarray, before: int, after: int
) -> np.ndarray:  # pragma: no cover - compiled
    """``out[i, k, c] = signal[clip(centers[i] - before + k, 0, n - 1), c]``, float32."""
    n, n_ch = signal.shape
    width = before + after
    out = np.empty((centers.shape[0], width, n_ch), dtype=np.float32)
    for i in range(centers.shape[0]):
        start = centers[i] - before
        if start >= 0 and start + width <= n:
            for k in range(width):
                for c in range(n_ch):
                    out[i, k, c] = signal[start + k, c]
        else:
            for k in range(width):
                j = start + k
                if j < 0:
                    j = 0
                elif j > n - 1:
                    j = n - 1
                for c in range(n_ch):
                    out[i, k, c] = signal[j, c]
    return out


def slice_windows(signal: np.ndarray, centers: np.ndarray, before: int, after: int) -> np.ndarray:
    """Windows of ``before + after`` samples around each centre: float32, C-contiguous.

    Parameters
    ----------
    signal : ``(n,)`` (one channel) or ``(n, channels)`` real array, at least one sample.
    centers : 1-D integer array of sample indices (any order, may repeat, may lie outside
        ``0 .. n - 1``).
    before, after : window extent in samples, ``>= 0`` with ``before + after >= 1``.

    Returns
    -------
    ``(n_centers, before + after, channels)`` float32 (``channels == 1`` for a 1-D signal):
    window ``i`` holds samples ``centers[i] - before .. centers[i] + after - 1``, so the centre
    is at index ``before`` (``before=after=50``: 100 samples, centre at 50). Samples beyond the
    ends repeat the first or last sample (edge replication). NaN in ``signal`` is copied as is.
    """
    signal2, centers, before, after = _check_windows_args(signal, centers, before, after)
    signal2 = np.ascontiguousarray(signal2, dtype=np.float32)
    return _slice_windows_core(signal2, centers, before, after)


def slice_windows_reference(
    signal: np.ndarray, centers: np.ndarray, before: int, after: int
) -> np.ndarray:
    """Plain numpy :func:`slice_windows` (``np.pad`` in edge mode, fancy indexing), for tests."""
    signal2, centers, before, after = _check_windows_args(signal, centers, before, after)
    signal2 = signal2.astype(np.float32)
    n, width = signal2.shape[0], before + after
    if centers.size == 0:
        return np.empty((0, width, signal2.shape[1]), dtype=np.float32)
    pad_lo = max(0, before - int(centers.min()))
    pad_hi = max(0, int(centers.max()) + after - n)
    padded = np.pad(signal2, ((pad_lo, pad_hi), (0, 0)), mode="edge")
    rows = centers[:, None] - before + pad_lo + np.arange(width)
    return np.ascontiguousarray(padded[rows])


def _check_rr_args(samples: np.ndarray, fs: float) -> tuple[np.ndarray, float]:
    samples = np.asarray(samples)
    if samples.ndim != 1:
        raise ValueError(f"samples must be 1-D, got shape {samples.shape}")
    if samples.dtype == np.bool_ or not (
        np.issubdtype(samples.dtype, np.integer)
        or np.issubdtype(samples.dtype, np.floating)
        or samples.size == 0
    ):
        raise ValueError(f"samples must be a numeric array of sample indices, got {samples.dtype}")
    if isinstance(fs, bool) or not isinstance(fs, numbers.Real):
        raise ValueError(f"fs must be a real number in Hz, got {fs!r}")
    fs = float(fs)
    if not math.isfinite(fs) or fs <= 0:
        raise ValueError(f"fs must be a finite positive rate in Hz, got {fs!r}")
    samples = samples.astype(np.float64)
    if not np.all(np.isfinite(samples)):
        raise ValueError("samples must be finite")
    if samples.size > 1 and not np.all(samples[1:] > samples[:-1]):
        raise ValueError("samples must be sorted in strictly ascending order")
    return samples, fs


@numba.njit(cache=True, nogil=True)
def _rr_intervals_core(samples: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray]:
    # pragma: no cover - compiled
    n = samples.shape[0]
    rr_prev = np.empty(n, dtype=np.float32)
    rr_next = np.empty(n, dtype=np.float32)
    for i in range(n):
        rr_prev[i] = (samples[i] - samples[i - 1]) / fs if i > 0 else np.nan
        rr_next[i] = (samples[i + 1] - samples[i]) / fs if i < n - 1 else np.nan
    return rr_prev, rr_next


def rr_intervals(samples: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray]:
    """Previous and next RR interval of each beat, in seconds: ``(rr_prev, rr_next)`` float32.

    ``samples`` are beat positions in samples at ``fs`` Hz (1-D, integer or float, strictly
    ascending; ValueError otherwise). ``rr_prev[i] = (samples[i] - samples[i-1]) / fs`` and
    ``rr_next[i] = (samples[i+1] - samples[i]) / fs``, computed in float64 and rounded once;
    ``rr_prev[0]`` and ``rr_next[-1]`` are NaN.
    """
    samples, fs = _check_rr_args(samples, fs)
    return _rr_intervals_core(samples, fs)


def rr_intervals_reference(samples: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray]:
    """Plain numpy :func:`rr_intervals` (``np.diff``), for tests."""
    samples, fs = _check_rr_args(samples, fs)
    if samples.size == 0:
        return np.empty(0, dtype=np.float32), np.empty(0, dtype=np.float32)
    rr = np.diff(samples) / fs
    nan = np.array([np.nan])
    rr_prev = np.concatenate([nan, rr]).astype(np.float32)
    rr_next = np.concatenate([rr, nan]).astype(np.float32)
    return rr_prev, rr_next


@numba.njit(cache=True, nogil=True)
def _context_stack_core(windows: np.ndarray, rows: np.ndarray, templates: np.ndarray,
                        template_of: np.ndarray,
                        extra: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    n, (_, length, leads), n_extra = rows.shape[0], windows.shape, extra.shape[1]
    out = np.empty((n, length, 2 * leads + n_extra), dtype=np.float32)
    for i in range(n):
        t = template_of[i]
        for k in range(length):
            for c in range(leads):
                out[i, k, c] = windows[rows[i], k, c]
                out[i, k, leads + c] = templates[t, k, c] if t >= 0 else 0.0
            for e in range(n_extra):
                out[i, k, 2 * leads + e] = extra[i, e]
    return out


def _check_context_args(windows, rows, templates, template_of, extra):
    windows = np.ascontiguousarray(windows, dtype=np.float32)
    templates = np.ascontiguousarray(templates, dtype=np.float32)
    rows = np.asarray(rows, dtype=np.int64)
    template_of = np.asarray(template_of, dtype=np.int64)
    extra = np.ascontiguousarray(extra, dtype=np.float32)
    if windows.ndim != 3 or templates.ndim != 3 or templates.shape[1:] != windows.shape[1:]:
        raise ValueError(f"windows {windows.shape} and templates {templates.shape} must be "
                         "(n, length, leads) of one length and lead count")
    n = len(rows)
    if rows.ndim != 1 or template_of.shape != (n,) or extra.ndim != 2 or len(extra) != n:
        raise ValueError(f"rows {rows.shape}, template_of {template_of.shape} and extra "
                         f"{extra.shape} must give one entry per output row")
    if n and (rows.min() < 0 or rows.max() >= len(windows)
              or template_of.max() >= len(templates) or template_of.min() < -1):
        raise ValueError("rows or template_of index outside windows or templates")
    return windows, rows, templates, template_of, extra


def context_stack(windows: np.ndarray, rows: np.ndarray, templates: np.ndarray,
                  template_of: np.ndarray, extra: np.ndarray) -> np.ndarray:
    """Model-2 inputs with context in one pass: ``(n, length, 2 * leads + extra)`` float32.

    Row ``i`` holds ``windows[rows[i]]`` (``(length, leads)``), then ``templates[template_of[i]]``
    (zeros where ``template_of[i]`` is -1), then ``extra[i]`` (``(n, n_extra)``, e.g. RR
    ratios) repeated along time. One pass instead of a gather and three strided fills.
    """
    return _context_stack_core(*_check_context_args(windows, rows, templates, template_of,
                                                    extra))


def context_stack_reference(windows: np.ndarray, rows: np.ndarray, templates: np.ndarray,
                            template_of: np.ndarray, extra: np.ndarray) -> np.ndarray:
    """Plain numpy :func:`context_stack`, for tests."""
    windows, rows, templates, template_of, extra = _check_context_args(
        windows, rows, templates, template_of, extra)
    n, length = len(rows), windows.shape[1]
    padded = np.concatenate([templates, np.zeros((1, *templates.shape[1:]), np.float32)])
    return np.concatenate([windows[rows], padded[template_of],  # -1: the zeros appended
                           np.repeat(extra[:, None, :], length, axis=1).reshape(
                               n, length, extra.shape[1])], axis=2)
