"""ecgtk.summary.af: atrial fibrillation episodes on synthetic RR sequences and a real excerpt."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from ecgtk.summary.af import DEFAULT_AF, AFSettings, af_episodes, usable_intervals
from ecgtk.summary.rhythm import summarise_rhythm

FS = 250.0


def beats(rr, spec: str | None = None, t0: float = 1.0):
    """(samples, labels) of beats ``rr`` s apart; ``spec`` one letter per beat (N, V, A)."""
    times = t0 + np.concatenate([[0.0], np.cumsum(rr)])
    samples = np.round(times * FS).astype(np.int64)
    spec = spec or "N" * samples.size
    labels = np.array([{"N": "N", "V": "V", "A": "artefact"}[c] for c in spec], dtype=object)
    return samples, labels


def sinus(seconds: float, rr: float = 0.8, jitter: float = 0.01, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rr * (1 + jitter * rng.standard_normal(int(seconds / rr)))


def fibrillation(seconds: float, mean: float = 0.7, cv: float = 0.22, seed: int = 1):
    rng = np.random.default_rng(seed)
    n = int(seconds / mean)
    return np.clip(mean * (1 + cv * rng.standard_normal(n)), 0.3, 2.0)


def episodes_s(samples, labels):
    return [(a / FS, b / FS) for a, b in af_episodes(samples, labels, FS)]


# ----------------------------------------------------------------------------- no AF


def test_regular_sinus_is_not_af():
    assert episodes_s(*beats(sinus(600))) == []


def test_sinus_arrhythmia_is_not_af():
    t = np.arange(700)
    rr = 0.9 + 0.08 * np.sin(2 * np.pi * t / 4.5)  # breathing every 4.5 beats, +-9 %
    assert episodes_s(*beats(rr)) == []


@pytest.mark.parametrize("every", [2, 3, 4])
def test_frequent_v_beats_are_not_af(every):
    """Ventricular bigeminy, trigeminy, quadrigeminy: V beats and their intervals left out."""
    n = 600
    rr = np.empty(n)
    spec = []
    for i in range(n + 1):
        spec.append("V" if i % every == every - 1 else "N")
    for i in range(n):
        # coupling interval before a V, compensatory pause after it, 0.8 s otherwise
        rr[i] = 0.5 if spec[i + 1] == "V" else (1.1 if spec[i] == "V" else 0.8)
    rr *= 1 + 0.01 * np.random.default_rng(3).standard_normal(n)
    assert episodes_s(*beats(rr, "".join(spec))) == []


@pytest.mark.parametrize("every", [2, 3, 5])
def test_patterned_supraventricular_ectopics_are_not_af(every):
    """Atrial bigeminy / trigeminy / every 5th beat premature, all labelled N."""
    n = 600
    rr = np.where(np.arange(n) % every == 0, 0.55, 0.8)
    rr[np.arange(n) % every == 1] = 1.0  # the pause after each premature beat
    rr *= 1 + 0.015 * np.random.default_rng(4).standard_normal(n)
    assert episodes_s(*beats(rr)) == []


def test_random_supraventricular_ectopics_are_not_af():
    rng = np.random.default_rng(5)
    rr = list(sinus(900))
    for i in range(2, len(rr) - 1, 1):
        if rng.random() < 0.15:  # about 15 % premature beats, at random
            rr[i], rr[i + 1] = 0.8 * rng.uniform(0.55, 0.75), 0.8 * rng.uniform(1.1, 1.3)
    assert episodes_s(*beats(np.array(rr))) == []


def test_short_af_is_not_an_episode():
    rr = np.concatenate([sinus(120), fibrillation(20), sinus(120, seed=2)])
    assert episodes_s(*beats(rr)) == []


# ----------------------------------------------------------------------------- AF


def test_af_is_found_with_its_bounds():
    rr = np.concatenate([sinus(120), fibrillation(180), sinus(120, seed=2)])
    t = 1.0 + np.concatenate([[0.0], np.cumsum(rr)])
    onset, offset = t[int(120 / 0.8)], t[int(120 / 0.8) + int(180 / 0.7)]
    found = episodes_s(*beats(rr))
    assert len(found) == 1
    (start, end), = found
    assert abs(start - onset) < 15 and abs(end - offset) < 15


def test_af_with_frequent_v_beats_is_found():
    rr = fibrillation(300)
    rng = np.random.default_rng(6)
    spec = "".join("V" if (i % 4 == 3 or rng.random() < 0.1) else "N" for i in range(rr.size + 1))
    found = episodes_s(*beats(rr, spec))
    assert len(found) == 1 and found[0][1] - found[0][0] > 250


def test_af_through_short_noise_is_one_episode():
    rr = fibrillation(240)
    spec = ["N"] * (rr.size + 1)
    spec[150:153] = "AAA"  # three artefact candidates, about 2 s
    found = episodes_s(*beats(rr, "".join(spec)))
    assert len(found) == 1 and found[0][1] - found[0][0] > 200


def test_settings_and_usable_intervals():
    with pytest.raises(ValueError):
        AFSettings(window_intervals=2)
    with pytest.raises(ValueError):
        AFSettings(min_rr_s=2.0, max_rr_s=1.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULT_AF.min_entropy = 0.0  # type: ignore[misc]
    samples, labels = beats(np.full(6, 0.8), "NNVNANN")
    # N-N, (N-V, V-N left out), N-A-N noisy: left out, N-N
    start, end = usable_intervals(samples, labels, FS, AFSettings(premature=1.0))
    assert start.tolist() == [samples[0], samples[5]] and end.tolist() == [samples[1], samples[6]]
    assert af_episodes(samples[:0], labels[:0], FS) == []


# ----------------------------------------------------------------------------- summary


def test_summary_af_event_and_burden():
    rr = np.concatenate([sinus(120), fibrillation(240), sinus(120, seed=2)])
    samples, labels = beats(rr)
    duration = samples[-1] / FS + 1.0
    s = summarise_rhythm(samples, labels, FS, duration)
    af = [ev for ev in s.events if ev.kind == "af"]
    assert s.columns["n_af_episodes"] == 1 and len(af) == 1
    ev = af[0]
    inside = (samples >= ev.start_sample) & (samples <= ev.end_sample)
    assert ev.n_beats == int(inside.sum())
    assert ev.rate_bpm == pytest.approx(60 / 0.7, rel=0.1)
    assert s.columns["af_burden"] == pytest.approx((ev.end_s - ev.start_s) / duration)
    assert 0.4 < s.columns["af_burden"] < 0.6


def test_summary_without_af():
    samples, labels = beats(sinus(300))
    s = summarise_rhythm(samples, labels, FS, 305.0)
    assert s.columns["n_af_episodes"] == 0 and s.columns["af_burden"] == 0.0
    empty = summarise_rhythm(np.zeros(0, np.int64), np.zeros(0, object), FS, 0.0)
    assert empty.columns["n_af_episodes"] == 0 and np.isnan(empty.columns["af_burden"])


def test_burden_leaves_noise_out():
    rr = fibrillation(300)
    spec = ["N"] * (rr.size + 1)
    spec[200:203] = "AAA"
    samples, labels = beats(rr, "".join(spec))
    duration = samples[-1] / FS
    s = summarise_rhythm(samples, labels, FS, duration)
    analysable = duration * (1 - s.columns["artefact_share"])
    assert s.columns["artefact_share"] > 0
    assert 0.85 < s.columns["af_burden"] <= 1.0
    af_s = sum(ev.end_s - ev.start_s for ev in s.events if ev.kind == "af")
    assert s.columns["af_burden"] < af_s / analysable  # the noisy gap is not AF time


# ----------------------------------------------------------------------------- real


def test_real_af_offset(data_dir):
    """MIT-BIH 201 from 250 s: AF until 128.4 s, then nodal and sinus rhythm."""
    import wfdb

    ann = wfdb.rdann(str(data_dir / "af" / "201"), "atr")
    symbols = np.asarray(ann.symbol)
    keep = np.isin(symbols, list("NLRejAaJSVEF/fQ"))
    samples = ann.sample[keep].astype(np.int64)
    labels = np.where(np.isin(symbols[keep], ["V", "E"]), "V", "N").astype(object)
    found = [(a / 360, b / 360) for a, b in af_episodes(samples, labels, 360.0)]
    assert len(found) == 1
    start, end = found[0]
    assert start < 5 and abs(end - 128.4) < 15
    s = summarise_rhythm(samples, labels, 360.0, 180.0)
    assert s.columns["n_af_episodes"] == 1 and 0.6 < s.columns["af_burden"] < 0.85
