"""Seconds per pipeline stage, for ``ecgtk bench`` and profiling (a no-op unless asked for)."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager

#: The stages, in pipeline order, as ``ecgtk bench`` reports them.
STAGES = ("read", "detect", "model1", "model2", "validation", "templates", "write")


class StageClock:
    """Accumulates wall-clock seconds per named stage."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] += time.perf_counter() - started


class _NoClock(StageClock):
    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        yield


#: The default clock: measures nothing.
NO_CLOCK = _NoClock()
