"""The CLI end to end with Typer's CliRunner, on the real excerpts in tests/data."""

import json

import pyarrow.parquet as pq
from typer.testing import CliRunner

from ecgtk.cli import app

runner = CliRunner()


def test_help_lists_commands_and_units():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("detect", "eval", "info"):
        assert command in result.output
    detect_help = runner.invoke(app, ["detect", "--help"]).output
    assert "Hz" in detect_help and "--out" in detect_help
    assert "seconds" in runner.invoke(app, ["eval", "--help"]).output


def test_detect_then_eval(tmp_path, data_dir):
    out = tmp_path / "beats" / "119.parquet"
    result = runner.invoke(app, ["detect", str(data_dir / "mitdb" / "119.hea"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    table = pq.read_table(out)
    assert table.num_rows > 100
    assert set(table.column("record_id").to_pylist()) == {"119"}

    report = tmp_path / "score.json"
    result = runner.invoke(app, ["eval", str(tmp_path / "beats"), "--reference",
                                 str(data_dir / "mitdb"), "--json", str(report)])
    assert result.exit_code == 0, result.output
    gross = json.loads(report.read_text())["gross"]["beats"]
    assert gross["TP"] >= 0.99 * (gross["TP"] + gross["FN"])
    assert gross["FP"] <= 0.01 * gross["TP"]


def test_detect_reports_a_bad_file_by_name(tmp_path):
    bad = tmp_path / "broken.hea"
    bad.write_text("this is not a header\n")
    result = runner.invoke(app, ["detect", str(bad), "--out", str(tmp_path / "x.parquet")])
    assert result.exit_code == 2
    assert "broken.hea" in result.output
    assert not (tmp_path / "x.parquet").exists()


def test_eval_without_matching_references_fails_clearly(tmp_path, data_dir):
    out = tmp_path / "b.parquet"
    runner.invoke(app, ["detect", str(data_dir / "mitdb" / "101.hea"), "--out", str(out)])
    empty = tmp_path / "refs"
    empty.mkdir()
    result = runner.invoke(app, ["eval", str(out), "--reference", str(empty)])
    assert result.exit_code == 2


def test_info_runs():
    result = runner.invoke(app, ["info"])
    assert result.exit_code == 0
    assert "numba" in result.output and "ONNX Runtime" in result.output
