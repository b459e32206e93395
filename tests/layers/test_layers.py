"""The layers of the house, read from the source: what may import what.

- kernels (``kernels/``) import nothing of ecgtk but other kernels;
- the run path (the runtime stages, engines, readers, tables, scoring, the API) imports
  neither TensorFlow nor the training package (``ecgtk.export``) nor ``research/`` nor
  ``benchmarks/``, not even inside a function;
- training may import the runtime, never the reverse;
- no import cycles between ecgtk's modules (module-level imports);
- nothing of ``research/`` or ``benchmarks/`` is inside the installed package.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import ecgtk
import ecgtk.export
import ecgtk.kernels
import ecgtk.models

ROOTS = {"ecgtk": Path(ecgtk.__file__).parent, "ecgtk.kernels": Path(ecgtk.kernels.__file__).parent,
         "ecgtk.export": Path(ecgtk.export.__file__).parent,
         "ecgtk.models": Path(ecgtk.models.__file__).parent}
#: Runtime modules that may import training code lazily: the commands that train and export,
#: ``ecgtk bench``'s Keras baseline, and ``ecgtk explain``'s Grad-CAM through Keras when a
#: model folder has no Grad-CAM graph.
TRAINING_DOORS = {"ecgtk.cli.train", "ecgtk.cli.export_model", "ecgtk.bench.pipeline",
                  "ecgtk.reports.explain"}
FORBIDDEN_ON_RUN_PATH = ("tensorflow", "keras", "tf2onnx", "ecgtk.export", "research",
                         "benchmarks")


def _modules() -> dict[str, Path]:
    """Every module of the package, by dotted name (subpackages mapped from their folders)."""
    found = {}
    for package, root in ROOTS.items():
        for path in root.rglob("*.py"):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if package == "ecgtk" and parts[0] in ("kernels", "export", "models"):
                continue
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join([package, *parts])] = path
    return found


MODULES = _modules()


def _imports(path: Path, top_level_only: bool) -> set[str]:
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    names = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _is_under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def test_the_package_is_found():
    assert {"ecgtk.api", "ecgtk.pipeline", "ecgtk.kernels.rpeaks", "ecgtk.export.train",
            "ecgtk.engines.local", "ecgtk.cli.run"} <= set(MODULES)


def test_kernels_import_nothing_of_ecgtk_but_kernels():
    for name, path in MODULES.items():
        if _is_under(name, "ecgtk.kernels"):
            bad = {m for m in _imports(path, top_level_only=False)
                   if _is_under(m, "ecgtk") and not _is_under(m, "ecgtk.kernels")}
            assert not bad, (name, bad)


def test_the_run_path_never_imports_training_research_or_benchmarks():
    for name, path in MODULES.items():
        if (_is_under(name, "ecgtk.export") or _is_under(name, "ecgtk.kernels")
                or name in TRAINING_DOORS):
            continue
        bad = {m for m in _imports(path, top_level_only=False)
               if any(_is_under(m, f) for f in FORBIDDEN_ON_RUN_PATH)}
        assert not bad, (name, bad)


def test_training_doors_import_training_only_inside_functions():
    for name in TRAINING_DOORS:
        bad = {m for m in _imports(MODULES[name], top_level_only=True)
               if any(_is_under(m, f) for f in FORBIDDEN_ON_RUN_PATH)}
        assert not bad, (name, bad)


def test_no_import_cycles():
    graph = {}
    for name, path in MODULES.items():
        targets = set()
        for imported in _imports(path, top_level_only=True):
            # "from ecgtk.x import y" names module ecgtk.x.y when that is a module
            while imported and imported not in MODULES:
                imported = imported.rpartition(".")[0]
            if imported and imported != name and imported != "ecgtk":
                targets.add(imported)
        graph[name] = targets
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                cycle = trail[trail.index(target):] + [target] if target in trail else [target]
                raise AssertionError(f"import cycle: {' -> '.join(cycle)}")
            if target not in state:
                visit(target, [*trail, target])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])


def test_nothing_of_research_or_benchmarks_is_installed():
    for root in ROOTS.values():
        for path in root.rglob("*"):
            relative = path.relative_to(root)
            assert "results" not in relative.parts, path
            assert not path.name.endswith(("_eval.py", "_cv.py")), path
            if path.suffix == ".json":  # model cards only
                assert path.is_relative_to(ROOTS["ecgtk.models"]), path


def test_analysing_the_sample_imports_no_training_code(tmp_path):
    code = f"""
        import sys
        import ecgtk
        results = ecgtk.run_archive(out={str(tmp_path)!r}, workers=1)
        assert all(r.status == "ok" for r in results), results
        bad = sorted(m for m in sys.modules
                     if m.split(".")[0] in ("tensorflow", "keras", "tf2onnx", "research",
                                            "benchmarks", "ray")
                     or m.startswith("ecgtk.export"))
        assert not bad, bad
        print("CLEAN")
    """
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "CLEAN" in result.stdout
