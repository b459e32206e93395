"""Seconds per pipeline stage, for ``ecgtk bench`` and profiling (a no-op unless asked for)."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager

#: The stages, in pipeline order, as ``ecgtk bench`` reports them.
STAGES = ("read", "detect", "model1", "model2", "validation", "templates", "write")


class StageClock:
    """Accumulates wall-clock seconds per named stage. Safe to share between threads; when
    stages run at once on several threads (chunk lanes), their seconds add up, so the stages
    can sum to more than the wall-clock time."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self._lock = threading.Lock()

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - started
            with self._lock:
                self.seconds[name] += elapsed


class _NoClock(StageClock):
    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        yield


#: The default clock: measures nothing.
NO_CLOCK = _NoClock()
