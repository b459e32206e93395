"""Round trips through every reader: values, units, lead names, start time, partial reads."""

from __future__ import annotations

import json
import pickle
from datetime import datetime
from pathlib import Path

import numpy as np
import pyedflib
import pytest
import wfdb

from ecgtk.readers import mv_per_unit, read_recording
from ecgtk.readers.ishne import crc16_ccitt, lead_names, write_ishne
from ecgtk.recording import iter_chunks

FS = 250
START = datetime(2023, 4, 5, 6, 7, 8)
RANGES = [(0, 1), (1, 2), (3, 10), (7, 500), (999, 1001), (1500, 2000), (0, 2000)]


@pytest.fixture
def readers_signal() -> np.ndarray:
    """8 s, 3 leads at 250 Hz: ECG-like sines plus noise, within +-3 mV, float32."""
    t = np.arange(8 * FS) / FS
    rng = np.random.default_rng(42)
    leads = [np.sin(2 * np.pi * f * t) * a for f, a in ((1.2, 1.5), (2.5, 0.8), (0.7, 2.0))]
    x = np.stack(leads, axis=1) + 0.05 * rng.standard_normal((t.size, 3))
    return x.astype(np.float32)


def write_wfdb(tmp_path: Path, x: np.ndarray, fmt: str = "16", units: str = "mV") -> Path:
    scale = 1000.0 if units == "uV" else 1.0
    wfdb.wrsamp(
        "rec", fs=FS, units=[units] * x.shape[1], sig_name=["I", "II", "V1"][: x.shape[1]],
        p_signal=x.astype(np.float64) * scale, fmt=[fmt] * x.shape[1],
        base_date=START.date(), base_time=START.time(), write_dir=str(tmp_path),
    )  # fmt: skip
    return tmp_path / "rec.hea"


def wfdb_tolerance(header_path: Path) -> float:
    """Half a quantisation step (mV) plus float32 rounding."""
    gains = wfdb.rdheader(str(header_path.with_suffix(""))).adc_gain
    return 0.5 / min(gains) + 1e-5


