"""A broken library, as the web app reports it: 503 with a one-line reason, and ``/health``.

The library (one SQLite file) can be damaged, unreadable, read-only or on a full disk, at start
or while the server runs. Requests that need it then answer 503 with a line that names the file,
what is wrong and what to do; ``/health`` answers 503 ``{"status": "degraded", "library":
"unavailable: ..."}`` until it works again.

>>> import sqlite3
>>> print(describe(sqlite3.DatabaseError("file is not a database"), "/m/library.sqlite"))
library /m/library.sqlite is damaged (file is not a database); run 'trackmood library check' to check it or start a new one
>>> is_library_error(sqlite3.IntegrityError("UNIQUE constraint failed"))
False
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

from ..errors import LibraryError
from ..paths import display

CHECK = "run 'trackmood library check' to check it or start a new one"
LOW_SPACE = 256 * 1024  # bytes free below which the library's disk counts as full
_PROBE_EVERY = 1.0  # seconds between two probes of the library by /health

_KINDS = (  # (words in SQLite's message, what it means, what to do)
    (("not a database", "malformed", "corrupt"), "is damaged", CHECK),
    (("readonly", "read-only"), "is read-only", "make the file and its folder writable"),
    (("full",), "cannot grow: the disk is full", "free some space"),
    (("disk i/o",), "cannot be read or written (disk I/O error)", CHECK),
    (("unable to open",), "cannot be opened", "check the file and its folder, or " + CHECK),
    (("locked", "busy"), "is locked by another program", "try again in a moment"),
)


def is_library_error(exc: BaseException) -> bool:
    """Whether ``exc`` says the library file cannot be used (not a bug in a query)."""
    if isinstance(exc, LibraryError):
        return True
    return type(exc) in (sqlite3.DatabaseError, sqlite3.OperationalError, sqlite3.InternalError)


def describe(exc: BaseException, path) -> str:
    """One line: the library file, what is wrong and what to do."""
    if isinstance(exc, LibraryError):
        return str(exc).replace("\n", " ")
    detail = str(exc).replace("\n", " ")[:200] or type(exc).__name__
    low = detail.lower()
    for words, meaning, todo in _KINDS:
        if any(w in low for w in words):
            return f"library {display(str(path))} {meaning} ({detail}); {todo}"
    return f"library {display(str(path))} cannot be used ({detail}); {CHECK}"


def disk_problem(path) -> str | None:
    """What the file system of the library says: read-only, or (almost) no space left."""
    if path is None or str(path) == ":memory:":
        return None
    folder = Path(path).parent
    try:
        st = os.statvfs(folder)
    except OSError as e:
        return f"is in a folder that cannot be read ({e.strerror or e})"
    if st.f_flag & os.ST_RDONLY:
        return "is on a read-only file system"
    if os.path.exists(path) and not os.access(path, os.W_OK):  # also immutable (chattr +i)
        return "is read-only"
    if st.f_bavail * st.f_frsize < LOW_SPACE:
        return "cannot grow: the disk is full"
    return None


class LibraryHealth:
    """The library's state as ``/health`` tells it: the last problem a request met, and a cheap
    probe (a read of the schema, the file system's flags and free space) at most once a second.

    A problem a request met is kept until a request that changes something succeeds again or
    the probe finds the file writable and the disk with space after a write problem (read-only,
    full) was fixed; a damaged file stays reported until a write succeeds.
    """

    def __init__(self, path):
        self.path = path
        self.problem: str | None = None  # the last one-line reason
        self._probed = 0.0

    def failed(self, message: str) -> None:
        self.problem = message

    def recovered(self) -> None:
        self.problem = None

    def check(self, store, lock) -> str | None:
        """The current problem (a one-line reason) or ``None``; never blocks on ``lock``."""
        if store is None:
            return self.problem or f"library {display(str(self.path))} is not open"
        now = time.monotonic()
        if now - self._probed < _PROBE_EVERY:
            return self.problem
        if not lock.acquire(blocking=False):
            return self.problem  # a request is using it: the last known state
        try:
            self._probed = now
            store.conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.Error as e:
            self.problem = describe(e, self.path)
            return self.problem
        finally:
            lock.release()
        disk = disk_problem(self.path)
        if disk is not None:
            self.problem = f"library {display(str(self.path))} {disk}; " + (
                "free some space" if "full" in disk else "make the file and its folder writable"
            )
        elif self.problem is not None and any(
            w in self.problem for w in ("read-only", "readonly", "disk is full")
        ):
            self.problem = None  # the probe read it and the disk takes writes again
        return self.problem
