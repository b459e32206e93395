"""The public API (``ecgtk.read``, ``from_array``, ``detect_beats``, ``analyse``,
``run_archive``): its doctests, its checks, and that it gives what the CLI gives."""

from __future__ import annotations

import doctest

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import ecgtk
from ecgtk import api
from ecgtk.cli import app
from ecgtk.engines.archive import sample_archive


def test_docstring_examples_run():
    failures, tried = doctest.testmod(api, optionflags=doctest.ELLIPSIS)
    assert tried >= 10 and failures == 0


def test_every_public_function_is_documented_with_an_example():
    for name in ("read", "from_array", "detect_beats", "analyse", "run_archive"):
        doc = getattr(ecgtk, name).__doc__
        for section in ("Parameters", "Returns", "Examples"):
            assert section in doc, (name, section)


def test_detect_beats_gives_the_peaks_of_ecgtk_detect(tmp_path, data_dir):
    record = data_dir / "mitdb" / "208.hea"
    out = tmp_path / "208.parquet"
    result = CliRunner().invoke(app, ["detect", str(record), "--out", str(out)])
    assert result.exit_code == 0, result.output
    cli_peaks = pq.read_table(out)["sample"].to_numpy()
    recording = ecgtk.read(record)
    peaks = ecgtk.detect_beats(recording.read(), fs=recording.fs)
    assert peaks.dtype == np.int64 and len(peaks) > 100
    np.testing.assert_array_equal(peaks, cli_peaks)
    np.testing.assert_array_equal(ecgtk.detect_beats(recording), cli_peaks)


def test_one_lead_array_is_accepted(data_dir):
    recording = ecgtk.read(data_dir / "mitdb" / "119.hea")
    peaks = ecgtk.detect_beats(recording.read()[:, 0], fs=recording.fs)
    assert len(peaks) > 100 and (np.diff(peaks) > 0).all()


@pytest.mark.parametrize(("signal", "fs", "message"), [
    (np.zeros((0, 2)), 360.0, "at least one sample"),
    (np.zeros((10, 2, 2)), 360.0, "n_samples, n_leads"),
    (np.array(["a", "b"]), 360.0, "numbers"),
    (np.zeros((100, 1)), 5.0, "sampling rate"),
])
def test_from_array_refuses_what_is_not_an_ecg(signal, fs, message):
    with pytest.raises((ValueError, ecgtk.RecordingError), match=message):
        ecgtk.from_array(signal, fs)


def test_an_array_needs_its_rate():
    with pytest.raises(ValueError, match="fs="):
        ecgtk.detect_beats(np.zeros(1000))


def test_analyse_a_file_an_array_and_a_recording_alike(sample_tables):
    path = sample_archive() / "119.hea"
    from_file = ecgtk.analyse(path)
    recording = ecgtk.read(path)
    from_array = ecgtk.analyse(recording.read(), fs=recording.fs, record_id="119")
    from_recording = ecgtk.analyse(recording)
    beats = sample_tables["beats"]
    expected = beats.filter(pc.equal(beats["record_id"], "119"))
    for analysis in (from_file, from_array, from_recording):
        assert analysis.beats.equals(expected)
        assert analysis.record.num_rows == 1
        assert analysis.record["status"][0].as_py() == "ok"
    assert from_file.record["source_bytes"][0].as_py() > 0
    assert from_array.record["source_bytes"][0].as_py() is None


def test_analyse_says_what_is_wrong(tmp_path):
    with pytest.raises(ecgtk.RecordingError, match="no usable signal"):
        ecgtk.analyse(np.full((360 * 60, 2), np.nan, np.float32), fs=360)
    with pytest.raises(ecgtk.RecordingError, match="missing.hea"):
        ecgtk.analyse(tmp_path / "missing.hea")
    with pytest.raises(ValueError, match="device"):
        ecgtk.analyse(sample_archive() / "119.hea", device="tpu")


def test_run_archive_refuses_bad_options_before_reading(tmp_path):
    with pytest.raises(ValueError, match="engine"):
        ecgtk.run_archive(out=tmp_path, engine="spark")
    with pytest.raises(ValueError, match="workers"):
        ecgtk.run_archive(out=tmp_path, workers=0)
    (tmp_path / "empty").mkdir()
    with pytest.raises(api.ArchiveError, match="no recordings"):
        ecgtk.run_archive(tmp_path / "empty", out=tmp_path / "out")
