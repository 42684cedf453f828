"""``trackmood tag`` and ``--undo`` are crash-safe: real SIGKILLs at random points over large files,
a real full file system (tmpfs), read-only files, WAV/AIFF with impossible sizes, permissions,
owners and symlinks kept, and the library's record consistent after every write.

The audio checks are independent of trackmood: the bytes after the ID3v2 tag / FLAC metadata
blocks (parsed here from the format specs) and the samples decoded by FFmpeg (PyAV).
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3
import struct
import subprocess
import time
from pathlib import Path

import mutagen
import pytest

from tests.audio_fixtures import music_like, write_soundfile
from tests.library_fixtures import copy_library, scanned_library
from tests.tag_safety_fixtures import (
    MARK,
    audio_sha,
    big_flac,
    big_mp3,
    known_library,
    run_and_kill,
    samples_sha,
    sha,
    temps,
    trackmood,
)
from trackmood.library import catalog
from trackmood.library import tags as T
from trackmood.library.scan import scan, walk
from trackmood.store import Store


@pytest.fixture(scope="module")
def big_files(tmp_path_factory):
    """``(folder, {name: (file sha, audio sha, samples sha)})``: 2 MP3 + 2 FLAC of 10-14 MB."""
    root = tmp_path_factory.mktemp("big") / "music"
    (root / "album").mkdir(parents=True)
    made = [
        big_mp3(root / "album" / "01 first.mp3", 13, 1),
        big_flac(root / "album" / "02 second.flac", 70, 2),
        big_mp3(root / "03 third.mp3", 10, 3),
        big_flac(root / "04 fourth.flac", 60, 4),
    ]
    return root, {p.relative_to(root): (sha(p), audio_sha(p), samples_sha(p)) for p in made}


def assert_intact(music: Path, originals: dict) -> None:
    """Every file is a valid file of its format whose audio bytes and samples are the originals'."""
    for rel, (_file, audio, samples) in originals.items():
        p = music / rel
        f = mutagen.File(str(p))
        assert type(f).__name__ == ("MP3" if p.suffix == ".mp3" else "FLAC"), rel
        assert audio_sha(p) == audio, f"{rel}: audio bytes changed"
        assert samples_sha(p) == samples, f"{rel}: decoded samples changed"
    # a temporary file a kill left is never taken for music by a scan
    assert not [p for p in walk([music])[0] if MARK in p]


def undo_all(db: Path) -> int:
    for n in range(1, 8):
        run = trackmood("tag", "--undo", "--db", db)
        assert run.returncode == 0, run.stderr
        if "nothing to undo" in run.stderr:
            return n
    raise AssertionError("undo never finished")


def assert_restored(music: Path, db: Path, originals: dict) -> None:
    """Byte-identical to the originals, no temporary file left, the library's record right."""
    assert not temps(music)
    store = Store(db)
    try:
        for rel, (file_sha, *_rest) in originals.items():
            p = music / rel
            assert sha(p) == file_sha, f"{rel}: not byte-identical after undo"
            row, st = catalog.get_file(store, str(p)), p.stat()
            assert (row["size"], row["mtime_ns"], row["sha"]) == (
                st.st_size,
                st.st_mtime_ns,
                file_sha,
            ), rel
        assert catalog.last_run(store) is None
    finally:
        store.close()


@pytest.mark.slow
def test_sigkill_of_tag_and_undo_over_large_files_never_damages_audio(big_files, tmp_path):
    src, originals = big_files
    rng = random.Random(15)
    windows = {}
    stats = {"tag": 0, "undo": 0}
    for it in range(10):  # at least 3 killed rounds; more while no kill has landed mid-run yet
        if it >= 4 and stats["tag"] >= 1 and stats["undo"] >= 1:
            break
        music, db = tmp_path / f"run{it}" / "music", tmp_path / f"run{it}" / "lib.sqlite"
        shutil.copytree(src, music)
        known_library(music, db)
        if it == 0:  # an uninterrupted run: how long the writing lasts, and the whole cycle
            _, windows["tag"] = run_and_kill(["tag", music, "--db", db], music, rng, 0)
            for rel in originals:
                assert T.Tagged(str(music / rel)).get(T.MOOD), rel
            assert_intact(music, originals)
            _, windows["undo"] = run_and_kill(["tag", "--undo", "--db", db], music, rng, 0)
            assert_restored(music, db, originals)
            assert windows["tag"] > 0 and windows["undo"] > 0
            continue
        # within the first 70 % of the uninterrupted run's writing (a busy machine speeds up
        # and slows down between runs)
        killed, _ = run_and_kill(["tag", music, "--db", db], music, rng, 0.7 * windows["tag"])
        stats["tag"] += killed
        assert_intact(music, originals)
        killed, _ = run_and_kill(["tag", "--undo", "--db", db], music, rng, 0.7 * windows["undo"])
        stats["undo"] += killed
        assert_intact(music, originals)
        undo_all(db)
        assert_intact(music, originals)
        assert_restored(music, db, originals)
    assert stats["tag"] >= 1 and stats["undo"] >= 1, stats  # the kills did land mid-run


