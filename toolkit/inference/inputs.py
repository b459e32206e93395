"""Model inputs: normalised windows around positions, exactly as training and inference see them.

Both the training-set builders (``ecgtk.export``) and the run pipeline call
:func:`model_windows`, so a model never sees differently prepared inputs in the field than in
training. The signal must already be at the models' rate (:data:`MODEL_RATE_HZ`).
"""

from __future__ import annotations

import numpy as np

from ecgtk.kernels.medians import running_median
from ecgtk.kernels.normalise import normalise_windows, qrs_scale
from ecgtk.kernels.windows import context_stack, slice_windows

#: Sampling rate both models are trained at, Hz.
MODEL_RATE_HZ = 360.0
#: Samples each side of a candidate for model 1 (beat vs artefact) and of a beat for model 2.
BEAT_WINDOW = (50, 50)
VENTRICULAR_WINDOW = (150, 150)
#: The QRS scale is measured over stretches of this many seconds of signal.
SCALE_SPAN_S = 600.0
#: Half-width of the peak-to-peak measurement around each beat, seconds.
SCALE_HALF_WIDTH_S = 0.05


def model_windows(signal: np.ndarray, centres: np.ndarray, before: int, after: int,
                  scale_beats: np.ndarray, fs: float = MODEL_RATE_HZ,
                  span_s: float = SCALE_SPAN_S) -> np.ndarray:
    """Normalised windows ``(n, before + after, leads)`` float32 around ``centres``.

    ``signal`` ``(n, leads)`` in mV at ``fs``; ``centres`` and ``scale_beats`` are sample
    indices into it (sorted). In each stretch of ``span_s`` seconds, each lead's scale is the
    median QRS peak-to-peak of ``scale_beats`` in that stretch (the detector's candidates), and
    every window centred there is divided by it (see :mod:`ecgtk.kernels.normalise`);
    ``span_s=inf`` uses one scale for the whole signal (a chunk at inference).
    """
    x = np.asarray(signal, dtype=np.float32)
    x = x[:, None] if x.ndim == 1 else x
    centres = np.asarray(centres, dtype=np.int64)
    scale_beats = np.asarray(scale_beats, dtype=np.int64)
    out = np.empty((len(centres), before + after, x.shape[1]), dtype=np.float32)
    span = max(1, int(round(span_s * fs))) if np.isfinite(span_s) else max(len(x), 1)
    half_width = int(round(SCALE_HALF_WIDTH_S * fs))
    for start in range(0, max(len(x), 1), span):
        stop = start + span
        lo, hi = np.searchsorted(centres, [start, stop])
        if lo == hi:
            continue
        b_lo, b_hi = np.searchsorted(scale_beats, [start, stop])
        scale = qrs_scale(x[start:stop], scale_beats[b_lo:b_hi] - start, half_width)
        out[lo:hi] = normalise_windows(slice_windows(x, centres[lo:hi], before, after), scale)
    return out


# ---------------------------------------------------------------------------------------------
# model 2's context: the patient's typical beat and the beat's timing

#: What a model-2 input holds beside its leads (the ``context`` entry of the ONNX metadata):
#: per lead the median window of the stretch's detector candidates (the patient's typical beat
#: there), then two channels with the log RR ratios before and after the beat.
CONTEXT_KIND = "template+rr"
#: Context channels that are not leads.
RR_CHANNELS = 2
#: Candidates closer than this to a beat are not its neighbours (the refractory period), s.
REFRACTORY_S = 0.2
#: RR intervals on each side that give a beat's local median RR.
RR_NEIGHBOURS = 8
#: The median template is taken over at most this many candidates per stretch (evenly spread).
TEMPLATE_BEATS = 600
_LOG_RR_LIMIT = float(np.log(5.0))


def context_channels(n_leads: int) -> int:
    """Channels of a model-2 input with context for ``n_leads`` leads."""
    return 2 * n_leads + RR_CHANNELS


def leads_of_context_input(channels: int) -> int:
    """How many leads a model-2 input with ``channels`` context channels holds."""
    leads, odd = divmod(channels - RR_CHANNELS, 2)
    if odd or leads < 1:
        raise ValueError(f"{channels} channels is not a {CONTEXT_KIND} input")
    return leads


def rr_context(centres: np.ndarray, candidates: np.ndarray, fs: float = MODEL_RATE_HZ,
               neighbours: int = RR_NEIGHBOURS) -> np.ndarray:
    """``(n, 2)`` float32: log of the RR interval before and after each centre over the local
    median RR of the ``candidates`` (sample indices at ``fs``, sorted). 0 is on time; a
    premature beat has a negative first value, a compensatory pause a positive second one.
    Clipped to +-log(5); 0 where a neighbour is missing."""
    centres = np.asarray(centres, dtype=np.int64)
    cands = np.unique(np.asarray(candidates, dtype=np.int64))
    out = np.zeros((len(centres), 2), dtype=np.float32)
    if len(cands) < 3 or len(centres) == 0:
        return out
    local = running_median(np.diff(cands).astype(np.float64), 2 * neighbours + 1)
    gap = int(round(REFRACTORY_S * fs))
    before = np.searchsorted(cands, centres - gap, side="right") - 1
    after = np.searchsorted(cands, centres + gap, side="left")
    where = np.clip(np.searchsorted(cands, centres) - 1, 0, len(local) - 1)
    for column, neighbour, ok in ((0, before, before >= 0), (1, after, after < len(cands))):
        interval = np.abs(centres[ok] - cands[neighbour[ok]]).astype(np.float64)
        ratio = np.log(np.maximum(interval, 1.0) / local[where[ok]])
        out[ok, column] = np.clip(ratio, -_LOG_RR_LIMIT, _LOG_RR_LIMIT)
    return out


