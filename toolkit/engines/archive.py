"""An archive of recordings: finding them, naming them, and where their outputs go.

A recording's ``record_id`` is its path relative to the archive root without extension
(``2026/11/p123``), so files of the same name in different folders never collide. Output files
get a flat, safe name derived from it (:func:`output_name`): nothing can escape the output
folder, whatever characters the record id holds.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

#: File suffixes that are recordings; reference annotations (.atr, ...) are never picked up.
RECORDING_SUFFIXES = (".hea", ".edf", ".ecg", ".npy")


class ArchiveError(Exception):
    """The archive argument itself is unusable (missing, empty list, ...): a usage error."""


@dataclass(frozen=True)
class Source:
    """One recording of an archive: where it is and what it is called in the tables."""

    path: Path
    record_id: str


def sample_archive() -> Path:
    """The sample archive that ships inside the package (a few real 5-minute excerpts)."""
    return Path(str(files("ecgtk.sample_data")))


def find_recordings(archive: Path, glob: str | None = None,
                    exclude: Path | None = None) -> list[Source]:
    """Recordings of ``archive``: a folder (searched recursively) or a text file listing one
    path per line (relative to the list's folder; blank lines and ``#`` comments skipped).

    ``glob`` (e.g. ``"2026/**/*.edf"``) restricts a folder search; ``exclude`` is a folder to
    leave out (the output folder, when it lies inside the archive). Sorted by record id.
    """
    archive = Path(archive)
    if archive.is_dir():
        root = archive
        paths = [p for p in (root.glob(glob) if glob else _walk(root))
                 if p.suffix.lower() in RECORDING_SUFFIXES and p.is_file()
                 and not _hidden(p.relative_to(root))
                 and not (exclude and _inside(p, exclude))]
        ids = [record_id_of(p, root) for p in paths]
    elif archive.is_file():
        root = archive.parent
        entries = [Path(line.strip()).expanduser() for line in archive.read_text().splitlines()
                   if line.strip() and not line.lstrip().startswith("#")]
        if not entries:
            raise ArchiveError(f"{archive}: the list names no recordings")
        paths = [e if e.is_absolute() else root / e for e in entries]
        # a relative entry's id is the entry itself (relative to the list's folder)
        ids = [record_id_of(e, root) if e.is_absolute() else record_id_of(e, Path("."))
               for e in entries]
    else:
        raise ArchiveError(f"{archive}: no such folder or list file")
    by_id: dict[str, set[Path]] = {}
    for path, record_id in zip(paths, ids, strict=True):
        by_id.setdefault(record_id, set()).add(path)
    sources = []
    for record_id, same in by_id.items():
        if len(same) == 1:
            sources.append(Source(same.pop(), record_id))
        else:  # p1.edf and p1.hea side by side: each keeps its extension in the id
            sources += [Source(p, f"{record_id}{p.suffix}") for p in same]
    return sorted(sources, key=lambda source: source.record_id)


def record_id_of(path: Path, root: Path) -> str:
    """``path`` relative to ``root``, without its extension, with ``/`` separators.

    Both are taken as given, symbolic links not followed: a "tonight" folder of links into date
    folders names its recordings by the links' paths, not their targets'. A path outside
    ``root`` keeps its ``..`` (a list's entry ``../2025/p1.hea`` is ``../2025/p1``), except an
    absolute one, which becomes its absolute path without the leading ``/``.
    (:func:`find_recordings` keeps the extension when two files differ only by it.)"""
    relative = Path(os.path.relpath(os.path.abspath(path), os.path.abspath(root)))
    if Path(path).is_absolute() and relative.parts[:1] == ("..",):
        relative = Path(*Path(os.path.normpath(path)).parts[1:])
    return relative.with_suffix("").as_posix()


def output_name(record_id: str) -> str:
    """A flat file name for ``record_id``: readable slug plus a hash of the exact id."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", record_id.replace("/", "__")).strip("._") or "record"
    digest = hashlib.sha256(record_id.encode()).hexdigest()[:10]
    return f"{slug[:120]}-{digest}.parquet"


def source_files(path: Path) -> list[Path]:
    """The files a recording consists of: a WFDB header with its signal files, an NPY with its
    JSON sidecar, or the single file."""
    path = Path(path)
    found = [path]
    if path.suffix.lower() == ".hea":
        found += [p for p in path.parent.glob(f"{path.stem}.*")
                  if p.suffix.lower() in (".dat", ".mat", ".flac") and p.is_file()]
    elif path.suffix.lower() == ".npy":
        sidecar = path.with_suffix(".json")
        if sidecar.is_file():
            found.append(sidecar)
    return found


def source_fingerprint(path: Path) -> tuple[int, int]:
    """``(total bytes, newest mtime in ns)`` of the recording's files; ``(-1, -1)`` if absent.

    A recording whose fingerprint matches the one stored with its results is not redone.
    """
    try:
        stats = [os.stat(p) for p in source_files(path)]
    except OSError:
        return (-1, -1)
    return (sum(s.st_size for s in stats), max(s.st_mtime_ns for s in stats))


def _walk(root: Path) -> list[Path]:
    """Every file under ``root``, following links to folders (each real folder once), its
    paths spelled through ``root`` as given; hidden folders are not entered."""
    found, seen = [], set()
    for folder, subfolders, names in os.walk(root, followlinks=True):
        real = os.path.realpath(folder)
        if real in seen:  # a link loop, or a folder linked twice
            subfolders[:] = []
            continue
        seen.add(real)
        subfolders[:] = sorted(d for d in subfolders if not d.startswith((".", "_")))
        found += [Path(folder) / name for name in names]
    return found


def _hidden(relative: Path) -> bool:
    return any(part.startswith((".", "_")) for part in relative.parts)


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False