def write_edf(tmp_path: Path, x: np.ndarray, dimension: str = "uV") -> Path:
    """EDF+ with the ECG leads at FS, a respiration channel at FS/2 and one annotation."""
    path = tmp_path / "rec.edf"
    scale = {"uV": 1000.0, "mV": 1.0, "V": 1e-3}[dimension]
    n_leads = x.shape[1]
    writer = pyedflib.EdfWriter(str(path), n_leads + 1, file_type=pyedflib.FILETYPE_EDFPLUS)
    headers = [
        {"label": f"ECG{i + 1}", "dimension": dimension, "sample_frequency": FS,
         "physical_max": 5 * scale, "physical_min": -5 * scale,
         "digital_max": 32767, "digital_min": -32768}
        for i in range(n_leads)
    ]  # fmt: skip
    headers.append({**headers[0], "label": "Resp", "sample_frequency": FS // 2})
    writer.setSignalHeaders(headers)
    writer.setStartdatetime(START)
    resp = np.zeros(len(x) // 2)
    writer.writeSamples([x[:, i].astype(np.float64) * scale for i in range(n_leads)] + [resp])
    writer.writeAnnotation(1.0, -1, "event")
    writer.close()
    return path


def write_npy(tmp_path: Path, x: np.ndarray, sidecar: dict | None = None) -> Path:
    path = tmp_path / "rec.npy"
    np.save(path, x)
    if sidecar is not None:
        (tmp_path / "rec.json").write_text(json.dumps(sidecar))
    return path


def write_any(kind: str, tmp_path: Path, x: np.ndarray) -> Path:
    """Write ``x`` in format ``kind``; return the path to give to read_recording."""
    if kind == "wfdb212":
        return write_wfdb(tmp_path, x, "212")
    if kind == "wfdb16":
        return write_wfdb(tmp_path, x, "16")
    if kind == "edf":
        return write_edf(tmp_path, x)
    if kind == "ishne":
        return write_ishne(tmp_path / "rec.ecg", x, FS, lead_specs=["I", "II", "V1"])
    return write_npy(tmp_path, x, {"fs": FS})


KINDS = ["wfdb212", "wfdb16", "edf", "ishne", "npy"]


def test_crc16_ccitt_check_value() -> None:
    assert crc16_ccitt(b"123456789") == 0x29B1
    assert crc16_ccitt(b"") == 0xFFFF


@pytest.mark.parametrize("fmt", ["212", "16"])
def test_wfdb_round_trip(tmp_path: Path, readers_signal: np.ndarray, fmt: str) -> None:
    header = write_wfdb(tmp_path, readers_signal, fmt)
    rec = read_recording(header)
    assert (rec.fs, rec.n_samples, rec.lead_names) == (FS, 2000, ("I", "II", "V1"))
    assert rec.record_id == "rec" and rec.path == header and rec.start_time == START
    signal = rec.signal
    assert signal.dtype == np.float32 and signal.shape == readers_signal.shape
    np.testing.assert_allclose(signal, readers_signal, atol=wfdb_tolerance(header), rtol=0)


@pytest.mark.parametrize("name", ["rec", "rec.dat", "rec.hea"])
def test_wfdb_path_spellings(tmp_path: Path, readers_signal: np.ndarray, name: str) -> None:
    write_wfdb(tmp_path, readers_signal)
    rec = read_recording(tmp_path / name)
    assert rec.path == tmp_path / "rec.hea" and rec.record_id == "rec"


def test_wfdb_microvolts_become_millivolts(tmp_path: Path, readers_signal: np.ndarray) -> None:
    header = write_wfdb(tmp_path, readers_signal, units="uV")
    rec = read_recording(header)
    np.testing.assert_allclose(rec.signal, readers_signal, atol=1e-3, rtol=0)


@pytest.mark.parametrize("dimension", ["uV", "mV", "V"])
def test_edf_round_trip(tmp_path: Path, readers_signal: np.ndarray, dimension: str) -> None:
    rec = read_recording(write_edf(tmp_path, readers_signal, dimension))
    assert rec.lead_names == ("ECG1", "ECG2", "ECG3")  # Resp (other rate) and annotations gone
    assert (rec.fs, rec.n_samples, rec.start_time) == (FS, 2000, START)
    np.testing.assert_allclose(rec.signal, readers_signal, atol=2e-4, rtol=0)


def test_edf_data_records_read_with_numpy_match_pyedflib(tmp_path: Path,
                                                          readers_signal: np.ndarray) -> None:
    from dataclasses import replace

    rec = read_recording(write_edf(tmp_path, readers_signal + 0.3, "uV"))  # off-centre
    fast = rec.read_samples
    assert fast.layout is not None and fast.layout.samples_per_record == FS
    library = replace(fast, layout=None)
    for start, stop in [(0, 2000), (359, 361), (1, 2), (700, 1999), (1999, 2000)]:
        np.testing.assert_allclose(fast(start, stop), library(start, stop), atol=1e-6, rtol=0)


def test_bdf_is_read_through_pyedflib(tmp_path: Path, readers_signal: np.ndarray) -> None:
    path = tmp_path / "rec.bdf"
    writer = pyedflib.EdfWriter(str(path), 1, file_type=pyedflib.FILETYPE_BDFPLUS)
    writer.setSignalHeaders([{"label": "ECG1", "dimension": "mV", "sample_frequency": FS,
                              "physical_max": 5.0, "physical_min": -5.0,
                              "digital_max": 8388607, "digital_min": -8388608}])
    writer.writeSamples([readers_signal[:, 0].astype(np.float64)])
    writer.close()
    rec = read_recording(path)
    assert rec.read_samples.layout is None
    np.testing.assert_allclose(rec.signal[:, 0], readers_signal[:, 0], atol=1e-5, rtol=0)


def test_ishne_round_trip(tmp_path: Path, readers_signal: np.ndarray) -> None:
    path = write_ishne(
        tmp_path / "holter.ecg", readers_signal, FS, resolution_nv=[2500, 2500, 1000],
        lead_specs=[6, "V1", "v5"], start_time=START, var_block=b"notes",
    )  # fmt: skip
    rec = read_recording(path)
    assert (rec.fs, rec.n_samples, rec.record_id) == (FS, 2000, "holter")
    assert rec.lead_names == ("II", "V1", "V5") and rec.start_time == START
    atol = np.array([1.25e-3, 1.25e-3, 0.5e-3]) + 1e-6
    assert np.all(np.abs(rec.signal - readers_signal) <= atol)
    assert path.stat().st_size == 522 + 5 + 2 * 2000 * 3


def test_ishne_int16_stored_as_is(tmp_path: Path) -> None:
    raw = np.arange(-600, 600, dtype=np.int16).reshape(-1, 12)
    rec = read_recording(write_ishne(tmp_path / "raw.ecg", raw, 200, resolution_nv=1000))
    assert rec.lead_names[:3] == ("I", "II", "III") and rec.lead_names[-1] == "V6"
    np.testing.assert_array_equal(rec.signal, raw.astype(np.float32) * np.float32(1e-3))
    assert rec.start_time is None


def test_ishne_lead_names() -> None:
    assert lead_names([5, 16, 17, 18, 19, 2, 3, 4]) == ("I", "V6", "ES", "AS", "AI", "X", "Y", "Z")
    assert lead_names([1, 1, 0]) == ("bipolar_1", "bipolar_2", "lead3")


def test_npy_round_trip(tmp_path: Path, readers_signal: np.ndarray) -> None:
    sidecar = {"fs": 500, "lead_names": ["a", "b", "c"], "start_time": START.isoformat()}
    rec = read_recording(write_npy(tmp_path, readers_signal, sidecar), record_id="x/y")
    assert (rec.fs, rec.lead_names, rec.start_time, rec.record_id) == (
        500,
        ("a", "b", "c"),
        START,
        "x/y",
    )
    np.testing.assert_array_equal(rec.signal, readers_signal)


def test_npy_fs_argument_and_1d(tmp_path: Path) -> None:
    path = tmp_path / "one.npy"
    np.save(path, np.arange(300, dtype=np.int16))
    rec = read_recording(path, fs=360)
    assert (rec.fs, rec.n_leads, rec.lead_names, rec.record_id) == (360, 1, ("lead1",), "one")
    np.testing.assert_array_equal(rec.read(5, 8)[:, 0], [5, 6, 7])


def test_npy_nan_and_flat_are_not_errors(tmp_path: Path) -> None:
    x = np.zeros((1000, 2))
    x[100:200] = np.nan
    rec = read_recording(write_npy(tmp_path, x, {"fs": FS}))
    assert np.isnan(rec.read(150, 160)).all() and not np.isnan(rec.read(300, 400)).any()


@pytest.mark.parametrize("kind", KINDS)
def test_partial_reads_equal_slices(tmp_path: Path, readers_signal: np.ndarray, kind: str) -> None:
    rec = read_recording(write_any(kind, tmp_path, readers_signal))
    whole = rec.signal
    for a, b in RANGES:
        part = rec.read(a, b)
        assert part.dtype == np.float32
        np.testing.assert_array_equal(part, whole[a:b], err_msg=f"{kind} [{a}, {b})")


@pytest.mark.parametrize("kind", KINDS)
def test_iter_chunks_rebuilds_signal(tmp_path: Path, readers_signal: np.ndarray, kind: str) -> None:
    rec = read_recording(write_any(kind, tmp_path, readers_signal))
    whole = rec.signal
    own = []
    for chunk in iter_chunks(rec, seconds=1.7, overlap_samples=37):
        np.testing.assert_array_equal(chunk.signal, whole[chunk.start : chunk.stop])
        own.append(chunk.signal[chunk.own_start - chunk.start : chunk.own_stop - chunk.start])
    np.testing.assert_array_equal(np.concatenate(own), whole)


@pytest.mark.parametrize("kind", KINDS)
def test_recording_pickles(tmp_path: Path, readers_signal: np.ndarray, kind: str) -> None:
    rec = read_recording(write_any(kind, tmp_path, readers_signal))
    clone = pickle.loads(pickle.dumps(rec))
    np.testing.assert_array_equal(clone.read(10, 20), rec.read(10, 20))


@pytest.mark.parametrize("kind", KINDS)
def test_fs_argument_overrides_header(
    tmp_path: Path, readers_signal: np.ndarray, kind: str
) -> None:
    assert read_recording(write_any(kind, tmp_path, readers_signal), fs=128).fs == 128.0


def test_mv_per_unit() -> None:
    assert [mv_per_unit(u) for u in ("mV", "uV", "µV", "V", "nV", "NU", "", None)] == [
        1.0, 1e-3, 1e-3, 1e3, 1e-6, 1.0, 1.0, 1.0
    ]  # fmt: skip


def test_ishne_total_samples_quirk(tmp_path: Path, readers_signal: np.ndarray) -> None:
    """Some writers store total samples (all leads) in 'samples per lead'; accept that."""
    path = write_ishne(tmp_path / "q.ecg", readers_signal, FS)
    data = bytearray(path.read_bytes())
    data[14:18] = (2000 * 3).to_bytes(4, "little")
    data[8:10] = crc16_ccitt(bytes(data[10:522])).to_bytes(2, "little")
    path.write_bytes(bytes(data))
    assert read_recording(path).n_samples == 2000