# -- a kill at each step of one file's write, on the real (analysed) small library ----------
@pytest.fixture
def small(tmp_path_factory, tmp_path):
    music, db = copy_library(*scanned_library(tmp_path_factory), tmp_path)
    store = Store(db)
    try:
        scan(store, [music], workers=1)  # the copy's paths (known by content: no analysis)
    finally:
        store.close()
    before = {p: p.read_bytes() for p in music.rglob("*") if p.is_file()}
    return music, db, before


@pytest.mark.slow
@pytest.mark.parametrize("phase", ["copied", "written", "journaled", "replaced"])
def test_kill_at_each_step_then_resume_and_undo(small, phase):
    from tests.library_fixtures import audio_packets

    music, db, before = small
    packets = {p: audio_packets(p) for p in before}
    env = {"TRACKMOOD_TEST_KILL": f"{phase}:2"}  # SIGKILL while writing the second file
    run = trackmood("tag", music, "--db", db, env=env)
    assert run.returncode == -signal.SIGKILL, run.stderr
    changed = [p for p, b in before.items() if p.read_bytes() != b]
    assert len(changed) == (2 if phase == "replaced" else 1), changed
    left = temps(music)
    assert len(left) == (0 if phase == "replaced" else 1), left
    assert not [p for p in walk([music])[0] if MARK in p]
    for p in before:
        assert audio_packets(p) == packets[p], p
    # resuming removes the stale temporary file; a file replaced before its record was updated
    # is known by its carried analysis (a worker analysing it again would die: exit 70)
    store = Store(db)
    try:
        stale = [p for p in changed if catalog.get_file(store, str(p))["sha"] != sha(p)]
    finally:
        store.close()
    assert len(stale) == (1 if phase == "replaced" else 0)
    since = time.time()
    env = {"TRACKMOOD_TEST_CRASH": stale[0].name} if stale else {}
    again = trackmood("tag", music, "--db", db, env=env)
    assert again.returncode == 0, again.stderr
    assert not temps(music)
    if left:
        assert "removed 1 temporary file(s)" in again.stderr
    con = sqlite3.connect(db)
    fresh = con.execute("SELECT count(*) FROM kv WHERE namespace='musicnn' AND at>=?", (since,))
    assert fresh.fetchone()[0] == 0  # no embedding computed again
    con.close()
    assert all(p.read_bytes() != b for p, b in before.items())  # every file tagged now
    # an undo killed at the same step, then finished by running it again
    run = trackmood("tag", "--undo", "--db", db, env={"TRACKMOOD_TEST_KILL": f"{phase}:2"})
    assert run.returncode == -signal.SIGKILL, run.stderr
    for p in before:
        assert audio_packets(p) == packets[p], p
    undo_all(db)
    for p, b in before.items():
        assert p.read_bytes() == b, f"{p.name}: not byte-identical after undo"
    assert_records(db, before)


def assert_records(db: Path, files) -> None:
    store = Store(db)
    try:
        for p in files:
            row, st = catalog.get_file(store, str(p)), p.stat()
            assert (row["size"], row["mtime_ns"], row["sha"]) == (
                st.st_size,
                st.st_mtime_ns,
                sha(p),
            ), p
    finally:
        store.close()


