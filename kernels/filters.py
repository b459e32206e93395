"""Zero-phase IIR filtering for QRS detection.

The detector band-limits each lead with a 2nd-order Butterworth high-pass and a 2nd-order
Butterworth low-pass, run forward and backward (zero phase, like ``scipy.signal.sosfiltfilt``).
Coefficients are designed here with numpy (bilinear transform with pre-warping, identical to
``scipy.signal.butter(2, fc, fs=fs, output="sos")``), the filtering is a Numba core.
"""

from __future__ import annotations

import numba
import numpy as np

#: Up to this many leads the two-section band-pass runs lead by lead (its states in
#: registers), beyond it row by row (:func:`_two_section_rows_zeroed`; measured on 10-minute
#: chunks: python -m benchmarks.bench_lead_layout).
LEAD_BY_LEAD_UP_TO = 1
#: From this many leads the row-by-row band-pass steps every lead of a row through a row
#: buffer, in loops the compiler vectorises across leads (:func:`_two_section_rows_buffered`;
#: 12 leads 2.7x faster, but 2-6 leads slower: python -m benchmarks.bench_lead_layout).
ROW_BUFFER_FROM = 8


def butter2_sos(cutoff_hz: float, fs: float, kind: str) -> np.ndarray:
    """One 2nd-order Butterworth section ``[b0, b1, b2, 1, a1, a2]`` as a ``(1, 6)`` array.

    ``kind`` is ``"lowpass"`` or ``"highpass"``; ``cutoff_hz`` must lie in ``(0, fs / 2)``.
    """
    if not 0 < cutoff_hz < fs / 2:
        raise ValueError(f"cutoff {cutoff_hz} Hz must be between 0 and fs/2 = {fs / 2} Hz")
    if kind not in ("lowpass", "highpass"):
        raise ValueError(f"kind must be 'lowpass' or 'highpass', got {kind!r}")
    k = np.tan(np.pi * cutoff_hz / fs)  # pre-warped analogue cutoff
    q = 1 / np.sqrt(2.0)
    norm = 1 + k / q + k * k
    a1 = 2 * (k * k - 1) / norm
    a2 = (1 - k / q + k * k) / norm
    if kind == "lowpass":
        b = np.array([k * k, 2 * k * k, k * k]) / norm
    else:
        b = np.array([1.0, -2.0, 1.0]) / norm
    return np.array([[b[0], b[1], b[2], 1.0, a1, a2]])


def bandpass_sos(low_hz: float, high_hz: float, fs: float) -> np.ndarray:
    """High-pass at ``low_hz`` followed by low-pass at ``high_hz``: a ``(2, 6)`` SOS array."""
    if not low_hz < high_hz:
        raise ValueError(f"band edges must increase, got {low_hz}-{high_hz} Hz")
    return np.vstack([butter2_sos(low_hz, fs, "highpass"), butter2_sos(high_hz, fs, "lowpass")])


def sos_initial_state(sos: np.ndarray) -> np.ndarray:
    """Steady-state direct-form-II-transposed state for a unit step, ``(n_sections, 2)``.

    Same as ``scipy.signal.sosfilt_zi``: multiplied by the first sample, it starts the filter
    as if the signal had always had that value, which avoids an onset transient.
    """
    zi = np.empty((len(sos), 2))
    scale = 1.0
    for s, (b0, b1, b2, a0, a1, a2) in enumerate(sos):
        b = np.array([b0, b1, b2]) / a0
        a = np.array([1.0, a1 / a0, a2 / a0])
        companion_t = np.array([[-a[1], 1.0], [-a[2], 0.0]])  # companion(a).T
        i_minus_a = np.eye(2) - companion_t
        rhs = b[1:] - a[1:] * b[0]
        zi[s] = scale * np.linalg.solve(i_minus_a, rhs)
        scale *= b.sum() / a.sum()
    return zi


def default_padlen(sos: np.ndarray) -> int:
    """Odd-extension length ``scipy.signal.sosfiltfilt`` uses for these sections (samples)."""
    ntaps = 2 * len(sos) + 1
    ntaps -= min(int((sos[:, 2] == 0).sum()), int((sos[:, 5] == 0).sum()))
    return 3 * ntaps


