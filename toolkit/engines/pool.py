"""Worker processes that survive one of them dying (the OOM killer, a crash in a C reader).

A :class:`~concurrent.futures.ProcessPoolExecutor` whose worker dies is broken for good: every
task in it fails with ``BrokenProcessPool``. :func:`run_tasks` therefore keeps at most
``workers`` tasks in a pool at a time, so that a broken pool blames only the items that were in
it. Each of those is then retried once alone in a fresh one-worker pool (while a new pool goes
on with the rest): an item whose lone worker dies again is given to ``on_death`` with the
worker's exit code, never retried in a loop.
"""

from __future__ import annotations

import signal
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any


def death_message(exitcode: int | None) -> str:
    """Why a worker is gone, in words, from its exit code (negative: killed by a signal)."""
    if exitcode is None:
        return "the worker analysing it died"
    if exitcode < 0:
        try:
            name = f" ({signal.Signals(-exitcode).name})"
        except ValueError:
            name = ""
        hint = "; out of memory?" if -exitcode == signal.SIGKILL else ""
        return f"the worker analysing it died: signal {-exitcode}{name}{hint}"
    return f"the worker analysing it died: exit code {exitcode}"


def _exitcode(processes: list) -> int | None:
    for process in processes:
        code = process.exitcode
        if code:
            return code
    return None


def run_tasks(items: list, task: Callable, args: tuple, workers: int,
              make_pool: Callable[[int], ProcessPoolExecutor],
              on_death: Callable[[Any, str], Any]) -> Iterator[Any]:
    """Yield ``task(item, *args)`` for every item as it finishes, computed in pools made by
    ``make_pool(n_workers)``; for an item whose worker died twice, ``on_death(item,
    message)``. Any other exception from a task is raised (after the running tasks finish)."""
    queue, suspects = deque(items), deque()
    running: dict[Future, tuple[Any, ProcessPoolExecutor]] = {}
    pool: ProcessPoolExecutor | None = None
    alone: tuple[Future, Any, ProcessPoolExecutor, list] | None = None  # a suspect's retry
    pools: set[ProcessPoolExecutor] = set()
    try:
        while queue or suspects or running or alone:
            if alone is None and suspects:
                item = suspects.popleft()
                single = make_pool(1)
                pools.add(single)
                future = single.submit(task, item, *args)
                alone = (future, item, single, list(getattr(single, "_processes", {}).values()))
            while queue and len(running) < max(1, workers - (alone is not None)):
                if pool is None:
                    pool = make_pool(workers)
                    pools.add(pool)
                item = queue.popleft()
                running[pool.submit(task, item, *args)] = (item, pool)
            waiting = set(running) | ({alone[0]} if alone else set())
            done, _ = wait(waiting, return_when=FIRST_COMPLETED)
            for future in done:
                if alone is not None and future is alone[0]:
                    _, item, single, processes = alone
                    alone = None
                    try:
                        result = future.result()
                    except BrokenProcessPool:
                        single.shutdown(wait=True)  # joins the dead worker: its exit code
                        result = on_death(item, death_message(_exitcode(processes)))
                    else:
                        single.shutdown(wait=True)
                    pools.discard(single)
                    yield result
                    continue
                item, owner = running.pop(future)
                try:
                    result = future.result()
                except BrokenProcessPool:
                    suspects.append(item)
                    if owner is pool:  # replace the broken pool for what is left
                        pool = None
                    owner.shutdown(wait=False)
                    continue
                yield result
    finally:
        for each in pools:
            each.shutdown(wait=True, cancel_futures=True)
