"""Ray is optional: ``import ecgtk`` and the local engine never import it, and asking for the
Ray engine without it says how to install it."""

import subprocess
import sys
import textwrap

from typer.testing import CliRunner

from ecgtk.cli import app


def test_toolkit_and_a_local_run_do_not_import_ray(tmp_path):
    code = textwrap.dedent(f"""
        import sys
        from typer.testing import CliRunner
        import ecgtk, ecgtk.cli, ecgtk.engines.local, ecgtk.pipeline, ecgtk.cli.progress
        from ecgtk.engines.archive import sample_archive
        runner = CliRunner()
        assert runner.invoke(ecgtk.cli.app, ["run", "--help"]).exit_code == 0
        result = runner.invoke(ecgtk.cli.app, ["run", str(sample_archive()), "--glob", "119.hea",
                                               "--out", {str(tmp_path / "out")!r}, "--quiet"])
        assert result.exit_code == 0, result.output
        loaded = sorted(m for m in sys.modules if m.split(".")[0] == "ray")
        assert not loaded, loaded
        print("CLEAN")
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "CLEAN" in result.stdout


def test_ray_engine_without_ray_says_how_to_install_it(monkeypatch, tmp_path):
    for name in ("ray", "ray.data"):
        monkeypatch.setitem(sys.modules, name, None)  # "import ray" now fails
    result = CliRunner().invoke(app, ["run", "--engine", "ray", "--out", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert "pip install 'ecgtk[ray]'" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()  # nothing started


def test_engine_and_address_usage_errors(tmp_path):
    out = str(tmp_path / "o")
    assert CliRunner().invoke(app, ["run", "--engine", "spark", "--out", out]).exit_code == 1
    result = CliRunner().invoke(app, ["run", "--address", "auto", "--out", out])
    assert result.exit_code == 1 and "--engine ray" in result.output
