"""Synthetic ECG for tests: Gaussian P, QRS and T waves at known beat times."""

from __future__ import annotations

import numpy as np

#: (offset s, width s, amplitude mV) of the waves of a normal beat, relative to the R peak
NORMAL_WAVES = ((-0.20, 0.025, 0.15), (-0.035, 0.010, -0.15), (0.0, 0.012, 1.2),
                (0.035, 0.010, -0.30), (0.28, 0.045, 0.35))
#: a wide ventricular beat: no P, broad QRS, discordant T
VENTRICULAR_WAVES = ((0.0, 0.035, 1.6), (0.06, 0.03, -0.6), (0.30, 0.06, -0.5))


def synthetic_ecg(fs: float, seconds: float, heart_rate_bpm: float = 70.0, n_leads: int = 2,
                  noise_mv: float = 0.02, ventricular_every: int = 0,
                  seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Signal float32 ``(n, n_leads)`` in mV and the true R-peak sample indices.

    RR intervals vary by +-5 %; every ``ventricular_every``-th beat (0: none) is a premature
    wide beat. Lead k is lead 0 scaled by ``1 - 0.3 k``, plus white noise of ``noise_mv``.
    """
    rng = np.random.default_rng(seed)
    n = int(round(seconds * fs))
    t = np.arange(n) / fs
    rr = 60.0 / heart_rate_bpm
    beats, kinds = [], []
    time_s, index = 0.5, 0
    while time_s < seconds - 0.5:
        is_v = ventricular_every > 0 and index % ventricular_every == ventricular_every - 1
        beats.append(time_s)
        kinds.append(is_v)
        time_s += rr * (0.7 if is_v else 1.0) * rng.uniform(0.95, 1.05)
        index += 1
    base = np.zeros(n)
    for beat_s, is_v in zip(beats, kinds, strict=True):
        for offset, width, amplitude in (VENTRICULAR_WAVES if is_v else NORMAL_WAVES):
            centre = beat_s + offset
            lo, hi = int((centre - 5 * width) * fs), int((centre + 5 * width) * fs) + 1
            lo, hi = max(lo, 0), min(hi, n)
            base[lo:hi] += amplitude * np.exp(-0.5 * ((t[lo:hi] - centre) / width) ** 2)
    leads = [base * (1 - 0.3 * k) + rng.normal(0, noise_mv, n) for k in range(n_leads)]
    signal = np.stack(leads, axis=1).astype(np.float32)
    return signal, np.round(np.array(beats) * fs).astype(np.int64)
