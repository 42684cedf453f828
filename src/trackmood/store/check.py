"""Is the library file sound? And a fresh start that keeps the old file.

:func:`check` opens the file without changing it: SQLite's ``integrity_check``, the schema
version, whether it can be written, free space beside it and how many rows each table has.
:func:`start_fresh` moves a broken library (with its ``-wal``/``-shm`` companions) aside as
``<name>.broken-<YYYYmmdd-HHMMSS>`` and creates an empty library in its place.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import LibraryError
from ..paths import display
from . import faults
from .schema import SCHEMA_VERSION

TABLES = (
    "tracks",
    "features",
    "labels",
    "predictions",
    "embeddings",
    "lib_files",
    "lib_tag_changes",
    "kv",
)
#: Less free space than this beside the library counts as a full disk.
MIN_FREE = 1 << 20
FRESH = "run 'trackmood library check --fresh' to keep this file aside and start a new library"


@dataclass
class CheckReport:
    path: Path
    exists: bool = True
    version: int | None = None
    integrity: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    problem: str | None = None  # one line: what is wrong and what to do
    note: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None

    def lines(self) -> list[str]:
        out = [f"library\t{display(self.path)}"]
        if not self.exists:
            return out + ["state\tnot created yet (the first scan or prediction creates it)"]
        if self.version is not None:
            out.append(f"schema version\t{self.version} (this trackmood: {SCHEMA_VERSION})")
        if self.integrity:
            out.append(f"integrity\t{'; '.join(self.integrity[:3])}")
        out += [f"{t}\t{n}" for t, n in self.counts.items()]
        out.append(f"state\t{'sound' if self.ok else 'broken'}")
        return out


def check(path: str | Path) -> CheckReport:
    """Check the library at ``path`` (never raises for a bad file: the report says it)."""
    path = Path(path)
    rep = CheckReport(path)
    if not path.exists():
        rep.exists = False
        return rep
    name = display(path)
    if path.is_dir():
        rep.problem = f"{name}: cannot open the library: it is a folder, not a file; set TRACKMOOD_DB to a file"
        return rep
    try:
        conn = faults.connect(path, read_only=True)
    except LibraryError as e:
        rep.problem = str(e)
        return rep
    try:
        rows = [r[0] for r in conn.execute("PRAGMA integrity_check")]
        rep.integrity = rows
        if rows != ["ok"]:
            rep.problem = f"{name}: the library file is damaged ({rows[0]}); {FRESH}"
            return rep
        rep.version = conn.execute("PRAGMA user_version").fetchone()[0]
        have = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        for t in TABLES:
            if t in have:
                rep.counts[t] = conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        if rep.version > SCHEMA_VERSION:
            rep.problem = (
                f"{name}: library schema version {rep.version} is newer than this trackmood "
                f"({SCHEMA_VERSION}); upgrade trackmood"
            )
            return rep
        if rep.version < SCHEMA_VERSION:
            rep.note = f"version {rep.version}: upgraded (after a backup) when next used"
        conn.close()
        conn = faults.connect(path)  # can it be written? (read-only file or disk, a lock)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
    except LibraryError as e:
        if "not a SQLite" in str(e) or "damaged" in str(e) or "disk I/O" in str(e):
            rep.problem = f"{str(e).split(';')[0]}; {FRESH}"
        else:
            rep.problem = str(e)
        return rep
    finally:
        conn.close()
    if not os.access(path, os.W_OK) or not os.access(path.parent, os.W_OK):
        rep.problem = (
            f"{name}: the library file is read-only; make it (and its folder) writable, or "
            "set TRACKMOOD_DB to a writable file"
        )
    elif shutil.disk_usage(path.parent).free < MIN_FREE:
        rep.problem = (
            f"{name}: the disk of the library is full; free some space on it and run again"
        )
    return rep


def start_fresh(path: str | Path) -> tuple[Path, Path]:
    """Move the library at ``path`` (and its ``-wal``/``-shm``) aside and create an empty one.

    Returns ``(where the old file is now, the new library)``.
    """
    from .core import Store

    path = Path(path)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    old = path.with_name(f"{path.name}.broken-{stamp}")
    n = 1
    while old.exists():
        n += 1
        old = path.with_name(f"{path.name}.broken-{stamp}-{n}")
    try:
        for suffix in ("", "-wal", "-shm"):
            src = Path(f"{path}{suffix}")
            if src.exists():
                os.replace(src, f"{old}{suffix}")
    except OSError as e:
        raise LibraryError(
            f"{display(path)}: cannot move the library aside ({e.strerror or e}); make its "
            "folder writable, or set TRACKMOOD_DB to a new file",
            path=path,
        ) from None
    Store(path).close()
    return old, path
