"""One exception root for everything a user can cause.

Every message names the bad thing (file, row, column, value) and, where there is one,
the next step. The CLI prints ``str(error)`` as one line on stderr and exits non-zero.
"""

from __future__ import annotations


class TrackmoodError(Exception):
    """Root of all trackmood errors; ``str()`` is a complete one-line message."""

    exit_code = 1


class DataError(TrackmoodError):
    """A bad input table or value.

    Parameters
    ----------
    message : str
        What is wrong.
    file, row, column, value : optional
        Where it is. ``row`` is the 1-based data row (the header is row 0).
    """

    exit_code = 2

    def __init__(self, message: str, *, file=None, row=None, column=None, value=None):
        if hasattr(value, "item"):  # numpy scalar -> plain Python for a readable message
            value = value.item()
        self.file, self.row, self.column, self.value = file, row, column, value
        where = []
        if file is not None:
            where.append(str(file))
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {column!r}")
        prefix = ", ".join(where)
        text = message if value is None else f"{message} (value {value!r})"
        super().__init__(f"{prefix}: {text}" if prefix else text)


class LabelError(DataError):
    """An unknown or conflicting mood label."""


class ModelError(TrackmoodError):
    """A model that cannot be found, loaded or used for the given input."""

    exit_code = 3


class SourceError(TrackmoodError):
    """A feature source (Spotify, ReccoBeats, audio decoder) failed."""

    exit_code = 4


class LibraryError(TrackmoodError):
    """The library file (the SQLite store) cannot be opened, read or written.

    ``str()`` names the file, what is wrong and what to do (e.g. run ``trackmood library check``).
    The CLI exits with :attr:`exit_code`; the web app answers 503.

    Parameters
    ----------
    message : str
        The whole one-line message (file, problem, next step).
    path : optional
        The library file.
    """

    exit_code = 5

    def __init__(self, message: str, *, path=None):
        self.path = path
        super().__init__(message)


class RateLimitError(SourceError):
    """A remote API asked us to wait longer than we are allowed to, or its quota is spent."""

    def __init__(self, message: str, *, retry_after: float | None = None, quota: bool = False):
        self.retry_after, self.quota = retry_after, quota
        super().__init__(message)
