"""Polyphase resampling between sampling rates, and mapping sample indices between rates.

The models run at one rate (360 Hz); recordings come at 128, 200, 250, 256, 500, 1000 Hz or any
other rate that is a rational multiple of it. :func:`resample_poly` reproduces
``scipy.signal.resample_poly(x, up, down, axis=0)`` with its defaults (Kaiser window,
``beta=5.0``, half-length ``10 * max(up, down)``, zero padding at both ends) without scipy: a
Numba polyphase core computes only the output samples, never the zero-stuffed upsampled signal.
:func:`resample_poly_reference` is the plain numpy version (zero-stuff, ``np.convolve``,
decimate) that the tests compare the core against.

Output sample ``i`` lies at input position ``i * down / up`` (sample 0 maps onto sample 0), so
:func:`samples_to_rate` maps beat positions found at one rate back to the recording's own rate.

Chunks: resampling a chunk that starts at input sample ``s`` gives the whole recording's output
samples from ``s * up / down`` on only when ``s`` is a multiple of ``down`` (``up``/``down``
coprime); each chunk's ends are zero-padded, so outputs within
``HALF_LEN_FACTOR * max(up, down) / up`` input samples of a chunk edge (10 at 250 -> 360 Hz,
28 at 1000 -> 360 Hz) differ from the whole-recording result and belong in the overlap.
"""

from __future__ import annotations

import math
import numbers
from fractions import Fraction

import numba
import numpy as np

__all__ = [
    "design_resample_filter",
    "resample_poly",
    "resample_poly_reference",
    "resample_ratio",
    "samples_to_rate",
]

#: Kaiser window shape parameter scipy.signal.resample_poly uses by default.
KAISER_BETA = 5.0
#: Half-length of the filter in units of ``max(up, down)``, as in scipy.signal.resample_poly.
HALF_LEN_FACTOR = 10


def _check_rate(name: str, fs: float) -> float:
    if isinstance(fs, bool) or not isinstance(fs, numbers.Real):
        raise ValueError(f"{name} must be a real number in Hz, got {fs!r}")
    fs = float(fs)
    if not math.isfinite(fs) or fs <= 0:
        raise ValueError(f"{name} must be a finite positive rate in Hz, got {fs!r}")
    return fs


def _as_fraction(name: str, fs: float, max_denominator: int) -> Fraction:
    frac = Fraction(fs).limit_denominator(max_denominator)
    if abs(float(frac) - fs) > 1e-9 * fs:
        raise ValueError(
            f"{name}={fs!r} Hz is not a rational number with a denominator <= "
            f"{max_denominator}; resample through an intermediate rate or raise max_denominator"
        )
    return frac


def _check_factor(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    value = int(value)
    if value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value}")
    return value


def resample_ratio(fs_in: float, fs_out: float, max_denominator: int = 1000) -> tuple[int, int]:
    """Return ``(up, down)``, coprime, with ``fs_out / fs_in == up / down``.

    Rates are in Hz and may be floats: integer-valued (``128.0``) or rationals whose denominator
    is at most ``max_denominator`` (``1000 / 3``). ``resample_ratio(128, 360) == (45, 16)``.
    Raises ValueError for non-positive or non-finite rates, or rates that are not such
    rationals (to within a relative 1e-9).
    """
    fs_in = _check_rate("fs_in", fs_in)
    fs_out = _check_rate("fs_out", fs_out)
    max_denominator = _check_factor("max_denominator", max_denominator)
    ratio = _as_fraction("fs_out", fs_out, max_denominator) / _as_fraction(
        "fs_in", fs_in, max_denominator
    )
    return ratio.numerator, ratio.denominator


def design_resample_filter(
    up: int,
    down: int,
    beta: float = KAISER_BETA,
    half_len: int | None = None,
) -> np.ndarray:
    """Low-pass FIR filter for resampling by ``up / down``: float64, ``2 * half_len + 1`` taps.

    A Kaiser-windowed sinc with cutoff ``1 / max(up, down)`` of the Nyquist rate of the
    upsampled signal, normalised to unit DC gain and then scaled by ``up`` (to make up for the
    zeros stuffed in). With the defaults (``beta=5.0``, ``half_len=10 * max(up, down)``) this
    is the filter ``scipy.signal.resample_poly`` designs with ``firwin``. ``up`` and ``down``
    are used as given; :func:`resample_poly` reduces them by their gcd first.
    """
    up = _check_factor("up", up)
    down = _check_factor("down", down)
    if isinstance(beta, bool) or not isinstance(beta, numbers.Real) or not beta >= 0:
        raise ValueError(f"beta must be a real number >= 0, got {beta!r}")
    max_rate = max(up, down)
    if half_len is None:
        half_len = HALF_LEN_FACTOR * max_rate
    half_len = _check_factor("half_len", half_len)
    n_taps = 2 * half_len + 1
    cutoff = 1.0 / max_rate
    m = np.arange(n_taps, dtype=np.float64) - half_len
    h = cutoff * np.sinc(cutoff * m)
    h *= np.kaiser(n_taps, float(beta))
    h /= h.sum()
    h *= up
    return h


