"""Mood playlists as extended M3U8 files that Navidrome, Jellyfin, MPD and foobar2000 import.

One UTF-8 file per mood (``Calm.m3u8`` …): ``#EXTM3U``, then per track
``#EXTINF:<whole seconds>,<artist> - <title>`` and its path relative to the playlist's folder
(forward slashes), most confident tracks first. Each file is written to a temporary name and
renamed into place, so a reader never sees half a playlist.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import DataError
from ..moods import MOODS, PROBA_COLUMNS
from . import catalog


@dataclass
class Playlist:
    mood: str
    path: Path
    tracks: int


def entry_title(row: dict) -> str:
    title = row.get("title") or Path(row["path"]).stem
    artist = row.get("artist")
    text = f"{artist} - {title}" if artist else title
    return " ".join(text.split())  # no line breaks inside an #EXTINF line


def relative(path: str, folder: Path) -> str:
    """``path`` relative to ``folder`` with ``/`` separators (absolute if on another drive)."""
    try:
        rel = os.path.relpath(path, folder)
    except ValueError:  # another drive (Windows)
        return Path(path).as_posix()
    return Path(rel).as_posix()


def render(rows: list[dict], folder: Path) -> str:
    lines = ["#EXTM3U"]
    for r in rows:
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
        if limit is not None:
            chosen = chosen[:limit]
        path = out / f"{mood}.m3u8"
        _atomic_write(path, render(chosen, folder))
        result.append(Playlist(mood, path, len(chosen)))
    return result
