"""``trackmood tag``: moods into MP3/FLAC/OGG/M4A tags, audio untouched, undo, per-file errors."""

from __future__ import annotations

import os
import subprocess
import sys

import mutagen
import numpy as np
import pytest

from tests.library_fixtures import (
    TRACKS,
    audio_packets,
    copy_library,
    decoded,
    scanned_library,
)
from trackmood.library import catalog
from trackmood.library import tags as T
from trackmood.library.scan import scan
from trackmood.store import Store

MOOD_KEYS = {
    "mp3": "TMOO",
    "flac": "mood",
    "ogg": "mood",
    "opus": "mood",
    "m4a": "----:com.apple.iTunes:MOOD",
}


def raw_mood(path) -> list[str] | None:
    """The mood tag read with plain mutagen, the way a player would."""
    f = mutagen.File(str(path))
    ext = path.suffix.lower().lstrip(".")
    key = MOOD_KEYS[ext]
    if ext == "mp3":
        frames = f.tags.getall("TMOO") if f.tags else []
        return [str(t) for fr in frames for t in fr.text] or None
    if ext == "m4a":
        vals = (f.tags or {}).get(key)
        return [bytes(v).decode() for v in vals] if vals else None
    return (f.tags or {}).get(key) or None


@pytest.fixture
def library(tmp_path_factory, tmp_path):
    music, db = copy_library(*scanned_library(tmp_path_factory), tmp_path)
    store = Store(db)
    scan(store, [music], workers=1)
    files = {p.suffix.lstrip("."): p for p in music.rglob("*") if p.is_file()}
    yield files, store, music
    store.close()


def all_tags(path) -> dict:
    f = mutagen.File(str(path))
    return {k: [str(x) for x in v] if isinstance(v, list) else str(v) for k, v in f.tags.items()}


def test_tag_writes_mood_keeps_audio_and_undo_restores(library):
    files, store, music = library
    before = {k: (audio_packets(p), decoded(p), all_tags(p)) for k, p in files.items()}
    rep = T.tag_files(store, [str(p) for p in files.values()])
    assert [f.status for f in rep.files] == ["written"] * len(TRACKS), [f.line() for f in rep.files]
    for fmt, p in files.items():
        row = catalog.get_file(store, str(p))
        assert raw_mood(p) == [row["mood"]], fmt
        t = T.Tagged(str(p))
        assert t.get(T.MODEL) == [row["model"]]
        assert float(t.get("TRACKMOOD_P_CALM")[0]) == pytest.approx(row["p_calm"], abs=1e-4)
        packets, samples, _ = before[fmt]
        assert audio_packets(p) == packets, f"{fmt}: audio frames changed"
        assert np.array_equal(decoded(p), samples), f"{fmt}: decoded audio changed"
        # artist/title written before are still there
        assert T.read_info(str(p))["title"] == next(t[3] for t in TRACKS if t[1] == fmt)
    if True:  # MP3 is saved as ID3v2.4 (TMOO exists only there)
        assert mutagen.File(str(files["mp3"])).tags.version[:2] == (2, 4)
    # a second run changes nothing; a rescan analyses nothing
    again = T.tag_files(store, [str(p) for p in files.values()])
    assert {f.status for f in again.files} == {"unchanged"}
    assert scan(store, [music], workers=1).analysed == 0
    # undo restores every previous value exactly
    undone = T.undo(store)
    assert {f.status for f in undone.files} == {"restored"}
    for fmt, p in files.items():
        assert raw_mood(p) is None
        assert all_tags(p) == before[fmt][2], fmt
        assert audio_packets(p) == before[fmt][0]
    assert T.undo(store).run == ""  # nothing left to undo
    assert scan(store, [music], workers=1).analysed == 0


def test_existing_mood_is_kept_unless_overwrite_and_undo_brings_it_back(library):
    files, store, _ = library
    flac, mp3 = files["flac"], files["mp3"]
    t = T.Tagged(str(flac))
    t.set(T.MOOD, ["Dreamy"])
    t.save()
    from mutagen.id3 import TXXX

    id3 = mutagen.File(str(mp3))
    id3.tags.add(TXXX(encoding=3, desc="MOOD", text=["Dreamy"]))  # where foobar2000 keeps it
    id3.save()
    scan(store, [flac.parent.parent], workers=1)  # the files changed: the library catches up
    rep = T.tag_files(store, [str(flac), str(mp3)])
    assert [f.status for f in rep.files] == ["written", "written"]  # probabilities only
    assert raw_mood(flac) == ["Dreamy"] and raw_mood(mp3) is None
    assert all("kept its own MOOD Dreamy" in f.line() for f in rep.files)
    over = T.tag_files(store, [str(flac), str(mp3)], overwrite=True)
    assert [f.status for f in over.files] == ["written", "written"]
    for p in (flac, mp3):
        assert raw_mood(p) == [catalog.get_file(store, str(p))["mood"]]
    assert T.Tagged(str(mp3)).other_mood() == ["Dreamy"]  # never touched
    # once trackmood wrote MOOD itself, a later run may replace it without --overwrite
    row = catalog.get_file(store, str(flac))
    other = next(m for m in ("Sad", "Happy") if m != row["mood"])
    assert T.plan(T.Tagged(str(flac)), {**row, "mood": other}, overwrite=False)[0][T.MOOD][1] == [
        other
    ]
    T.undo(store)
    assert raw_mood(flac) == ["Dreamy"] and raw_mood(mp3) is None


def test_dry_run_changes_no_byte(library):
    files, store, _ = library
    before = {p: p.read_bytes() for p in files.values()}
    rep = T.tag_files(store, [str(p) for p in files.values()], dry_run=True)
    assert {f.status for f in rep.files} == {"would write"}
    assert all("MOOD: (none) -> " in f.line() for f in rep.files)
    assert {p: p.read_bytes() for p in files.values()} == before
    assert catalog.last_run(store) is None


def test_read_only_and_broken_files_are_per_file_errors(library):
    files, store, music = library
    ro = files["ogg"]
    ro.chmod(0o444)
    bad = music / "broken.mp3"
    bad.write_bytes(b"ID3" + os.urandom(2000))
    scan(store, [music], workers=1)
    env = {**os.environ, "TRACKMOOD_DB": str(store.path)}
    run = subprocess.run(
        [sys.executable, "-m", "trackmood", "tag", str(music)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert run.returncode == 1
    errs = [line for line in run.stderr.splitlines() if "read-only" in line or "broken" in line]
    assert len(errs) == 2, run.stderr
    assert "trackmood: error: 2 file(s) failed" in run.stderr
    assert raw_mood(ro) is None  # untouched
    for fmt in ("mp3", "flac", "m4a", "opus"):
        assert raw_mood(files[fmt]) is not None  # the others were tagged
    assert run.stdout.count("written: ") == len(TRACKS) - 1
    # and the CLI's undo restores them
    undo = subprocess.run(
        [sys.executable, "-m", "trackmood", "tag", "--undo"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert undo.returncode == 0, undo.stderr
    assert all(raw_mood(files[f]) is None for f in ("mp3", "flac", "m4a", "opus"))
