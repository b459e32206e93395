"""Analysis never imports TensorFlow: the CLI, readers, detector, tables and scoring, and the
ONNX side of Grad-CAM, run with onnxruntime alone."""

import subprocess
import sys
import textwrap

HEAVY = ("tensorflow", "tf2onnx", "keras")


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=120)


def test_toolkit_and_cli_help_do_not_import_tensorflow():
    result = _run(f"""
        import runpy, sys
        import ecgtk, ecgtk.cli, ecgtk.readers, ecgtk.detection.chunked, ecgtk.tables, ecgtk.scoring
        sys.argv = ["ecgtk", "--help"]
        try:
            runpy.run_module("ecgtk", run_name="__main__")
        except SystemExit as exc:
            assert exc.code in (0, None), exc.code
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in {HEAVY!r})
        assert not heavy, heavy
        print("CLEAN")
    """)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "CLEAN" in result.stdout and "Usage" in result.stdout


def test_python_m_ecgtk_help():
    result = subprocess.run([sys.executable, "-m", "ecgtk", "--help"], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Usage" in result.stdout


def test_onnx_side_of_export_modules_does_not_import_tensorflow():
    result = _run(f"""
        import sys
        import ecgtk.export
        from ecgtk.export.gradcam import gradcam_onnx, heatmap_from_activations
        from ecgtk.export.onnx_export import cpu_session, read_onnx_metadata
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in {HEAVY!r})
        assert not heavy, heavy
        print("CLEAN")
    """)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "CLEAN" in result.stdout