@numba.njit(cache=True, nogil=True)
def _sosfilt_inplace(sos: np.ndarray, x: np.ndarray, zi: np.ndarray, step: int) -> None:
    """Filter every column of ``x`` ``(n, leads)`` in place through all DF-II-T sections,
    forward (``step=1``) or backward (``step=-1``); each state starts at ``zi * x[first]``.

    One pass over the samples runs every section and lead, so the independent recursions of
    the leads overlap in the CPU and the signal is read once.
    """
    n, n_leads = x.shape
    n_sections = sos.shape[0]
    first = 0 if step == 1 else n - 1
    z0 = np.empty((n_sections, n_leads))
    z1 = np.empty((n_sections, n_leads))
    for s in range(n_sections):
        for lead in range(n_leads):
            z0[s, lead] = zi[s, 0] * x[first, lead]
            z1[s, lead] = zi[s, 1] * x[first, lead]
    i = first
    for _ in range(n):
        for lead in range(n_leads):
            v = x[i, lead]
            for s in range(n_sections):
                y = sos[s, 0] * v + z0[s, lead]
                z0[s, lead] = sos[s, 1] * v - sos[s, 4] * y + z1[s, lead]
                z1[s, lead] = sos[s, 2] * v - sos[s, 5] * y
                v = y
            x[i, lead] = v
        i += step


@numba.njit(cache=True, nogil=True)
def _sosfiltfilt_core(sos: np.ndarray, x: np.ndarray, zi: np.ndarray, padlen: int) -> np.ndarray:
    n, n_leads = x.shape
    ext = np.empty((n + 2 * padlen, n_leads))
    for lead in range(n_leads):
        for k in range(padlen):  # odd extension at both ends
            ext[k, lead] = 2 * x[0, lead] - x[padlen - k, lead]
            ext[n + padlen + k, lead] = 2 * x[n - 1, lead] - x[n - 2 - k, lead]
    for k in range(n):
        for lead in range(n_leads):
            ext[padlen + k, lead] = x[k, lead]
    _sosfilt_inplace(sos, ext, zi, 1)
    _sosfilt_inplace(sos, ext, zi, -1)
    return ext[padlen:padlen + n].copy()


@numba.njit(cache=True, nogil=True, inline="always")
def _two_section_coefficients(sos: np.ndarray) -> tuple:
    """``(b00, b01, b02, a01, a02, b10, b11, b12, a11, a12)`` of two SOS sections."""
    return (sos[0, 0], sos[0, 1], sos[0, 2], sos[0, 4], sos[0, 5],
            sos[1, 0], sos[1, 1], sos[1, 2], sos[1, 4], sos[1, 5])


@numba.njit(cache=True, nogil=True, inline="always")
def _two_section_step(v: float, c: tuple, z00: float, z01: float, z10: float,
                      z11: float) -> tuple:
    """One sample ``v`` through both DF-II-T sections (coefficients ``c`` of
    :func:`_two_section_coefficients`, states ``z``): ``(y, z00, z01, z10, z11)``, in the
    operation order of :func:`_sosfilt_inplace`, so the same numbers bit for bit."""
    b00, b01, b02, a01, a02, b10, b11, b12, a11, a12 = c
    y = b00 * v + z00
    z00 = b01 * v - a01 * y + z01
    z01 = b02 * v - a02 * y
    v = y
    y = b10 * v + z10
    z10 = b11 * v - a11 * y + z11
    z11 = b12 * v - a12 * y
    return y, z00, z01, z10, z11


