"""The command line: a thin typer layer over the Python API.

Data goes to stdout, progress and messages to stderr; every error a user can cause ends as one
line ``trackmood: error: …`` on stderr and a non-zero exit code.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from .errors import DataError, TrackmoodError

app = typer.Typer(
    name="trackmood",
    help="Predict the mood of music tracks (Energetic, Calm, Happy, Sad) from audio features.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def err(message: str) -> None:
    """One line on stderr."""
    typer.echo(f"trackmood: {message}", err=True)


def fail(error: Exception) -> None:
    text = str(error).replace("\n", " ")
    typer.echo(f"trackmood: error: {text}", err=True)
    raise typer.Exit(getattr(error, "exit_code", 1))


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
        self.bar = progress_bar()
        self.labels = labels or {}
        self.tasks: dict[str, int] = {}

    def __enter__(self):
        self.bar.__enter__()
        return self

    def __exit__(self, *exc):
        return self.bar.__exit__(*exc)

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        if stage not in self.tasks:
            self.tasks[stage] = self.bar.add_task(self.labels.get(stage, stage), total=total)
        self.bar.update(self.tasks[stage], completed=done, total=total)


def _table_rows(path: str) -> int | None:
    """Rows in a Parquet file from its footer (cheap); ``None`` for other formats."""
    if Path(path).suffix.lower() not in (".parquet", ".pq"):
        return None
    try:
        import pyarrow.parquet as pq

        return pq.ParquetFile(path).metadata.num_rows
    except Exception:  # unreadable files are reported by the reader itself
        return None


def kind_of(ref: str) -> str:
    """``'table'``, ``'audio'``, ``'spotify'`` or ``'unknown'`` for one predict input."""
    from .audio.decode import AUDIO_SUFFIXES
    from .datasets import TABLE_SUFFIXES

    p = Path(ref)
    suffix = p.suffix.lower()
    if suffix in TABLE_SUFFIXES:
        return "table"
    if suffix in AUDIO_SUFFIXES or p.is_dir():
        return "audio"

    if (
        ref.startswith("spotify:")
        or "open.spotify.com/" in ref
        or (len(ref) == 22 and ref.isalnum() and not p.exists())
    ):
        return "spotify"
    return "unknown"


@app.command()
def predict(
    inputs: list[str] = typer.Argument(
        None,
        help="Feature tables (CSV/Parquet/JSON), audio files or "
        "folders, or Spotify track/playlist ids, URIs or URLs.",
    ),
    out: Path | None = typer.Option(
        None,
        "-o",
        "--out",
        help="Write predictions here (format from the suffix) instead of stdout.",
    ),
    fmt: str | None = typer.Option(
        None, "--format", "-f", help="table, csv, json or parquet (default: table on stdout)."
    ),
    model: str | None = typer.Option(
        None,
        "--model",
        "-m",
        help="Bundled model name or saved model folder (default: 'default', or 'audio' for audio).",
    ),
    feature: list[str] = typer.Option(
        None,
        "--feature",
        help="One track given as NAME=VALUE "
        "pairs, e.g. --feature energy=0.8 (repeat for each feature).",
    ),
    timeline: float | None = typer.Option(
        None,
        "--timeline",
        help="Audio only: the mood of "
        "each window of this many seconds, one row per "
        "window (and a PNG strip beside -o OUT).",
    ),
    chunksize: int = typer.Option(200_000, help="Rows per chunk when streaming large tables."),
):
    """Predict the mood of tracks: label, four probabilities and valence/energy quadrant."""
    from . import predict as P

    try:
        inputs = inputs or []
        if feature:
            if inputs:
                raise DataError("give either --feature values or input files, not both")
            record = features_from_options(feature)
            chosen = P.choose_model(record, model, notify=err)
            with P.AtomicOutput(out, P.output_format(out, fmt)) as sink:
                sink.write_record(P.predict_record(chosen, record, file="--feature"))
            return
        if not inputs:
            raise DataError(
                "nothing to predict: give a table, audio files, Spotify ids or --feature"
            )
        kinds = {ref: kind_of(ref) for ref in inputs}
        for ref, kind in kinds.items():
            if kind == "unknown":
                if not Path(ref).exists():
                    raise DataError("no such file, and not a Spotify id or URL", file=ref)
                raise DataError(
                    f"unsupported input type {Path(ref).suffix or '(no suffix)'!r}; "
                    "expected a table (.csv/.parquet/.json), audio, or a Spotify reference",
                    file=ref,
                )
        if set(kinds.values()) == {"table"} and len(inputs) == 1:
            total, done = _table_rows(inputs[0]), [0]
            with StageProgress() as progress:

                def advance(n: int) -> None:
                    done[0] += n
                    progress("predicting rows", done[0], total)

                P.predict_table(
                    inputs[0],
                    model=model,
                    out=out,
                    fmt=fmt,
                    chunksize=chunksize,
                    notify=err,
                    progress=advance,
                )
            return
        import pandas as pd

        frames = []
        for ref, kind in kinds.items():
            if kind == "table":
                from .datasets import read_table

                df = read_table(ref)
                chosen = P.choose_model(df.columns, model, file=ref, notify=err)
                frames.append(P.predict_frame(chosen, df, file=ref))
        audio = [r for r, k in kinds.items() if k == "audio"]
        if audio:
            from .sources import audio as A

            tracks = A.predict_audio(audio, model=model, timeline=timeline, out=out, notify=err)
            # with --timeline the table is the timeline itself: one row per window
            frames.append(A.timeline_table(tracks) if timeline else tracks)
        spotify = [r for r, k in kinds.items() if k == "spotify"]
        if spotify:
            from .sources import spotify as S

            frames.append(S.predict_refs(spotify, model=model, notify=err))
        result = pd.concat(frames, ignore_index=True)
        with P.AtomicOutput(out, P.output_format(out, fmt)) as sink:
            sink.write(result)
    except TrackmoodError as e:
        fail(e)
    except KeyboardInterrupt:
        interrupted()


def features_from_options(items: list[str]) -> dict:
    """``["energy=0.8", "valence=0.2,tempo=120"]`` → ``{"energy": 0.8, ...}`` with schema names."""
    from .features import canonical_column

    row = {}
    for item in items:
        for part in item.split(","):
            if not part.strip():
                continue
            if "=" not in part:
                raise DataError(f"--feature {part!r} must look like NAME=VALUE")
            k, v = part.split("=", 1)
            name = canonical_column(k)
            try:
                row[name] = float(v)
            except ValueError:
                raise DataError("not a number", column=name, value=v) from None
    return row


@app.command()
def info(
    model: str = typer.Argument("default", help="Bundled model name or saved model folder."),
    as_json: bool = typer.Option(False, "--json", help="Print the card as JSON."),
):
    """Show a model's card: features, classes, training data, metrics, versions, terms."""
    from .model.persistence import card_markdown, load_model

    try:
        m = load_model(model)
    except TrackmoodError as e:
        fail(e)
    if as_json:
        import json

        typer.echo(json.dumps(m.card, indent=1, default=str))
    else:
        typer.echo(card_markdown(m.card))


def _register_extensions() -> None:
    """Commands that live with their concern: training/evaluation, Spotify, audio, web."""
    from . import cli_audio, cli_library, cli_model, cli_spotify, cli_web

    for module in (cli_model, cli_spotify, cli_audio, cli_web, cli_library):
        module.register(app)


_register_extensions()


def interrupted() -> None:
    """Ctrl-C: say what is kept, exit 130 (no partial output file is left: writers are atomic)."""
    typer.echo(
        "trackmood: interrupted; finished work is kept in the library, run the same command "
        "to resume",
        err=True,
    )
    raise typer.Exit(130)


def main() -> None:
    """Console-script entry point."""
    app()
