"""The faults of a nightly ``ecgtk run`` (issue #39), each simulated: a worker that dies, a full
output disk, damaged outputs, an archive of symbolic links, two runs on one output folder."""

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pytest
from typer.testing import CliRunner

from ecgtk.cli import app
from ecgtk.engines.archive import find_recordings, output_name, sample_archive
from ecgtk.engines.local import KILL_HOOK
from ecgtk.engines.outputs import check_folder, recording_lock

runner = CliRunner()
SAMPLES = ("106", "119", "208")


def run(*args: str):
    return runner.invoke(app, ["run", *args])


def copy_archive(folder: Path, copies: int = 1) -> list[str]:
    """The sample recordings ``copies`` times, renamed ``p<i>_<name>``; their record ids."""
    folder.mkdir(parents=True)
    ids = []
    for i in range(copies):
        for name in SAMPLES:
            new = f"p{i}_{name}" if copies > 1 else name
            shutil.copy(sample_archive() / f"{name}.dat", folder / f"{new}.dat")
            header = (sample_archive() / f"{name}.hea").read_text()
            (folder / f"{new}.hea").write_text(header.replace(f"{name}.dat", f"{new}.dat")
                                               .replace(f"{name} ", f"{new} ", 1))
            ids.append(new)
    return sorted(ids)


def records(out: Path) -> dict[str, dict]:
    return {r["record_id"]: r for r in ds.dataset(out / "records").to_table().to_pylist()}


def assert_whole(out: Path, ids: list[str]) -> None:
    """Every dataset opens, every recording is in records once, nothing else lies around."""
    for table in ("beats", "clusters", "events", "records"):
        ds.dataset(out / table, format="parquet").to_table()
    assert sorted(records(out)) == ids
    report = check_folder(out)
    assert report.clean, report.as_dict()


def test_a_dead_worker_costs_one_recording(tmp_path, monkeypatch):
    monkeypatch.setenv(KILL_HOOK, "119")  # the worker that takes 119 dies at once, every time
    out = tmp_path / "out"
    result = run("--out", str(out), "--workers", "2")
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "BrokenProcessPool" not in result.output
    rows = records(out)
    assert rows["106"]["status"] == rows["208"]["status"] == "ok"
    assert rows["119"]["status"] == "error"
    assert "worker analysing it died: signal 9 (SIGKILL); out of memory?" in rows["119"]["error"]
    assert_whole(out, list(SAMPLES))
    again = run("--out", str(out), "--workers", "2")  # not retried in a loop
    assert again.exit_code == 2 and "3 (1 of them failed before)" in again.output


def test_a_full_disk_stops_the_run_cleanly_and_a_rerun_finishes(tmp_path, monkeypatch):
    import ecgtk.tables

    real_write = ecgtk.tables.pq.write_table
    calls = []

    def write_until_full(table, sink, **options):
        calls.append(1)
        if len(calls) >= 6:  # the 2nd recording's clusters file: the disk is full
            sink.write(b"PAR1 half a file")
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(table, sink, **options)

    monkeypatch.setattr(ecgtk.tables.pq, "write_table", write_until_full)
    out = tmp_path / "out"
    result = run("--out", str(out), "--workers", "1")
    assert result.exit_code == 3, result.output
    assert "Traceback" not in result.output
    message = " ".join(result.output.split())
    assert "no space left" in message and str(out) in message
    assert "1 recording(s) in this run" in message and "run again" in message
    assert not list(out.rglob(".*.tmp-*"))
    assert len(list((out / "records").glob("*.parquet"))) == 1
    assert check_folder(out).clean  # no beats file without its records row
    monkeypatch.setattr(ecgtk.tables.pq, "write_table", real_write)
    assert run("--out", str(out), "--workers", "1").exit_code == 0
    assert_whole(out, list(SAMPLES))


