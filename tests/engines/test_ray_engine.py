"""``ecgtk run --engine ray`` on a local Ray (2 CPUs) against the local engine: the same tables,
the same error rows, the same resume and exit codes."""

import json
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pyarrow.dataset as ds
import pytest
from typer.testing import CliRunner

ray = pytest.importorskip("ray")
pytest.importorskip("ray.data")

from ecgtk.cli import app  # noqa: E402
from ecgtk.engines.archive import find_recordings, sample_archive  # noqa: E402
from ecgtk.engines.ray_engine import run_archive_ray  # noqa: E402

runner = CliRunner()
#: How each table's rows are put in one order before comparing.
ORDER = {"beats": ["record_id", "sample"], "clusters": ["record_id", "cluster"],
         "events": ["record_id", "start_sample", "kind"], "records": ["record_id"]}
TIMING_COLUMNS = ["seconds"]


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING")
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    """The shipped sample (three 5-minute MIT-BIH excerpts), an unreadable header, and a
    recording with no heartbeat (flat lines)."""
    root = tmp_path_factory.mktemp("archive")
    shutil.copytree(sample_archive(), root, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("*.py", "*.md", "__pycache__"))
    (root / "garbage.hea").write_bytes(np.random.default_rng(0).bytes(300))
    np.save(root / "flat.npy", np.zeros((36000, 2), np.float32))
    (root / "flat.json").write_text(json.dumps({"fs": 360}))
    return root


@pytest.fixture(scope="module")
def outputs(archive, local_ray, tmp_path_factory) -> dict:
    """Both engines through the CLI on the same archive: their output folders and results."""
    base = tmp_path_factory.mktemp("out")
    found = {}
    for engine in ("local", "ray"):
        out = base / engine
        started = time.perf_counter()
        result = runner.invoke(app, ["run", str(archive), "--out", str(out), "--engine", engine,
                                     "--workers", "1" if engine == "local" else "2"])
        found[engine] = {"out": out, "result": result, "seconds": time.perf_counter() - started}
    return found


def table(out: Path, name: str):
    data = ds.dataset(out / name, format="parquet").to_table()
    data = data.drop_columns([c for c in TIMING_COLUMNS if c in data.column_names])
    return data.sort_by([(column, "ascending") for column in ORDER[name]])


def mtimes(folder: Path) -> dict:
    return {p: p.stat().st_mtime_ns for p in folder.rglob("*.parquet")}


def test_a_failing_recording_exits_2_like_the_local_engine(outputs):
    for engine in ("local", "ray"):
        result = outputs[engine]["result"]
        assert result.exit_code == 2, (engine, result.output)
        assert "Traceback" not in result.output
    assert "model actor" in outputs["ray"]["result"].output  # where the stages ran


@pytest.mark.parametrize("name", ["beats", "clusters", "events", "records"])
def test_same_tables_as_the_local_engine(outputs, name):
    local, on_ray = table(outputs["local"]["out"], name), table(outputs["ray"]["out"], name)
    assert local.num_rows > 0
    assert on_ray.schema == local.schema
    assert on_ray.equals(local), name
    names = {p.name for p in (outputs["local"]["out"] / name).iterdir()}
    assert {p.name for p in (outputs["ray"]["out"] / name).iterdir()} == names


def test_bad_recordings_get_the_local_engines_error_rows(outputs):
    rows = {r["record_id"]: r for r in table(outputs["ray"]["out"], "records").to_pylist()}
    assert {rows[r]["status"] for r in ("106", "119", "208")} == {"ok"}
    assert rows["garbage"]["status"] == "error" and "garbage.hea" in rows["garbage"]["error"]
    assert rows["flat"]["status"] == "error" and "flat" in rows["flat"]["error"]
    assert not list(outputs["ray"]["out"].rglob(".*tmp*"))


def test_separate_detection_stage_gives_the_same_tables(archive, local_ray, outputs, tmp_path,
                                                        monkeypatch):
    """The GPU layout (detection tasks, then model actors) run on CPU: same tables."""
    from ecgtk.engines import ray_engine

    plan = ray_engine.RayPlan("cpu", actors=1, actor_gpus=0.0, cpus=1.0,
                              separate_detection=True, cluster_cpus=2.0, cluster_gpus=0)
    monkeypatch.setattr(ray_engine, "plan_resources", lambda *args, **kwargs: plan)
    out = tmp_path / "out"
    results = list(run_archive_ray(find_recordings(archive), out))
    assert sorted(r.status for r in results) == ["error", "error", "ok", "ok", "ok"]
    for name in ORDER:
        assert table(out, name).equals(table(outputs["local"]["out"], name)), name


def test_second_run_does_no_work(outputs, archive):
    out = outputs["ray"]["out"]
    before = mtimes(out)
    results = list(run_archive_ray(find_recordings(archive, exclude=out), out))
    assert sorted(r.status for r in results) == ["skipped"] * 5
    assert sum(r.failed for r in results) == 2  # the two bad ones, still failing
    assert mtimes(out) == before


def test_changed_source_is_redone_and_only_it(outputs, archive):
    out = outputs["ray"]["out"]
    before = mtimes(out)
    time.sleep(0.01)
    os.utime(archive / "119.dat")
    results = list(run_archive_ray(find_recordings(archive, exclude=out), out))
    assert sorted((r.record_id, r.status) for r in results if r.status != "skipped") == [
        ("119", "ok")]
    changed = sorted(p.parent.name for p, t in mtimes(out).items() if t != before[p])
    assert changed == ["beats", "clusters", "events", "records"]
    assert table(out, "beats").equals(table(outputs["local"]["out"], "beats"))



def test_workers_with_other_models_stop_the_run_clearly(archive, local_ray, tmp_path,
                                                        monkeypatch):
    """Every file names the driver's models, so actors running other models are an error."""
    import dataclasses
    import types

    from ecgtk.engines import ray_engine
    from ecgtk.engines.local import models_for
    from ecgtk.inference.models import ModelSettings

    other = {name: dataclasses.replace(info, sha256="0" * 64)
             for name, info in models_for(ModelSettings(device="cpu")).info.items()}
    monkeypatch.setattr(ray_engine, "models_for", lambda settings: types.SimpleNamespace(
        info=other))
    with pytest.raises(ray_engine.RayEngineError, match="differ from the driver's"):
        list(run_archive_ray(find_recordings(archive, glob="119.hea"), tmp_path / "out"))
    assert not list((tmp_path / "out" / "records").iterdir())



def test_an_address_where_nothing_answers_fails_at_once(archive, tmp_path):
    """A wrong --address is a usage error within seconds (Ray itself retries for minutes)."""
    import socket

    with socket.socket() as probe:  # a port nothing listens on once the probe is closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    result = CliRunner().invoke(app, ["run", str(archive), "--out", str(tmp_path / "out"),
                                      "--engine", "ray", "--address", f"127.0.0.1:{port}"])
    assert result.exit_code == 1
    assert f"cannot reach Ray at 127.0.0.1:{port}" in result.output
    assert time.monotonic() - started < 30
    result = CliRunner().invoke(app, ["run", str(archive), "--out", str(tmp_path / "out"),
                                      "--engine", "ray", "--address", "my-cluster"])
    assert result.exit_code == 1 and "not HOST:PORT" in result.output
