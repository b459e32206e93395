"""An output folder of ``ecgtk run``: which files are whose, whether they are whole, and locks.

Each recording has four Parquet files named by :func:`ecgtk.engines.archive.output_name`, one
in each of ``beats/``, ``clusters/``, ``events/`` and ``records/``; the records file is written
last (the commit mark). A recording counts as done only when its records row opens, all four
files' footers open, each file says (in its key-value metadata) that it belongs to this
recording, and the beats file holds as many rows as the records row counts beats (``n_beats +
n_artefact``). Footers are enough for that: resuming an archive of thousands of recordings
reads no beats table whole. :func:`check_folder` (``ecgtk check``) applies the same test to a
whole folder and also lists orphans: outputs without a records row, temporaries.

One writer per recording: :func:`recording_lock` holds ``OUT/.locks/<name>.lock`` with
``flock`` while a recording is analysed and written. The kernel releases it when the holder
dies, so a killed run never leaves a stale lock. (``flock`` exists on Linux and macOS; on
other systems the lock is a no-op.)
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq

from ecgtk.engines.archive import output_name

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no locks
    fcntl = None

TABLES = ("beats", "clusters", "events", "records")
LOCKS = ".locks"
#: Columns of each table's files (a file without them is foreign).
_KEY_COLUMNS = {"beats": ("record_id", "sample", "label"), "clusters": ("record_id", "cluster"),
                "events": ("record_id", "kind"), "records": ("record_id", "status")}
_ROW_COLUMNS = ["record_id", "status", "n_beats", "n_artefact", "source_bytes",
                "source_mtime_ns"]


class OutputFull(Exception):
    """The output folder's disk (or quota) is full: the run stops; a re-run resumes."""

    def __init__(self, folder: str, detail: str = "") -> None:
        super().__init__(folder, detail)
        self.folder, self.detail = folder, detail

    def __str__(self) -> str:
        return f"no space left on the disk of {self.folder}" + (
            f" ({self.detail})" if self.detail else "")


def is_disk_full(error: BaseException) -> bool:
    """Whether ``error`` says the disk or the user's quota is full."""
    return isinstance(error, OSError) and (
        error.errno in (errno.ENOSPC, errno.EDQUOT) or "No space left" in str(error))


def output_paths(out_dir: Path, record_id: str) -> dict[str, Path]:
    """Where a recording's files go, one per table."""
    name = output_name(record_id)
    return {table: Path(out_dir) / table / name for table in TABLES}


def read_records_row(path: Path) -> dict:
    """The resume columns of a records file's one row (raises if it is unreadable)."""
    table = pq.ParquetFile(path).read(columns=_ROW_COLUMNS)
    if table.num_rows != 1:
        raise ValueError(f"{table.num_rows} rows instead of 1")
    return table.to_pylist()[0]


def recording_problems(out_dir: Path, record_id: str,
                       deep: bool = False) -> tuple[dict | None, list[str]]:
    """A recording's records row (None if it has none that opens) and what is wrong with its
    outputs, in words (empty when the four files are whole and agree). ``deep`` reads every
    file whole instead of its footer only."""
    paths = output_paths(out_dir, record_id)
    problems: list[str] = []
    try:
        row = read_records_row(paths["records"])
    except FileNotFoundError:
        return None, ["no records row"]
    except Exception as error:  # truncated, foreign, not Parquet
        return None, [f"records file unreadable ({_gist(error)})"]
    if row["record_id"] != record_id:
        problems.append(f"records row is for {row['record_id']!r}")
    expected_beats = (row["n_beats"] or 0) + (row["n_artefact"] or 0)
    for table in TABLES:
        path = paths[table]
        if not path.is_file():
            problems.append(f"{table} file missing")
            continue
        try:
            meta = pq.read_metadata(path)
            if deep:
                pq.read_table(path)
        except Exception as error:
            problems.append(f"{table} file unreadable ({_gist(error)})")
            continue
        owner = (meta.metadata or {}).get(b"record_id", b"").decode(errors="replace")
        missing = [c for c in _KEY_COLUMNS[table] if c not in meta.schema.names]
        if missing:
            problems.append(f"{table} file lacks columns {missing}")
        elif owner != record_id:
            problems.append(f"{table} file belongs to {owner!r}")
        elif table == "beats" and meta.num_rows != expected_beats:
            problems.append(f"beats file has {meta.num_rows} rows, its records row counts "
                            f"{expected_beats}")
    return row, problems