@numba.njit(cache=True, nogil=True)
def _two_section_pass(sos: np.ndarray, x: np.ndarray, lead: int, zi: np.ndarray,
                      step: int) -> None:
    """:func:`_sosfilt_inplace` for two sections and one column ``lead`` of ``x``, the states
    held in scalars: the same operations in the same order, so the same result bit for bit,
    but the recursion's chain of dependent operations no longer waits on memory (one lead of
    a 24-hour recording: 2.5x faster)."""
    n = x.shape[0]
    c = _two_section_coefficients(sos)
    first = 0 if step == 1 else n - 1
    z00 = zi[0, 0] * x[first, lead]
    z01 = zi[0, 1] * x[first, lead]
    z10 = zi[1, 0] * x[first, lead]
    z11 = zi[1, 1] * x[first, lead]
    i = first
    for _ in range(n):
        v = x[i, lead]
        y, z00, z01, z10, z11 = _two_section_step(v, c, z00, z01, z10, z11)
        x[i, lead] = y
        i += step


@numba.njit(cache=True, nogil=True, inline="always")
def _zeroed(x: np.ndarray, unusable: np.ndarray, k: int, lead: int) -> float:
    """Sample ``k`` of ``lead`` as float64, 0 where unusable or NaN."""
    v = x[k, lead]
    return 0.0 if unusable[k, lead] or np.isnan(v) else np.float64(v)


@numba.njit(cache=True, nogil=True, inline="always")
def _extended(x: np.ndarray, unusable: np.ndarray, lead: int, padlen: int, i: int) -> float:
    """Sample ``i`` of the zeroed signal with scipy's odd extension of ``padlen`` at both ends
    (what ``_bandpass_zeroed_core``'s buffer holds before the filter runs)."""
    n = x.shape[0]
    if i < padlen:
        return 2 * _zeroed(x, unusable, 0, lead) - _zeroed(x, unusable, padlen - i, lead)
    if i < n + padlen:
        return _zeroed(x, unusable, i - padlen, lead)
    k = i - n - padlen
    return 2 * _zeroed(x, unusable, n - 1, lead) - _zeroed(x, unusable, n - 2 - k, lead)


@numba.njit(cache=True, nogil=True)
def _two_section_forward_zeroed(sos: np.ndarray, x: np.ndarray, unusable: np.ndarray,
                                lead: int, zi: np.ndarray, padlen: int,
                                ext: np.ndarray) -> None:
    """:func:`_two_section_pass` forward over the zeroed, odd-extended ``x`` made on the fly,
    written to ``ext``: the same values bit for bit without first writing the extended signal
    to memory and reading it back."""
    n = x.shape[0]
    c = _two_section_coefficients(sos)
    v0 = _extended(x, unusable, lead, padlen, 0)
    z00 = zi[0, 0] * v0
    z01 = zi[0, 1] * v0
    z10 = zi[1, 0] * v0
    z11 = zi[1, 1] * v0
    for i in range(n + 2 * padlen):
        if padlen <= i < n + padlen:  # the body: one sample read, no end to watch
            v = x[i - padlen, lead]
            v = 0.0 if unusable[i - padlen, lead] or np.isnan(v) else np.float64(v)
        else:
            v = _extended(x, unusable, lead, padlen, i)
        y, z00, z01, z10, z11 = _two_section_step(v, c, z00, z01, z10, z11)
        ext[i, lead] = y


@numba.njit(cache=True, nogil=True, inline="always")
def _step_lead(v: float, c: tuple, z: np.ndarray, lead: int) -> float:
    """:func:`_two_section_step` of ``lead`` with its states in column ``lead`` of ``z``."""
    y, z[0, lead], z[1, lead], z[2, lead], z[3, lead] = _two_section_step(
        v, c, z[0, lead], z[1, lead], z[2, lead], z[3, lead])
    return y


