"""``trackmood playlists export``: one extended M3U8 per mood whose every path resolves."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.library_fixtures import TRACKS, copy_library, scanned_library
from trackmood.errors import DataError
from trackmood.library import catalog, m3u
from trackmood.library.scan import scan
from trackmood.moods import MOODS
from trackmood.store import Store


@pytest.fixture
def library(tmp_path_factory, tmp_path):
    music, db = copy_library(*scanned_library(tmp_path_factory), tmp_path)
    store = Store(db)
    scan(store, [music], workers=1)
    # only this copy: forget the rows of the session's original files
    with store.transaction() as c:
        c.execute("DELETE FROM lib_files WHERE path NOT LIKE ?", (str(music) + "/%",))
    yield music, store
    store.close()


def parse(path: Path) -> list[tuple[str, str]]:
    """``[(extinf line, path line)]`` of an extended M3U8 file (checks the header)."""
    lines = path.read_bytes().decode("utf-8").split("\n")
    assert lines[0] == "#EXTM3U" and lines[-1] == ""
    body = lines[1:-1]
    assert len(body) % 2 == 0
    return list(zip(body[0::2], body[1::2], strict=True))


def test_export_four_playlists_every_path_resolves(library, tmp_path):
    music, store = library
    out = tmp_path / "playlists" / "moods"
    made = m3u.export(store, out)
    assert [p.path.name for p in made] == [f"{m}.m3u8" for m in MOODS]
    entries = {p.mood: parse(p.path) for p in made}
    assert sum(len(e) for e in entries.values()) == len(TRACKS)
    by_path = {r["path"]: r for r in catalog.analysed(store)}
    seen = set()
    for mood, items in entries.items():
        for extinf, rel in items:
            assert not os.path.isabs(rel) and "\\" not in rel
            target = (out / rel).resolve()
            assert target.is_file(), rel
            row = by_path[os.path.normpath(os.path.join(out, rel))]
            assert row["mood"] == mood
            seconds, title = extinf.removeprefix("#EXTINF:").split(",", 1)
            assert int(seconds) == round(row["duration"])
            want = f"{row['artist']} - {row['title']}" if row["artist"] else Path(rel).stem
            assert title == want
            seen.add(target)
    assert len(seen) == len(TRACKS)
    text = "".join(p.path.read_text(encoding="utf-8") for p in made)
    for name in (
        "Die Ärzte - Schrei nach Liebe",
        "Björk - Jóga",
        "アーティスト - 曲",
        "quiet – song",
    ):
        assert name in text


def test_min_confidence_and_limit(library, tmp_path):
    music, store = library
    rows = catalog.analysed(store)
    # only two Sad tracks, with known confidences
    for r in rows:
        catalog.update_file(store, r["path"], mood="Calm", p_calm=1.0, p_sad=0.0)
    a, b = rows[0]["path"], rows[1]["path"]
    catalog.update_file(store, a, mood="Sad", p_sad=0.9, confidence=0.9)
    catalog.update_file(store, b, mood="Sad", p_sad=0.6, confidence=0.6)
    made = {p.mood: p for p in m3u.export(store, tmp_path / "o", min_confidence=0.7)}
    sad = parse(made["Sad"].path)
    assert [os.path.normpath(tmp_path / "o" / rel) for _, rel in sad] == [a]
    made = {p.mood: p for p in m3u.export(store, tmp_path / "p", limit=1)}
    assert all(p.tracks <= 1 for p in made.values())
    assert [os.path.normpath(tmp_path / "p" / r) for _, r in parse(made["Sad"].path)] == [a]


def test_missing_files_are_left_out_and_bad_values_rejected(library, tmp_path):
    music, store = library
    gone = next(music.rglob("*.ogg"))
    gone.unlink()
    scan(store, [music], workers=1)
    made = m3u.export(store, tmp_path / "o")
    assert sum(p.tracks for p in made) == len(TRACKS) - 1
    with pytest.raises(DataError, match="between 0 and 1"):
        m3u.export(store, tmp_path / "x", min_confidence=1.5)
    with pytest.raises(DataError, match="m3u8"):
        m3u.export(store, tmp_path / "x", fmt="pls")


def test_cli_export(library, tmp_path):
    music, store = library
    env = {**os.environ, "TRACKMOOD_DB": str(store.path)}
    out = tmp_path / "pl"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "trackmood",
            "playlists",
            "export",
            "--format",
            "m3u8",
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    assert run.returncode == 0, run.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{m}.m3u8" for m in MOODS)
    bad = subprocess.run(
        [sys.executable, "-m", "trackmood", "playlists", "export", "-o", str(out), "--limit", "0"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert bad.returncode != 0
    assert bad.stderr.strip().splitlines() == [
        "trackmood: error: playlist length limit must be at least 1 (value 0)"
    ]