# -- a real full disk -----------------------------------------------------------------------
@pytest.fixture
def tmpfs(tmp_path):
    mnt = tmp_path / "disk"
    mnt.mkdir()
    run = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(mnt)], capture_output=True
    )
    if run.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {run.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def fill(folder: Path) -> Path:
    filler = folder / "filler.bin"
    with open(filler, "wb", buffering=0) as f:
        for size in (1 << 20, 1 << 14, 1 << 10, 64, 1):
            try:
                while True:
                    f.write(b"\0" * size)
            except OSError:
                pass
    return filler


def test_full_disk_and_read_only_leave_files_byte_identical(small, tmpfs, tmp_path):
    music, db, _ = small
    disk_music = tmpfs / "music"
    shutil.copytree(music, disk_music)
    store = Store(db)
    try:
        scan(store, [disk_music], workers=1)
    finally:
        store.close()
    files = sorted(p for p in disk_music.rglob("*") if p.is_file())
    ro = next(p for p in files if p.suffix == ".ogg")
    ro.chmod(0o444)
    before = {p: p.read_bytes() for p in files}
    filler = fill(tmpfs)
    run = trackmood("tag", disk_music, "--db", db)
    assert run.returncode == 1, run.stderr
    errors = [ln for ln in run.stderr.splitlines() if str(disk_music) in ln]
    assert len(errors) == len(files), run.stderr
    assert sum("read-only" in ln for ln in errors) == 1
    assert sum("free space" in ln for ln in errors) == len(files) - 1, errors
    assert "written" not in run.stdout
    assert {p: p.read_bytes() for p in files} == before
    assert not temps(tmpfs)
    assert_records(db, [p for p in files])
    store = Store(db)
    try:
        assert catalog.last_run(store) is None  # nothing journaled for files never replaced
    finally:
        store.close()
    # with space again, the same command tags them (the read-only file still refused)
    filler.unlink()
    again = trackmood("tag", disk_music, "--db", db)
    assert again.returncode == 1 and again.stdout.count("written: ") == len(files) - 1
    assert ro.read_bytes() == before[ro]
    undo_all(db)
    assert {p: p.read_bytes() for p in files} == before


# -- WAV/AIFF whose sizes cannot be right ----------------------------------------------------
def _wav(path: Path, fmt: str = "WAV") -> Path:
    write_soundfile(path, music_like(1.0, 22050, seed=5), 22050, fmt, "PCM_16")
    return path


def _patch(path: Path, offset: int, fmt: str, value: int) -> Path:
    b = bytearray(path.read_bytes())
    b[offset : offset + 4] = struct.pack(fmt, value)
    path.write_bytes(bytes(b))
    return path


def _chunk(path: Path, cid: bytes) -> int:
    b = path.read_bytes()
    return b.index(cid, 12)


def test_wav_and_aiff_with_impossible_sizes_are_refused_never_grown(tmp_path):
    music = tmp_path / "music"
    music.mkdir()
    stream = _patch(_wav(music / "stream.wav"), 4, "<I", 0xFFFFFFFF)
    data = _wav(music / "data.wav")
    _patch(data, _chunk(data, b"data") + 4, "<I", 0xFFFFFFFF)
    cut = _wav(music / "cut.wav")
    cut.write_bytes(cut.read_bytes()[:-1000])  # header sizes beyond the end of the file
    aiff = _patch(_wav(music / "stream.aiff", "AIFF"), 4, ">I", 0xFFFFFFFF)
    good = _wav(music / "good.wav")
    bad = [stream, data, cut, aiff]
    before = {p: p.read_bytes() for p in [*bad, good]}
    db = tmp_path / "lib.sqlite"
    known_library(music, db)
    store = Store(db)
    try:
        for _ in range(2):  # a second run must not grow them either
            rep = T.tag_files(store, [str(p) for p in [*bad, good]])
            by = {Path(f.path): f for f in rep.files}
            for p in bad:
                assert by[p].status == "error", by[p].line()
                assert "refused" in by[p].message and (
                    "RIFF" in by[p].message or "FORM" in by[p].message
                ), by[p].message
                assert p.read_bytes() == before[p], f"{p.name} changed"
        assert T.Tagged(str(good)).get(T.MOOD)  # a sound WAV is tagged
        T.undo(store)
        assert good.read_bytes() == before[good]
    finally:
        store.close()


# -- what a replace keeps -------------------------------------------------------------------
def test_replace_keeps_mode_owner_and_symlinks_and_the_record(small, tmp_path):
    music, db, before = small
    flac = next(p for p in before if p.suffix == ".flac")
    mp3 = next(p for p in before if p.suffix == ".mp3")
    os.chown(flac, 4321, 8765)
    flac.chmod(0o640)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    real = elsewhere / mp3.name
    shutil.move(mp3, real)
    mp3.symlink_to(real)
    store = Store(db)
    try:
        assert scan(store, [music], workers=1).analysed == 0
        st0 = flac.stat()
        time.sleep(0.01)
        rep = T.tag_files(store, [str(p) for p in before])
        assert {f.status for f in rep.files} == {"written"}, [f.line() for f in rep.files]
        st1 = flac.stat()
        assert st1.st_ino != st0.st_ino  # a new file took its place: nothing written in place
        assert (st1.st_uid, st1.st_gid, st1.st_mode) == (4321, 8765, st0.st_mode)
        assert st1.st_mtime_ns > st0.st_mtime_ns  # players notice the new tags
        assert mp3.is_symlink() and T.Tagged(str(real)).get(T.MOOD)
        assert scan(store, [music], workers=1).analysed == 0  # the record follows the file
        ogg = next(p for p in before if p.suffix == ".ogg")
        other = mutagen.File(str(ogg))
        other["title"] = ["Retitled since"]  # another tool changed another field since
        other.save()
        T.undo(store)
        assert flac.stat().st_uid == 4321 and mp3.is_symlink()
        for p, b in before.items():
            if p != ogg:
                assert p.read_bytes() == b, p
        after = mutagen.File(str(ogg))  # undone field by field: the other change is kept
        assert after.get("mood") is None and after["title"] == ["Retitled since"]
        assert not any(k.lower().startswith("trackmood") for k in after.tags.keys())
        assert not temps(music)
    finally:
        store.close()


def test_a_mutagen_error_after_writing_began_leaves_the_file_and_journal_untouched(
    small, monkeypatch
):
    music, db, before = small
    real_save = T.Tagged.save

    def save_then_fail(self, *a, **kw):  # mutagen wrote part of the file, then failed
        real_save(self, *a, **kw)
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(T.Tagged, "save", save_then_fail)
    store = Store(db)
    try:
        rep = T.tag_files(store, [str(p) for p in before])
        assert {f.status for f in rep.files} == {"error"}
        assert all("Input/output error" in f.message for f in rep.files), rep.files
        assert catalog.last_run(store) is None  # nothing to undo: nothing was replaced
    finally:
        store.close()
    for p, b in before.items():
        assert p.read_bytes() == b, p
    assert not temps(music)
