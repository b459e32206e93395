import numpy as np

from ecgtk.inference.inputs import model_windows


def test_model_windows_scale_per_span():
    fs = 100.0
    x = np.zeros((4000, 1), np.float32)
    beats = np.arange(50, 4000, 100)
    x[beats[beats < 2000], 0] = 1.0  # first span: QRS amplitude 1 mV
    x[beats[beats >= 2000], 0] = 4.0  # second span: 4 mV
    w = model_windows(x, beats, 5, 5, beats, fs=fs, span_s=20.0)
    assert w.shape == (len(beats), 10, 1) and w.dtype == np.float32
    np.testing.assert_allclose(w[:, 5, 0], 1.0)  # every beat is one "typical QRS" high
    assert model_windows(x, np.array([], dtype=np.int64), 5, 5, beats, fs=fs).shape == (0, 10, 1)
