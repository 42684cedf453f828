"""What every command shares: the one error handler (with flag hints), progress bars, Ctrl-C.

Command modules import from here, never from :mod:`trackmood.cli` itself (no import circles).

>>> hint("timeline window 0 must be a positive number of seconds")
'timeline window 0 must be a positive number of seconds (--timeline)'
>>> hint("unknown feature 'enrgy'; did you mean 'energy'?")
"unknown feature 'enrgy'; did you mean 'energy'? (--feature)"
"""

from __future__ import annotations

import sys

import typer

#: Library messages speak of values; the CLI names the flag that sets them.
FLAG_HINTS: tuple[tuple[str, str], ...] = (
    ("timeline window", "--timeline"),
    ("unknown output format", "--format"),
    ("parquet output needs a file", "-o OUT.parquet"),
    ("unknown feature", "--feature"),
    ("must look like NAME=VALUE", "--feature"),
    ("reads Spotify-style feature tables, not audio", "--model audio"),
    ("no model at ", "--model"),
    ("the output is one of the inputs", "-o"),
    ("give a file name for the output", "-o"),
)


def hint(message: str) -> str:
    """``message`` with the flag that sets the value it speaks of, if any."""
    for phrase, flag in FLAG_HINTS:
        if phrase in message and flag not in message:
            return f"{message} ({flag})"
    return message


def err(message: str) -> None:
    """One line on stderr."""
    typer.echo(f"trackmood: {message}", err=True)


def fail(error: Exception) -> None:
    """The one error handler: ``trackmood: error: …`` on one line, and the error's exit code."""
    text = " ".join(str(error).split("\n"))
    typer.echo(f"trackmood: error: {hint(text)}", err=True)
    raise typer.Exit(getattr(error, "exit_code", 1))


def interrupted() -> None:
    """Ctrl-C: say what is kept, exit 130 (no partial output file is left: writers are atomic)."""
    typer.echo(
        "trackmood: interrupted; finished work is kept in the library, run the same command "
        "to resume",
        err=True,
    )
    raise typer.Exit(130)


def progress_bar():
    """A rich progress display on stderr, shown only when stderr is a terminal."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
        disable=not sys.stderr.isatty(),
    )


class StageProgress:
    """``progress(stage, done, total)`` callbacks onto one rich bar per stage (stderr).

    Used as a context manager around long work; ``labels`` renames stages for people.
    """

    def __init__(self, labels: dict[str, str] | None = None):
        # no terminal, no bar: then rich (~20 ms of imports) is not even loaded
        self.bar = progress_bar() if sys.stderr.isatty() else None
        self.labels = labels or {}
        self.tasks: dict[str, int] = {}

    def __enter__(self):
        if self.bar is not None:
            self.bar.__enter__()
        return self

    def __exit__(self, *exc):
        return self.bar.__exit__(*exc) if self.bar is not None else None

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        if self.bar is None:
            return
        if stage not in self.tasks:
            self.tasks[stage] = self.bar.add_task(self.labels.get(stage, stage), total=total)
        self.bar.update(self.tasks[stage], completed=done, total=total)


_PLAIN = {"str": "TEXT", "int": "INTEGER", "float": "NUMBER", "path": "PATH", "bool": None}


def plain_help_types() -> None:
    """Show option types in ``--help`` as ``TEXT``/``INTEGER``/``PATH``, not ``<list[str]>``.

    typer renders the Python annotation (``<bool>``, ``<list[str]>``) in its rich help; flags get
    no type at all, and lists read ``TEXT...``.
    """
    from typer import core

    def display_type_rich(self, ctx):
        if self.metavar is not None:  # an argument shows it as its name already
            return None if isinstance(self, core.TyperArgument) else self.metavar
        if getattr(self, "is_flag", False):
            return None
        raw = self.display_type(ctx).strip("<>")
        many = raw.startswith("list[") or self.nargs != 1
        base = raw[5:-1] if raw.startswith("list[") else raw
        if base.endswith(" range"):
            base = base[: -len(" range")]
        label = _PLAIN.get(base, base.upper())
        if label is None:
            return None
        return f"{label}..." if many else label

    for cls in (core.TyperOption, core.TyperArgument):
        cls.display_type_rich = display_type_rich
