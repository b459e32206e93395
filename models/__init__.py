"""Shipped models and their model cards; where they are and how they are identified.

Models 1 and 2 are ONNX graphs; the supraventricular classifier is a small JSON file
(``supraventricular.json``: logistic regression coefficients, read by
:mod:`ecgtk.labelling.supraventricular`)."""

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


#: The shipped models that are not ONNX graphs.
OTHER_MODELS = ("supraventricular.json",)


def shipped_models() -> list[Path]:
    """The models shipped in the package's ``models`` folder (the ONNX graphs and
    :data:`OTHER_MODELS`), sorted by name."""
    folder = Path(str(files("ecgtk.models")))
    others = [folder / name for name in OTHER_MODELS if (folder / name).is_file()]
    return sorted([*folder.glob("*.onnx"), *others])
