"""CLI commands for similar tracks and journeys: ``similar``, ``playlists radio`` and
``playlists path`` (registered on the main app by :mod:`trackmood.cli`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

DB_HELP = "Library file (default: $TRACKMOOD_DB or the user data folder)."
TRACK_HELP = "a scanned file's path or a track id (as `trackmood similar` prints it)."


def _index(db: Path | None):
    from ..library import similar
    from ..store import Store

    store = Store(db) if db else Store()
    try:
        return similar.load(store)
    finally:
        store.close()


def _playlist(rows: list[dict], out: Path | None, what: str) -> None:
    from ..library.journeys import write
    from .common import err

    text = write(rows, out)
    if out is None:
        typer.echo(text, nl=False)
    artists = {r.get("artist") for r in rows if r.get("artist")}
    err(f"{what}: {len(rows)} track(s), {len(artists)} artist(s)" + (f" -> {out}" if out else ""))


def register(app: typer.Typer) -> None:
    """Add ``similar`` to ``app`` and ``radio``/``path`` to its ``playlists`` group (made if
    missing).
    """

    @app.command()
    def similar(
        track: Annotated[str, typer.Argument(help="The track: " + TRACK_HELP)],
        limit: Annotated[
            int, typer.Option("--limit", "-n", min=1, help="How many similar tracks.")
        ] = 20,
        mood: Annotated[
            str | None, typer.Option("--mood", help="Only tracks of this mood (Calm, Energetic …).")
        ] = None,
        fmt: Annotated[
            str | None,
            typer.Option("--format", "-f", help="table, csv or json (default: from -o)."),
        ] = None,
        out: Annotated[Path | None, typer.Option("-o", "--out", help="Output file.")] = None,
        db: Annotated[Path | None, typer.Option("--db", help=DB_HELP)] = None,
    ):
        """The tracks of the scanned library that sound most like TRACK, most similar first.

        Similarity is a cosine in a space made of the track's musicnn embedding and the audio model's mood projection (see the README); the index is kept in the library and extended by `scan`.
        """
        from ..errors import DataError, TrackmoodError
        from ..library.similar import RESULT_COLUMNS, check_mood, display_row
        from ..outputs import AtomicOutput, output_format
        from .common import err, fail

        try:
            mood = check_mood(mood)
            fmt = output_format(out, fmt)
            if fmt == "parquet":
                raise DataError("similar writes table, csv or json")
            index = _index(db)
            i = index.find(track)
            found = index.similar(i, limit=limit, mood=mood)
            with AtomicOutput(out, fmt) as sink:
                for row, sim in found:
                    rec = display_row(row, sim)
                    sink.write_record({k: rec[k] for k in RESULT_COLUMNS})
            if not found:
                err("no other track of the library" + (f" has the mood {mood}" if mood else ""))
        except TrackmoodError as e:
            fail(e)

    from .common import playlists_group

    playlists = playlists_group(app)

    @playlists.command("radio")
    def radio(
        track: Annotated[str, typer.Argument(help="The seed: " + TRACK_HELP)],
        length: Annotated[int, typer.Option("--length", "-n", min=2, help="Tracks.")] = 30,
        per_artist: Annotated[
            int, typer.Option("--per-artist", min=1, help="At most this many tracks per artist.")
        ] = 2,
        out: Annotated[
            Path | None, typer.Option("-o", "--out", help="M3U8 file (default: stdout).")
        ] = None,
        db: Annotated[Path | None, typer.Option("--db", help=DB_HELP)] = None,
    ):
        """An M3U8 of TRACK and the tracks nearest to it, with varied artists.

        Paths are relative to the playlist's folder (to the working folder on stdout).
        """
        from ..errors import TrackmoodError
        from ..library import journeys
        from .common import fail

        try:
            index = _index(db)
            rows = journeys.radio(index, index.find(track), length=length, per_artist=per_artist)
            _playlist(rows, out, "radio")
        except TrackmoodError as e:
            fail(e)

    @playlists.command("path")
    def path(
        start: Annotated[str | None, typer.Argument(help="The first track: " + TRACK_HELP)] = None,
        end: Annotated[str | None, typer.Argument(help="Last track.")] = None,
        from_mood: Annotated[
            str | None, typer.Option("--from", help="A mood arc instead: the first mood.")
        ] = None,
        to_mood: Annotated[
            str | None, typer.Option("--to", help="The last mood of the arc.")
        ] = None,
        length: Annotated[int, typer.Option("--length", "-n", min=2, help="Tracks.")] = 15,
        out: Annotated[
            Path | None, typer.Option("-o", "--out", help="M3U8 file (default: stdout).")
        ] = None,
        db: Annotated[Path | None, typer.Option("--db", help=DB_HELP)] = None,
    ):
        """A journey as M3U8: from track START to track END, moving smoothly between them; or a mood arc with --from MOOD --to MOOD (e.g. --from Calm --to Energetic) through valence and energy."""
        from ..errors import DataError, TrackmoodError
        from ..library import journeys
        from .common import fail

        try:
            tracks = start is not None and end is not None
            moods = from_mood is not None and to_mood is not None
            if tracks == moods or (start is None) != (end is None):
                raise DataError(
                    "give two tracks (START END) or a mood arc (--from MOOD --to MOOD), not both"
                )
            index = _index(db)
            if start is not None and end is not None:
                rows = journeys.path(index, index.find(start), index.find(end), length=length)
                _playlist(rows, out, "path")
            elif from_mood is not None and to_mood is not None:  # (exactly one of the two, above)
                rows = journeys.arc(index, from_mood, to_mood, length=length)
                _playlist(rows, out, f"mood arc {from_mood} -> {to_mood}")
        except TrackmoodError as e:
            fail(e)