def test_damaged_outputs_are_reported_and_redone(tmp_path):
    out = tmp_path / "out"
    assert run("--out", str(out), "--workers", "1").exit_code == 0
    name = {record_id: output_name(record_id) for record_id in SAMPLES}
    with open(out / "beats" / name["119"], "r+b") as handle:  # a truncated beats file
        handle.truncate(handle.seek(0, 2) // 2)
    (out / "clusters" / name["208"]).unlink()  # a missing clusters file
    shutil.copy(out / "events" / name["208"], out / "events" / name["106"])  # another's file
    (out / "beats" / ".stray.parquet.tmp-1").write_bytes(b"x")  # a killed run's temporary
    with pytest.raises(pa.ArrowInvalid):  # as the issue found: the dataset no longer opens
        ds.dataset(out / "beats", format="parquet").to_table()

    checked = runner.invoke(app, ["check", str(out), "--json"])
    assert checked.exit_code == 2
    report = json.loads(checked.stdout)
    problems = {d["record_id"]: " ".join(d["problems"]) for d in report["damaged"]}
    assert "beats file unreadable" in problems["119"]
    assert "clusters file missing" in problems["208"]
    assert "events file belongs to '208'" in problems["106"]
    assert [o["why"] for o in report["orphans"]] == ["temporary file of a killed run"]
    plain = runner.invoke(app, ["check", str(out)])
    assert plain.exit_code == 2 and "3 damaged" in plain.output

    before = {p: p.stat().st_mtime_ns for p in (out / "records").iterdir()}
    result = run("--out", str(out), "--workers", "1")
    assert result.exit_code == 0, result.output
    assert "already done (skipped)" in result.output and "3 (0 of them" not in result.output
    assert all(p.stat().st_mtime_ns != t for p, t in before.items())  # all three redone
    assert_whole(out, list(SAMPLES))
    assert runner.invoke(app, ["check", str(out)]).exit_code == 0


def test_record_ids_of_an_archive_of_symbolic_links(tmp_path):
    day = tmp_path / "data" / "2026-11-01"
    copy_archive(day)
    tonight = tmp_path / "tonight"
    tonight.mkdir()
    for suffix in (".hea", ".dat"):
        (tonight / f"119{suffix}").symlink_to(day / f"119{suffix}")
    (tonight / "day").symlink_to(day, target_is_directory=True)
    ids = [s.record_id for s in find_recordings(tonight)]
    assert "119" in ids and "day/106" in ids
    assert not any("data" in i or i.startswith(("/", "..")) for i in ids), ids
    lists = tmp_path / "lists"
    lists.mkdir()
    (lists / "tonight.txt").write_text("../tonight/119.hea\n../data/2026-11-01/208.hea\n")
    assert [s.record_id for s in find_recordings(lists / "tonight.txt")] == [
        "../data/2026-11-01/208", "../tonight/119"]
    (tonight / "list.txt").write_text("119.hea\n")
    assert [s.record_id for s in find_recordings(tonight / "list.txt")] == ["119"]
    out = tmp_path / "out"
    assert run(str(tonight), "--out", str(out), "--workers", "1", "--glob", "*.hea").exit_code == 0
    assert list(records(out)) == ["119"]


def test_a_lock_is_exclusive_and_dies_with_its_process(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom ecgtk.engines.outputs import "
         "recording_lock\nwith recording_lock(sys.argv[1], 'p1') as mine:\n"
         "    print(mine, flush=True)\n    time.sleep(60)\n", str(tmp_path)],
        stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "True"
    with recording_lock(tmp_path, "p1") as mine:
        assert not mine
    with recording_lock(tmp_path, "p2") as mine:
        assert mine  # one lock per recording
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    with recording_lock(tmp_path, "p1") as mine:
        assert mine


@pytest.mark.slow
def test_two_runs_on_one_output_folder_analyse_each_recording_once(tmp_path):
    # Enough recordings that the first run is still at work when the second has started: the
    # second starts once the first has finished one (6 recordings of 5 minutes were done
    # before a second process, started a second later, looked at them).
    ids = copy_archive(tmp_path / "archive", copies=16)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "ecgtk", "run", str(tmp_path / "archive"), "--out",
               str(out), "--workers", "1"]
    env = {**os.environ, "COLUMNS": "200"}
    first = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=env)
    head = []
    while not (head and head[-1].startswith("ok ")) and first.poll() is None:
        head.append(first.stderr.readline())  # the nightly run is at work
    second = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=env)
    outputs = [process.communicate(timeout=300)[1] for process in (first, second)]
    outputs[0] = "".join(head) + outputs[0]
    assert [first.returncode, second.returncode] == [0, 0], outputs
    analysed = [line for text in outputs for line in text.splitlines()
                if line.startswith("ok ")]
    assert len(analysed) == len(ids), outputs  # each recording analysed by one run only
    assert "being analysed by another run" in outputs[0] + outputs[1]
    assert_whole(out, ids)


def test_the_templates_of_a_long_recording_need_no_copies_of_its_beats():
    """A 7-day recording has ~800,000 beats, ~370 MB of coarse morphology: z-normalising them
    (templates, validation) must not hold several copies at once (benchmarks/
    bench_long_recording.py measures the whole run: peak RSS under 2 GB)."""
    import tracemalloc

    import numpy as np

    from ecgtk.labelling.rules import dominant_normal_shape
    from ecgtk.labelling.templates import zscore_rows

    morphology = np.random.default_rng(0).standard_normal((100_000, 120)).astype(np.float32)
    beats = np.arange(0, len(morphology), 2)
    one_copy = len(beats) * 120 * 4
    tracemalloc.start()
    try:
        zscore_rows(morphology, beats)
        _, peak = tracemalloc.get_traced_memory()
        assert peak < 1.5 * one_copy  # the result, and small blocks (was 4 copies)
        tracemalloc.reset_peak()
        dominant_normal_shape(morphology, np.isin(np.arange(len(morphology)), beats))
        _, peak = tracemalloc.get_traced_memory()
        assert peak < 1.5 * one_copy
    finally:
        tracemalloc.stop()