@numba.njit(cache=True, nogil=True)
def _two_section_rows_zeroed(sos: np.ndarray, x: np.ndarray, unusable: np.ndarray,
                             zi: np.ndarray, padlen: int, ext: np.ndarray) -> None:
    """Both passes of the two-section filter over the zeroed, odd-extended ``x`` into
    ``ext``, every lead at each sample: each lead's recursion sees the operations of
    :func:`_two_section_forward_zeroed` and :func:`_two_section_pass` in their order (the
    same numbers bit for bit), but memory is read row by row, once per pass, where lead by
    lead it is read once per lead (12 leads at 1 kHz: 2x faster)."""
    n, n_leads = x.shape
    total = n + 2 * padlen
    c = _two_section_coefficients(sos)
    z = np.empty((4, n_leads))
    for lead in range(n_leads):
        v0 = _extended(x, unusable, lead, padlen, 0)
        z[0, lead], z[1, lead] = zi[0, 0] * v0, zi[0, 1] * v0
        z[2, lead], z[3, lead] = zi[1, 0] * v0, zi[1, 1] * v0
    for i in range(padlen):
        for lead in range(n_leads):
            ext[i, lead] = _step_lead(_extended(x, unusable, lead, padlen, i), c, z, lead)
    for k in range(n):  # the body: one sample read, no end to watch
        for lead in range(n_leads):
            v = x[k, lead]
            v = 0.0 if unusable[k, lead] or np.isnan(v) else np.float64(v)
            ext[k + padlen, lead] = _step_lead(v, c, z, lead)
    for i in range(n + padlen, total):
        for lead in range(n_leads):
            ext[i, lead] = _step_lead(_extended(x, unusable, lead, padlen, i), c, z, lead)
    for lead in range(n_leads):  # backward, from the last sample
        v0 = ext[total - 1, lead]
        z[0, lead], z[1, lead] = zi[0, 0] * v0, zi[0, 1] * v0
        z[2, lead], z[3, lead] = zi[1, 0] * v0, zi[1, 1] * v0
    for i in range(total - 1, -1, -1):
        for lead in range(n_leads):
            ext[i, lead] = _step_lead(ext[i, lead], c, z, lead)


@numba.njit(cache=True, nogil=True, inline="always")
def _step_row(row: np.ndarray, c: tuple, z00: np.ndarray, z01: np.ndarray, z10: np.ndarray,
              z11: np.ndarray) -> None:
    """Every lead's sample in ``row`` through both sections (in place), each lead with the
    operations of :func:`_two_section_step` in their order: one loop over the leads with no
    branch and no call, which the compiler turns into vector instructions."""
    b00, b01, b02, a01, a02, b10, b11, b12, a11, a12 = c
    for lead in range(row.shape[0]):
        v = row[lead]
        y = b00 * v + z00[lead]
        z00[lead] = b01 * v - a01 * y + z01[lead]
        z01[lead] = b02 * v - a02 * y
        v = y
        y = b10 * v + z10[lead]
        z10[lead] = b11 * v - a11 * y + z11[lead]
        z11[lead] = b12 * v - a12 * y
        row[lead] = y


@numba.njit(cache=True, nogil=True)
def _two_section_rows_buffered(sos: np.ndarray, x: np.ndarray, unusable: np.ndarray,
                               zi: np.ndarray, padlen: int, ext: np.ndarray) -> None:
    """:func:`_two_section_rows_zeroed` with each row gathered into a buffer, stepped through
    the sections by :func:`_step_row` and written back: the same numbers bit for bit, the
    leads filtered side by side in vector registers (many leads only: the buffer's extra
    loads and stores cost more than that gains on a few)."""
    n, n_leads = x.shape
    total = n + 2 * padlen
    c = _two_section_coefficients(sos)
    z00, z01 = np.empty(n_leads), np.empty(n_leads)
    z10, z11 = np.empty(n_leads), np.empty(n_leads)
    row = np.empty(n_leads)
    for lead in range(n_leads):
        v0 = _extended(x, unusable, lead, padlen, 0)
        z00[lead], z01[lead] = zi[0, 0] * v0, zi[0, 1] * v0
        z10[lead], z11[lead] = zi[1, 0] * v0, zi[1, 1] * v0
    for i in range(total):
        if padlen <= i < n + padlen:  # the body: one sample read, no end to watch
            k = i - padlen
            for lead in range(n_leads):
                v = x[k, lead]
                row[lead] = np.float64(v) if not unusable[k, lead] and v == v else 0.0
        else:
            for lead in range(n_leads):
                row[lead] = _extended(x, unusable, lead, padlen, i)
        _step_row(row, c, z00, z01, z10, z11)
        for lead in range(n_leads):
            ext[i, lead] = row[lead]
    for lead in range(n_leads):  # backward, from the last sample
        v0 = ext[total - 1, lead]
        z00[lead], z01[lead] = zi[0, 0] * v0, zi[0, 1] * v0
        z10[lead], z11[lead] = zi[1, 0] * v0, zi[1, 1] * v0
    for i in range(total - 1, -1, -1):
        for lead in range(n_leads):
            row[lead] = ext[i, lead]
        _step_row(row, c, z00, z01, z10, z11)
        for lead in range(n_leads):
            ext[i, lead] = row[lead]


