"""Real noise in training windows: pieces of the nstdb noise records added at a random SNR.

Model 1 learns artefacts from whole records made noisy (:mod:`ecgtk.export.noise`); model 2
sees windows one at a time, so its real noise is an augmentation
(:attr:`ecgtk.export.augment.AugmentConfig.real_noise_probability`): a share of windows gets a
random piece of ``bw``, ``em`` or ``ma`` (baseline wander, electrode motion, muscle artefact)
on its signal leads, and keeps its label, so that a noise burst on an N beat is still N.

SNR as the nstdb records were made (``nst`` and ``sigamp`` of the WFDB software; Moody, Muldrow &
Mark 1984): ``S = ptp**2 / 8`` per lead, ``ptp`` the QRS peak-to-peak amplitude, here measured
with :func:`ecgtk.export.noise.signal_power` (within 50 ms of the centre) on the window's template
channel (the median beat of its stretch) when the window has context channels, else on the
window's own centre beat; ``N = rms**2``, ``rms`` the noise record's 5 %-trimmed mean RMS over
its first 300 one-second windows, each with its own mean removed (:func:`nst_noise_rms`). With
these, the gains of 118e06 and 119e00 come out within 0.15 dB of those ``nst`` used. As in
nstdb, one gain per record and SNR: a burst of electrode motion stands out above the SNR asked
for, a quiet piece lies below it. (:mod:`ecgtk.export.noise`, model 1's noise, takes ``N`` over
the whole record with one mean removed; for ``em`` that makes its noise about 6 dB weaker than
nstdb's at the same nominal SNR.)

The nstdb test records 118e*/119e* carry the ``em`` record itself, sample for sample, in
alternate 2-minute stretches from minute 5 (118e06 minus MIT-BIH 118 is 1.483 times em there,
residual below 0.5 adu). By default those stretches of ``em`` are left out of the bank
(:func:`proxy_free_parts`), so that the nstdb scores stay a test on noise model 2 never saw; of
the 15 minutes of ``em`` in ``../shared/data``, minutes 0-5, 7-9 and 11-13 are used.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ecgtk.export.noise import NOISE_KINDS, noise_power, signal_power
from ecgtk.inference.inputs import MODEL_RATE_HZ

__all__ = ["NSTDB_TEST_NOISE", "NoiseBank", "add_real_noise", "load_noise_bank",
           "noise_bank", "nst_noise_rms", "proxy_free_parts"]

#: Noise bank: per noise kind, pieces ``(n, noise leads)`` float32 in units of the record's
#: RMS as ``nst`` measures it (:func:`nst_noise_rms`).
NoiseBank = dict[str, tuple[np.ndarray, ...]]

#: The noise records the nstdb test records 118e*/119e* carry, and how: from ``start_s`` on,
#: ``on_s`` seconds with noise, then ``off_s`` seconds without, at the same samples as the
#: noise record.
NSTDB_TEST_NOISE = {"em": {"start_s": 300.0, "on_s": 120.0, "off_s": 120.0}}


def proxy_free_parts(kind: str, n_samples: int, fs: float = MODEL_RATE_HZ
                     ) -> list[tuple[int, int]]:
    """``(start, stop)`` sample ranges of noise record ``kind`` that no nstdb test record
    carries (the whole record for ``bw`` and ``ma``)."""
    plan = NSTDB_TEST_NOISE.get(kind)
    if plan is None:
        return [(0, n_samples)]
    start = int(round(plan["start_s"] * fs))
    on, off = int(round(plan["on_s"] * fs)), int(round(plan["off_s"] * fs))
    parts, free = [], 0
    for s in range(start, n_samples, on + off):
        if s > free:
            parts.append((free, s))
        free = s + on
    if free < n_samples:
        parts.append((free, n_samples))
    return parts


def nst_noise_rms(noise: np.ndarray, fs: float = MODEL_RATE_HZ, windows: int = 300
                  ) -> np.ndarray:
    """Per lead RMS amplitude of ``noise`` ``(n, leads)`` as ``sigamp -r`` measures it for
    ``nst``: the RMS of each of the first ``windows`` one-second windows, its mean removed
    (:func:`ecgtk.export.noise.noise_power`), then the mean of the middle 90 % of them."""
    x = np.asarray(noise, np.float64)
    x = x[:, None] if x.ndim == 1 else x
    step = max(1, int(round(fs)))
    rms = np.array([np.sqrt(noise_power(x[i:i + step]))
                    for i in range(0, min(len(x) - step + 1, windows * step), step)])
    if len(rms) == 0:
        raise ValueError(f"noise of {len(x)} samples is shorter than one second")
    rms = np.sort(rms, axis=0)
    trim = len(rms) // 20
    return rms[trim:len(rms) - trim].mean(axis=0)


def noise_bank(records: dict[str, np.ndarray], spare_proxies: bool = True,
               fs: float = MODEL_RATE_HZ) -> NoiseBank:
    """The bank of noise ``records`` (kind -> ``(n, leads)`` at ``fs``): each divided by its
    :func:`nst_noise_rms` and cut into pieces (with ``spare_proxies``, only
    :func:`proxy_free_parts`; else the whole record)."""
    bank = {}
    for kind, signal in records.items():
        x = np.asarray(signal, np.float64)
        x = x[:, None] if x.ndim == 1 else x
        x = x / np.maximum(nst_noise_rms(x, fs), 1e-12)
        parts = proxy_free_parts(kind, len(x), fs) if spare_proxies else [(0, len(x))]
        bank[kind] = tuple((x[a:b] - x[a:b].mean(axis=0)).astype(np.float32) for a, b in parts)
    return bank


def load_noise_bank(data_dirs: Sequence[str | Path] | str | Path,
                    kinds: Sequence[str] = NOISE_KINDS, spare_proxies: bool = True,
                    fs: float = MODEL_RATE_HZ) -> NoiseBank:
    """:func:`noise_bank` of the nstdb noise records ``kinds`` found in ``data_dirs`` (searched
    as every record is, :func:`ecgtk.export.records.find_record`); never downloads.
    FileNotFoundError naming the missing records when one is absent."""
    from ecgtk.export.records import find_record, read_at_rate
    from ecgtk.recording import RecordingError

    dirs = [data_dirs] if isinstance(data_dirs, (str, Path)) else list(data_dirs)
    unknown = sorted(set(kinds) - set(NOISE_KINDS))
    if unknown:
        raise ValueError(f"noise kinds are {', '.join(NOISE_KINDS)}, not {unknown}")
    if not dirs:
        raise FileNotFoundError("real noise in training (AugmentConfig.real_noise_probability "
                                "> 0) needs the nstdb noise records, but no data folder was "
                                "given (TrainSettings.noise_dirs)")
    found, missing = {}, []
    for kind in kinds:
        try:
            found[kind] = read_at_rate(find_record(dirs, kind), fs)[0]
        except FileNotFoundError:
            missing.append(f"nstdb/{kind}.hea and nstdb/{kind}.dat")
        except RecordingError as error:  # there, but unreadable: say why
            missing.append(str(error))
    if missing:
        raise FileNotFoundError(
            "real noise in training (AugmentConfig.real_noise_probability > 0) needs the nstdb "
            f"noise records: {'; '.join(missing)} not found in {', '.join(map(str, dirs))} "
            "(they come with ../shared/data; nothing is downloaded)")
    return noise_bank(found, spare_proxies, fs)


def add_real_noise(x: np.ndarray, rng: np.random.Generator, bank: NoiseBank,
                   probability: float, snr_db: tuple[float, float],
                   signal_leads: int | None = None, fs: float = MODEL_RATE_HZ) -> np.ndarray:
    """Copy of windows ``x`` ``(n, L, channels)`` with real noise on the signal leads of a
    ``probability`` share of windows.

    Each window draws a kind of ``bank``, a piece and offset (uniform over the bank's start
    positions), a lead pairing (noise lead ``(k + r) % noise leads`` on lead ``k``, ``r``
    random) and an SNR uniform in ``snr_db`` (dB, the nstdb definition: see the module
    docstring). ``signal_leads``: the leads of a context input (their templates follow them
    and give ``S``); None: every channel is a lead and ``S`` comes from the window itself. The
    context channels are returned unchanged. Draws the same numbers whatever ``probability``.
    """
    x = np.asarray(x, dtype=np.float32)
    n, length, channels = x.shape
    context = signal_leads is not None and signal_leads < channels
    leads = signal_leads if context else channels
    kinds = sorted(bank)
    if not kinds:
        raise ValueError("the noise bank is empty")
    noisy = rng.random(n) < probability
    kind_of = rng.integers(0, len(kinds), size=n)
    where = rng.random(n)
    rotate = rng.integers(0, 2 ** 16, size=n)
    snr = rng.uniform(snr_db[0], snr_db[1], size=n)
    out = x.copy()
    reference = x[:, :, leads:2 * leads] if context else x[:, :, :leads]
    centre = np.array([length // 2])
    for i in np.flatnonzero(noisy):
        piece = _piece(bank[kinds[kind_of[i]]], length, where[i])
        pairing = (np.arange(leads) + rotate[i]) % piece.shape[1]
        s_power = signal_power(reference[i], centre, fs)
        gain = np.sqrt(s_power / 10.0 ** (snr[i] / 10.0)).astype(np.float32)
        out[i, :, :leads] += piece[:, pairing] * gain
    return out


def _piece(pieces: tuple[np.ndarray, ...], length: int, where: float) -> np.ndarray:
    """The ``length`` samples of ``pieces`` starting at position ``where`` in ``[0, 1)`` of
    all their start positions together."""
    starts = np.array([max(0, len(p) - length + 1) for p in pieces])
    total = int(starts.sum())
    if total == 0:
        raise ValueError(f"no noise piece holds a window of {length} samples")
    k = min(int(where * total), total - 1)
    j = int(np.searchsorted(np.cumsum(starts), k, side="right"))
    offset = k - int(starts[:j].sum())
    return pieces[j][offset:offset + length]
