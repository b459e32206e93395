"""``ecgtk run`` end to end: the sample archive, the Parquet contract, resume, bad input,
crashes, record ids."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
import wfdb
from typer.testing import CliRunner

from ecgtk.cli import app
from ecgtk.engines.archive import find_recordings, output_name, sample_archive
from ecgtk.readers import write_ishne

runner = CliRunner()

DESIGN = {  # ../shared/DESIGN.md, spelled out independently of ecgtk.tables
    "beats": {"record_id": pa.string(), "sample": pa.int64(), "time_s": pa.float64(),
              "label": pa.string(), "p_beat": pa.float32(), "p_ventricular": pa.float32(),
              "uncertainty": pa.float32(), "cluster": pa.int32(), "rr_prev_s": pa.float32(),
              "rr_next_s": pa.float32()},
    "clusters": {"record_id": pa.string(), "cluster": pa.int32(), "label": pa.string(),
                 "template": pa.list_(pa.float32()), "merged_from": pa.list_(pa.int32())},
    "records": {"record_id": pa.string(), "path": pa.string(), "fs": pa.float64(),
                "duration_s": pa.float64(), "status": pa.string(), "error": pa.string(),
                "seconds": pa.float64()},
}
INTEGER_COLUMNS = {"clusters": ["n_beats"],
                   "records": ["n_leads", "n_beats", "n_ventricular", "n_artefact"]}


def run(*args: str):
    return runner.invoke(app, ["run", *args])


def mtimes(folder: Path) -> dict:
    return {p: p.stat().st_mtime_ns for p in folder.rglob("*.parquet")}


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "out"
    result = run("--out", str(out), "--workers", "1")
    assert result.exit_code == 0, result.output
    return out


def test_sample_run_follows_the_contract(sample_run):
    for table, columns in DESIGN.items():
        data = ds.dataset(sample_run / table, format="parquet").to_table()
        for name, dtype in columns.items():
            assert data.schema.field(name).type == dtype, (table, name)
        for name in INTEGER_COLUMNS.get(table, []):
            assert pa.types.is_integer(data.schema.field(name).type), (table, name)
    records = ds.dataset(sample_run / "records").to_table().to_pylist()
    assert sorted(r["record_id"] for r in records) == ["106", "119", "208"]
    assert all(r["status"] == "ok" and r["n_beats"] > 300 for r in records)
    beats = ds.dataset(sample_run / "beats").to_table()
    assert beats.num_rows == sum(r["n_beats"] for r in records)
    meta = pq.read_metadata(next((sample_run / "beats").iterdir())).metadata
    assert b"ecgtk_version" in meta


def test_sample_run_writes_the_supraventricular_uncertainty(sample_run):
    """Issue 36's uncertainty column: after ``p_supraventricular``, float32, set exactly
    where the probability is (the N and S beats), 0 to 0.5."""
    beats = ds.dataset(sample_run / "beats", format="parquet").to_table()
    names = beats.schema.names
    assert names.index("uncertainty_supraventricular") == names.index("p_supraventricular") + 1
    assert beats.schema.field("uncertainty_supraventricular").type == pa.float32()
    u = beats.column("uncertainty_supraventricular")
    assert u.is_null().equals(beats.column("p_supraventricular").is_null())
    labels = np.array(beats.column("label").to_pylist())
    assert (~np.asarray(u.is_null())).tolist() == np.isin(labels, ["N", "S"]).tolist()
    values = np.asarray(u.drop_null())
    assert (values >= 0).all() and (values <= 0.5).all() and values.max() > 0


def test_second_run_does_nothing_and_rewrites_nothing(sample_run):
    before = mtimes(sample_run)
    result = run("--out", str(sample_run))
    assert result.exit_code == 0
    assert "3 (0 of them failed before)" in result.output
    assert mtimes(sample_run) == before


def test_force_and_changed_sources_are_redone(tmp_path):
    archive = tmp_path / "archive"
    shutil.copytree(sample_archive(), archive, ignore=shutil.ignore_patterns("*.py", "*.md"))
    out = tmp_path / "out"
    assert run(str(archive), "--out", str(out), "--workers", "1").exit_code == 0
    first = mtimes(out)
    time.sleep(0.01)
    os.utime(archive / "119.dat")  # a changed source is analysed again
    result = run(str(archive), "--out", str(out), "--workers", "1")
    changed = [p.name for p, t in mtimes(out).items() if t != first[p]]
    assert result.exit_code == 0 and len(changed) == 4  # beats, clusters, events, records
    assert all(name.startswith("119-") for name in changed)
    assert run(str(archive), "--out", str(out), "--force", "--workers", "1").exit_code == 0
    assert all(t != first[p] for p, t in mtimes(out).items())


def test_same_input_same_tables(tmp_path, sample_run):
    out = tmp_path / "again"
    assert run("--out", str(out), "--workers", "2").exit_code == 0
    for table in ("beats", "clusters"):
        for path in (sample_run / table).iterdir():
            assert pq.read_table(out / table / path.name).equals(pq.read_table(path))


def write_bad_archive(root: Path) -> dict[str, str]:
    """One file per kind of bad input, each with a phrase its error must contain."""
    root.mkdir()
    good = wfdb.rdrecord(str(sample_archive() / "119"), physical=False)

    def wfdb_copy(name: str, n: int | None = None):
        wfdb.wrsamp(name, fs=360, units=["mV", "mV"], sig_name=["MLII", "V1"],
                    d_signal=good.d_signal[:n], fmt=["212", "212"], adc_gain=good.adc_gain,
                    baseline=good.baseline, write_dir=str(root))

    wfdb_copy("good")
    wfdb_copy("cut")
    with open(root / "cut.dat", "r+b") as handle:
        handle.truncate(1000)
    wfdb_copy("orphan")
    (root / "orphan.dat").unlink()
    (root / "garbage.hea").write_bytes(os.urandom(300))
    (root / "empty.hea").write_text("")
    (root / "empty.edf").write_bytes(b"")
    (root / "random.edf").write_bytes(os.urandom(5000))
    np.save(root / "nan.npy", np.full((36000, 2), np.nan, np.float32))
    (root / "nan.json").write_text(json.dumps({"fs": 360}))
    np.save(root / "flat.npy", np.zeros((36000, 2), np.float32))
    (root / "flat.json").write_text(json.dumps({"fs": 360}))
    np.save(root / "pickle.npy", np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    (root / "pickle.json").write_text(json.dumps({"fs": 360}))
    np.save(root / "fast.npy", np.zeros((1000, 1), np.float32))
    (root / "fast.json").write_text(json.dumps({"fs": 1e9}))
    write_ishne(root / "holter.ecg", np.zeros((3600, 2), np.float32), 360)
    raw = bytearray((root / "holter.ecg").read_bytes())
    raw[30] ^= 0xFF  # flip a header byte: the CRC no longer matches
    (root / "holter.ecg").write_bytes(bytes(raw))
    return {"cut": "trunc", "orphan": "orphan.dat", "garbage": "garbage.hea",
            "empty.hea": "empty", "empty.edf": "empty", "random": "random.edf", "nan": "NaN",
            "flat": "flat",
            "pickle": "pickle", "fast": "sampling rate", "holter": "CRC"}


def test_bad_input_gets_error_rows_and_the_run_goes_on(tmp_path):
    expected = write_bad_archive(tmp_path / "bad")
    out = tmp_path / "out"
    result = run(str(tmp_path / "bad"), "--out", str(out), "--workers", "1")
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    rows = {r["record_id"]: r for r in ds.dataset(out / "records").to_table().to_pylist()}
    assert rows["good"]["status"] == "ok" and rows["good"]["n_beats"] > 300
    for record_id, phrase in expected.items():
        row = rows[record_id]
        assert row["status"] == "error", record_id
        assert phrase.lower() in row["error"].lower(), (record_id, row["error"])
    # a failed recording is not retried while unchanged, and still fails the exit code
    again = run(str(tmp_path / "bad"), "--out", str(out), "--workers", "1")
    assert again.exit_code == 2 and "11 of them failed before" in again.output


def test_usage_errors_exit_1(tmp_path):
    assert run(str(tmp_path / "missing"), "--out", str(tmp_path / "o")).exit_code == 1
    (tmp_path / "empty").mkdir()
    assert run(str(tmp_path / "empty"), "--out", str(tmp_path / "o")).exit_code == 1


def test_record_ids_are_relative_paths_and_names_are_safe(tmp_path):
    for folder in ("2026/11", "2025/11"):
        target = tmp_path / "a" / folder
        target.mkdir(parents=True)
        for suffix in (".hea", ".dat"):
            shutil.copy(sample_archive() / f"119{suffix}", target / f"119{suffix}")
    sources = find_recordings(tmp_path / "a")
    assert [s.record_id for s in sources] == ["2025/11/119", "2026/11/119"]
    names = {output_name(s.record_id) for s in sources}
    assert len(names) == 2 and all("/" not in n for n in names)
    for evil in ("../../etc/passwd", "/abs/path", "a\\b", "..", "x" * 500):
        name = output_name(evil)
        assert "/" not in name and not name.startswith(".") and len(name) < 200
    listing = tmp_path / "list.txt"
    listing.write_text("# my recordings\na/2026/11/119.hea\n\n")
    assert [s.record_id for s in find_recordings(listing)] == ["a/2026/11/119"]


@pytest.mark.slow
def test_kill_9_mid_run_then_resume_completes_each_recording_once(tmp_path):
    archive = tmp_path / "archive"
    archive.mkdir()
    for i in range(8):
        for name in ("106", "119", "208"):
            for suffix in (".hea", ".dat"):
                shutil.copy(sample_archive() / f"{name}{suffix}",
                            archive / f"p{i}_{name}{suffix}")
            header = (archive / f"p{i}_{name}.hea").read_text()
            (archive / f"p{i}_{name}.hea").write_text(header.replace(f"{name}.dat",
                                                                      f"p{i}_{name}.dat")
                                                      .replace(f"{name} ", f"p{i}_{name} ", 1))
    out = tmp_path / "out"
    command = [sys.executable, "-m", "ecgtk", "run", str(archive), "--out", str(out),
               "--workers", "1", "--quiet"]
    process = subprocess.Popen(command, start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline and len(list((out / "records").glob("*.parquet"))) < 3:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    partial = len(list((out / "records").glob("*.parquet")))
    assert 0 < partial < 24, "the kill should land mid-run"
    for path in out.rglob("*.parquet"):  # whatever a reader picks up is whole
        pq.read_table(path)
    finished = subprocess.run(command, capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr
    records = ds.dataset(out / "records").to_table().to_pylist()
    assert sorted(r["record_id"] for r in records) == sorted(
        f"p{i}_{n}" for i in range(8) for n in ("106", "119", "208"))
    assert not list(out.rglob(".*tmp*"))
    beats = ds.dataset(out / "beats").to_table()
    assert beats.num_rows == sum(r["n_beats"] for r in records)


def test_gpu_workers_beyond_the_count_use_the_cpu(monkeypatch):
    import multiprocessing

    from ecgtk.engines import local as runner

    slots = multiprocessing.get_context("spawn").Value("i", 0)
    monkeypatch.setattr(runner, "_WORKER_DEVICE", None)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                 "NUMBA_NUM_THREADS"):  # _init_worker sets them: restore after the test
        monkeypatch.setenv(name, "2")
    runner._init_worker(slots, gpu_workers=1)
    assert runner._WORKER_DEVICE is None  # the first worker keeps the asked device
    runner._init_worker(slots, gpu_workers=1)
    assert runner._WORKER_DEVICE == "cpu" and slots.value == 2


def test_run_with_gpu_workers_option(tmp_path):
    result = run("--out", str(tmp_path / "out"), "--workers", "2", "--gpu-workers", "1",
                 "--device", "auto", "--quiet")
    assert result.exit_code == 0, result.output
    assert len(list((tmp_path / "out" / "records").glob("*.parquet"))) == 3