def _polyphase_taps(h: np.ndarray, up: int) -> np.ndarray:
    """Split ``h`` into ``up`` phases, each reversed: ``(up, n_per_phase)`` float64.

    Row ``p``, column ``m`` holds ``h[p + (n_per_phase - 1 - m) * up]`` (zero past the end), so
    that output samples are dot products with contiguous, ascending input stretches.
    """
    n_per_phase = -(-len(h) // up)
    padded = np.zeros(n_per_phase * up, dtype=np.float64)
    padded[: len(h)] = h
    # padded[p + k * up] -> phases[p, k]; reverse k.
    phases = padded.reshape(n_per_phase, up).T[:, ::-1]
    return np.ascontiguousarray(phases)


@numba.njit(cache=True, nogil=True)
def _resample_poly_core(
    x: np.ndarray,
    taps: np.ndarray,
    phase: np.ndarray,
    offset: np.ndarray,
    down: int,
    n_out: int,
    block: int,
) -> np.ndarray:  # pragma: no cover - compiled
    """Polyphase FIR: ``out[i] = sum_j h[i * down + half_len - j * up] * x[j]``, zero outside x.

    ``x`` is float32 ``(n, channels)``; ``taps``, ``phase`` and ``offset`` come from
    :func:`_polyphase_plan`. Output ``i = q * up + r`` is
    ``sum_m taps[phase[r], m] * x[q * down + offset[r] + m]``. Work goes in blocks of ``block``
    periods (``up`` outputs each): the input a block needs is gathered once into ``xd`` (float64,
    zeros outside ``x``), then each output phase ``r`` is a sum over ``m`` of vectorisable
    ``acc += w * row`` passes across the block's periods; the sum runs over ``m`` in order, in
    float64.
    """
    n, n_ch = x.shape
    up, n_taps = phase.shape[0], taps.shape[1]
    off0 = offset[0]
    span = offset[up - 1] - off0 + n_taps
    n_periods = -(-n_out // up)
    out = np.empty((n_out, n_ch), dtype=np.float32)
    xd = np.empty((span, block), dtype=np.float64)
    acc = np.empty(block, dtype=np.float64)
    for q0 in range(0, n_periods, block):
        nb = min(block, n_periods - q0)
        first = q0 * down + off0
        inside = first >= 0 and (first + (nb - 1) * down + span - 1) < n
        for c in range(n_ch):
            for e in range(span):
                base = first + e
                if inside:
                    for qq in range(nb):
                        xd[e, qq] = x[base + qq * down, c]
                else:
                    for qq in range(nb):
                        j = base + qq * down
                        if j >= 0 and j < n:
                            xd[e, qq] = x[j, c]
                        else:
                            xd[e, qq] = 0.0
            for r in range(up):
                lim = nb
                if (q0 + nb - 1) * up + r >= n_out:  # only the last period can be partial
                    lim = nb - 1
                for qq in range(lim):
                    acc[qq] = 0.0
                e0 = offset[r] - off0
                p = phase[r]
                for m in range(n_taps):
                    w = taps[p, m]
                    for qq in range(lim):
                        acc[qq] += w * xd[e0 + m, qq]
                for qq in range(lim):
                    out[(q0 + qq) * up + r, c] = acc[qq]
    return out


def _polyphase_plan(
    up: int, down: int, half_len: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Taps, per-phase tap row and input offset, and block size for :func:`_resample_poly_core`.

    Output ``r`` of each period of ``up`` outputs sits at upsampled position
    ``t = r * down + half_len`` (relative to the period's start); it uses the polyphase row
    ``t % up`` and input samples from ``t // up - n_taps + 1`` on.
    """
    taps = _polyphase_taps(design_resample_filter(up, down, half_len=half_len), up)
    n_taps = taps.shape[1]
    t = np.arange(up, dtype=np.int64) * down + half_len
    phase = t % up
    offset = t // up - n_taps + 1
    span = int(offset[-1] - offset[0]) + n_taps
    block = int(min(512, max(8, 32768 // span)))  # gathered input about 256 kB at most
    return taps, phase, offset, block


def _check_signal(x: np.ndarray, axis: int) -> tuple[np.ndarray, int]:
    x = np.asarray(x)
    if x.ndim not in (1, 2):
        raise ValueError(f"x must be 1-D (n,) or 2-D (n, leads), got shape {x.shape}")
    if not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)):
        raise ValueError(f"x must hold real numbers, got dtype {x.dtype}")
    if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
        raise ValueError(f"axis must be an integer, got {axis!r}")
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"axis {axis} is out of range for a {x.ndim}-D x")
    axis = int(axis) % x.ndim
    if x.shape[axis] == 0:
        raise ValueError("x must have at least one sample along axis")
    return x, axis


def _output_length(n: int, up: int, down: int) -> int:
    return -(-n * up // down)


def resample_poly(x: np.ndarray, up: int, down: int, axis: int = 0) -> np.ndarray:
    """Resample ``x`` by ``up / down`` along ``axis``: float32, ``ceil(n * up / down)`` samples.

    ``x`` is ``(n,)`` or ``(n, leads)`` (or ``(leads, n)`` with ``axis=1``); the result has the
    same layout and is C-contiguous. Equivalent to ``scipy.signal.resample_poly(x, up, down,
    axis=axis)`` with its defaults (Kaiser ``beta=5.0`` filter from
    :func:`design_resample_filter`, zeros beyond both ends of ``x``) to about 1e-6 of the
    signal's scale; the sum is accumulated in float64. ``up`` and ``down`` are reduced by their
    gcd; ``up == down`` returns a float32 copy. For rates in Hz use :func:`resample_ratio`.
    NaN in ``x`` spreads to every output sample whose filter reaches it.
    """
    x, axis = _check_signal(x, axis)
    up = _check_factor("up", up)
    down = _check_factor("down", down)
    g = math.gcd(up, down)
    up, down = up // g, down // g
    if up == down == 1:
        return np.array(x, dtype=np.float32, order="C")
    was_1d = x.ndim == 1
    x2 = x[:, None] if was_1d else np.moveaxis(x, axis, 0)
    x2 = np.ascontiguousarray(x2, dtype=np.float32)
    taps, phase, offset, block = _polyphase_plan(up, down, HALF_LEN_FACTOR * max(up, down))
    n_out = _output_length(x2.shape[0], up, down)
    out = _resample_poly_core(x2, taps, phase, offset, down, n_out, block)
    if was_1d:
        return out[:, 0].copy()
    return np.ascontiguousarray(np.moveaxis(out, 0, axis))


def resample_poly_reference(x: np.ndarray, up: int, down: int, axis: int = 0) -> np.ndarray:
    """Plain numpy :func:`resample_poly` (zero-stuff, ``np.convolve``, decimate), for tests.

    Same inputs, output and conventions as :func:`resample_poly`; slow and memory hungry
    (it builds the whole upsampled signal), so use it on short signals only.
    """
    x, axis = _check_signal(x, axis)
    up = _check_factor("up", up)
    down = _check_factor("down", down)
    g = math.gcd(up, down)
    up, down = up // g, down // g
    if up == down == 1:
        return np.array(x, dtype=np.float32, order="C")
    was_1d = x.ndim == 1
    x2 = x[:, None] if was_1d else np.moveaxis(x, axis, 0)
    x2 = x2.astype(np.float32).astype(np.float64)
    n = x2.shape[0]
    half_len = HALF_LEN_FACTOR * max(up, down)
    h = design_resample_filter(up, down, half_len=half_len)
    n_out = _output_length(n, up, down)
    # The filter is centred: output i is upsampled sample i * down, delayed by half_len.
    keep = np.arange(n_out) * down + half_len
    out = np.empty((n_out, x2.shape[1]), dtype=np.float32)
    for c in range(x2.shape[1]):
        stuffed = np.zeros(n * up, dtype=np.float64)
        stuffed[::up] = x2[:, c]
        out[:, c] = np.convolve(stuffed, h)[keep]
    if was_1d:
        return out[:, 0].copy()
    return np.ascontiguousarray(np.moveaxis(out, 0, axis))


def samples_to_rate(indices: np.ndarray, fs_in: float, fs_out: float) -> np.ndarray:
    """Map sample indices at ``fs_in`` Hz to the nearest sample indices at ``fs_out`` Hz.

    Returns int64 of the same shape: ``floor(indices * fs_out / fs_in + 0.5)`` (halves round
    up), computed exactly in integers for integer ``indices`` from :func:`resample_ratio`'s
    ``(up, down)``. Float ``indices`` (sub-sample positions) are accepted if finite. Index 0
    maps to 0, matching :func:`resample_poly`'s alignment; e.g. positions found in a signal
    resampled to 360 Hz go back to the recording's own rate with
    ``samples_to_rate(peaks, 360, fs)``.
    """
    up, down = resample_ratio(fs_in, fs_out)
    idx = np.asarray(indices)
    if np.issubdtype(idx.dtype, np.integer) and idx.dtype != np.bool_:
        idx = idx.astype(np.int64)
        limit = np.iinfo(np.int64).max // (2 * up) - down
        if idx.size and int(np.abs(idx).max()) > limit:
            raise ValueError(f"indices too large to map exactly by {up}/{down}")
        return (2 * up * idx + down) // (2 * down)
    if np.issubdtype(idx.dtype, np.floating):
        if not np.all(np.isfinite(idx)):
            raise ValueError("indices must be finite")
        return np.floor(idx.astype(np.float64) * up / down + 0.5).astype(np.int64)
    raise ValueError(f"indices must be an integer (or float) array, got dtype {idx.dtype}")
