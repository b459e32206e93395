"""The detection stage over chunked recordings."""

import json

import numpy as np
import pytest
from synthetic import synthetic_ecg

from ecgtk.detection.chunked import detect_beats, drop_within
from ecgtk.kernels.rpeaks import detect_rpeaks
from ecgtk.readers import read_recording


@pytest.fixture
def npy_recording(tmp_path):
    signal, truth = synthetic_ecg(250.0, 300, heart_rate_bpm=80, ventricular_every=7, seed=11)
    path = tmp_path / "synthetic.npy"
    np.save(path, signal)
    (tmp_path / "synthetic.json").write_text(json.dumps({"fs": 250.0}))
    return read_recording(path), truth


def test_chunked_detection_equals_whole_signal_detection(npy_recording):
    recording, truth = npy_recording
    whole = detect_rpeaks(recording.signal, recording.fs)
    chunked = detect_beats(recording, chunk_s=37.0, overlap_s=15.0)
    np.testing.assert_array_equal(chunked, whole)
    assert len(chunked) == len(truth)


def test_chunk_boundaries_never_double_a_beat(npy_recording):
    recording, truth = npy_recording
    for chunk_s in (10.0, 23.3, 61.0):
        beats = detect_beats(recording, chunk_s=chunk_s)
        assert (np.diff(beats) > 0.2 * recording.fs).all()
        assert abs(len(beats) - len(truth)) <= 1


def test_drop_within_keeps_the_first_of_close_pairs():
    np.testing.assert_array_equal(drop_within(np.array([10, 12, 100, 101, 300]), 50),
                                  [10, 100, 300])
    np.testing.assert_array_equal(drop_within(np.array([5, 1]), 2), [1, 5])
    assert len(drop_within(np.array([], dtype=np.int64), 5)) == 0
