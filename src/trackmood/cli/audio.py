"""CLI commands for the audio concern (registered by :mod:`trackmood.cli`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Add this concern's commands to app."""

    @app.command()
    def extract(
        paths: Annotated[
            list[str],
            typer.Argument(
                help="Audio files and folders (searched recursively): MP3, FLAC, OGG/Vorbis, Opus, "
                "WAV, M4A/AAC."
            ),
        ],
        out: Annotated[
            Path | None,
            typer.Option(
                "-o",
                "--out",
                help="Write the features table here: .parquet, .csv, .json (one array) or "
                ".jsonl (default: CSV on stdout).",
            ),
        ] = None,
        raw_csv: Annotated[
            bool,
            typer.Option(
                "--raw-csv",
                help="CSV: write text cells as they are (by default a cell starting with "
                "= + - @ gets a leading ' so a spreadsheet shows it as text).",
            ),
        ] = False,
        workers: Annotated[
            int | None,
            typer.Option(
                "--workers", "-w", min=1, help="Local worker processes (default: all cores)."
            ),
        ] = None,
        scheduler: Annotated[
            str | None,
            typer.Option(
                "--scheduler",
                help="Run on a Dask cluster, e.g. tcp://host:8786 (workers must see "
                "the same paths).",
            ),
        ] = None,
        db: Annotated[
            Path | None,
            typer.Option(
                "--db", help="Library/cache file (default: $TRACKMOOD_DB or the user data folder)."
            ),
        ] = None,
    ):
        """Measure audio features of your own files into a table (Parquet or CSV).

        Columns: duration, tempo (+ beat confidence), loudness (LUFS), key/mode, flagged estimates
        (*_est) and the descriptor vector (a_*) of the audio model. Results are cached by content
        hash: a rerun, or a renamed file, does no work twice; an interrupted run keeps every
        finished file.
        """
        from ..errors import TrackmoodError
        from ..outputs import AtomicOutput, output_format
        from ..sources.audio import extract_table
        from ..store import Store
        from .common import StageProgress, err, fail

        try:
            fmt = "csv" if out is None else output_format(out, None)  # unknown suffix: error
            store = Store(db) if db else Store()
            try:
                with StageProgress() as progress:
                    df = extract_table(
                        paths, workers=workers, scheduler=scheduler, store=store, progress=progress
                    )
            finally:
                store.close()
            failed = df["error"].notna()
            for msg in df.loc[failed, "error"]:
                err(f"skipped: {msg}")
            with AtomicOutput(out, fmt, inputs=paths, raw_csv=raw_csv) as sink:
                sink.write(df)
            err(
                f"{int((~failed).sum())} file(s) extracted, {int(failed.sum())} failed"
                + (f"; wrote {out}" if out else "")
            )
            if len(df) and failed.all():
                raise typer.Exit(4)
        except KeyboardInterrupt:
            err(
                "interrupted; every finished file is kept in the cache, run the same command to "
                "continue"
            )
            raise typer.Exit(130) from None
        except TrackmoodError as e:
            fail(e)
