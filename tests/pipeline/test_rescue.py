"""The pause and run rules: beats model 1 rejected come back when the rhythm says so."""

import numpy as np
import pytest

from ecgtk.inference.models import BeatModels, ModelSettings
from ecgtk.labelling.rescue import PauseRule, is_even_run, rescue_pauses, smooth_stretches
from ecgtk.pipeline import call_recording
from ecgtk.readers import read_recording

RULE = PauseRule()
FS = 360.0


def beat_train(n: int = 30, rr: int = 360) -> np.ndarray:
    """Candidates at a steady ``rr`` samples (1 s at 360 Hz)."""
    return np.arange(1, n + 1, dtype=np.int64) * rr


def test_a_rejected_beat_that_splits_a_pause_comes_back():
    samples = beat_train()
    p_beat = np.full(len(samples), 0.9, np.float32)
    p_beat[15] = 0.01
    is_beat = p_beat >= 0.05
    out = rescue_pauses(samples, p_beat, is_beat, FS, RULE)
    assert out[15] and out.sum() == len(samples)
    assert not is_beat[15]  # the input is left as it was


def test_a_candidate_near_either_end_of_the_pause_is_left_out():
    # beats every 1 s, one missing at 15 s; the only candidate in the pause is a T wave 0.3 s
    # after the beat before it
    samples = np.sort(np.append(np.delete(beat_train(), 14), 14 * 360 + 108))
    p_beat = np.where(np.isin(samples, beat_train()), 0.9, 0.01).astype(np.float32)
    out = rescue_pauses(samples, p_beat, p_beat >= 0.05, FS, RULE)
    np.testing.assert_array_equal(out, p_beat >= 0.05)


def test_a_long_pause_is_left_alone_and_a_short_one_gets_its_beat():
    samples = np.sort(np.append(beat_train(), 20 * 360 + 108))  # a T wave 0.3 s after 20 s
    p_beat = np.where(np.isin(samples, beat_train()), 0.9, 0.01).astype(np.float32)
    beat_at = {int(s): i for i, s in enumerate(samples)}
    p_beat[[beat_at[10 * 360], beat_at[11 * 360], beat_at[12 * 360]]] = 0.01  # 4 s: too long
    p_beat[beat_at[21 * 360]] = 0.01  # 2 s: one beat missing
    pause_alone = PauseRule(max_run_cv=None)  # (the run rule would take the even 4 s)
    out = rescue_pauses(samples, p_beat, p_beat >= 0.05, FS, pause_alone)
    np.testing.assert_array_equal(samples[out & (p_beat < 0.05)], [21 * 360])


def test_of_several_candidates_the_one_model_1_likes_best_comes_back():
    samples = np.sort(np.append(beat_train(), [15 * 360 + 20]))
    p_beat = np.full(len(samples), 0.9, np.float32)
    at_15, next_to_it = np.searchsorted(samples, [15 * 360, 15 * 360 + 20])
    p_beat[[at_15, next_to_it]] = [0.02, 0.04]
    out = rescue_pauses(samples, p_beat, p_beat >= 0.05, FS, RULE)
    assert out[next_to_it] and not out[at_15]


def escape_rhythm(jitter: float, seed: int = 0):
    """Beats every 0.8 s, then 8 s in which model 1 rejects a slow rhythm (every 1.6 s, with
    ``jitter`` s of random timing), then beats again."""
    rng = np.random.default_rng(seed)
    before = np.arange(1, 21) * 288
    run = before[-1] + np.arange(1, 5) * 576 + rng.uniform(-jitter, jitter, 4) * FS
    after = before[-1] + 5 * 576 + np.arange(0, 20) * 288
    samples = np.concatenate([before, run.astype(np.int64), after])
    p_beat = np.full(len(samples), 0.9, np.float32)
    p_beat[20:24] = 0.02
    return samples, p_beat, np.arange(20, 24)


def test_an_even_run_of_rejected_candidates_in_a_long_pause_comes_back():
    samples, p_beat, run = escape_rhythm(jitter=0.05)
    out = rescue_pauses(samples, p_beat, p_beat >= 0.05, FS, RULE)
    assert out[run].all() and out.all()


def test_uneven_or_short_runs_and_runs_switched_off_are_left_alone():
    samples, p_beat, run = escape_rhythm(jitter=0.5)  # noise, not a rhythm
    assert not rescue_pauses(samples, p_beat, p_beat >= 0.05, FS, RULE)[run].any()
    samples, p_beat, run = escape_rhythm(jitter=0.0)
    off = PauseRule(max_run_cv=None)
    assert not rescue_pauses(samples, p_beat, p_beat >= 0.05, FS, off)[run].any()
    assert not is_even_run(samples[run[:2]], samples[19], samples[22], FS, RULE)  # 2 < min_run
    # intervals under run_rr_s[0] (0.4 s): too fast to be beats
    fast = samples[19] + np.arange(1, 6) * 126
    assert not is_even_run(fast, samples[19], samples[19] + 6 * 126, FS, RULE)


