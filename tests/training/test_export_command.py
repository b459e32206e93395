"""``ecgtk export``: a trained .keras becomes an ONNX model ``ecgtk run`` reads, with the
calibration and review threshold of a calibration report when one is given."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

pytest.importorskip("tensorflow")
pytest.importorskip("onnx")

from ecgtk.cli import app  # noqa: E402
from ecgtk.export.architecture import build_model  # noqa: E402
from ecgtk.inference.sessions import read_model_info  # noqa: E402

TINY = {"stem_filters": 8, "block_filters": (8, 8), "block_kernel": 5, "lstm_units": 4}
REPORT = {"platt": {"a": 0.8, "b": -0.3}, "review_threshold": 0.07, "passes": 32}


@pytest.fixture(scope="module")
def ventricular_keras(tmp_path_factory):
    """A tiny untrained model 2 (300 samples, 2 leads + context) saved as .keras."""
    import keras

    keras.utils.set_random_seed(0)
    path = tmp_path_factory.mktemp("keras") / "ventricular.keras"
    build_model(300, 6, **TINY).save(path)
    return path


def export(*args: str):
    return CliRunner().invoke(app, ["export", *map(str, args)])


def test_calibration_report_goes_into_the_model(ventricular_keras, tmp_path):
    report = tmp_path / "calibration.json"
    report.write_text(json.dumps(REPORT))
    out = tmp_path / "ventricular.onnx"
    result = export(ventricular_keras, "--out", out, "--calibration", report)
    assert result.exit_code == 0, result.output
    assert "no calibration" not in result.output
    info = read_model_info(out, "ventricular")
    assert info.calibration == pytest.approx((0.8, -0.3))
    assert info.review_threshold == pytest.approx(0.07)
    assert info.context and info.input_leads == 2 and info.mc_passes == 32


def test_without_calibration_the_user_is_told(ventricular_keras, tmp_path):
    out = tmp_path / "ventricular.onnx"
    result = export(ventricular_keras, "--out", out)
    assert result.exit_code == 0, result.output
    assert "has no calibration" in " ".join(result.output.split())
    info = read_model_info(out, "ventricular")
    assert info.calibration is None and info.review_threshold is None


@pytest.mark.parametrize("content", ["{not json", json.dumps({"platt": {"a": 1.0}}),
                                     json.dumps({**REPORT, "platt": {"a": -1.0, "b": 0.0}})])
def test_a_bad_calibration_report_is_a_clear_usage_error(ventricular_keras, tmp_path, content):
    report = tmp_path / "calibration.json"
    report.write_text(content)
    out = tmp_path / "ventricular.onnx"
    result = export(ventricular_keras, "--out", out, "--calibration", report)
    assert result.exit_code == 1
    assert "calibration.json" in result.output
    assert not out.exists()


def test_members_make_one_averaging_graph(ventricular_keras, tmp_path):
    """``ecgtk export A --member B``: one graph averaging both trainings, passes shared out."""
    import keras

    keras.utils.set_random_seed(1)
    other = tmp_path / "ventricular_1.keras"
    build_model(300, 6, **TINY).save(other)
    out = tmp_path / "ventricular.onnx"
    result = export(ventricular_keras, "--member", other, "--out", out)
    assert result.exit_code == 0, result.output
    info = read_model_info(out, "ventricular")
    assert info.members == 2 and info.mc_passes == 32
    missing = export(ventricular_keras, "--member", tmp_path / "nope.keras", "--out",
                     tmp_path / "x.onnx")
    assert missing.exit_code == 1 and "nope.keras" in missing.output
