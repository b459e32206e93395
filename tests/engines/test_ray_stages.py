"""The Ray engine's stages run in this process, without Ray: they write exactly what the local
engine writes, in whatever order the chunks come back, and fail the way it fails."""

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from ecgtk.bench.tiling import write_tiled_wfdb
from ecgtk.engines.archive import Source, find_recordings, sample_archive
from ecgtk.engines.local import TABLES, models_for, output_paths, process_source
from ecgtk.engines.ray_engine import plan_resources
from ecgtk.engines.ray_stages import (
    Assembler,
    ChunkCaller,
    ChunkDone,
    ChunkTask,
    Gathered,
    RecordingEnd,
    decode,
    detect_source,
    encode,
    finish_recording,
)
from ecgtk.inference.models import BeatModels, ModelSettings


@pytest.fixture(scope="module")
def caller() -> ChunkCaller:
    info = models_for(ModelSettings()).info
    return ChunkCaller(ModelSettings(), {name: i.sha256 for name, i in info.items()})


def run_stages(source: Source, caller: ChunkCaller, out: Path, reverse: bool = True):
    """The three stages in this process, the rows reaching the driver in reverse order."""
    rows = [decode(encode(caller.call(item))) for item in detect_source(source)]
    assembler = Assembler([source])
    done = [assembler.add(source.record_id, item) for item in (rows[::-1] if reverse else rows)]
    assert done[:-1] == [None] * (len(rows) - 1) and not assembler.unfinished()
    return finish_recording(done[-1], out, caller.models.info)


def read_all(out: Path, record_id: str) -> dict:
    tables = {t: pq.read_table(p) for t, p in output_paths(out, record_id).items()}
    tables["records"] = tables["records"].drop_columns(["seconds"])
    return tables


def test_stages_write_what_the_local_engine_writes(tmp_path, caller):
    header = write_tiled_wfdb(tmp_path / "archive", "long", hours=0.4)  # 24 min: 3 chunks
    source = find_recordings(header.parent)[0]
    chunks = [i for i in detect_source(source) if isinstance(i, ChunkTask)]
    assert len(chunks) == 3
    result = run_stages(source, caller, tmp_path / "ray")
    local = process_source(source, tmp_path / "local", ModelSettings())
    assert (result.status, result.n_beats, result.n_clusters) == (
        local.status, local.n_beats, local.n_clusters)
    ours, theirs = read_all(tmp_path / "ray", "long"), read_all(tmp_path / "local", "long")
    for name in TABLES:
        assert ours[name].equals(theirs[name]), name
        assert ours[name].schema.metadata == theirs[name].schema.metadata


def test_unreadable_recording_gets_the_local_error_row(tmp_path, caller):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "broken.hea").write_text("this is not a header\n")
    source = find_recordings(tmp_path / "a")[0]
    items = list(detect_source(source))
    assert len(items) == 1 and isinstance(items[0], RecordingEnd) and items[0].error
    result = run_stages(source, caller, tmp_path / "ray")
    local = process_source(source, tmp_path / "local", ModelSettings())
    assert result.status == local.status == "error" and result.error == local.error
    assert read_all(tmp_path / "ray", "broken")["records"].equals(
        read_all(tmp_path / "local", "broken")["records"])


def test_a_failing_model_call_is_the_same_error_row_in_both_engines(tmp_path, caller,
                                                                     monkeypatch):
    def broken(*args, **kwargs):
        raise ValueError("boom")

    monkeypatch.setattr(BeatModels, "call_chunk", broken)
    source = [s for s in find_recordings(sample_archive()) if s.record_id == "119"][0]
    result = run_stages(source, caller, tmp_path / "ray")
    local = process_source(source, tmp_path / "local", ModelSettings())
    assert result.status == "error" and result.error == local.error
    assert "internal error (ValueError: boom)" in result.error


def test_the_first_error_is_the_one_the_local_engine_meets():
    source = Source(Path("x.hea"), "x")
    chunk = [ChunkDone(i, None, None, 0.1, error) for i, error in
             enumerate([None, "chunk 1 failed", "chunk 2 failed"])]
    end = RecordingEnd(3, (1, 1), {}, 0.5, "reading chunk 3 failed")
    assert Gathered(source, end, chunk).first_error() == "chunk 1 failed"
    assert Gathered(source, end, chunk[:1]).first_error() == "reading chunk 3 failed"
    assert Gathered(source, end, chunk).seconds == pytest.approx(0.8)


def test_assembler_waits_for_every_chunk():
    assembler = Assembler([Source(Path("x.hea"), "x")])
    assert assembler.add("x", RecordingEnd(2, (1, 1), {}, 0.0)) is None
    assert assembler.add("x", ChunkDone(1, None, None, 0.0)) is None
    assert assembler.unfinished() == ["x"]
    gathered = assembler.add("x", ChunkDone(0, None, None, 0.0))
    assert [c.index for c in gathered.chunks] == [0, 1] and not assembler.unfinished()


def test_plan_puts_models_on_gpus_when_there_are_some():
    gpu = plan_resources({"CPU": 32.0, "GPU": 4.0}, "auto")
    assert (gpu.actors, gpu.actor_gpus, gpu.cpus, gpu.device) == (4, 1.0, 1.0, "auto")
    assert gpu.separate_detection and "detection in CPU tasks" in gpu.describe()
    assert plan_resources({"CPU": 32.0, "GPU": 4.0}, "cuda", workers=2).actors == 2
    assert plan_resources({"CPU": 1.0, "GPU": 1.0}, "cuda").cpus == 0.5  # both stages fit
    cpu = plan_resources({"CPU": 32.0, "GPU": 4.0}, "cpu")
    assert (cpu.actors, cpu.actor_gpus, cpu.device) == (32, 0.0, "cpu")
    assert not cpu.separate_detection
    assert plan_resources({"CPU": 8.0}, "cuda").device == "cpu"
    assert plan_resources({"CPU": 8.0}, "auto", recordings=3).actors == 3
    assert "2 model actor(s)" in plan_resources({"CPU": 2.0}, "cpu").describe()
