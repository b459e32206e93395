"""What ``ecgtk info`` reports: versions, ONNX Runtime providers, shipped models."""

from __future__ import annotations

import hashlib
import platform
from importlib import metadata
from importlib.resources import files
from pathlib import Path

from rich.table import Table

PACKAGES = ("ecgtk", "numpy", "numba", "scipy", "onnxruntime-gpu", "pyarrow", "scikit-learn",
            "typer", "wfdb", "pyedflib", "tensorflow", "tf2onnx")


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def shipped_models() -> list[Path]:
    """The ONNX models shipped in the package's ``models`` folder, sorted by name."""
    folder = Path(str(files("ecgtk.models")))
    return sorted(folder.glob("*.onnx"))


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
