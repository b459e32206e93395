"""Model 2's context input channels (ecgtk.inference.inputs.ventricular_inputs and helpers)."""

import numpy as np
import pytest

from ecgtk.inference.inputs import (
    channel_names,
    context_channels,
    leads_of_context_input,
    model_windows,
    rr_context,
    ventricular_inputs,
    ventricular_inputs_reference,
)

FS = 360.0


@pytest.fixture
def rhythm():
    """Beats every 300 samples, with beat 20 and 40 premature by 100 samples."""
    beats = np.arange(1000, 1000 + 300 * 60, 300)
    beats[[20, 40]] -= 100
    return beats


def test_rr_context_flags_premature_beats_and_pauses(rhythm):
    rr = rr_context(rhythm, rhythm, FS)
    assert rr.shape == (len(rhythm), 2) and rr.dtype == np.float32
    assert rr[20, 0] == pytest.approx(np.log(200 / 300), abs=1e-5)  # came early
    assert rr[20, 1] == pytest.approx(np.log(400 / 300), abs=1e-5)  # compensatory pause
    assert np.allclose(rr[5:15], 0.0)  # on time
    assert rr[0, 0] == 0.0 and rr[-1, 1] == 0.0  # no neighbour: 0


def test_rr_context_ignores_the_beat_itself_among_candidates(rhythm):
    # a centre that is not itself a candidate (annotation the detector missed), 1 sample off
    rr = rr_context(rhythm[10:11] + 1, rhythm, FS)
    assert rr[0, 0] == pytest.approx(np.log(301 / 300), abs=1e-5)


def test_rr_context_clips_and_handles_few_candidates():
    assert np.all(rr_context(np.array([5]), np.array([5]), FS) == 0)
    beats = np.array([0, 300, 600, 900, 1200, 1500, 20000])
    rr = rr_context(beats, beats, FS)
    assert rr.max() == pytest.approx(np.log(5.0), abs=1e-6)


def test_ventricular_inputs_layout(rhythm):
    rng = np.random.default_rng(0)
    signal = rng.normal(0, 0.05, (rhythm[-1] + 400, 2)).astype(np.float32)
    for b in rhythm:
        signal[b - 5:b + 5] += 1.0
    x = ventricular_inputs(signal, rhythm, 150, 150, rhythm, FS)
    assert x.shape == (len(rhythm), 300, context_channels(2)) == (len(rhythm), 300, 6)
    windows = model_windows(signal, rhythm, 150, 150, rhythm, FS)
    assert np.array_equal(x[:, :, :2], windows)
    # the template channels: the median window of the candidates, the same for every beat
    assert np.allclose(x[:, :, 2:4], np.median(windows, axis=0)[None], atol=1e-6)
    assert np.allclose(x[:, :, 4:], rr_context(rhythm, rhythm, FS)[:, None, :])


def test_context_channel_helpers():
    assert leads_of_context_input(6) == 2 and leads_of_context_input(4) == 1
    with pytest.raises(ValueError):
        leads_of_context_input(5)
    names = channel_names(["MLII", "V1"], context=True)
    assert len(names) == 6 and names[2] == "template of MLII"
    assert channel_names(["MLII"], context=False) == ["MLII"]


@pytest.mark.parametrize("span_s", [np.inf, 20.0, 7.0])
@pytest.mark.parametrize("every", [1, 3])
def test_ventricular_inputs_equal_the_reference(span_s, every):
    """Normalising the beats' and the typical beats' windows together changes no bit; with
    a short span some stretches have beats but no candidates, or candidates but no beats."""
    rng = np.random.default_rng(every)
    candidates = np.sort(rng.choice(np.arange(200, 36000, 37), 700, replace=False))
    signal = rng.normal(0, 0.05, (36400, 2)).astype(np.float32)
    signal[candidates] += rng.uniform(0.5, 2.0, (len(candidates), 2)).astype(np.float32)
    signal[10000:11000, 1] = np.nan  # a gap on one lead
    centres = candidates[::every]
    centres = np.sort(np.concatenate([centres, [25000, 25001]]))  # not candidates: no own RR
    candidates = candidates[(candidates < 15000) | (candidates > 22000)]  # no candidate there
    got = ventricular_inputs(signal, centres, 150, 150, candidates, FS, span_s)
    want = ventricular_inputs_reference(signal, centres, 150, 150, candidates, FS, span_s)
    np.testing.assert_array_equal(got, want)
