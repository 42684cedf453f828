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
from pathlib import Path

from ..errors import LibraryError
from ..paths import display

CHECK = "run 'trackmood library check' to check it or start a new one"
LOW_SPACE = 256 * 1024  # bytes free below which the library's disk counts as full

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


MAGIC = b"SQLite format 3\x00"


def file_problem(path) -> str | None:
    """What the library file itself shows: missing, not SQLite (header overwritten), truncated.

    Reads its first 100 bytes (the SQLite header): cheap enough for every request, and it sees
    what the open connection does not (in WAL mode it keeps answering from its cache and the
    WAL file after the database file was overwritten).
    """
    if path is None or str(path) == ":memory:":
        return None
    try:
        with open(path, "rb") as fh:
            head = fh.read(100)
            size = os.fstat(fh.fileno()).st_size
    except FileNotFoundError:
        return "is missing (moved or deleted while the server runs)"
    except OSError as e:
        return f"cannot be read ({e.strerror or e})"
    if len(head) < 100 or not head.startswith(MAGIC):
        return "is damaged (not an SQLite database: its header is overwritten)"
    page = int.from_bytes(head[16:18], "big")
    page = 65536 if page == 1 else page
    pages = int.from_bytes(head[28:32], "big")
    valid = head[92:96] == head[24:28]  # the page count is only meant when these agree
    if valid and pages and size < pages * page:
        return f"is damaged (truncated: {size:,} of {pages * page:,} bytes)"
    return None


class LibraryHealth:
    """The library's state as requests and ``/health`` see it.

    :meth:`verify` (every request that uses the library) reads the file's header;
    :meth:`check` (``/health``) adds the file system's flags and free space, and the last
    problem a request met (read-only, full, damaged pages), which is kept until a request that
    changes something succeeds again, or, for read-only and full, until the file is writable and
    the disk has space again.
    """

    def __init__(self, path):
        self.path = path
        self.problem: str | None = None  # the last one-line reason

    def _line(self, what: str) -> str:
        todo = (
            "free some space"
            if "full" in what
            else "make the file and its folder writable"
            if "read-only" in what
            else CHECK
        )
        return f"library {display(str(self.path))} {what}; {todo}"

    def explain(self, exc: BaseException) -> str:
        """One line for ``exc``: what the file and its disk show if they explain it (read-only,
        full, damaged), else SQLite's reason.
        """
        if isinstance(exc, LibraryError):
            return describe(exc, self.path)
        what = file_problem(self.path) or disk_problem(self.path)
        return self._line(what) if what is not None else describe(exc, self.path)

    def failed(self, message: str) -> None:
        self.problem = message

    def recovered(self) -> None:
        self.problem = None

    def verify(self) -> None:
        """Raise :class:`~trackmood.errors.LibraryError` if the file is missing or damaged."""
        what = file_problem(self.path)
        if what is not None:
            self.problem = self._line(what)
            raise LibraryError(self.problem, path=self.path)

    def check(self, store) -> str | None:
        """The current problem (a one-line reason) or ``None``, without touching SQLite."""
        what = file_problem(self.path) or disk_problem(self.path)
        if store is None:
            if what is not None:
                return self._line(what)
            return self.problem or f"library {display(str(self.path))} is not open"
        if what is not None:
            self.problem = self._line(what)
        elif self.problem is not None and any(
            w in self.problem
            for w in (
                "read-only",
                "readonly",
                "disk is full",
                "missing",
                "overwritten",
                "truncated",
            )
        ):
            self.problem = None  # the file and the disk look usable again
        return self.problem
