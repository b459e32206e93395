"""Every bad input raises RecordingError naming the file and the problem in plain words."""

from __future__ import annotations

import json
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyedflib
import pytest
import wfdb

from ecgtk.readers import read_recording
from ecgtk.readers.ishne import crc16_ccitt, write_ishne
from ecgtk.recording import RecordingError

FS = 250
N = 1000


def bad_signal(n_leads: int = 2) -> np.ndarray:
    """N samples of a small sine per lead, in mV."""
    t = np.arange(N) / FS
    return np.stack([np.sin(2 * np.pi * (i + 1) * t) for i in range(n_leads)], axis=1)


def expect_error(path: Path, phrase: str, names: Path | None = None, **kwargs: object) -> str:
    """read_recording(path) must raise RecordingError naming ``names`` (default ``path``)."""
    with pytest.raises(RecordingError) as info:
        read_recording(path, **kwargs)
    message = str(info.value)
    assert (names or path).name in message, message
    assert phrase in message, message
    return message


# ---------------------------------------------------------------- dispatch


@pytest.mark.parametrize("name", ["gone.hea", "gone.edf", "gone.ecg", "gone.npy", "gone.dat"])
def test_missing_file(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    names = path.with_suffix(".hea") if name.endswith(".dat") else path
    expect_error(path, "not found", names)


def test_missing_extensionless(tmp_path: Path) -> None:
    expect_error(tmp_path / "nothing", "not found")


@pytest.mark.parametrize("name", ["notes.txt", "record"])
def test_unknown_format(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("hello")
    expect_error(path, "unknown format")


# ---------------------------------------------------------------- WFDB


def write_wfdb(tmp_path: Path, fmt: str = "16", n_leads: int = 2) -> Path:
    wfdb.wrsamp(
        "rec", fs=FS, units=["mV"] * n_leads, sig_name=[f"s{i}" for i in range(n_leads)],
        p_signal=bad_signal(n_leads), fmt=[fmt] * n_leads, write_dir=str(tmp_path),
    )  # fmt: skip
    return tmp_path / "rec.hea"


def test_wfdb_header_without_data(tmp_path: Path) -> None:
    header = write_wfdb(tmp_path)
    (tmp_path / "rec.dat").unlink()
    expect_error(header, "not found", tmp_path / "rec.dat")


@pytest.mark.parametrize("fmt", ["16", "212", "80"])
def test_wfdb_truncated_data(tmp_path: Path, fmt: str) -> None:
    header = write_wfdb(tmp_path, fmt)
    dat = tmp_path / "rec.dat"
    dat.write_bytes(dat.read_bytes()[:-50])
    expect_error(header, "truncated", dat)


def test_wfdb_header_and_data_disagree(tmp_path: Path) -> None:
    header = write_wfdb(tmp_path, n_leads=2)
    lines = header.read_text().splitlines()
    lines[0] = lines[0].replace("rec 2 ", "rec 3 ")
    header.write_text("\n".join([*lines, lines[-1].replace(" s1", " s2")]) + "\n")
    expect_error(header, "truncated", tmp_path / "rec.dat")


@pytest.mark.parametrize(
    ("content", "phrase"),
    [
        (b"", "empty WFDB header"),
        (b"hello world this is\nnot a header\n", "not a valid WFDB header"),
        (bytes(range(256)) * 3, "not a valid WFDB header"),
        (b"rec 1 250 100\nrec.dat 999 200/mV 16 0 0 0 0 I\n", "unsupported WFDB storage format"),
        (b"rec/2 250 1000\nseg1 500\nseg2 500\n", "multi-segment"),
        (b"rec 1 5 100\nrec.dat 16 200/mV 16 0 0 0 0 I\n", "sampling rate"),
        (b"rec 1 250 0\nrec.dat 16 200/mV 16 0 0 0 0 I\n", "no samples"),
        (b"rec 2 360 100\n", "lists 2 signals but describes 0"),
        (b"rec 2 360 100\nrec.dat 16 200/mV 16 0 0 0 0 I\n", "lists 2 signals but describes 1"),
    ],
)
def test_wfdb_bad_header(tmp_path: Path, content: bytes, phrase: str) -> None:
    (tmp_path / "rec.dat").write_bytes(bytes(200))
    header = tmp_path / "rec.hea"
    header.write_bytes(content)
    expect_error(header, phrase)


def test_wfdb_absurd_rate_can_be_overridden(tmp_path: Path) -> None:
    (tmp_path / "rec.dat").write_bytes(bytes(200))
    (tmp_path / "rec.hea").write_text("rec 1 5 100\nrec.dat 16 200/mV 16 0 0 0 0 I\n")
    assert read_recording(tmp_path / "rec.hea", fs=250).fs == 250.0


# ---------------------------------------------------------------- EDF


def write_edf(tmp_path: Path, rate: int = FS) -> Path:
    path = tmp_path / "rec.edf"
    header = {"label": "ECG", "dimension": "mV", "sample_frequency": rate,
              "physical_max": 5.0, "physical_min": -5.0,
              "digital_max": 32767, "digital_min": -32768}  # fmt: skip
    writer = pyedflib.EdfWriter(str(path), 1, file_type=pyedflib.FILETYPE_EDFPLUS)
    writer.setSignalHeaders([header])
    writer.writeSamples([np.zeros(rate * 4)])
    writer.close()
    return path


@pytest.mark.parametrize(
    ("content", "phrase"),
    [(b"", "empty file"), (bytes(range(256)) * 20, "not a valid EDF")],
)
def test_edf_garbage(tmp_path: Path, content: bytes, phrase: str) -> None:
    path = tmp_path / "rec.edf"
    path.write_bytes(content)
    expect_error(path, phrase)


def test_edf_truncated(tmp_path: Path) -> None:
    path = write_edf(tmp_path)
    path.write_bytes(path.read_bytes()[:-300])
    expect_error(path, "truncated")


def test_edf_absurd_rate(tmp_path: Path) -> None:
    expect_error(write_edf(tmp_path, rate=10), "sampling rate")


# ---------------------------------------------------------------- ISHNE


def write_ecg(tmp_path: Path) -> Path:
    return write_ishne(tmp_path / "rec.ecg", bad_signal(2), FS, var_block=b"abc")


def patch_header(path: Path, offset: int, fmt: str, value: int, fix_crc: bool = True) -> None:
    """Overwrite one header field at byte ``offset``; recompute the CRC unless told not to."""
    data = bytearray(path.read_bytes())
    struct.pack_into(fmt, data, offset, value)
    if fix_crc:
        ecg_offset = struct.unpack_from("<i", data, 22)[0]
        struct.pack_into("<H", data, 8, crc16_ccitt(bytes(data[10:ecg_offset])))
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("offset", "fmt", "value", "fix_crc", "phrase"),
    [
        (300, "<h", 1234, False, "corrupt ISHNE header: CRC"),  # inside 'proprietary'
        (523, "<b", 65, False, "corrupt ISHNE header: CRC"),  # inside the variable block
        (156, "<h", 0, True, "0 leads"),
        (156, "<h", 13, True, "13 leads"),
        (272, "<h", 0, True, "sampling rate"),
        (272, "<h", 30000, True, "sampling rate"),
        (14, "<i", 0, True, "no samples"),
        (14, "<i", N + 10, True, "truncated"),
        (18, "<i", 600, True, "inconsistent offsets"),
        (206, "<h", 0, True, "resolution"),
    ],
)
def test_ishne_bad_header(
    tmp_path: Path, offset: int, fmt: str, value: int, fix_crc: bool, phrase: str
) -> None:
    path = write_ecg(tmp_path)
    patch_header(path, offset, fmt, value, fix_crc)
    expect_error(path, phrase)


@pytest.mark.parametrize(
    ("cut", "phrase"),
    [(0, "empty file"), (300, "truncated ISHNE header"), (524, "truncated ISHNE header"),
     (-10, "ISHNE data is truncated")],
)  # fmt: skip
def test_ishne_truncated(tmp_path: Path, cut: int, phrase: str) -> None:
    path = write_ecg(tmp_path)
    path.write_bytes(path.read_bytes()[:cut])
    expect_error(path, phrase)


def test_ishne_bad_magic(tmp_path: Path) -> None:
    path = write_ecg(tmp_path)
    path.write_bytes(b"ANN  1.0" + path.read_bytes()[8:])
    expect_error(path, "not an ISHNE 1.0 file")


# ---------------------------------------------------------------- NPY


def test_npy_object_array(tmp_path: Path) -> None:
    path = tmp_path / "rec.npy"
    np.save(path, np.array([[1, "a"], [2, "b"]], dtype=object), allow_pickle=True)
    expect_error(path, "object arrays are not allowed (pickle)", fs=FS)


def test_npy_without_rate(tmp_path: Path) -> None:
    path = tmp_path / "rec.npy"
    np.save(path, np.zeros((N, 2), np.float32))
    message = expect_error(path, "no sampling rate")
    assert "fs=" in message and "rec.json" in message


@pytest.mark.parametrize(
    ("array", "phrase"),
    [
        (np.zeros((10, 10, 2)), "2-D"),
        (np.zeros((0, 2)), "no samples"),
        (np.zeros((2, N)), "transposed"),
        (np.zeros((N, 2), np.complex64), "not a real numeric type"),
        (np.array(["a", "b"]), "not a real numeric type"),
        (np.zeros(N, dtype=bool), "not a real numeric type"),
    ],
)
def test_npy_bad_array(tmp_path: Path, array: np.ndarray, phrase: str) -> None:
    path = tmp_path / "rec.npy"
    np.save(path, array)
    expect_error(path, phrase, fs=FS)


@pytest.mark.parametrize(
    ("make", "phrase"),
    [
        (lambda p: p.write_bytes(b""), "empty file"),
        (lambda p: p.write_bytes(bytes(range(256))), "bad magic number"),
        (lambda p: np.savez(p.with_suffix(".npz"), a=np.zeros(3)) or
         p.with_suffix(".npz").rename(p), "bad magic number"),
        (lambda p: np.save(p, np.zeros((N, 2))) or p.write_bytes(p.read_bytes()[:-100]),
         "truncated"),
    ],
)  # fmt: skip
def test_npy_bad_file(tmp_path: Path, make: Callable[[Path], object], phrase: str) -> None:
    path = tmp_path / "rec.npy"
    make(path)
    expect_error(path, phrase, fs=FS)


@pytest.mark.parametrize(
    ("sidecar", "phrase"),
    [
        ("{not json", "not valid JSON"),
        ("[500]", "JSON object"),
        (json.dumps({"fs": 0}), "sampling rate"),
        (json.dumps({"fs": "fast"}), "not a number"),
        (json.dumps({"fs": FS, "lead_names": ["I"]}), "lead_names"),
        (json.dumps({"fs": FS, "start_time": "yesterday"}), "ISO 8601"),
    ],
)
def test_npy_bad_sidecar(tmp_path: Path, sidecar: str, phrase: str) -> None:
    path = tmp_path / "rec.npy"
    np.save(path, np.zeros((N, 2), np.float32))
    (tmp_path / "rec.json").write_text(sidecar)
    names = path if phrase in ("sampling rate", "not a number") else tmp_path / "rec.json"
    expect_error(path, phrase, names)


# ---------------------------------------------------------------- after opening


def shrink(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


@pytest.mark.parametrize("kind", ["wfdb", "edf", "ishne", "npy"])
def test_file_shrinks_after_open(tmp_path: Path, kind: str) -> None:
    if kind == "wfdb":
        path, data = write_wfdb(tmp_path), tmp_path / "rec.dat"
    elif kind == "edf":
        path = data = write_edf(tmp_path)
    elif kind == "ishne":
        path = data = write_ecg(tmp_path)
    else:
        path = data = tmp_path / "rec.npy"
        np.save(path, bad_signal(2))
    rec = read_recording(path, fs=FS)
    shrink(data)
    with pytest.raises(RecordingError) as info:
        rec.read(rec.n_samples - 100, rec.n_samples)
    assert path.name in str(info.value)
