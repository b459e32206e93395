"""ecgtk.kernels.edf_samples: the compiled decoder must equal the numpy reference exactly."""

from __future__ import annotations

import numpy as np
import pytest

from ecgtk.kernels.edf_samples import decode_records, decode_records_reference


@pytest.mark.parametrize("skip, n", [(0, 0), (0, 1), (3, 40), (17, 23), (0, 50)])
@pytest.mark.parametrize("starts", [[0], [10, 30], [40, 0, 20]])
def test_decode_records_matches_reference(skip, n, starts):
    rng = np.random.default_rng(skip + n + len(starts))
    per = 10  # five records of five signals of 10 samples each
    records = rng.integers(-32768, 32768, (5, 50)).astype("<i2")
    gain = rng.uniform(0.1, 3.0, len(starts))
    offset = rng.uniform(-5.0, 5.0, len(starts))
    scale = rng.choice([1.0, 1e-3, 1000.0], len(starts))
    got = decode_records(records, starts, per, skip, n, gain, offset, scale)
    want = decode_records_reference(records, starts, per, skip, n, gain, offset, scale)
    assert got.shape == (n, len(starts)) and got.dtype == np.float32
    np.testing.assert_array_equal(got, want)


def test_decode_records_reads_each_signal_across_records():
    records = np.array([[0, 1, 100, 101], [2, 3, 102, 103]], dtype="<i2")  # 2 signals, per 2
    out = decode_records(records, [2, 0], 2, 1, 3, [1.0, 2.0], [0.0, 1.0], [1.0, 1.0])
    np.testing.assert_array_equal(out, [[101, 4], [102, 6], [103, 8]])


@pytest.mark.parametrize("starts, skip, n, match", [
    ([0], 0, 21, "outside"), ([15], 0, 5, "outside"), ([0], -1, 2, "outside"),
    ([0, 5], 0, 2, "one start"),
])
def test_decode_records_bad_inputs(starts, skip, n, match):
    records = np.zeros((2, 20), dtype="<i2")
    gain = np.ones(1)
    with pytest.raises(ValueError, match=match):
        decode_records(records, starts, 10, skip, n, gain, gain, gain)