def finished_status(source, out_dir: Path, written_since_ns: int | None = None) -> str | None:
    """The stored status ("ok" or "error") of a recording whose four files are whole and agree
    and whose source (a :class:`~ecgtk.engines.archive.Source`) is unchanged since; None when
    it must be (re)done. With ``written_since_ns``, outputs written before then count as not
    done (``--force``: only what a concurrent run has just written is kept)."""
    from ecgtk.engines.archive import source_fingerprint

    paths = output_paths(out_dir, source.record_id)
    if not paths["records"].is_file():
        return None
    if written_since_ns is not None and paths["records"].stat().st_mtime_ns < written_since_ns:
        return None
    row, problems = recording_problems(out_dir, source.record_id)
    if row is None or problems:
        return None
    if (row["source_bytes"], row["source_mtime_ns"]) != source_fingerprint(source.path):
        return None
    return row["status"]


def remove_outputs(out_dir: Path, record_id: str) -> int:
    """Delete a recording's files (the records file first, so that it is never done with
    half its files) and its temporaries; returns how many were removed."""
    removed = 0
    name = output_name(record_id)
    for table in ("records", "beats", "clusters", "events"):
        folder = Path(out_dir) / table
        for path in [folder / name, *folder.glob(f".{name}.tmp-*")]:
            try:
                path.unlink()
                removed += 1
            except FileNotFoundError:
                pass
    return removed


def has_outputs(out_dir: Path, record_id: str) -> bool:
    """Whether any of the recording's four files exists."""
    return any(p.exists() for p in output_paths(out_dir, record_id).values())


@contextmanager
def recording_lock(out_dir: Path, record_id: str) -> Iterator[bool]:
    """Try to become the one process writing ``record_id`` in ``out_dir``: yields True when
    this process holds the lock for the block, False when another process holds it."""
    if fcntl is None:  # pragma: no cover
        yield True
        return
    folder = Path(out_dir) / LOCKS
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(folder / f"{output_name(record_id)}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as error:
        if is_disk_full(error):
            raise OutputFull(str(out_dir), "cannot create a lock file") from error
        raise
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)  # releases the lock


def _lock_free(out_dir: Path, name: str) -> bool:
    """Whether no process holds the lock of the output file name ``name`` right now."""
    if fcntl is None:  # pragma: no cover
        return True
    path = Path(out_dir) / LOCKS / f"{name}.lock"
    if not path.exists():
        return True
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def remove_stale_temporaries(out_dir: Path) -> int:
    """Delete temporary files that a killed run left behind (not those of a recording another
    run is writing now); returns how many."""
    removed = 0
    for table in TABLES:
        folder = Path(out_dir) / table
        if folder.is_dir():
            for tmp in folder.glob(".*.tmp-*"):
                if _lock_free(out_dir, tmp.name[1:].split(".tmp-")[0]):
                    tmp.unlink(missing_ok=True)
                    removed += 1
    return removed


@dataclass
class FolderReport:
    """What :func:`check_folder` found in an output folder."""

    folder: Path
    recordings: int = 0  # records files that open
    ok: int = 0
    failed: int = 0  # error rows
    damaged: list[dict] = field(default_factory=list)  # record_id, problems
    orphans: list[dict] = field(default_factory=list)  # path, why

    @property
    def clean(self) -> bool:
        return not self.damaged and not self.orphans

    def as_dict(self) -> dict:
        return {"folder": str(self.folder), "recordings": self.recordings, "ok": self.ok,
                "failed": self.failed, "damaged": self.damaged, "orphans": self.orphans,
                "clean": self.clean}


def check_folder(out_dir: Path, deep: bool = False) -> FolderReport:
    """Check every recording of an output folder, without its archive: damaged recordings
    (a file missing, unreadable, or disagreeing with the records row) and orphans (files
    without a records row, temporaries). ``deep`` reads each file whole, not only footers."""
    out_dir = Path(out_dir)
    report = FolderReport(out_dir)
    owners: dict[str, str] = {}  # output file name -> record id, from the records files
    for path in sorted((out_dir / "records").glob("*.parquet")):
        try:
            record_id = read_records_row(path)["record_id"]
        except Exception as error:
            report.damaged.append({"record_id": None, "file": str(path),
                                   "problems": [f"records file unreadable ({_gist(error)})"]})
            owners[path.name] = ""
            continue
        owners[path.name] = record_id
        if output_name(record_id) != path.name:
            report.orphans.append({"path": str(path),
                                   "why": f"records row of {record_id!r} under another name"})
            continue
        row, problems = recording_problems(out_dir, record_id, deep)
        report.recordings += 1
        report.ok += row["status"] == "ok"
        report.failed += row["status"] != "ok"
        if problems:
            report.damaged.append({"record_id": record_id, "file": str(path),
                                   "problems": problems})
    for table in TABLES:
        folder = out_dir / table
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if path.name.startswith(".") and ".tmp-" in path.name:
                busy = not _lock_free(out_dir, path.name[1:].split(".tmp-")[0])
                report.orphans.append({"path": str(path), "why": "temporary file" + (
                    " (a run is writing it now)" if busy else " of a killed run")})
            elif path.suffix == ".parquet" and path.name not in owners:
                report.orphans.append({"path": str(path), "why": "no records row"})
    return report


def _gist(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__
