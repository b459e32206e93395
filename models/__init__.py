"""Shipped ONNX models and their model cards; where they are and how they are identified."""

from __future__ import annotations

import hashlib
from importlib.resources import files
from pathlib import Path


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
