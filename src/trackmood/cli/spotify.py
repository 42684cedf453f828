"""CLI commands for the Spotify concern: ``login``, ``logout``, ``collect`` and ``playlists split``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

COLLECT_HELP = """Build a labeled dataset from Spotify playlists, albums, artists and searches.

Give one or more moods, each followed by what to collect for it, for example: trackmood collect --mood Happy PLAYLIST... --mood Sad PLAYLIST... --album ID --artist ID --search QUERY -o dataset.csv

Every PLAYLIST, --album, --artist and --search takes the mood of the --mood before it.

Playlists must be yours: development-mode apps read only playlists you own or collaborate on. They need a login: run `trackmood login` once (SPOTIPY_CLIENT_ID and SPOTIPY_REDIRECT_URI=http://127.0.0.1:PORT/callback); albums, artists and searches use SPOTIPY_CLIENT_ID and SPOTIPY_CLIENT_SECRET.

Features come from Spotify's audio-features where the app still has access, else from ReccoBeats. A stopped or killed run continues where it stopped when run again.
"""


LOGIN_HELP = """Log in to Spotify (once per app) so trackmood can read your playlists and write mood playlists.

Prints the authorization URL. Where a browser can be opened, it is, and the answer is caught on SPOTIPY_REDIRECT_URI (http://127.0.0.1:PORT/callback). On a machine without a browser (SSH, a container, a server), or with --no-browser: open the URL on any device, agree, and paste here the whole URL the browser was sent to (that page may fail to load; that is expected).

Needs SPOTIPY_CLIENT_ID and SPOTIPY_REDIRECT_URI (registered in your app's settings). The login is cached beside the library, per client id, readable only by you.
"""


def register(app: typer.Typer) -> None:
    """Add ``login``, ``logout``, ``collect`` and ``playlists split`` to ``app``."""
    from .common import StageProgress

    @app.command(help=LOGIN_HELP)
    def login(
        no_browser: bool = typer.Option(
            False, "--no-browser", help="Do not open a browser; paste the redirected URL instead."
        ),
        timeout: float = typer.Option(
            300, "--timeout", min=1, help="Seconds to wait for the redirected URL."
        ),
    ):
        from ..errors import TrackmoodError
        from .common import err, fail

        try:
            _login(open_browser=not no_browser, timeout=timeout, say=err)
        except TrackmoodError as e:
            fail(e)

    @app.command(help="Forget the cached Spotify login and app token of this app (client id).")
    def logout():
        from ..sources.spotify_auth import logout as forget
        from .common import err

        removed = forget()
        err(
            f"removed {len(removed)} cached token file(s)"
            if removed
            else "no cached Spotify login for this app"
        )

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

    playlists = typer.Typer(
        help="Mood playlists: split a Spotify playlist by mood, or export M3U8 playlists of your library.",
        no_args_is_help=True,
    )
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
        refresh: bool = typer.Option(
            False, "--refresh", help="Read the playlist again even if Spotify says it is unchanged."
        ),
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
            from ..errors import DataError
            from ..sources.spotify import parse_ref

            if parse_ref(playlist, default_kind="playlist")[0] != "playlist":
                raise DataError("playlists split takes a playlist", value=playlist)
            api = _api(user=True, notify=err, max_retry_after=max_retry_after)
            with StageProgress() as progress:
                result = split_playlist(
                    playlist,
                    model=model,
                    dry_run=dry_run,
                    api=api,
                    public=public,
                    refresh=refresh,
                    notify=err,
                    progress=progress,
                )
            for line in result.lines():
                typer.echo(line)
        except TrackmoodError as e:
            fail(e)


def _login(*, open_browser: bool, timeout: float, say) -> None:
    import sys

    from ..sources.spotify import terms_notice
    from ..sources.spotify_auth import login
    from ..store import Store

    terms_notice(Store(), say, use="login", force=True)
    info = login(
        say=say,
        read_line=sys.stdin.readline,
        open_browser=open_browser,
        timeout=timeout,
    )
    say(f"logged in; the login is cached in {info['cache']} (trackmood logout forgets it)")


def _api(*, user: bool, notify, max_retry_after):
    import sys

    from ..sources.http import RetryPolicy
    from ..sources.spotify import SpotifyAPI, auth_manager, client

    if user:
        manager = auth_manager(user=True)
        if not manager.cache_handler.get_cached_token():
            if not (sys.stdin.isatty() and sys.stderr.isatty()):
                from ..sources.spotify_auth import LoginRequired

                raise LoginRequired(
                    "this needs a Spotify login and there is none for this app yet: "
                    "run `trackmood login`"
                )
            _login(open_browser=True, timeout=300, say=notify)
    policy = RetryPolicy(max_retry_after=max_retry_after, notify=notify)
    return SpotifyAPI(client(user=user), policy=policy)
