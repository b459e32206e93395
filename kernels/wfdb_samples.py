"""WFDB signal bytes -> physical samples in one pass, for the two formats Holter archives use.

Format 212 packs two 12-bit two's-complement samples in three bytes; format 16 stores
little-endian 16-bit samples. In both the signals of a frame are interleaved (sample ``t`` of
signal 0, of signal 1, ..., then sample ``t + 1``). A physical value is ``(digital -
baseline) / gain`` computed in float64 and stored as float32, and the format's invalid-sample
code (-2048, -32768) becomes NaN: the same numbers, bit for bit, as
``wfdb.rdrecord(..., physical=True, return_res=32)``, which the tests compare against. Doing it
in one compiled pass is 10-20x faster than ``wfdb``'s several numpy passes, and reading is on
the critical path of every recording (``python -m benchmarks.bench_read``).
"""

from __future__ import annotations

import numba
import numpy as np

#: The digital value that marks a missing sample, per format.
INVALID_SAMPLE = {"212": -2048, "16": -32768}


def byte_span(fmt: str, n_signals: int, start: int, stop: int) -> tuple[int, int, int]:
    """``(first byte, bytes to read, samples to skip)`` holding frames ``[start, stop)``: a
    format-212 read starts at the byte triplet holding the first wanted sample."""
    first, last = start * n_signals, stop * n_signals  # interleaved sample indices
    if fmt == "212":
        begin = (first // 2) * 3
        end = ((last + 1) // 2) * 3
        return begin, end - begin, first % 2
    if fmt == "16":
        return first * 2, (last - first) * 2, 0
    raise ValueError(f"format {fmt!r} has no fast reader")


def decode_physical(raw: np.ndarray, fmt: str, n_signals: int, n_frames: int, skip: int,
                    baseline: np.ndarray, gain: np.ndarray) -> np.ndarray:
    """Physical samples ``(n_frames, n_signals)`` float32 from the raw bytes of
    :func:`byte_span` (``skip``: samples to drop at the start of ``raw``)."""
    raw = np.ascontiguousarray(raw, dtype=np.uint8)
    baseline = np.asarray(baseline, dtype=np.float64)
    gain = np.asarray(gain, dtype=np.float64)
    if baseline.shape != (n_signals,) or gain.shape != (n_signals,):
        raise ValueError("need one baseline and one gain per signal")
    needed = n_frames * n_signals + skip
    if fmt not in INVALID_SAMPLE:
        raise ValueError(f"format {fmt!r} has no fast reader")
    holding = needed // 2 * 3 + (2 if needed % 2 else 0) if fmt == "212" else 2 * needed
    if len(raw) < holding:  # (format 212: a last odd sample needs two bytes of its triplet)
        raise ValueError(f"{len(raw)} bytes hold fewer than {needed} format-{fmt} samples")
    return _decode(raw, fmt == "212", n_signals, n_frames, skip, INVALID_SAMPLE[fmt],
                   baseline, gain)


@numba.njit(cache=True, nogil=True)
def _decode(raw, packed_212, n_signals, n_frames, skip, invalid, baseline, gain):
    out = np.empty((n_frames, n_signals), dtype=np.float32)
    for k in range(n_frames * n_signals):
        s = k + skip
        if packed_212:  # two 12-bit samples in three bytes
            triplet = (s // 2) * 3
            if s % 2 == 0:
                value = np.int32(raw[triplet]) + 256 * (np.int32(raw[triplet + 1]) & 0x0F)
            else:
                value = np.int32(raw[triplet + 2]) + 256 * (np.int32(raw[triplet + 1]) >> 4)
            if value > 2047:
                value -= 4096
        else:  # little-endian 16-bit
            value = np.int32(raw[2 * s]) + 256 * np.int32(raw[2 * s + 1])
            if value > 32767:
                value -= 65536
        c = k % n_signals
        out[k // n_signals, c] = np.nan if value == invalid else (value - baseline[c]) / gain[c]
    return out


def decode_physical_reference(raw: np.ndarray, fmt: str, n_signals: int, n_frames: int,
                              skip: int, baseline, gain) -> np.ndarray:
    """Plain numpy version of :func:`decode_physical`, for tests."""
    raw = np.asarray(raw, dtype=np.uint8).astype(np.int32)
    if fmt == "212":
        pairs = raw[: len(raw) // 3 * 3].reshape(-1, 3)
        even = pairs[:, 0] + 256 * (pairs[:, 1] & 0x0F)
        odd = pairs[:, 2] + 256 * (pairs[:, 1] >> 4)
        digital = np.stack([even, odd], axis=1).ravel()
        digital = np.where(digital > 2047, digital - 4096, digital)
    else:
        digital = raw[0::2] + 256 * raw[1::2]
        digital = np.where(digital > 32767, digital - 65536, digital)
    digital = digital[skip: skip + n_frames * n_signals].reshape(n_frames, n_signals)
    physical = ((digital - np.asarray(baseline, np.float64)) / np.asarray(gain, np.float64))
    physical = physical.astype(np.float32)
    physical[digital == INVALID_SAMPLE[fmt]] = np.nan
    return physical
