"""CLI commands for the Spotify concern: ``collect`` and ``playlists split``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

COLLECT_HELP = """Build a labeled dataset from Spotify playlists, albums, artists and searches.

Give one or more moods, each followed by what to collect for it, for example: trackmood collect --mood Happy PLAYLIST... --mood Sad PLAYLIST... --album ID --artist ID --search QUERY -o dataset.csv

Every PLAYLIST, --album, --artist and --search takes the mood of the --mood before it.

Playlists must be yours: development-mode apps read only playlists you own or collaborate on. They need a login (SPOTIPY_CLIENT_ID and SPOTIPY_REDIRECT_URI=http://127.0.0.1:PORT/callback); albums, artists and searches use SPOTIPY_CLIENT_ID and SPOTIPY_CLIENT_SECRET.

Features come from Spotify's audio-features where the app still has access, else from ReccoBeats. A stopped or killed run continues where it stopped when run again.
"""


def register(app: typer.Typer) -> None:
    """Add ``collect`` and ``playlists split`` to ``app``."""
    from .common import StageProgress

    @app.command(
        help=COLLECT_HELP,
        context_settings={"ignore_unknown_options": True, "allow_extra_args": False},
    )
    def collect(
        specs: Annotated[
            list[str] | None,
            typer.Argument(
                metavar="--mood MOOD PLAYLIST... [--album ID] [--artist ID] [--search QUERY]...",
                help="Moods and what to collect for each (see above).",
            ),
        ] = None,
        out: Annotated[
            Path | None,
            typer.Option(
                "-o",
                "--out",
                help="Write the dataset here (.csv, .json or .parquet; default CSV on stdout).",
            ),
        ] = None,
        search_limit: int = typer.Option(
            50, "--search-limit", min=1, max=1000, help="Most tracks per --search."
        ),
        refresh: bool = typer.Option(
            False, "--refresh", help="Ask Spotify again for pages cached by an earlier run."
        ),
        max_retry_after: float | None = typer.Option(
            None,
            "--max-retry-after",
            help="Longest Retry-After (seconds) to wait out before "
            "stopping (default: TRACKMOOD_MAX_RETRY_AFTER or 60).",
        ),
    ):
        from ..collect import collect as run_collect
        from ..collect import parse_spec_args
        from ..errors import TrackmoodError
        from ..outputs import AtomicOutput, output_format
        from .common import err, fail

        try:
            parsed = parse_spec_args(specs or [])
            api = _api(
                user=any(s.kind == "playlist" for s in parsed),
                notify=err,
                max_retry_after=max_retry_after,
            )
            fmt = output_format(out, None)
            if fmt == "table":
                fmt = "csv"
            with StageProgress() as progress:
                df, report = run_collect(
                    parsed,
                    api=api,
                    search_limit=search_limit,
                    refresh=refresh,
                    notify=err,
                    progress=progress,
                )
            for line in report.conflict_lines():
                err(line)
            err(report.summary())
            if df.empty:
                from ..errors import SourceError

                raise SourceError(
                    "no track with one mood and audio features was found; nothing "
                    "written (see the counts above)"
                )
            with AtomicOutput(out, fmt) as sink:
                sink.write(df)
            if out is not None:
                err(f"wrote {len(df)} rows to {out}")
        except TrackmoodError as e:
            fail(e)

    playlists = typer.Typer(help="Work on your Spotify playlists.", no_args_is_help=True)
    app.add_typer(playlists, name="playlists")

    @playlists.command("split")
    def split(
        playlist: str = typer.Argument(
            ..., help="Playlist id, spotify:playlist: URI or URL (one you own or collaborate on)."
        ),
        dry_run: bool = typer.Option(
            False, "--dry-run", help="Show what would be created and added, change nothing."
        ),
        model: str | None = typer.Option(
            None, "--model", "-m", help="Bundled model name or saved model folder."
        ),
        public: bool = typer.Option(False, "--public", help="Make new mood playlists public."),
        max_retry_after: float | None = typer.Option(
            None,
            "--max-retry-after",
            help="Longest Retry-After (seconds) to wait out before "
            "stopping (default: TRACKMOOD_MAX_RETRY_AFTER or 60).",
        ),
    ):
        """Sort a playlist by mood: one playlist per mood (created once), each track added once."""
        from ..errors import TrackmoodError
        from ..playlists import split_playlist
        from .common import err, fail

        try:
            api = _api(user=True, notify=err, max_retry_after=max_retry_after)
            with StageProgress() as progress:
                result = split_playlist(
                    playlist,
                    model=model,
                    dry_run=dry_run,
                    api=api,
                    public=public,
                    notify=err,
                    progress=progress,
                )
            for line in result.lines():
                typer.echo(line)
        except TrackmoodError as e:
            fail(e)


def _api(*, user: bool, notify, max_retry_after):
    from ..sources.http import RetryPolicy
    from ..sources.spotify import SpotifyAPI, client

    policy = RetryPolicy(max_retry_after=max_retry_after, notify=notify)
    return SpotifyAPI(client(user=user), policy=policy)
