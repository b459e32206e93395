"""``ecgtk info``: versions, ONNX Runtime providers, shipped models."""

from __future__ import annotations

import platform
from importlib import metadata

from rich.console import Console
from rich.table import Table

from ecgtk.cli.app import app
from ecgtk.models import sha256_of, shipped_models

PACKAGES = ("ecgtk", "numpy", "numba", "scipy", "onnxruntime-gpu", "pyarrow", "scikit-learn",
            "typer", "wfdb", "pyedflib", "tensorflow", "tf2onnx")


def onnx_providers() -> list[str]:
    """Execution providers ONNX Runtime offers here (CUDA only with onnxruntime-gpu + a GPU)."""
    try:
        import onnxruntime
    except ImportError:
        return []
    return list(onnxruntime.get_available_providers())


def collect_info() -> dict:
    """Everything ``ecgtk info`` shows, as plain data."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions,
        "onnx_providers": onnx_providers(),
        "models": [{"name": p.name, "sha256": sha256_of(p), "bytes": p.stat().st_size}
                   for p in shipped_models()],
    }


def render_info(info: dict) -> Table:
    """The facts of :func:`collect_info` as a two-column table for the terminal."""
    table = Table(title="ecgtk", show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value")
    table.add_row("python", f"{info['python']} ({info['platform']})")
    for name, version in info["versions"].items():
        table.add_row(name, version or "[dim]not installed[/]")
    table.add_row("ONNX Runtime providers (built in; CUDA needs a GPU)",
                  ", ".join(info["onnx_providers"]) or "none")
    if info["models"]:
        for model in info["models"]:
            table.add_row(f"model {model['name']}", f"sha256 {model['sha256']}")
    else:
        table.add_row("models", "[dim]none shipped yet[/]")
    return table


@app.command()
def info() -> None:
    """Show versions, the ONNX Runtime providers this machine offers, and the shipped models."""
    Console().print(render_info(collect_info()))
