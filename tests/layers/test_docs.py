"""The documentation keeps to the code: README's size and set-up, every table column in
docs/tables.md, and every ``python -m`` module the docs name exists in the repository."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pyarrow as pa
import pytest

from ecgtk import tables

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
SET_UP = ("python3 -m venv .venv && . .venv/bin/activate && pip install -e '.[dev]' && ecgtk run",
          "python -m pytest -q")
SCHEMAS = ("BEATS_SCHEMA", "CLUSTERS_SCHEMA", "EVENTS_SCHEMA", "RECORDS_SCHEMA",
           "HEATMAPS_SCHEMA")


def _type_name(dtype: pa.DataType) -> str:
    """How docs/tables.md writes an Arrow type: ``list<float32>`` for lists, else Arrow's."""
    if pa.types.is_list(dtype):
        return f"list<{_type_name(dtype.value_type)}>"
    return str(dtype)


def test_readme_is_at_most_150_lines():
    assert len(README.read_text().splitlines()) <= 150


def test_readme_has_the_two_set_up_commands():
    text = README.read_text()
    for command in SET_UP:
        assert command in text, command


def _section(text: str, schema: str) -> str:
    sections = [s for s in re.split(r"\n## ", text) if s.splitlines()[0].count(f"({schema})")]
    assert len(sections) == 1, f"docs/tables.md needs one '## ... ({schema})' section"
    return sections[0]


@pytest.mark.parametrize("schema", SCHEMAS)
def test_tables_doc_names_every_column_with_its_type(schema):
    section = _section((ROOT / "docs" / "tables.md").read_text(), schema)
    rows = dict(re.findall(r"^\| `([a-z0-9_]+)` \| ([^|]+?) \|", section, flags=re.M))
    fields = getattr(tables, schema)
    assert list(rows) == fields.names, "columns missing, extra or out of order"
    for field in fields:
        assert rows[field.name] == _type_name(field.type), field.name


def _modules_run_with_python_m() -> set[str]:
    names = set()
    for path in [README, *DOCS]:
        text = re.sub(r"\\\n\s*", " ", path.read_text())  # join continued lines
        text = re.sub(r"\n\s*", " ", text)  # and wrapped prose
        names.update(re.findall(r"python -m ([A-Za-z_][\w.]*[A-Za-z0-9_])", text))
    names.discard("pytest")
    # an upper-case part is a placeholder (python -m benchmarks.NAME)
    return {name for name in names if not any(part.isupper() for part in name.split("."))}


def test_the_docs_name_python_m_modules():
    assert {"benchmarks.bench_run", "research.validation_eval",
            "ecgtk.export.reproduce"} <= _modules_run_with_python_m()


@pytest.mark.parametrize("module", sorted(_modules_run_with_python_m()))
def test_every_python_m_module_exists(module, monkeypatch):
    monkeypatch.setattr(sys, "path", [str(ROOT), *sys.path])
    top = module.split(".")[0]
    if top in ("research", "benchmarks"):  # run from the repository root, not installed
        path = ROOT.joinpath(*module.split(".")).with_suffix(".py")
        assert path.is_file(), f"{module}: no {path.relative_to(ROOT)}"
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin and spec.origin.endswith(".py"), module
