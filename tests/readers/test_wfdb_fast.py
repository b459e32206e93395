"""The fast WFDB decoder (ecgtk.kernels.wfdb_samples) gives wfdb's own numbers, bit for bit."""

import numpy as np
import pytest
import wfdb

from ecgtk.kernels.wfdb_samples import byte_span, decode_physical, decode_physical_reference
from ecgtk.readers import read_recording
from ecgtk.recording import RecordingError


def _write(folder, name, fmt, n_signals, n=2001, baseline=None, gain=None, **extra):
    rng = np.random.default_rng(n_signals)
    top = 2047 if fmt == "212" else 32767
    digital = rng.integers(-top, top, size=(n, n_signals)).astype(np.int32)
    invalid = -2048 if fmt == "212" else -32768
    digital[5, 0] = invalid  # a missing sample
    digital[n // 2:, n_signals - 1] = invalid  # a lead that falls off half way
    wfdb.wrsamp(name, fs=128, units=["mV"] * n_signals,
                sig_name=[f"ch{i}" for i in range(n_signals)], d_signal=digital,
                fmt=[fmt] * n_signals, adc_gain=gain or [200.0 + 17.5 * i for i in
                                                          range(n_signals)],
                baseline=baseline or [3 - 7 * i for i in range(n_signals)],
                write_dir=str(folder), **extra)
    return folder / f"{name}.hea"


@pytest.mark.parametrize("fmt", ["212", "16"])
@pytest.mark.parametrize("n_signals", [1, 2, 3])
def test_fast_reads_equal_wfdb(tmp_path, fmt, n_signals):
    header = _write(tmp_path, "r", fmt, n_signals)
    recording = read_recording(header)
    assert recording.read_samples.fast is not None
    for start, stop in ((0, 2001), (1, 2), (7, 1000), (1000, 2001), (333, 334)):
        ours = recording.read_samples(start, stop)
        theirs = wfdb.rdrecord(str(tmp_path / "r"), sampfrom=start, sampto=stop,
                               physical=True, return_res=32).p_signal
        assert ours.dtype == np.float32 and ours.shape == (stop - start, n_signals)
        np.testing.assert_array_equal(ours, theirs)  # NaNs in the same places too


def test_shipped_excerpt_reads_as_before(tmp_path):
    from pathlib import Path

    record = Path(__file__).parents[1] / "data" / "mitdb" / "119"
    recording = read_recording(f"{record}.hea")
    assert recording.read_samples.fast is not None
    theirs = wfdb.rdrecord(str(record), physical=True, return_res=32).p_signal
    np.testing.assert_array_equal(recording.read_samples(0, recording.n_samples), theirs)


def test_other_layouts_go_through_wfdb(tmp_path):
    header = _write(tmp_path, "m", "212", 2)
    text = header.read_text().splitlines()
    text[1] = text[1].replace("m.dat 212", "m.dat 212:3")  # skew on the first signal
    header.write_text("\n".join(text) + "\n")
    assert read_recording(header).read_samples.fast is None


def test_kernel_matches_reference():
    rng = np.random.default_rng(0)
    raw = rng.integers(0, 256, size=3 * 400, dtype=np.uint8)
    for fmt, skip in (("212", 0), ("212", 1), ("16", 0)):
        baseline, gain = np.array([5.0, -3.0]), np.array([200.0, 1000.5])
        ours = decode_physical(raw, fmt, 2, 150, skip, baseline, gain)
        np.testing.assert_array_equal(
            ours, decode_physical_reference(raw, fmt, 2, 150, skip, baseline, gain))


def test_byte_span_starts_at_the_triplet():
    assert byte_span("212", 1, 3, 5) == (3, 6, 1)  # samples 3, 4: triplets 1 and 2
    assert byte_span("212", 2, 1, 2) == (3, 3, 0)
    assert byte_span("16", 3, 2, 4) == (12, 12, 0)


def test_short_data_file_names_the_file(tmp_path):
    header = _write(tmp_path, "t", "16", 2)
    recording = read_recording(header)
    data = tmp_path / "t.dat"
    data.write_bytes(data.read_bytes()[:100])  # cut after the header was checked
    with pytest.raises(RecordingError, match="t.dat"):
        recording.read_samples(0, 2001)