@numba.njit(cache=True, nogil=True)
def _bandpass_zeroed_core(sos: np.ndarray, x: np.ndarray, unusable: np.ndarray, zi: np.ndarray,
                          padlen: int) -> np.ndarray:
    n, n_leads = x.shape
    ext = np.empty((n + 2 * padlen, n_leads))
    if sos.shape[0] == 2:
        if n_leads <= LEAD_BY_LEAD_UP_TO:  # states in registers
            for lead in range(n_leads):
                _two_section_forward_zeroed(sos, x, unusable, lead, zi, padlen, ext)
                _two_section_pass(sos, ext, lead, zi, -1)
        elif n_leads >= ROW_BUFFER_FROM:
            _two_section_rows_buffered(sos, x, unusable, zi, padlen, ext)
        else:
            _two_section_rows_zeroed(sos, x, unusable, zi, padlen, ext)
        return ext
    for i in range(n + 2 * padlen):  # the zeroed, odd-extended signal, as float64
        for lead in range(n_leads):
            ext[i, lead] = _extended(x, unusable, lead, padlen, i)
    _sosfilt_inplace(sos, ext, zi, 1)
    _sosfilt_inplace(sos, ext, zi, -1)
    return ext


def bandpass_zeroed(sos: np.ndarray, x: np.ndarray, unusable: np.ndarray) -> np.ndarray:
    """``sosfiltfilt(sos, clean)`` for ``clean``: ``x`` ``(n, leads)`` (float32 or float64,
    ``n >= 2``) as float64 with its ``unusable`` and NaN samples set to 0, bit for bit, without
    making ``clean``; a view into the padded buffer the filter ran in (no copy)."""
    sos = np.ascontiguousarray(sos, dtype=np.float64)
    x = np.ascontiguousarray(x)
    if x.ndim != 2 or unusable.shape != x.shape or x.shape[0] < 2:
        raise ValueError(f"need (n >= 2, leads) signal and mask, got {x.shape}, {unusable.shape}")
    padlen = min(default_padlen(sos), x.shape[0] - 1)
    ext = _bandpass_zeroed_core(sos, x, np.ascontiguousarray(unusable, dtype=np.bool_),
                                sos_initial_state(sos), padlen)
    return ext[padlen:padlen + x.shape[0]]


def sosfiltfilt(sos: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Zero-phase filtering of ``x`` (``(n,)`` or ``(n, leads)``) along axis 0; float64 out.

    Matches ``scipy.signal.sosfiltfilt(sos, x, axis=0)`` (odd padding, steady-state start);
    for signals shorter than scipy's pad length the pad shrinks to ``n - 1`` samples.
    """
    sos = np.ascontiguousarray(sos, dtype=np.float64)
    if sos.ndim != 2 or sos.shape[1] != 6:
        raise ValueError(f"sos must have shape (n_sections, 6), got {sos.shape}")
    x = np.asarray(x, dtype=np.float64)
    squeeze = x.ndim == 1
    x2 = np.ascontiguousarray(x[:, None] if squeeze else x)
    if x2.ndim != 2:
        raise ValueError(f"signal must be 1-D or 2-D, got {x.ndim} dimensions")
    if x2.shape[0] < 2:
        return x2[:, 0].copy() if squeeze else x2.copy()
    padlen = min(default_padlen(sos), x2.shape[0] - 1)
    y = _sosfiltfilt_core(sos, x2, sos_initial_state(sos), padlen)
    return y[:, 0] if squeeze else y
