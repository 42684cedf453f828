"""A small generated music library (MP3, FLAC, OGG, M4A with artist/title tags, non-ASCII names)
scanned once per test session; each test gets its own copy of the files and of the library file.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import numpy as np

from tests.audio_fixtures import click_track, music_like, write_pyav, write_soundfile

SR = 44100
SECONDS = 3.0

#: (relative path, how to encode, artist, title, signal)
TRACKS = (
    ("Ärzte/Schrei nach Liebe.mp3", "mp3", "Die Ärzte", "Schrei nach Liebe", "clicks"),
    ("Björk/Jóga.flac", "flac", "Björk", "Jóga", "pad"),
    ("misc/quiet – song.ogg", "ogg", None, None, "sine"),
    ("日本/曲.m4a", "m4a", "アーティスト", "曲", "pad2"),
    ("misc/opus track.opus", "opus", "Opus Artist", "Opus Title", "clicks2"),
)


def _signal(kind: str) -> np.ndarray:
    if kind == "clicks":
        return click_track(160, SECONDS, SR)
    if kind == "clicks2":
        return click_track(90, SECONDS, SR, seed=3)
    if kind == "pad":
        return music_like(SECONDS, SR, seed=1)
    if kind == "pad2":
        return music_like(SECONDS, SR, seed=7) * 0.5
    t = np.arange(int(SECONDS * SR)) / SR
    return (0.05 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


def write_track(path: Path, fmt: str, y: np.ndarray, artist: str | None, title: str | None):
    import mutagen

    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "mp3":
        write_pyav(path, y, SR, "libmp3lame")
    elif fmt == "m4a":
        write_pyav(path, y, SR, "aac")
    elif fmt == "opus":
        write_pyav(path, y, SR, "libopus", rate=48000)
    elif fmt == "flac":
        write_soundfile(path, y, SR, "FLAC")
    else:
        write_soundfile(path, y, SR, "OGG", "VORBIS")
    if artist or title:
        f = mutagen.File(str(path), easy=True)
        if f.tags is None:
            f.add_tags()
        if artist:
            f["artist"] = artist
        if title:
            f["title"] = title
        f.save()
    return path


def make_library(folder: Path) -> dict[str, Path]:
    """``{format: path}`` of the generated library under ``folder``."""
    out = {}
    for rel, fmt, artist, title, kind in TRACKS:
        out[fmt] = write_track(folder / rel, fmt, _signal(kind), artist, title)
    return out


def copy_library(src_music: Path, src_db: Path, dest: Path) -> tuple[Path, Path]:
    """Copy the files and the library file (SQLite backup) to ``dest``: ``(music, db)``."""
    music = dest / "music"
    shutil.copytree(src_music, music)
    db = dest / "library.sqlite"
    with sqlite3.connect(str(src_db)) as a, sqlite3.connect(str(db)) as b:
        a.backup(b)
    return music, db


def audio_packets(path: Path) -> list[bytes]:
    """The bytes of every packet of the first audio stream (the compressed audio frames)."""
    import av

    with av.open(str(path)) as c:
        stream = c.streams.audio[0]
        return [bytes(p) for p in c.demux(stream) if p.size]


def decoded(path: Path) -> np.ndarray:
    import av

    with av.open(str(path)) as c:
        return np.concatenate([f.to_ndarray().reshape(-1) for f in c.decode(audio=0)])


_BUILT: dict[str, tuple[Path, Path]] = {}


def scanned_library(tmp_path_factory) -> tuple[Path, Path]:
    """``(music, db)``: the generated library scanned once per process (kept read-only; use
    :func:`copy_library` to change anything).
    """
    if "lib" not in _BUILT:
        from trackmood.library.scan import scan
        from trackmood.store import Store

        root = tmp_path_factory.mktemp("library")
        music = root / "music"
        make_library(music)
        db = root / "library.sqlite"
        store = Store(db)
        try:
            rep = scan(store, [music], workers=1)
        finally:
            store.close()
        assert rep.analysed == len(TRACKS), rep.lines()
        _BUILT["lib"] = (music, db)
    return _BUILT["lib"]
