"""Work on a stream of items on a few threads, with the results kept in the items' order.

Both places that overlap reading with computing use it: detection of a recording's chunks
(:func:`ecgtk.detection.chunked.iter_detections`) and the models' calls on them
(:func:`ecgtk.pipeline.call_concurrently`). Threads pay off there because the Numba kernels and
ONNX Runtime release the GIL.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


def map_in_order(work: Callable[[Item], Result], items: Iterable[Item], workers: int,
                 name: str = "ecgtk") -> Iterator[Result]:
    """``work(item)`` of each of ``items``, yielded in the items' order.

    With ``workers`` > 1, up to that many calls run at once on threads named ``name`` while
    this thread takes the next item from ``items`` (so producing an item, reading a chunk say,
    overlaps the work); at most ``workers + 1`` items are taken ahead of the one last yielded.
    A call's error is raised when its turn comes, and the calls not yet started are cancelled.
    ``workers`` <= 1: a plain ``map`` in this thread.
    """
    if workers <= 1:
        yield from map(work, items)
        return
    with ThreadPoolExecutor(workers, thread_name_prefix=name) as pool:
        pending: deque = deque()
        try:
            for item in items:
                pending.append(pool.submit(work, item))
                if len(pending) > workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()
