"""Running medians: a local level that ignores outliers (RR intervals around a beat, block
maxima around a block).

:func:`sliding_median` gives the median of every ``size`` consecutive rows; its Numba core
keeps the window sorted as it slides (one removal and one insertion a step), where numpy's
``np.median`` over a sliding-window view partitions every window anew (``python -m
benchmarks.bench_kernels`` times both). :func:`running_median` centres the window on each
row. Both give ``np.median``'s numbers exactly (the middle value; for an even window the mean
of the two middle values in the input's precision; NaN where the window holds a NaN), and the
tests hold them to the plain numpy references :func:`sliding_median_reference` and
:func:`running_median_reference`.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = [
    "running_median",
    "running_median_reference",
    "sliding_median",
    "sliding_median_reference",
]


def _as_float(values: np.ndarray) -> np.ndarray:
    """``values`` as floats: float32 and float64 stay, anything else becomes float64 (as
    ``np.median`` returns)."""
    values = np.asarray(values)
    if values.dtype not in (np.float32, np.float64):
        values = values.astype(np.float64)
    return values


def _check_size(values: np.ndarray, size: int) -> int:
    if values.ndim not in (1, 2):
        raise ValueError(f"values must be 1-D or 2-D (rows x columns), got shape {values.shape}")
    size = int(size)
    if size < 1:
        raise ValueError(f"the window must hold at least 1 row, got size={size}")
    return size


def sliding_median(values: np.ndarray, size: int) -> np.ndarray:
    """Median of each ``size`` consecutive rows of ``values`` (1-D, or 2-D per column):
    ``len(values) - size + 1`` rows (none when ``values`` is shorter than the window).

    Examples
    --------
    >>> sliding_median(np.array([1.0, 9.0, 2.0, 3.0]), 3)
    array([2., 3.])
    """
    values = _as_float(values)
    size = _check_size(values, size)
    n_out = max(0, len(values) - size + 1)
    columns = values if values.ndim == 2 else values[:, None]
    out = np.empty((n_out, columns.shape[1]), dtype=values.dtype)
    if n_out:
        _sliding_median_core(np.ascontiguousarray(columns.T), size, out)
    return out.reshape((n_out,) + values.shape[1:])


def sliding_median_reference(values: np.ndarray, size: int) -> np.ndarray:
    """Plain numpy :func:`sliding_median` (``np.median`` of a sliding-window view), for tests."""
    values = _as_float(values)
    size = _check_size(values, size)
    if len(values) < size:
        return np.empty((0,) + values.shape[1:], dtype=values.dtype)
    windows = np.lib.stride_tricks.sliding_window_view(values, size, axis=0)
    return np.median(windows, axis=-1)


def _edge_padded(values: np.ndarray, size: int) -> np.ndarray:
    half = size // 2
    return np.concatenate([np.repeat(values[:1], half, 0), values,
                           np.repeat(values[-1:], half, 0)])


def running_median(values: np.ndarray, size: int) -> np.ndarray:
    """Median over ``size`` (odd) neighbouring rows centred on each row, the edges repeating
    the first and last rows; per column for 2-D ``values``. The same shape as ``values``.

    Examples
    --------
    >>> running_median(np.array([1.0, 1.0, 9.0, 1.0, 1.0]), 3)
    array([1., 1., 1., 1., 1.])
    """
    values = _as_float(values)
    size = _check_size(values, size)
    if len(values) == 0:
        return values.copy()
    return sliding_median(_edge_padded(values, size), size)


def running_median_reference(values: np.ndarray, size: int) -> np.ndarray:
    """Plain numpy :func:`running_median`, for tests."""
    values = _as_float(values)
    size = _check_size(values, size)
    if len(values) == 0:
        return values.copy()
    return sliding_median_reference(_edge_padded(values, size), size)


@numba.njit(cache=True, nogil=True)
def _sliding_median_core(columns: np.ndarray, size: int,
                         out: np.ndarray) -> None:  # pragma: no cover - compiled
    """``out[i, c]``: the median of ``columns[c, i:i + size]``. The window's values that are
    not NaN are kept sorted in ``window[:count]``; a window holding a NaN gives NaN."""
    window = np.empty(size + 1, dtype=columns.dtype)  # one more while a value comes in
    for c in range(columns.shape[0]):
        x = columns[c]
        count = 0
        nans = 0
        for i in range(x.shape[0]):
            v = x[i]
            if np.isnan(v):
                nans += 1
            else:  # insert v after the values <= v
                j = count
                while j > 0 and window[j - 1] > v:
                    window[j] = window[j - 1]
                    j -= 1
                window[j] = v
                count += 1
            if i >= size:  # drop the value that left the window
                gone = x[i - size]
                if np.isnan(gone):
                    nans -= 1
                else:
                    j = 0
                    while window[j] != gone:
                        j += 1
                    for k in range(j, count - 1):
                        window[k] = window[k + 1]
                    count -= 1
            if i >= size - 1:
                row = i - size + 1
                if nans > 0:
                    out[row, c] = np.nan
                elif size % 2 == 1:
                    out[row, c] = window[size // 2]
                else:
                    out[row, c] = (window[size // 2 - 1] + window[size // 2]) * 0.5
