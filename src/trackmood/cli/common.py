"""What every command shares: the one error handler (with flag hints), progress bars, Ctrl-C.

Command modules import from here, never from :mod:`trackmood.cli` itself (no import circles).

>>> hint("timeline window 0 must be a positive number of seconds", param="timeline")
'timeline window 0 must be a positive number of seconds (--timeline)'
>>> hint("unknown feature 'enrgy'; did you mean 'energy'?", param="feature")
"unknown feature 'enrgy'; did you mean 'energy'? (--feature)"
"""

from __future__ import annotations

import re
import sys

import typer

from ..paths import display

#: Library errors name the parameter whose value is wrong (``error.param``, in library terms);
#: the CLI names the flag that sets it. Each entry is ``param: (hint, commands it fits or None
#: for all)``; a hint may use ``{value}`` (the bad label, ``error.label``) and ``{file}`` (the
#: file, ``error.file``).
PARAM_HINTS: dict[str, tuple[str, tuple[str, ...] | None]] = {
    "timeline": ("--timeline", None),
    "output_format": ("--format", None),
    "output": ("-o", None),
    "feature": ("--feature", None),
    "features": ("--features", ("train",)),
    "model": ("--model", None),
    "max_retry_after": ("--max-retry-after", None),
    "label_map": ("--label-map", ("train", "evaluate")),
    "label": (
        "map it with {file}:{value}=MOOD for this file or --label-map {value}=MOOD for every "
        "file, or drop its rows with {value}=; pairs are comma-separated",
        ("train", "evaluate"),
    ),
}


def hint(
    message: str,
    command: str | None = None,
    *,
    param: str | None = None,
    file: object = None,
    value: object = None,
) -> str:
    """``message`` with the flag that sets ``param`` (an error's parameter), if one fits
    ``command`` and the message does not name it already.

    >>> hint("unknown mood label 'Angry'; expected one of Calm, Energetic, Happy, Sad", "label",
    ...      param="label", value="Angry")
    "unknown mood label 'Angry'; expected one of Calm, Energetic, Happy, Sad"
    >>> hint("a.csv, row 3, column 'mood': unknown mood label 'Relaxing'", "train",
    ...      param="label", file="a.csv", value="Relaxing")
    "a.csv, row 3, column 'mood': unknown mood label 'Relaxing' (map it with a.csv:Relaxing=MOOD \
for this file or --label-map Relaxing=MOOD for every file, or drop its rows with Relaxing=; \
pairs are comma-separated)"
    """
    if param not in PARAM_HINTS:
        return message
    flag, commands = PARAM_HINTS[param]
    if commands is not None and command not in commands:
        return message
    if "{" in flag:
        flag = flag.format(
            value=display(str(value)) if value is not None else "OLD",
            file=display(str(file)) if file is not None else "FILE",
        )
    elif re.search(rf"(?<![\w/-]){re.escape(flag.split()[0])}(?![\w-])", message):
        return message  # the message names the flag already (not inside a path or a word)
    return f"{message} ({flag})"


def err(message: str) -> None:
    """A message on stderr, file names in it escaped (control characters, bytes not UTF-8).

    A line break the message itself holds (e.g. a URL put on a line of its own to copy) is kept;
    a path that could hold one is escaped by the code that puts it in the message.
    """
    lines = message.split("\n")
    typer.echo("trackmood: " + "\n".join(display(line) for line in lines), err=True)


def fail(error: Exception, command: str | None = None) -> None:
    """The one error handler: ``trackmood: error: …`` on one line, and the error's exit code.

    ``command`` (``train``, ``evaluate`` …) selects the hints that fit it (:data:`PARAM_HINTS`);
    the hint comes from the error's ``param``, never from its text.
    """
    text = display(" ".join(str(error).split("\n")))
    line = hint(
        text,
        command,
        param=getattr(error, "param", None),
        file=getattr(error, "file", None),
        value=getattr(error, "label", None),
    )
    typer.echo(f"trackmood: error: {line}", err=True)
    raise typer.Exit(getattr(error, "exit_code", 1))


def playlists_group(app: typer.Typer) -> typer.Typer:
    """The ``trackmood playlists`` command group (made on first use; several modules add to it)."""
    found = next((g.typer_instance for g in app.registered_groups if g.name == "playlists"), None)
    if found is None:
        found = typer.Typer(help="Mood playlists.", no_args_is_help=True)
        app.add_typer(found, name="playlists")
    return found


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
        cls.display_type_rich = display_type_rich  # type: ignore[method-assign]  # patching typer
