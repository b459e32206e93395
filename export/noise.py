"""Noise stress: MIT-BIH Noise Stress Test Database noise added to clean ECG at a given SNR.

The recipe is the one the nstdb records were made with (Moody, Muldrow & Mark 1984):

- signal power ``S = ptp**2 / 8`` per lead, ``ptp`` being the median QRS peak-to-peak amplitude
  of the clean record (the power of a sine wave with that peak-to-peak amplitude);
- noise power ``N`` = mean square of the noise after removing its mean;
- the noise is scaled by ``sqrt(S / (N * 10**(snr_db / 10)))`` so that ``10 log10(S / N') ==
  snr_db`` for the scaled noise ``N'``, and added to whole stretches of the record.

Everything here is pure numpy (the QRS amplitude uses :func:`ecgtk.kernels.normalise.qrs_scale`,
the same peak-to-peak measurement the model input normalisation uses).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ecgtk.inference.inputs import MODEL_RATE_HZ, SCALE_HALF_WIDTH_S
from ecgtk.kernels.normalise import qrs_scale

__all__ = [
    "NOISE_KINDS",
    "NOISE_SNRS_DB",
    "add_noise_stretches",
    "load_noise",
    "measure_snr_db",
    "noise_power",
    "scale_noise",
    "signal_power",
]

#: The three nstdb noise records: baseline wander, electrode motion, muscle artefact.
NOISE_KINDS = ("bw", "em", "ma")
#: The SNRs of the nstdb records, dB.
NOISE_SNRS_DB = (24, 18, 12, 6, 0, -6)


def signal_power(signal: np.ndarray, beats: np.ndarray, fs: float = MODEL_RATE_HZ) -> np.ndarray:
    """Per lead ``S = ptp**2 / 8``, ``ptp`` the median QRS peak-to-peak amplitude at ``beats``
    (within 50 ms of each). ``(leads,)`` float64."""
    half = int(round(SCALE_HALF_WIDTH_S * fs))
    ptp = qrs_scale(signal, np.asarray(beats, dtype=np.int64), half, floor=1e-6)
    return ptp.astype(np.float64) ** 2 / 8.0


def noise_power(noise: np.ndarray) -> np.ndarray:
    """Per lead mean square of ``noise`` after removing its mean. ``(leads,)`` float64."""
    x = np.asarray(noise, dtype=np.float64)
    x = x[:, None] if x.ndim == 1 else x
    return np.mean((x - x.mean(axis=0)) ** 2, axis=0)


def scale_noise(noise: np.ndarray, s_power: np.ndarray, snr_db: float) -> np.ndarray:
    """``noise`` (mean removed) scaled per lead so that ``10 log10(S / N) == snr_db``."""
    x = np.asarray(noise, dtype=np.float64)
    x = x[:, None] if x.ndim == 1 else x
    x = x - x.mean(axis=0)
    n_power = np.maximum(noise_power(x), 1e-20)
    gain = np.sqrt(np.asarray(s_power, dtype=np.float64) / (n_power * 10.0 ** (snr_db / 10.0)))
    return (x * gain).astype(np.float32)


def measure_snr_db(s_power: np.ndarray, added_noise: np.ndarray) -> np.ndarray:
    """The SNR (dB, per lead) of noise that was added, by the same definition."""
    return 10.0 * np.log10(np.asarray(s_power) / np.maximum(noise_power(added_noise), 1e-30))


def load_noise(data_dir: str | Path, kind: str, fs: float = MODEL_RATE_HZ) -> np.ndarray:
    """The nstdb noise record ``kind`` (``bw``, ``em``, ``ma``) as float32 ``(n, 2)`` mV at
    ``fs`` (resampled when the record's rate differs). ``data_dir`` holds ``nstdb/`` (or is
    it)."""
    from ecgtk.export.dataset import read_at_rate  # late: dataset imports this module

    root = Path(data_dir)
    path = root / "nstdb" / kind if (root / "nstdb").is_dir() else root / kind
    signal, _ = read_at_rate(path, fs)
    return signal


def add_noise_stretches(signal: np.ndarray, beats: np.ndarray, noises: dict[str, np.ndarray],
                        stretches: list[tuple[int, int, str, float]],
                        rng: np.random.Generator, fs: float = MODEL_RATE_HZ
                        ) -> tuple[np.ndarray, list[dict]]:
    """Copy of ``signal`` with noise added to each ``(start, stop, kind, snr_db)`` stretch.

    ``S`` comes from the clean ``signal`` at ``beats`` (once for the record); each stretch
    takes a piece of ``noises[kind]`` at a random offset (``rng``), scales it to ``snr_db``
    over that piece and adds it lead by lead (noise lead ``k % noise leads`` to ECG lead ``k``).
    Returns the noisy signal and one dict per stretch (start, stop, kind, snr_db, measured
    SNR per lead).
    """
    out = np.array(signal, dtype=np.float32, copy=True)
    out2 = out[:, None] if out.ndim == 1 else out
    s_power = signal_power(out2, beats, fs)
    log = []
    for start, stop, kind, snr in stretches:
        start, stop = max(0, int(start)), min(len(out2), int(stop))
        length = stop - start
        if length <= 1:
            continue
        noise = noises[kind]
        if len(noise) >= length:
            offset = int(rng.integers(0, len(noise) - length + 1))
            piece = noise[offset:offset + length]
        else:  # tile a short noise record
            reps = -(-length // len(noise))
            piece = np.tile(noise, (reps, 1))[:length]
        piece = piece[:, np.arange(out2.shape[1]) % piece.shape[1]]
        scaled = scale_noise(piece, s_power, snr)
        out2[start:stop] += scaled
        log.append({"start": start, "stop": stop, "kind": kind, "snr_db": float(snr),
                    "measured_snr_db": measure_snr_db(s_power, scaled).round(3).tolist()})
    return (out2[:, 0] if out.ndim == 1 else out2), log
