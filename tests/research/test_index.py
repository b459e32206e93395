"""research/README.md indexes what research/ holds: every script, every results file; speed
results stay with the speed benchmarks."""

import fnmatch
import re
from pathlib import Path

ROOT = Path(__file__).parents[2]
RESEARCH = ROOT / "research"


def _expand(pattern: str) -> list[str]:
    """``a_{x,y}.json`` -> ``a_x.json``, ``a_y.json``; ``...`` stands for any text."""
    match = re.search(r"\{([^{}]*)\}", pattern)
    if not match:
        return [pattern.replace("...", "*")]
    return [name for alternative in match.group(1).split(",")
            for name in _expand(pattern[:match.start()] + alternative + pattern[match.end():])]


def test_every_results_file_is_in_the_index():
    index = (RESEARCH / "README.md").read_text()
    patterns = [p for quoted in re.findall(r"`([^`]*\.json)`", index) for p in _expand(quoted)]
    files = sorted(p.name for p in (RESEARCH / "results").iterdir())
    assert files
    missing = [f for f in files if not any(fnmatch.fnmatch(f, p) for p in patterns)]
    assert not missing, missing


def test_every_script_is_in_the_index():
    index = (RESEARCH / "README.md").read_text()
    for script in sorted(RESEARCH.glob("*.py")):
        if script.name != "__init__.py":
            assert f"`{script.name}`" in index, script.name


def test_only_speed_results_stay_in_benchmarks():
    for path in (ROOT / "benchmarks" / "results").iterdir():
        assert path.name.startswith(("gpu_", "bench_")), path.name
