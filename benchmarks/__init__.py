"""Throughput and accuracy benchmarks (run as scripts; see each module's docstring)."""

import json
from pathlib import Path

#: Where the benchmarks keep what they measured (names start with ``bench_`` or ``gpu_``).
RESULTS = Path(__file__).parent / "results"


def write_result(name: str, result: object) -> Path:
    """Write ``result`` as ``benchmarks/results/<name>.json`` and return the path."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(result, indent=1))
    return path
