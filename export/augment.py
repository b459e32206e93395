"""Training-time augmentation of normalised model windows (pure numpy, seeded).

Windows come from :func:`ecgtk.inference.inputs.model_windows`: ``(n, L, leads)`` float32, each
lead's
median removed and divided by the record's QRS scale. The augmentations mimic what varies
between recordings and what the normaliser does not remove:

- amplitude scale (the QRS scale is a 10-minute median; single beats and leads vary),
- baseline wander (a slow sinusoid across the window),
- additive white noise,
- a time shift of a few samples (detector jitter), with edge replication,
- optionally a time stretch about the window's centre (QRS widths and heart rates differ
  between patients); with context channels the leads' templates are stretched with them, so
  the beat keeps its shape relative to the patient's typical beat (off by default),
- optionally polarity inversion and lead-order reversal (off by default; see the model cards
  for what was measured),
- optionally lead mixing: with two or more leads, each lead plus a random share of the others
  (a matrix ``I + E``, off-diagonal ``E`` uniform in ``[-lead_mix, lead_mix]``), as a
  patient's electrical axis and the electrode positions change what each lead sees of the same
  heart; with context channels the leads' templates are mixed by the same matrix (off by
  default: research/ventricular_experiments.md, "Lead mixing"),
- optionally a sampling-rate round trip: the window resampled to another recorder's rate
  (e.g. 128, 250 or 500 Hz) and back, so the model sees what a Holter tape at 128 Hz keeps of a
  beat (its band ends at 64 Hz; sharp QRS edges are smoothed); with context channels the
  templates go the same way, as a real recording's templates would (off by default),
- optionally, with context channels, the RR context set to "on time" (0) for a share of
  windows, so the model must tell a ventricular beat by its shape alone, as it must inside a run
  of ventricular tachycardia, whose beats are not early against their neighbours (off by
  default: measured, not kept; research/ventricular_experiments.md, "RR-context dropout"),
- optionally real noise: a random piece of the nstdb noise records (bw, em, ma) on the signal
  leads at a random SNR, nstdb's definition (:mod:`ecgtk.export.real_noise`; needs a noise
  bank; off by default). It comes first, as noise is part of a recording before any recorder
  or patient difference the other augmentations mimic.

After augmenting, each window's per-lead median is removed again and values are clipped as the
normaliser does, so augmented windows keep the invariants of real model inputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ecgtk.export.real_noise import NoiseBank, add_real_noise
from ecgtk.inference.inputs import MODEL_RATE_HZ

__all__ = ["AugmentConfig", "augment", "mix_leads", "rate_round_trip", "time_stretch"]

#: The normaliser's clip (``ecgtk.kernels.normalise.normalise_windows``).
CLIP = 20.0


@dataclass(frozen=True)
class AugmentConfig:
    """Strength of each augmentation; each is applied to a ``probability`` share of windows."""

    probability: float = 0.8
    scale_range: tuple[float, float] = (0.75, 1.3)  # multiplies the whole window, per lead
    wander_amplitude: float = 0.2  # peak baseline wander, in QRS-scale units
    wander_hz: tuple[float, float] = (0.1, 0.8)
    noise_std: tuple[float, float] = (0.0, 0.05)  # white noise, QRS-scale units
    max_shift: int = 3  # samples
    flip_probability: float = 0.0  # polarity inversion of the whole window
    swap_probability: float = 0.0  # reverse the lead order (windows with 2+ leads)
    stretch_range: tuple[float, float] = (1.0, 1.0)  # time-scale factors; (1, 1): off
    rr_dropout_probability: float = 0.0  # share of context windows whose RR context is zeroed
    lead_mix: float = 0.0  # largest share of another lead added to each lead; 0: off
    #: Recorder rates (Hz) a window is resampled to and back from, one drawn per window;
    #: (): off. A ``resample_probability`` share of windows goes through it.
    resample_rates: tuple[float, ...] = ()
    resample_probability: float = 0.5
    #: Share of windows given a piece of a real noise record on their signal leads (0: off),
    #: at an SNR (dB, nstdb's definition) uniform in ``real_noise_snr_db``, of the kinds
    #: ``real_noise_kinds``; ``real_noise_spare_proxies`` leaves out the stretches of ``em``
    #: that the nstdb test records 118e*/119e* carry (:mod:`ecgtk.export.real_noise`).
    real_noise_probability: float = 0.0
    real_noise_snr_db: tuple[float, float] = (0.0, 12.0)
    real_noise_kinds: tuple[str, ...] = ("bw", "em", "ma")
    real_noise_spare_proxies: bool = True
    fs: float = MODEL_RATE_HZ


def augment(x: np.ndarray, rng: np.random.Generator | int,
            config: AugmentConfig | None = None,
            signal_leads: int | None = None, noise: NoiseBank | None = None) -> np.ndarray:
    """Augmented copy of windows ``x`` ``(n, L, channels)`` float32 (same shape and dtype).

    ``rng`` is a :class:`numpy.random.Generator` or a seed; the same seed gives the same output.
    ``signal_leads``: for inputs with context channels
    (:func:`ecgtk.inference.inputs.ventricular_inputs`
    layout: leads, their templates, RR channels), how many leads come first. Only those are
    augmented; the context stays as measured, except that a time stretch, lead mixing and a
    lead-order reversal change the templates with their leads. None: every channel is a lead.
    ``noise``: the bank of real noise (:func:`ecgtk.export.real_noise.load_noise_bank`) when
    ``config.real_noise_probability`` > 0.
    """
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 3:
        raise ValueError(f"windows must be (n, L, leads), got shape {x.shape}")
    cfg = config or AugmentConfig()
    rng = np.random.default_rng(rng) if not isinstance(rng, np.random.Generator) else rng
    if cfg.real_noise_probability > 0 and len(x):  # draws nothing when off
        if noise is None:
            raise ValueError("real_noise_probability > 0 needs a noise bank (noise=...)")
        x = add_real_noise(x, rng, noise, cfg.real_noise_probability, cfg.real_noise_snr_db,
                           signal_leads, cfg.fs)
    if signal_leads is None or signal_leads == x.shape[2]:
        x = _mixed(_stretched(x, rng, cfg, x.shape[2]), rng, cfg, x.shape[2], 1)
        x = _round_tripped(x, rng, cfg, x.shape[2])
        return _augment_leads(x, rng, cfg)[0]
    if not 1 <= signal_leads <= x.shape[2] // 2:
        raise ValueError(f"signal_leads {signal_leads} does not fit {x.shape[2]} channels")
    x = _stretched(x, rng, cfg, 2 * signal_leads)  # the leads with their templates
    x = _mixed(x, rng, cfg, signal_leads, 2)
    x = _round_tripped(x, rng, cfg, 2 * signal_leads)
    out = x.copy()
    out[:, :, :signal_leads], swapped = _augment_leads(x[:, :, :signal_leads], rng, cfg)
    templates = slice(signal_leads, 2 * signal_leads)
    out[swapped, :, templates] = x[swapped][:, :, templates][:, :, ::-1]
    if cfg.rr_dropout_probability > 0:  # draws nothing when off: the default stream is kept
        dropped = rng.random(len(out)) < cfg.rr_dropout_probability
        out[dropped, :, 2 * signal_leads:] = 0.0
    return out


def time_stretch(x: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """Windows ``x`` ``(n, L, channels)`` scaled in time about their centre sample ``L // 2``
    by ``factors`` (n,): a factor above 1 widens every wave (sample ``t`` of the output is
    ``x`` at ``c + (t - c) / factor``, linearly interpolated, edges replicated)."""
    n, length, _ = x.shape
    factors = np.asarray(factors, dtype=np.float64).reshape(n, 1)
    if np.any(factors <= 0):
        raise ValueError("stretch factors must be positive")
    centre = length // 2
    pos = centre + (np.arange(length)[None, :] - centre) / factors
    pos = np.clip(pos, 0, length - 1)
    left = np.minimum(np.floor(pos).astype(np.intp), length - 2 if length > 1 else 0)
    frac = (pos - left).astype(np.float32)[:, :, None]
    right = np.minimum(left + 1, length - 1)
    a = np.take_along_axis(x, left[:, :, None], axis=1)
    b = np.take_along_axis(x, right[:, :, None], axis=1)
    return (a + frac * (b - a)).astype(np.float32, copy=False)


def rate_round_trip(x: np.ndarray, rate: float, fs: float = MODEL_RATE_HZ) -> np.ndarray:
    """Windows ``x`` ``(n, L, channels)`` at ``fs`` Hz resampled to ``rate`` Hz and back
    (polyphase, scipy's anti-aliasing filter, edges extended linearly): what a recorder sampling
    at ``rate`` keeps of them. Same shape and dtype."""
    from fractions import Fraction

    from scipy.signal import resample_poly

    ratio = Fraction(rate / fs).limit_denominator(1000)
    if ratio == 1 or len(x) == 0:
        return np.asarray(x, dtype=np.float32).copy()
    length = x.shape[1]
    down = resample_poly(x, ratio.numerator, ratio.denominator, axis=1, padtype="line")
    back = resample_poly(down, ratio.denominator, ratio.numerator, axis=1, padtype="line")
    if back.shape[1] < length:  # pad by repeating the last sample
        back = np.concatenate([back, np.repeat(back[:, -1:], length - back.shape[1], 1)], 1)
    return back[:, :length].astype(np.float32)


def mix_leads(x: np.ndarray, matrices: np.ndarray, groups: int = 1) -> np.ndarray:
    """Windows ``x`` ``(n, L, channels)`` with each group of ``leads`` channels mixed by its
    window's matrix: ``matrices`` ``(n, leads, leads)``, output lead ``i`` is
    ``sum_j matrices[:, i, j] * lead j``. The first ``groups * leads`` channels are mixed, group
    by group with the same matrix (a lead group and its template group); the rest are kept."""
    n, _, channels = x.shape
    leads = matrices.shape[1]
    if matrices.shape != (n, leads, leads) or groups * leads > channels:
        raise ValueError(f"matrices {matrices.shape} do not fit {groups} groups of windows "
                         f"{x.shape}")
    out = x.copy()
    for g in range(groups):
        part = slice(g * leads, (g + 1) * leads)
        out[:, :, part] = np.einsum("nij,ntj->nti", matrices, x[:, :, part])
    return out.astype(np.float32, copy=False)


def _mixed(x: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig, leads: int,
           groups: int) -> np.ndarray:
    """``x`` with its leads (and their templates, ``groups`` = 2) mixed by one random ``I + E``
    per window (a ``probability`` share of windows; the rest unchanged). Draws nothing when
    mixing is off or there is one lead, so the other augmentations see the same numbers."""
    if cfg.lead_mix <= 0 or leads < 2 or len(x) == 0:
        return x
    n = len(x)
    off = rng.uniform(-cfg.lead_mix, cfg.lead_mix, size=(n, leads, leads))
    off[rng.random(n) >= cfg.probability] = 0.0
    matrices = (np.eye(leads)[None] + off * (1 - np.eye(leads))[None]).astype(np.float32)
    return mix_leads(x, matrices, groups)


def _stretched(x: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig,
               channels: int) -> np.ndarray:
    """``x`` with its first ``channels`` channels time-stretched by one random factor per window
    (a ``probability`` share of windows; the rest unchanged). Draws nothing when stretching is
    off, so the other augmentations see the same random numbers as without it."""
    lo, hi = cfg.stretch_range
    if lo == hi == 1.0 or len(x) == 0:
        return x
    factors = np.exp(rng.uniform(np.log(lo), np.log(hi), size=len(x)))
    factors[rng.random(len(x)) >= cfg.probability] = 1.0
    out = x.copy()
    out[:, :, :channels] = time_stretch(x[:, :, :channels], factors)
    return out


def _augment_leads(x: np.ndarray, rng: np.random.Generator,
                   cfg: AugmentConfig) -> tuple[np.ndarray, np.ndarray]:
    """:func:`augment` of lead channels only; also returns which windows had their lead order
    reversed (bool per window)."""
    n, length, leads = x.shape
    out = x.copy()
    swap = np.zeros(n, dtype=bool)
    if n == 0:
        return out, swap
    p = cfg.probability

    # time shift with edge replication
    if cfg.max_shift > 0:
        shifts = rng.integers(-cfg.max_shift, cfg.max_shift + 1, size=n)
        shifts[rng.random(n) >= p] = 0
        idx = np.clip(np.arange(length)[None, :] - shifts[:, None], 0, length - 1)
        out = np.take_along_axis(out, idx[:, :, None], axis=1)

    # amplitude scale, per window and lead
    lo, hi = cfg.scale_range
    scale = np.exp(rng.uniform(np.log(lo), np.log(hi), size=(n, 1, leads))).astype(np.float32)
    scale[rng.random(n) >= p] = 1.0
    out *= scale

    # baseline wander: a sinusoid of random frequency, phase and amplitude per window and lead
    if cfg.wander_amplitude > 0:
        t = (np.arange(length, dtype=np.float32) / cfg.fs)[None, :, None]
        freq = rng.uniform(*cfg.wander_hz, size=(n, 1, leads)).astype(np.float32)
        phase = rng.uniform(0, 2 * np.pi, size=(n, 1, leads)).astype(np.float32)
        amp = rng.uniform(0, cfg.wander_amplitude, size=(n, 1, leads)).astype(np.float32)
        amp[rng.random(n) >= p] = 0.0
        out += amp * np.sin(2 * np.pi * freq * t + phase)

    # white noise
    if cfg.noise_std[1] > 0:
        std = rng.uniform(*cfg.noise_std, size=(n, 1, 1)).astype(np.float32)
        std[rng.random(n) >= p] = 0.0
        out += std * rng.standard_normal((n, length, leads), dtype=np.float32)

    # polarity inversion
    if cfg.flip_probability > 0:
        flip = rng.random(n) < cfg.flip_probability
        out[flip] *= -1.0

    # lead order
    if cfg.swap_probability > 0 and leads > 1:
        swap = rng.random(n) < cfg.swap_probability
        out[swap] = out[swap][:, :, ::-1]

    out -= np.median(out, axis=1, keepdims=True)
    np.clip(out, -CLIP, CLIP, out=out)
    return out.astype(np.float32, copy=False), swap


def _round_tripped(x: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig,
                   channels: int) -> np.ndarray:
    """``x`` with its first ``channels`` channels through :func:`rate_round_trip` at one rate
    of ``cfg.resample_rates`` per window (a ``resample_probability`` share of windows). Draws
    nothing when off, so the other augmentations see the same random numbers as without it."""
    if not cfg.resample_rates or len(x) == 0:
        return x
    chosen = rng.integers(0, len(cfg.resample_rates), size=len(x))
    chosen[rng.random(len(x)) >= cfg.resample_probability] = -1
    out = x.copy()
    for i, rate in enumerate(cfg.resample_rates):
        rows = np.flatnonzero(chosen == i)
        if len(rows):
            out[rows, :, :channels] = rate_round_trip(x[rows, :, :channels], rate, cfg.fs)
    return out
