"""One exception root for everything a user can cause.

Every message names the bad thing (file, row, column, value) and, where there is one,
the next step. The CLI prints ``str(error)`` as one line on stderr and exits non-zero.

An error about the value of one parameter carries its name in library terms (``param=``:
``'timeline'``, ``'output_format'``, ``'output'``, ``'feature'``, ``'features'``, ``'model'``,
``'label'``, ``'label_map'``, ``'max_retry_after'``); the CLI maps it to the flag that sets it
(:data:`trackmood.cli.common.PARAM_HINTS`), so no caller matches the text of a message.

>>> DataError("timeline window 0 must be a positive number of seconds", param="timeline").param
'timeline'
"""

from __future__ import annotations


class TrackmoodError(Exception):
    """Root of all trackmood errors; ``str()`` is a complete one-line message.

    ``param``: the parameter whose value is wrong, in library terms (``None`` if no one is).
    """

    exit_code = 1
    param: str | None = None

    def __init__(self, *args: object, param: str | None = None):
        super().__init__(*args)
        if param is not None:
            self.param = param


class DataError(TrackmoodError):
    """A bad input table or value.

    Parameters
    ----------
    message : str
        What is wrong.
    file, row, column, value : optional
        Where it is. ``row`` is the 1-based data row (the header is row 0).
    param : str, optional
        The parameter whose value is wrong (see :class:`TrackmoodError`).
    """

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        file=None,
        row=None,
        column=None,
        value=None,
        param: str | None = None,
    ):
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
        super().__init__(f"{prefix}: {text}" if prefix else text, param=param)


class LabelError(DataError):
    """An unknown or conflicting mood label; ``label`` is the label as given, when known."""

    def __init__(self, message: str, *, label: str | None = None, **where):
        self.label = label
        super().__init__(message, **where)


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

    def __init__(self, message: str, *, path=None, param: str | None = None):
        self.path = path
        super().__init__(message, param=param)


class RateLimitError(SourceError):
    """A remote API asked us to wait longer than we are allowed to, or its quota is spent."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        quota: bool = False,
        param: str | None = None,
    ):
        self.retry_after, self.quota = retry_after, quota
        super().__init__(message, param=param)
