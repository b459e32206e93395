"""``ecgtk run --engine ray``: the archive runner on a Ray cluster, as a Ray Data pipeline.

::

    recordings --[Ray Data tasks, CPU]--> read + detect: one row per chunk with candidates
               --[Ray Data actors, a GPU each]--> both models on each chunk
               --[driver]--> a recording's rows gathered
               --[Ray task]--> labels, templates, summary, the local engine's atomic writer

On a cluster without GPUs the first two stages are one: each model actor (one per CPU) reads,
detects and runs the models recording by recording, as a local worker does, so that no signal
is copied between processes and detection never waits for a CPU that model actors hold.

The stages are in :mod:`ecgtk.engines.ray_stages`; this module places them on the cluster and drives
them. Resume, error rows and exit codes are the local engine's (:mod:`ecgtk.engines.local`):
finished
recordings are skipped before Ray even starts, and each recording is written by
:func:`ecgtk.engines.local.write_outcome`, the records file last. Every Ray worker needs ecgtk
installed
(the same version: the models ship in the package) and must see the archive and the output
folder at the same paths as the driver (a shared file system).

Ray is optional (``pip install 'ecgtk[ray]'``) and imported only here, only when asked for:
``import ecgtk`` and the local engine never import it.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType

from ecgtk.engines.archive import Source
from ecgtk.engines.local import RecordResult, models_for, prepare_run
from ecgtk.engines.ray_stages import (
    Assembler,
    ChunkCaller,
    RecordingCaller,
    decode,
    detect_batch,
    finish_recording,
    source_rows,
)
from ecgtk.inference.models import ModelSettings
from ecgtk.inference.sessions import ModelInfo

RAY_MISSING = "the Ray engine needs Ray: pip install 'ecgtk[ray]'"
log = logging.getLogger(__name__)


class RayUnavailable(Exception):
    """Ray (with Ray Data) is not installed, or cannot be imported."""


class RayEngineError(Exception):
    """Ray could not be reached, or the pipeline itself failed (not a recording: those get
    error rows). Recordings written before it happened stay written."""


def import_ray() -> ModuleType:
    """The ``ray`` module with Ray Data loaded, or :class:`RayUnavailable` saying what to do."""
    try:
        import ray
        import ray.data  # noqa: F401  (Ray Data is an extra of Ray)
    except ImportError as error:
        raise RayUnavailable(f"{RAY_MISSING} ({error})") from None
    return ray


@dataclass(frozen=True)
class RayPlan:
    """Where the stages run and what each asks Ray for."""

    device: str  # what each model actor's ONNX Runtime sessions are asked to use
    actors: int  # model actors: one per GPU, or one per CPU
    actor_gpus: float  # GPUs per model actor (1 or 0)
    cpus: float  # CPUs asked for by each model actor and each detection task
    separate_detection: bool  # detection in CPU tasks (with GPUs), or in the model actors
    cluster_cpus: float
    cluster_gpus: int

    def describe(self) -> str:
        where = "a GPU each" if self.actor_gpus else "CPU"
        detection = ("detection in CPU tasks" if self.separate_detection
                     else "each also reading and detecting")
        return (f"Ray cluster with {self.cluster_cpus:g} CPUs and {self.cluster_gpus} GPUs: "
                f"{self.actors} model actor(s) on {where}, {detection}")


def plan_resources(cluster: Mapping[str, float], device: str, workers: int | None = None,
                   recordings: int | None = None) -> RayPlan:
    """Place the model actors on ``cluster`` (``ray.cluster_resources()``).

    With ``device`` auto or cuda and GPUs in the cluster: one actor per GPU, detection in CPU
    tasks (on a one-CPU cluster both ask for half of it, so both can run). Otherwise one actor
    per CPU, each doing detection too. ``workers`` caps the actors, and so do ``recordings``.
    """
    cpus = float(cluster.get("CPU", 0.0))
    gpus = int(cluster.get("GPU", 0))
    cap = min(workers or 10**9, recordings or 10**9)
    if device in ("auto", "cuda") and gpus > 0:
        return RayPlan(device, max(1, min(gpus, cap)), 1.0, min(1.0, cpus / 2) or 1.0,
                       True, cpus, gpus)
    if device == "cuda":
        log.warning("--device cuda, but the Ray cluster has no GPU: the models run on CPU")
    return RayPlan("cpu", max(1, min(int(cpus), cap)), 0.0, 1.0, False, cpus, gpus)


#: Seconds to wait for a TCP answer from a Ray address before giving up on it.
CONNECT_TIMEOUT_S = 5.0


def check_reachable(address: str | None, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
    """Raise :class:`RayEngineError` at once when nothing answers at a ``HOST:PORT`` or
    ``ray://HOST:PORT`` address (Ray itself would retry for minutes). ``None``, ``auto`` and
    ``local`` are left to Ray."""
    if address is None or address in ("auto", "local"):
        return
    target = address.removeprefix("ray://")
    host, _, port = target.rpartition(":")
    if not host or not port.isdigit():
        raise RayEngineError(f"--address {address!r} is not HOST:PORT, ray://HOST:PORT or auto")
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except OSError as error:
        raise RayEngineError(
            f"cannot reach Ray at {address}: nothing answers there ({error}). Start the "
            f"cluster there (ray start --head) or fix --address.") from error


@contextmanager
def connected(ray: ModuleType, address: str | None) -> Iterator[None]:
    """Ray connected for the block: to ``address`` (``auto``, ``HOST:PORT``, ``ray://...``),
    to ``$RAY_ADDRESS``, or to a new local instance. Leaves an already running connection open;
    shuts down only what it started."""
    check_reachable(address)
    if ray.is_initialized():
        yield
        return
    options = {"include_dashboard": False} if address is None else {}
    try:
        ray.init(address=address, logging_level=logging.WARNING, **options)
    except Exception as error:  # Ray raises ConnectionError, ValueError, RuntimeError, ...
        raise RayEngineError(f"cannot start or reach Ray at {address or 'this machine'}: "
                             f"{error}") from error
    try:
        yield
    finally:
        ray.shutdown()


def run_archive_ray(sources: list[Source], out_dir: Path, settings: ModelSettings | None = None,
                    force: bool = False, address: str | None = None, workers: int | None = None,
                    on_plan: Callable[[RayPlan], None] | None = None) -> Iterator[RecordResult]:
    """Like :func:`ecgtk.engines.local.run_archive`, on Ray: yields each recording's result as it is
    written (skipped ones first, without starting Ray). ``workers`` caps the model actors;
    ``on_plan`` is told where the stages run once Ray is connected."""
    settings = settings or ModelSettings()
    todo, skipped = prepare_run(sources, out_dir, force)
    yield from skipped
    if not todo:
        return
    # The driver's copy of the models: their ids go into every file (and actors must match).
    models_info = models_for(replace(settings, device="cpu")).info
    ray = import_ray()
    with connected(ray, address):
        plan = plan_resources(ray.cluster_resources(), settings.device, workers, len(todo))
        if on_plan is not None:
            on_plan(plan)
        dataset = build_dataset(ray, todo, settings, plan, models_info)
        yield from drive(ray, dataset, todo, Path(out_dir), models_info,
                         max_finishing=max(2, int(plan.cluster_cpus) // 4),
                         review_threshold=settings.review_threshold)


def build_dataset(ray: ModuleType, todo: list[Source], settings: ModelSettings, plan: RayPlan,
                  models_info: Mapping[str, ModelInfo]):
    """The Ray Data pipeline that ``plan`` describes (lazy until iterated)."""
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # ecgtk shows its own progress, per recording
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    logging.getLogger("ray.data._internal.progress").setLevel(logging.ERROR)  # "disabled"
    actor_settings = replace(settings, device=plan.device, threads=max(1, int(plan.cpus)))
    expected = {name: info.sha256 for name, info in models_info.items()}
    rows = source_rows(todo)
    dataset = ray.data.from_items(rows, override_num_blocks=len(rows))  # a task per recording
    if plan.separate_detection:
        dataset = dataset.map_batches(detect_batch, batch_size=1, num_cpus=plan.cpus)
    return dataset.map_batches(
        ChunkCaller if plan.separate_detection else RecordingCaller, batch_size=1,
        fn_constructor_args=(actor_settings, expected),
        compute=ray.data.ActorPoolStrategy(size=plan.actors),
        num_cpus=plan.cpus, num_gpus=plan.actor_gpus)


def drive(ray: ModuleType, dataset, todo: list[Source], out_dir: Path,
          models_info: Mapping[str, ModelInfo], max_finishing: int,
          review_threshold: float | None = None) -> Iterator[RecordResult]:
    """Stream the pipeline's rows, gather each recording, and finish it in a Ray task.

    The finishing tasks ask for no CPU: they are short (a few per cent of a recording's CPU
    time), and asking for one could wait behind model actors that hold every CPU until the
    pipeline ends. At most ``max_finishing`` run at once; the rest of the pipeline waits."""
    finish = ray.remote(num_cpus=0)(finish_recording)
    info_ref = ray.put(dict(models_info))
    assembler = Assembler(todo)
    pending: list = []
    try:
        for row in dataset.iter_rows():
            gathered = assembler.add(row["record_id"], decode(row["payload"]))
            if gathered is not None:
                pending.append(finish.remote(gathered, out_dir, info_ref, review_threshold))
            ready, pending = _ready(ray, pending, keep=max_finishing - 1)
            yield from ray.get(ready)
    except Exception as error:  # the pipeline failed: what was gathered is still written
        yield from ray.get(pending)
        raise RayEngineError(f"the Ray pipeline failed: {_last_line(error)}") from error
    yield from ray.get(pending)
    for record_id in assembler.unfinished():  # not written: the next run redoes it
        yield RecordResult(record_id, "error", error=f"{record_id}: rows lost in the Ray "
                           "pipeline; run again to redo it", failed=True)


def _ready(ray: ModuleType, pending: list, keep: int) -> tuple[list, list]:
    """Tasks of ``pending`` that are done, waiting until at most ``keep`` remain."""
    if not pending:
        return [], []
    ready, pending = ray.wait(pending, num_returns=len(pending), timeout=0)
    if len(pending) > keep:
        more, pending = ray.wait(pending, num_returns=len(pending) - keep)
        ready += more
    return ready, pending


def _last_line(error: BaseException) -> str:
    """The gist of a Ray error: its message's last line (Ray puts the remote traceback first)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__