def typical_beats(n_samples: int, centres: np.ndarray, candidates: np.ndarray, fs: float,
                  span_s: float) -> list[tuple[int, int, np.ndarray]]:
    """Per ``span_s`` stretch of a signal of ``n_samples`` that holds centres and candidates
    (``inf``: the whole signal): ``(lo, hi, typical)``, its centres ``centres[lo:hi]`` and
    the sample indices of its typical beats, up to :data:`TEMPLATE_BEATS` of its candidates,
    evenly spread (both sorted)."""
    span = max(1, int(round(span_s * fs))) if np.isfinite(span_s) else max(n_samples, 1)
    stretches = []
    for start in range(0, max(n_samples, 1), span):
        lo, hi = np.searchsorted(centres, [start, start + span])
        c_lo, c_hi = np.searchsorted(candidates, [start, start + span])
        if lo == hi or c_lo == c_hi:
            continue
        pick = np.unique(np.linspace(c_lo, c_hi - 1, min(TEMPLATE_BEATS, c_hi - c_lo))
                         .round().astype(np.int64))
        stretches.append((int(lo), int(hi), candidates[pick]))
    return stretches


def ventricular_inputs(signal: np.ndarray, centres: np.ndarray, before: int, after: int,
                       candidates: np.ndarray, fs: float = MODEL_RATE_HZ,
                       span_s: float = SCALE_SPAN_S) -> np.ndarray:
    """Model-2 inputs with context, ``(n, before + after, 2 * leads + 2)`` float32.

    Channels: the beat's normalised window per lead (:func:`model_windows`), then per lead the
    median normalised window of the ``candidates`` in the same ``span_s`` stretch (``inf``: the
    whole signal, a chunk at inference), then :func:`rr_context` repeated along time. Model 2
    so compares each beat with the patient's typical beat and sees whether it came early.

    Each window depends only on its centre and its stretch, so the beats' windows and the
    typical beats' windows (mostly the same beats) are normalised once, together.
    """
    x = np.asarray(signal, dtype=np.float32)
    x = x[:, None] if x.ndim == 1 else x
    centres = np.asarray(centres, dtype=np.int64)
    candidates = np.asarray(candidates, dtype=np.int64)
    length, leads = before + after, x.shape[1]
    stretches = typical_beats(len(x), centres, candidates, fs, span_s)
    wanted = np.unique(np.concatenate([centres, *(typical for *_, typical in stretches)]))
    windows = model_windows(x, wanted, before, after, candidates, fs, span_s)
    templates = np.zeros((max(len(stretches), 1), length, leads), dtype=np.float32)
    template_of = np.full(len(centres), -1, dtype=np.int64)
    for k, (lo, hi, typical) in enumerate(stretches):
        templates[k] = np.median(windows[np.searchsorted(wanted, typical)], axis=0)
        template_of[lo:hi] = k
    return context_stack(windows, np.searchsorted(wanted, centres), templates, template_of,
                         rr_context(centres, candidates, fs))


def ventricular_inputs_reference(signal: np.ndarray, centres: np.ndarray, before: int,
                                 after: int, candidates: np.ndarray, fs: float = MODEL_RATE_HZ,
                                 span_s: float = SCALE_SPAN_S) -> np.ndarray:
    """:func:`ventricular_inputs` the plain way (ecgtk 0.5.0's), for tests and benchmarks: the
    beats' windows, then each stretch's typical beats' windows made again, their median, and
    the RR channels, filled in one after another."""
    x = np.asarray(signal, dtype=np.float32)
    x = x[:, None] if x.ndim == 1 else x
    centres = np.asarray(centres, dtype=np.int64)
    candidates = np.asarray(candidates, dtype=np.int64)
    leads = x.shape[1]
    out = np.zeros((len(centres), before + after, context_channels(leads)), dtype=np.float32)
    out[:, :, :leads] = model_windows(x, centres, before, after, candidates, fs, span_s)
    for lo, hi, typical in typical_beats(len(x), centres, candidates, fs, span_s):
        windows = model_windows(x, typical, before, after, candidates, fs, span_s)
        out[lo:hi, :, leads:2 * leads] = np.median(windows, axis=0)
    out[:, :, 2 * leads:] = rr_context(centres, candidates, fs)[:, None, :]
    return out


def channel_names(lead_names: list[str], context: bool) -> list[str]:
    """One name per input channel (the ``input_leads`` ONNX metadata): the leads, and with
    ``context`` their templates and the two RR channels."""
    if not context:
        return list(lead_names)
    return [*lead_names, *(f"template of {name}" for name in lead_names),
            "log RR-before ratio", "log RR-after ratio"]
