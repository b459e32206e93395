"""One ``ecgtk run``: the archive's recordings, the models' settings, the engine, planned once.

:func:`plan_archive_run` checks everything that can be checked before any recording is read
(the archive exists and holds recordings, the options are valid, the models load) and raises
with a message in plain words; :meth:`ArchiveRun.results` then analyses the recordings, yielding
each one's :class:`~ecgtk.engines.local.RecordResult` as it finishes. ``ecgtk run`` and
:func:`ecgtk.run_archive` are both thin layers over these two.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from ecgtk.engines.archive import ArchiveError, Source, find_recordings, sample_archive
from ecgtk.engines.local import RecordResult, models_for, run_archive
from ecgtk.inference.models import ModelSettings, worker_layout
from ecgtk.inference.sessions import DEVICES

ENGINES = ("local", "ray")


@dataclass(frozen=True)
class ArchiveRun:
    """A planned run: what to analyse, where the tables go, and how."""

    sources: list[Source]
    out: Path
    settings: ModelSettings
    workers: int  # local engine: worker processes; Ray engine: the --workers cap (0: default)
    providers: list[str]  # where the models run (ONNX Runtime providers)
    force: bool = False
    engine: str = "local"
    gpu_workers: int | None = None
    address: str | None = None

    def results(self, on_plan: Callable | None = None) -> Iterator[RecordResult]:
        """Analyse every recording not already done; yield each result as it finishes
        (the skipped ones first). ``on_plan`` gets the Ray engine's plan before it starts."""
        if self.engine == "ray":
            from ecgtk.engines.ray_engine import run_archive_ray

            yield from run_archive_ray(self.sources, self.out, self.settings, force=self.force,
                                       address=self.address, workers=self.workers or None,
                                       on_plan=on_plan)
            return
        yield from run_archive(self.sources, self.out, workers=self.workers, force=self.force,
                               gpu_workers=self.gpu_workers, settings=self.settings)


def check_model_options(device: str, lanes: int | None = None,
                        batch_size: int | None = None) -> None:
    """``ValueError`` for an unknown ``device`` or a ``lanes``/``batch_size`` under 1."""
    if device not in DEVICES:
        raise ValueError(f"device must be one of {', '.join(DEVICES)}, not {device!r}")
    for name, value in (("batch_size", batch_size), ("lanes", lanes)):
        if value is not None and value < 1:
            raise ValueError(f"{name} must be at least 1, not {value}")


def model_settings(models: Path | str | None = None, *, device: str = "cpu", cores: int = 1,
                   gpu_mem_gb: float = 6.0, review_threshold: float | None = None,
                   lanes: int | None = None, batch_size: int | None = None) -> ModelSettings:
    """How one worker with ``cores`` CPU cores runs the models (``models``: a folder with
    ``beat.onnx`` and ``ventricular.onnx``, default the shipped ones); ``ValueError`` as
    :func:`check_model_options`."""
    check_model_options(device, lanes, batch_size)
    return ModelSettings.using(
        Path(models) if models is not None else None, device=device, gpu_mem_gb=gpu_mem_gb,
        review_threshold=review_threshold, **worker_layout(device, cores, lanes, batch_size))


def plan_archive_run(archive: Path | str | None = None, out: Path | str = "ecgtk-out", *,
                     glob: str | None = None, workers: int | None = None, device: str = "cpu",
                     gpu_mem_gb: float = 6.0, gpu_workers: int | None = None,
                     batch_size: int | None = None, lanes: int | None = None,
                     review_threshold: float | None = None, models: Path | str | None = None,
                     force: bool = False, engine: str = "local",
                     address: str | None = None) -> ArchiveRun:
    """Plan a run (see :func:`ecgtk.run_archive` for the options); raises ``ValueError`` for
    an invalid option, :class:`~ecgtk.engines.archive.ArchiveError` for an archive with no
    recordings, :class:`~ecgtk.inference.sessions.ModelError` when the models do not load,
    and :class:`~ecgtk.engines.ray_engine.RayUnavailable` when Ray is asked for but missing."""
    check_model_options(device, lanes, batch_size)
    if engine not in ENGINES:
        raise ValueError(f"engine (--engine) must be local or ray, not {engine!r}")
    if address is not None and engine != "ray":
        raise ValueError("address (--address) is for the ray engine (--engine ray)")
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be at least 1, not {workers}")
    if engine == "ray":
        from ecgtk.engines.ray_engine import import_ray

        import_ray()
    archive = Path(archive) if archive is not None else sample_archive()
    out = Path(out)
    sources = find_recordings(archive, glob, exclude=out)
    if not sources:
        raise ArchiveError(f"{archive}: no recordings (.hea, .edf, .ecg, .npy) found")
    cores = os.cpu_count() or 1
    local_workers = min(workers or cores, len(sources))
    settings = model_settings(models, device=device, cores=cores // local_workers,
                              gpu_mem_gb=gpu_mem_gb, review_threshold=review_threshold,
                              lanes=lanes, batch_size=batch_size)
    # load the models once here: fail early, and say where they run (the Ray driver only
    # reads them)
    providers = models_for(settings if engine == "local"
                           else replace(settings, device="cpu")).providers
    return ArchiveRun(sources, out, settings,
                      workers=local_workers if engine == "local" else (workers or 0),
                      providers=list(providers), force=force, engine=engine,
                      gpu_workers=gpu_workers, address=address)
