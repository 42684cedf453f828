"""Mood playlists as extended M3U8 files that Navidrome, Jellyfin, MPD and foobar2000 import.

One UTF-8 file per mood (``Calm.m3u8`` …): ``#EXTM3U``, then per track
``#EXTINF:<whole seconds>,<artist> - <title>`` and its path relative to the playlist's folder
(forward slashes), most confident tracks first. Each file is written to a temporary name and
renamed into place, so a reader never sees half a playlist.

Hostile names: M3U has no escape for a line break, so a path holding a newline, carriage return
or any other control character is left out of the playlist (with a reason in
:attr:`Playlist.skipped`) -- it could otherwise add lines of its own (``#EXTINF``, ``rtsp:`` URLs);
MPD neither indexes such files nor decodes ``%0A`` in a playlist, so no form of the name plays.
A path that is not valid UTF-8 is left out too: the file stays valid UTF-8 for every importer.
A relative path starting with ``#`` is written as ``./#…`` (a comment otherwise).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import DataError
from ..moods import MOODS, PROBA_COLUMNS
from ..paths import has_control, is_utf8
from . import catalog


@dataclass
class Playlist:
    mood: str
    path: Path
    tracks: int
    #: ``(path, reason)`` of the tracks of this mood left out because of their names
    skipped: list[tuple[str, str]] = field(default_factory=list)


#: Unicode line breaks that some readers split lines at (``str.splitlines`` does)
_UNICODE_BREAKS = ("\x85", "\u2028", "\u2029")


def unwritable(path: str) -> str | None:
    """Why ``path`` cannot be a line of an M3U8 file, or ``None`` when it can."""
    if has_control(path) or any(b in path for b in _UNICODE_BREAKS):
        return "its name holds a line break or another control character (M3U has no escape)"
    if not is_utf8(path):
        return "its name is not valid UTF-8 (rename it to include it, e.g. with convmv)"
    return None


def entry_title(row: dict) -> str:
    title = row.get("title") or Path(row["path"]).stem
    artist = row.get("artist")
    text = f"{artist} - {title}" if artist else title
    text = "".join(" " if ord(c) < 32 or ord(c) == 127 else c for c in text)
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return " ".join(text.split())  # no line breaks inside an #EXTINF line


def relative(path: str, folder: Path) -> str:
    """``path`` relative to ``folder`` with ``/`` separators (absolute if on another drive)."""
    try:
        rel = os.path.relpath(path, folder)
    except ValueError:  # another drive (Windows)
        return Path(path).as_posix()
    rel = Path(rel).as_posix()
    return f"./{rel}" if rel.startswith("#") else rel  # not a comment line


def render(rows: list[dict], folder: Path) -> str:
    lines = ["#EXTM3U"]
    for r in rows:
        if unwritable(r["path"]):  # never a line of its own (export reports these)
            continue
        secs = r.get("duration")
        secs = int(round(secs)) if secs is not None and secs == secs else -1
        lines.append(f"#EXTINF:{secs},{entry_title(r)}")
        lines.append(relative(r["path"], folder))
    return "\n".join(lines) + "\n"


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def export(
    store,
    out_dir: str | Path,
    *,
    min_confidence: float = 0.0,
    limit: int | None = None,
    fmt: str = "m3u8",
) -> list[Playlist]:
    """Write one playlist per mood from the library's analysed files that still exist.

    Parameters
    ----------
    store : trackmood.store.Store
    out_dir : folder for the playlists (created if needed)
    min_confidence : float
        Leave out tracks whose predicted mood has a lower probability (0–1).
    limit : int, optional
        At most this many tracks per playlist (the most confident).
    fmt : str
        ``m3u8`` (the only format today).
    """
    if fmt != "m3u8":
        raise DataError(f"unsupported playlist format {fmt!r}; expected m3u8")
    if not 0.0 <= min_confidence <= 1.0:
        raise DataError("minimum confidence must be between 0 and 1", value=min_confidence)
    if limit is not None and limit < 1:
        raise DataError("playlist length limit must be at least 1", value=limit)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise DataError(f"{out}: not a folder")
    out.mkdir(parents=True, exist_ok=True)
    folder = Path(os.path.abspath(out))
    rows = [r for r in catalog.analysed(store) if os.path.exists(r["path"])]
    result = []
    for mood in MOODS:
        col = PROBA_COLUMNS[MOODS.index(mood)]
        chosen = [r for r in rows if r["mood"] == mood and (r[col] or 0.0) >= min_confidence]
        chosen.sort(key=lambda r: (-(r[col] or 0.0), r["path"]))
        skipped = [(r["path"], why) for r in chosen if (why := unwritable(r["path"]))]
        if skipped:
            left_out = {p for p, _ in skipped}
            chosen = [r for r in chosen if r["path"] not in left_out]
        if limit is not None:
            chosen = chosen[:limit]
        path = out / f"{mood}.m3u8"
        _atomic_write(path, render(chosen, folder))
        result.append(Playlist(mood, path, len(chosen), skipped))
    return result