def slowing_escape(first_s: float = 1.0, growth: float = 1.08, n: int = 10, seed: int = 0):
    """Beats every 0.8 s, then a rhythm model 1 rejects whose intervals grow smoothly from
    ``first_s`` by ``growth`` per beat (uneven as a whole: 1.0 to 2.0 s), then beats again."""
    before = np.arange(1, 21) * 288
    intervals = first_s * growth ** np.arange(n + 1)
    run = before[-1] + np.round(np.cumsum(intervals[:n]) * FS).astype(np.int64)
    after = before[-1] + int(round(intervals.sum() * FS)) + np.arange(0, 20) * 288
    samples = np.concatenate([before, run, after])
    p_beat = np.full(len(samples), 0.9, np.float32)
    p_beat[20:20 + n] = 0.02
    return samples, p_beat, np.arange(20, 20 + n)


def test_a_rhythm_that_slows_smoothly_comes_back_where_the_run_rule_finds_it_uneven():
    samples, p_beat, run = slowing_escape()
    inside, start, end = samples[run], samples[19], samples[run[-1] + 1]
    assert not is_even_run(inside, start, end, FS, RULE)  # uneven as a whole
    out = rescue_pauses(samples, p_beat, p_beat >= 0.05, FS, RULE)
    assert out.all()
    off = PauseRule(min_smooth_run=None)
    assert not rescue_pauses(samples, p_beat, p_beat >= 0.05, FS, off)[run].any()


def test_noise_flutter_and_short_stretches_are_not_smooth_runs():
    rng = np.random.default_rng(3)
    noise = np.cumsum(rng.uniform(0.4, 2.0, 30) * FS).astype(np.int64)  # random intervals
    assert all(s.stop - s.start < 6 for s in smooth_stretches(noise, FS, RULE))
    flutter = np.arange(30) * 110  # 0.31 s: under run_rr_s[0]
    assert smooth_stretches(flutter, FS, RULE) == []
    steady = np.arange(5) * 360  # 5 < min_smooth_run
    assert smooth_stretches(steady, FS, RULE) == []
    # a jump in the intervals splits a rhythm in two; the time at the jump ends one, starts
    # the other
    two = np.concatenate([np.arange(7) * 360, 6 * 360 + np.arange(1, 8) * 540])
    assert smooth_stretches(two, FS, RULE) == [slice(0, 7), slice(6, 14)]


def test_nothing_to_do():
    samples = beat_train(5)
    p = np.full(5, 0.9, np.float32)
    np.testing.assert_array_equal(rescue_pauses(samples, p, p >= 0.05, FS, RULE), True)
    few = np.array([0.9, 0.01, 0.01, 0.01, 0.9], np.float32)
    np.testing.assert_array_equal(rescue_pauses(samples, few, few >= 0.05, FS, RULE), few >= 0.05)
    assert rescue_pauses(samples[:0], p[:0], p[:0] > 0, FS, RULE).shape == (0,)


@pytest.mark.parametrize("bad", [dict(min_pause_rr=1.0), dict(min_pause_rr=3.5),
                                 dict(min_split_rr=1.2), dict(min_split_rr=0.0),
                                 dict(neighbours=0), dict(min_run=1), dict(max_run_cv=0.0),
                                 dict(run_rr_s=(0.5, 0.4)), dict(min_smooth_run=2),
                                 dict(max_smooth_step=0.0), dict(max_smooth_step=1.0)])
def test_rule_checks_its_thresholds(bad):
    with pytest.raises(ValueError, match="PauseRule"):
        PauseRule(**bad)


def test_run_applies_the_rule_to_model_1s_calls(data_dir, monkeypatch):
    """With model 1 made to reject the middle candidate of each chunk (real beats here), the
    default settings give them back and ``pause_rule=None`` leaves them artefacts."""
    recording = read_recording(data_dir / "mitdb" / "101.hea")
    samples, calls = call_recording(recording, BeatModels(ModelSettings(pause_rule=None)),
                                    chunk_s=60.0)
    original = BeatModels._probability

    def reject_middle(self, name, windows):
        p = original(self, name, windows)
        if name == "beat":
            p = p.copy()
            p[len(p) // 2] = 0.0
        return p

    monkeypatch.setattr(BeatModels, "_probability", reject_middle)
    off = call_recording(recording, BeatModels(ModelSettings(pause_rule=None)), chunk_s=60.0)
    on = call_recording(recording, BeatModels(ModelSettings()), chunk_s=60.0)
    dropped = np.flatnonzero(off[1].p_beat == 0.0)
    assert len(dropped) == 2 and calls.is_beat[dropped].all()  # one per chunk, real beats
    assert not off[1].is_beat[dropped].any()
    assert on[1].is_beat[dropped].all()
    np.testing.assert_array_equal(on[1].is_beat, calls.is_beat)
