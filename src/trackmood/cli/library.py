"""CLI commands for the music library: ``scan``, ``tag``, ``playlists export``, ``label``
(``--suggest``), ``library ls``, ``library train-personal`` and ``library check`` (registered on the main app by :mod:`trackmood.cli`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..paths import display

DB_HELP = "Library file (default: $TRACKMOOD_DB or the user data folder)."
WORKERS_HELP = "Analysis processes (default: all cores)."
SCHEDULER_HELP = (
    "Analyse on a Dask cluster, e.g. tcp://host:8786 (its workers must see the same paths)."
)


def _store(db: Path | None):
    from ..store import Store

    return Store(db) if db else Store()


def _interrupted() -> None:
    from .common import err

    err("interrupted; every finished file is kept in the library, run the same command to resume")
    raise typer.Exit(130)


def register(app: typer.Typer) -> None:
    """Add the library commands to ``app`` (``export`` joins the ``playlists`` group if one is
    registered already).
    """

    @app.command()
    def scan(
        paths: Annotated[list[str], typer.Argument(help="Music folders (recursive) and files.")],
        workers: Annotated[
            int | None, typer.Option("--workers", "-w", min=1, help=WORKERS_HELP)
        ] = None,
        force: Annotated[
            bool, typer.Option("--force", help="Analyse every file again, changed or not.")
        ] = False,
        db: Annotated[Path | None, typer.Option("--db", help=DB_HELP)] = None,
        scheduler: Annotated[str | None, typer.Option("--scheduler", help=SCHEDULER_HELP)] = None,
    ):
        """Analyse a music library: only new or changed files, in parallel.

        Moved or renamed files are recognised by content, removed ones reported. Safe to stop and run again: finished files are kept.
        """
        from ..errors import TrackmoodError
        from ..library.scan import scan as run_scan
        from .common import StageProgress, err, fail

        try:
            store = _store(db)
            try:
                with StageProgress() as progress:
                    rep = run_scan(
                        store,
                        paths,
                        workers=workers,
                        progress=progress,
                        force=force,
                        scheduler=scheduler,
                    )
            finally:
                store.close()
            for line in rep.lines():
                err(line)
            if rep.failed:
                raise typer.Exit(4)
        except KeyboardInterrupt:
            _interrupted()
        except TrackmoodError as e:
            fail(e)

    @app.command()
    def tag(
        paths: Annotated[
            list[str] | None, typer.Argument(help="Music folders (recursive) and files.")
        ] = None,
        fields: Annotated[
            str,
            typer.Option(
                "--fields",
                help="What to write, comma-separated: mood, bpm, key, valence, energy "
                "(BPM and key only where measured well enough).",
            ),
        ] = "mood",
        key_notation: Annotated[
            str,
            typer.Option(
                "--key-notation",
                help="How the key is written: standard (Am, F#, Bbm), camelot (8A) or "
                "openkey (1m).",
            ),
        ] = "standard",
        overwrite: Annotated[
            bool,
            typer.Option(
                "--overwrite", help="Replace MOOD, BPM and key tags that trackmood did not write."
            ),
        ] = False,
        dry_run: Annotated[
            bool, typer.Option("--dry-run", help="Show what would change, write nothing.")
        ] = False,
        undo: Annotated[
            bool,
            typer.Option("--undo", help="Restore the tags the last tagging run replaced."),
        ] = False,
        workers: Annotated[
            int | None, typer.Option("--workers", "-w", min=1, help=WORKERS_HELP)
        ] = None,
        db: Annotated[Path | None, typer.Option("--db", help=DB_HELP)] = None,
    ):
        """Write predicted moods (and with --fields the BPM, key, valence, energy) into the files' own tags.

        MP3: ID3v2.4 TMOO; FLAC/OGG/Opus: MOOD; M4A: ----:com.apple.iTunes:MOOD; plus trackmood's probabilities and model (TRACKMOOD_*). BPM: TBPM / BPM / tmpo; key: TKEY / INITIALKEY / ----:com.apple.iTunes:initialkey; valence and energy: TRACKMOOD_VALENCE / TRACKMOOD_ENERGY. New files are analysed first. Audio data is never rewritten and no file is changed in place: a tagged copy replaces it atomically, after the change is recorded, so --undo restores the old values even after a crash. Read-only files, a full disk and WAV/AIFF files with impossible sizes are reported per file (exit code 1).
        """
        from ..errors import DataError, TrackmoodError
        from ..library import tags as T
        from ..library.scan import scan as run_scan
        from ..library.scan import walk
        from ..paths import display
        from .common import StageProgress, err, fail

        try:
            try:
                chosen = T.parse_fields(fields)
                notation = T.check_notation(key_notation)
            except T.FieldError as e:
                raise DataError(str(e)) from None
            store = _store(db)
            try:
                if undo:
                    if paths:
                        raise DataError("--undo takes no files: it undoes the last tagging run")
                    rep = T.undo(store, dry_run=dry_run)
                    if not rep.run:
                        if rep.cleaned:
                            err(
                                f"removed {len(rep.cleaned)} temporary file(s) of an interrupted run"
                            )
                        err("nothing to undo")
                        return
                else:
                    if not paths:
                        raise DataError("nothing to tag: give music folders or files")
                    with StageProgress() as progress:
                        scanned = run_scan(store, paths, workers=workers, progress=progress)
                        files = list(walk(paths)[0])
                        rep = T.tag_files(
                            store,
                            files,
                            overwrite=overwrite,
                            dry_run=dry_run,
                            progress=progress,
                            fields=chosen,
                            notation=notation,
                        )
                    if scanned.analysed:
                        err(f"analysed {scanned.analysed} new or changed file(s) first")
            finally:
                store.close()
            if rep.cleaned:
                err(f"removed {len(rep.cleaned)} temporary file(s) of an interrupted run")
            for f in rep.files:
                if f.status == "error":
                    err(f"{display(f.path)}: {f.message}")
                elif f.changes or f.message:
                    typer.echo(display(f.line()))
            err(rep.summary())
            if rep.errors:
                err(f"error: {len(rep.errors)} file(s) failed (see above)")
                raise typer.Exit(1)
        except KeyboardInterrupt:
            _interrupted()
        except TrackmoodError as e:
            fail(e)

    @app.command()
    def label(
        track: Annotated[
            str | None, typer.Argument(help="A scanned audio file, or a track id.")
        ] = None,
        mood: Annotated[str | None, typer.Argument(help="Calm, Energetic, Happy or Sad.")] = None,
        suggest: Annotated[
            int | None,
            typer.Option(
                "--suggest",
                min=1,
                help="List this many tracks whose labels would teach the model most "
                "(uncertain, spread over the library, every mood), instead of labelling.",
            ),
        ] = None,
        db: Annotated[Path | None, typer.Option("--db", help=DB_HELP)] = None,
    ):
        """Give a track your own mood (used by 'trackmood library train-personal').

        'trackmood label --suggest 20' lists the tracks worth labelling first.
        """
        from ..errors import TrackmoodError
        from ..library.labels import set_label
        from .common import err, fail

        if suggest is not None:
            if track is not None:
                err("error: give either --suggest N or TRACK MOOD, not both")
                raise typer.Exit(2)
            return _suggest(suggest, db)
        if track is None or mood is None:
            err("error: give a TRACK and its MOOD (or --suggest N to see which tracks to label)")
            raise typer.Exit(2)
        try:
            store = _store(db)
            try:
                done = set_label(store, track, mood)
            finally:
                store.close()
            typer.echo(f"{display(done['path'] or done['track_id'])}: {done['mood']}")
        except TrackmoodError as e:
            fail(e)

    library = typer.Typer(help="Your music library's own model.", no_args_is_help=True)
    app.add_typer(library, name="library")

    @library.command("train-personal")
    def train_personal(
        base: Annotated[
            Path | None,
            typer.Option(
                "--base",
                help="The bundled audio model's training data to learn with: its labeled "
                "folder (e.g. ../shared/data/audio_4q; its musicnn embeddings are cached in "
                "the library by content hash, so a second run takes seconds) or a table (.parquet/.csv with mood and mn_pen000..199 columns). Without it the model learns from your labels alone. An adopted model re-scores the library at once from its stored embeddings.",
            ),
        ] = None,
        folds: Annotated[int, typer.Option("--folds", min=2, help="Cross-validation folds.")] = 5,
        db: Annotated[Path | None, typer.Option("--db", help=DB_HELP)] = None,
    ):
        """Fit a personal model on your labels (with the bundled model's training data).

        It becomes this library's default only if its cross-validated accuracy on your labels beats the bundled model's accuracy on the same labels.
        """
        from ..errors import TrackmoodError
        from ..library.personal import train_personal as run
        from .common import err, fail

        try:
            store = _store(db)
            try:
                rep = run(store, base=base, folds=folds, notify=err)
            finally:
                store.close()
            for line in rep.lines():
                typer.echo(line)
        except TrackmoodError as e:
            fail(e)

    @library.command("ls")
    def ls(
        mood: Annotated[
            str | None, typer.Option("--mood", help="Only tracks of this predicted mood.")
        ] = None,
        uncertain: Annotated[
            bool,
            typer.Option("--uncertain", help="Only tracks whose two most likely moods are close."),
        ] = False,
        labelled: Annotated[
            bool, typer.Option("--labelled", help="Only tracks you gave your own mood.")
        ] = False,
        fmt: Annotated[
            str | None, typer.Option("--format", "-f", help="table, csv or json.")
        ] = None,
        out: Annotated[
            Path | None, typer.Option("-o", "--output", help="Write to this file.")
        ] = None,
        db: Annotated[Path | None, typer.Option("--db", help=DB_HELP)] = None,
    ):
        """List every analysed track of the library: mood, confidence, uncertain, valence,
        energy and your own label.
        """
        from ..errors import DataError, TrackmoodError
        from ..library.listing import list_frame
        from ..moods import normalize_label
        from ..outputs import write_frame
        from .common import err, fail

        try:
            if fmt not in (None, "table", "csv", "json"):
                raise DataError(f"unknown format {fmt!r}; use table, csv or json")
            store = _store(db)
            try:
                rows, total = store.library_tracks(
                    mood=normalize_label(mood) if mood else None,
                    uncertain=True if uncertain else None,
                    labelled=True if labelled else None,
                )
                size = store.library_size()
            finally:
                store.close()
            frame = list_frame(
                rows, for_table=(fmt or ("table" if out is None else None)) == "table"
            )
            write_frame(frame, out, fmt)
            err(f"{total} of {size} analysed track(s)")
        except TrackmoodError as e:
            fail(e)

    @library.command("check")
    def check(
        fresh: Annotated[
            bool,
            typer.Option(
                "--fresh",
                help="If the library is broken, move it (with its -wal/-shm) aside as "
                "library.sqlite.broken-<time> and start a new, empty one.",
            ),
        ] = False,
        db: Annotated[Path | None, typer.Option("--db", help=DB_HELP)] = None,
    ):
        """Check the library file: SQLite integrity, schema version, rows per table.

        Exit 0 when it is sound, 5 when it is broken (damaged, not a database, read-only, disk full), with what to do.
        """
        from ..errors import LibraryError, TrackmoodError
        from ..paths import display
        from ..store import default_path
        from ..store.check import check as run_check
        from ..store.check import start_fresh
        from .common import err, fail

        try:
            path = db or default_path()
            rep = run_check(path)
            for line in rep.lines():
                typer.echo(line)
            if rep.note:
                err(rep.note)
            if rep.ok:
                if fresh:
                    err("the library is sound: nothing moved")
                return
            if not fresh:
                raise LibraryError(
                    rep.problem or f"{display(path)}: the library is not sound", path=path
                )
            old, new = start_fresh(path)
            err(f"the broken library is kept at {display(old)}")
            err(f"a new, empty library is at {display(new)}")
        except TrackmoodError as e:
            fail(e)

    from .common import playlists_group

    playlists = playlists_group(app)

    @playlists.command("export")
    def export(
        out: Annotated[Path, typer.Option("-o", "--out", help="Folder for the playlists.")],
        fmt: Annotated[str, typer.Option("--format", "-f", help="Playlist format: m3u8.")] = "m3u8",
        min_confidence: Annotated[
            float,
            typer.Option(
                "--min-confidence", help="Leave out tracks whose mood probability is lower (0-1)."
            ),
        ] = 0.0,
        limit: Annotated[
            int | None, typer.Option("--limit", help="At most this many tracks per playlist.")
        ] = None,
        db: Annotated[Path | None, typer.Option("--db", help=DB_HELP)] = None,
    ):
        """Write one M3U8 playlist per mood from the scanned library.

        Extended M3U (UTF-8, #EXTINF with duration, artist and title) with paths relative to the playlist: Navidrome, Jellyfin, MPD and foobar2000 import them. Files whose names hold a line break or other control character, or are not UTF-8, are left out and named on stderr.
        """
        from ..errors import TrackmoodError
        from ..library.m3u import export as run
        from .common import err, fail

        try:
            store = _store(db)
            try:
                made = run(store, out, min_confidence=min_confidence, limit=limit, fmt=fmt)
            finally:
                store.close()
            for p in made:
                for path, why in p.skipped:
                    err(f"skipped in {p.path.name}: {display(path)}: {why}")
            for p in made:
                typer.echo(f"{display(p.path)}\t{p.tracks}")
            if not any(p.tracks for p in made):
                err("the playlists are empty: scan a music folder first (trackmood scan DIR)")
        except TrackmoodError as e:
            fail(e)


def _suggest(n: int, db: Path | None) -> None:
    from ..errors import TrackmoodError
    from ..library.listing import suggest_frame
    from ..library.suggest import suggest
    from ..outputs import write_frame
    from .common import err, fail

    try:
        store = _store(db)
        try:
            rows = suggest(store, n)
        finally:
            store.close()
        if not rows:
            err("nothing to suggest: scan a music folder first, or every track has your label")
            return
        write_frame(suggest_frame(rows), None, "table")
        err(f"label them with: trackmood label PATH MOOD ({len(rows)} suggested)")
    except TrackmoodError as e:
        fail(e)
