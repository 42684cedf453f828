"""The library file's faults in plain words: every SQLite error that says something about the
file (damaged, not a database, read-only, full, locked, unreadable) becomes a
:class:`~trackmood.errors.LibraryError` naming the file, the cause and what to do.

The store's connection is a :class:`Connection` whose cursors translate those errors wherever
they surface (open, query, fetch, commit); errors of the SQL itself (a bug) pass unchanged.

>>> e = sqlite3.DatabaseError("file is not a database")
>>> e.sqlite_errorcode = 26
>>> print(library_error(e, "/m/library.sqlite"))
/m/library.sqlite: the library file is not a SQLite database (damaged or overwritten); run 'trackmood library check' (it can start a new library and keep this file)
"""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from pathlib import Path

from ..errors import LibraryError
from ..paths import display

CHECK = "run 'trackmood library check' (it can start a new library and keep this file)"

#: SQLite primary result code → (cause, what to do).
CAUSES: dict[int, tuple[str, str]] = {
    3: ("cannot be accessed (permission denied)", "make it readable and writable for you"),
    5: ("is locked by another program", "wait for it to finish (or close it) and run again"),
    6: ("is locked by another program", "wait for it to finish (or close it) and run again"),
    8: (
        "is read-only",
        "make it (and its folder) writable, or set TRACKMOOD_DB to a writable file",
    ),
    10: ("could not be read or written (disk I/O error)", CHECK),
    11: ("is damaged (malformed database)", CHECK),
    13: ("cannot grow: the disk is full", "free some space on its disk and run again"),
    14: (
        "cannot be opened",
        "check that the file and its folder exist and are readable and writable",
    ),
    26: ("is not a SQLite database (damaged or overwritten)", CHECK),
    # not SQLite codes: what the file system says (see _refine)
    1008: (
        "is on a read-only file system",
        "remount it writable, or set TRACKMOOD_DB to a file on a writable disk",
    ),
}
#: When the error carries no code (old Pythons), its text tells the cause.
_BY_TEXT = (
    ("not a database", 26),
    ("malformed", 11),
    ("readonly", 8),
    ("read-only", 8),
    ("disk is full", 13),
    ("locked", 5),
    ("unable to open", 14),
    ("disk i/o", 10),
)


def code_of(error: sqlite3.Error) -> int | None:
    """The primary SQLite result code of ``error`` when it is about the file, else ``None``."""
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None:
        code &= 0xFF
        return code if code in CAUSES else None
    text = str(error).lower()
    return next((c for phrase, c in _BY_TEXT if phrase in text), None)


def library_error(error: sqlite3.Error, path) -> LibraryError | None:
    """The :class:`LibraryError` for ``error`` on the library ``path``; ``None`` for SQL bugs."""
    code = code_of(error)
    if code is None:
        return None
    if code in (10, 13, 14, 8) and isinstance(path, Path):
        code = _refine(code, path)
    cause, todo = CAUSES[code]
    name = display(path) if isinstance(path, (str, Path)) else str(path)
    word = "file is" if cause.startswith("not") else "file"
    word = "file " + cause if not cause.startswith("is ") else "file " + cause
    return LibraryError(f"{name}: the library {word}; {todo}", path=path)


def _refine(code: int, path: Path) -> int:
    """An I/O error or a file that cannot be opened is often a read-only or full disk."""
    import os
    import shutil

    folder = path.parent
    try:
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return 1008
        if path.exists() and not os.access(path, os.W_OK):  # also an immutable file, for root
            return 8
        if shutil.disk_usage(folder).free < 64 * 1024:
            return 13
    except OSError:
        pass
    return code


@contextmanager
def translated(path):
    """Raise the :class:`LibraryError` of any SQLite fault about the file inside the block."""
    try:
        yield
    except sqlite3.Error as e:
        lib = library_error(e, path)
        if lib is None:
            raise
        raise lib from e


def _raise(error: sqlite3.Error, path):
    lib = library_error(error, path)
    if lib is None:
        raise error
    raise lib from error


class Cursor(sqlite3.Cursor):
    """A cursor whose file faults are :class:`LibraryError` (also while fetching rows)."""

    def execute(self, *args):
        try:
            return super().execute(*args)
        except sqlite3.Error as e:
            _raise(e, self.connection.library_path)

    def executemany(self, *args):
        try:
            return super().executemany(*args)
        except sqlite3.Error as e:
            _raise(e, self.connection.library_path)

    def executescript(self, *args):
        try:
            return super().executescript(*args)
        except sqlite3.Error as e:
            _raise(e, self.connection.library_path)

    def fetchone(self):
        try:
            return super().fetchone()
        except sqlite3.Error as e:
            _raise(e, self.connection.library_path)

    def fetchmany(self, *args):
        try:
            return super().fetchmany(*args)
        except sqlite3.Error as e:
            _raise(e, self.connection.library_path)

    def fetchall(self):
        try:
            return super().fetchall()
        except sqlite3.Error as e:
            _raise(e, self.connection.library_path)

    def __next__(self):
        try:
            return super().__next__()
        except sqlite3.Error as e:
            _raise(e, self.connection.library_path)


class Connection(sqlite3.Connection):
    """The store's connection: ``execute`` and friends go through :class:`Cursor`."""

    library_path: object = None

    def cursor(self, factory=Cursor):
        return super().cursor(factory)

    def execute(self, sql, parameters=()):
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql, parameters):
        return self.cursor().executemany(sql, parameters)

    def executescript(self, script):
        return self.cursor().executescript(script)

    def commit(self):
        with translated(self.library_path):
            return super().commit()


def connect(path, *, read_only: bool = False) -> Connection:
    """Open ``path`` (a file or ``:memory:``) with the translating connection; ``read_only``
    opens it without ever changing it or its ``-wal`` (for a check).
    """
    target, uri = str(path), False
    if read_only:
        try:
            target, uri = Path(path).resolve().as_uri() + "?mode=ro", True
        except ValueError:
            pass
    with translated(path):
        conn = sqlite3.connect(
            target,
            timeout=30,
            isolation_level=None,
            check_same_thread=False,
            factory=Connection,
            uri=uri,
        )
    conn.library_path = path
    return conn
