"""Long test recordings made by tiling the shipped 5-minute sample excerpts."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import numpy as np
import wfdb


def tiled_signal(hours: float, offset_s: float = 0.0) -> tuple[np.ndarray, float]:
    """Digital (int16) 2-lead 360 Hz signal of ``hours`` made by repeating the sample excerpts,
    each copy started ``offset_s`` later in the cycle; with its ADC gain (units per mV)."""
    folder = Path(str(files("ecgtk.sample_data")))
    parts = [wfdb.rdrecord(str(folder / name), physical=False).d_signal
             for name in ("106", "119", "208")]
    cycle = np.concatenate(parts).astype(np.int16)
    n = int(hours * 3600 * 360)
    start = int(offset_s * 360) % len(cycle)
    reps = -(-(n + start) // len(cycle))
    return np.tile(cycle, (reps, 1))[start:start + n], 200.0


#: Samples given their noise at a time by :func:`write_tiled_wfdb`.
NOISE_BLOCK = 1 << 20


def write_tiled_wfdb(folder: Path, name: str, hours: float, offset_s: float = 0.0,
                     noise_mv: float = 0.0) -> Path:
    """Write a tiled recording as WFDB format 212 (like MIT-BIH); returns the ``.hea`` path.
    ``noise_mv``: the standard deviation of Gaussian noise added (seeded), so that no two
    copies of a beat are alike as in a real recording (clustering repeated beats is easier)."""
    folder.mkdir(parents=True, exist_ok=True)
    digital, gain = tiled_signal(hours, offset_s)
    if noise_mv > 0:  # a block at a time: a day's float64 noise would take 0.5 GB at once
        rng = np.random.default_rng(1)
        for start in range(0, len(digital), NOISE_BLOCK):
            block = digital[start:start + NOISE_BLOCK]
            noisy = block + np.rint(rng.normal(0.0, noise_mv * gain, block.shape))
            block[:] = np.clip(noisy, -2048, 2047)
    wfdb.wrsamp(name, fs=360, units=["mV", "mV"], sig_name=["MLII", "V1"], d_signal=digital,
                fmt=["212", "212"], adc_gain=[gain, gain], baseline=[0, 0],
                write_dir=str(folder))
    return folder / f"{name}.hea"
