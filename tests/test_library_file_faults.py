"""A broken library file — corrupted, truncated, read-only, on a full disk, a folder — gives one
line naming the file and what to do, exit code 5, from every command that uses the library; and
``trackmood library check`` tells a sound library from a broken one and can start a new one while
keeping the old file.

Real files: a library written by the store, then damaged on disk; read-only and full disks are
real tmpfs mounts (we run as root, so ``chmod`` would not stop us).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from trackmood.errors import LibraryError
from trackmood.store import Store

ROOT = Path(__file__).resolve().parents[1]


def make_library(path: Path, n: int = 3000) -> Path:
    """A real library with enough rows to span many pages."""
    with Store(path) as s:
        s.upsert_files(
            {
                "path": f"/music/{i}.mp3",
                "size": i,
                "mtime_ns": i,
                "status": "ok",
                "track_id": f"audio:{i:064x}",
                "model": "audio",
                "mood": "Calm",
                "p_calm": 0.9,
                "p_energetic": 0.05,
                "p_happy": 0.03,
                "p_sad": 0.02,
                "confidence": 0.9,
            }
            for i in range(n)
        )
        s.record_tag_changes("run1", "/music/1.mp3", {"mood": (None, ["Calm"])})
    return path


@pytest.fixture
def work(tmp_path):
    """(music folder with one real MP3, playlist folder)."""
    from tests.audio_fixtures import write_pyav

    music = tmp_path / "music"
    music.mkdir()
    t = np.arange(22050) / 22050
    write_pyav(
        music / "x.mp3", (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 22050, "mp3"
    )
    return music, tmp_path / "playlists"


def commands(music: Path, out: Path) -> list[list[str]]:
    return [
        ["scan", "--workers", "1", str(music)],
        ["tag", "--workers", "1", str(music)],
        ["tag", "--undo"],
        ["playlists", "export", "-o", str(out)],
        ["label", str(music / "x.mp3"), "Calm"],
        ["library", "train-personal"],
        ["predict", str(music / "x.mp3")],
    ]


def run_all(cmds: list[list[str]], db: Path) -> list[tuple[list[str], int, str]]:
    """Run the commands (a few at a time) with ``TRACKMOOD_DB=db``."""
    env = {**os.environ, "TRACKMOOD_DB": str(db), "PYTHONPATH": str(ROOT / "src")}
    out = []
    for i in range(0, len(cmds), 4):
        procs = [
            (
                c,
                subprocess.Popen(
                    [sys.executable, "-m", "trackmood", *c],
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                ),
            )
            for c in cmds[i : i + 4]
        ]
        for c, p in procs:
            _, err = p.communicate(timeout=120)
            out.append((c, p.returncode, err))
    return out


def assert_one_line(results, db: Path, cause: str) -> None:
    for cmd, code, err in results:
        lines = err.strip().splitlines()
        assert "Traceback" not in err, f"{cmd}: {err}"
        assert code == 5, f"{cmd}: exit {code}: {err}"
        assert len(lines) == 1, f"{cmd}: {lines}"
        assert lines[0].startswith(f"trackmood: error: {db}: "), f"{cmd}: {lines[0]}"
        assert cause in lines[0], f"{cmd}: {lines[0]}"


@pytest.fixture
def mount(tmp_path):
    """A fresh tmpfs of the given size; unmounted afterwards (skip if mounting is refused)."""
    mounted = []

    def make(size: str) -> Path:
        where = tmp_path / f"mnt{len(mounted)}"
        where.mkdir()
        r = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
            capture_output=True,
            text=True,
        )
        if r.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here ({r.stderr.strip()}); needs root")
        mounted.append(where)
        return where

    yield make
    for where in mounted:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def test_corrupted_header(tmp_path, work):
    db = make_library(tmp_path / "library.sqlite")
    with open(db, "r+b") as f:
        f.write(b"this is not a database header at all" * 4)
    assert_one_line(run_all(commands(*work), db), db, "not a SQLite database")


def test_truncated_file(tmp_path, work):
    db = make_library(tmp_path / "library.sqlite")
    assert db.stat().st_size > 100_000
    os.truncate(db, 6000)
    assert_one_line(run_all(commands(*work), db), db, "damaged")


def test_read_only_disk(work, mount):
    where = mount("4m")
    db = make_library(where / "library.sqlite", n=200)
    r = subprocess.run(["mount", "-o", "remount,ro", str(where)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot remount read-only ({r.stderr.strip()})")
    with pytest.raises(OSError):
        (where / "probe").write_text("x")  # really read-only, even for root
    assert_one_line(run_all(commands(*work), db), db, "read-only")


def fill(where: Path) -> None:
    with open(where / "filler", "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
    assert shutil.disk_usage(where).free < 65536


def test_full_disk(work, mount):
    where = mount("2m")
    db = make_library(where / "library.sqlite", n=200)
    fill(where)
    assert_one_line(run_all(commands(*work), db), db, "disk is full")


def test_disk_fills_during_a_write(mount):
    """The library opens fine; a write that cannot grow the file is a LibraryError, and the
    library keeps what was committed before.
    """
    where = mount("2m")
    db = where / "library.sqlite"
    with Store(db) as s:
        s.kv_put("t", "kept", "yes")
        fill(where)
        with pytest.raises(LibraryError, match="disk is full") as e:
            s.upsert_tracks({"id": f"t{i}", "name": "x" * 500} for i in range(20000))
        assert e.value.path == db
    (where / "filler").unlink()
    with Store(db) as s:
        assert s.kv_get("t", "kept") == "yes"
        assert s.get_track("t1") is None


def test_a_folder_as_the_library(tmp_path, work):
    db = tmp_path / "library.sqlite"
    db.mkdir()
    cmds = commands(*work)
    assert_one_line(run_all([cmds[2], cmds[4]], db), db, "folder")


def check(db: Path, *extra: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "TRACKMOOD_DB": str(db), "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run(
        [sys.executable, "-m", "trackmood", "library", "check", *extra],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_check_a_sound_library(tmp_path):
    db = make_library(tmp_path / "library.sqlite", n=25)
    r = check(db)
    assert r.returncode == 0, r.stderr
    rows = dict(line.split("\t") for line in r.stdout.splitlines())
    assert rows["integrity"] == "ok"
    assert rows["lib_files"] == "25" and rows["predictions"] == "25" and rows["tracks"] == "25"
    assert rows["lib_tag_changes"] == "1"
    assert rows["schema version"].startswith("3 ")
    assert rows["state"] == "sound"
    assert r.stderr == ""


@pytest.mark.parametrize("damage", ["header", "truncate", "page"])
def test_check_finds_damage_and_fresh_keeps_the_old_file(tmp_path, damage):
    db = make_library(tmp_path / "library.sqlite")
    if damage == "header":
        with open(db, "r+b") as f:
            f.write(b"\xff" * 100)
    elif damage == "truncate":
        os.truncate(db, db.stat().st_size // 3)
    else:  # garbage in the middle of a table's pages: only integrity_check sees it
        with open(db, "r+b") as f:
            f.seek(db.stat().st_size // 2)
            f.write(os.urandom(8192))
    broken = db.read_bytes()
    r = check(db)
    assert r.returncode == 5
    assert r.stdout.splitlines()[-1] == "state\tbroken"
    (line,) = r.stderr.strip().splitlines()
    assert line.startswith(f"trackmood: error: {db}: ") and "--fresh" in line

    Path(f"{db}-wal").write_bytes(b"wal of the broken library")
    r = check(db, "--fresh")
    assert r.returncode == 0, r.stderr
    kept = sorted(tmp_path.glob("library.sqlite.broken-*"))
    assert {p.name for p in kept} - {kept[0].name + "-shm"} == {
        kept[0].name,
        kept[0].name + "-wal",
    }
    assert kept[0].read_bytes() == broken
    assert Path(f"{kept[0]}-wal").read_bytes() == b"wal of the broken library"
    assert str(kept[0]) in r.stderr and f"new, empty library is at {db}" in r.stderr
    assert check(db).returncode == 0
    with Store(db) as s:
        assert s.analysed() == []
    with sqlite3.connect(db) as c:
        assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_library_locked_by_another_program(tmp_path):
    db = make_library(tmp_path / "library.sqlite", n=5)
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another program is writing
    try:
        with Store(db) as s:
            s.conn.execute("PRAGMA busy_timeout = 50")  # instead of waiting 30 s
            assert s.get_file("/music/1.mp3")["mood"] == "Calm"  # reading goes on (WAL)
            with pytest.raises(LibraryError, match="locked by another program") as e:
                s.kv_put("k", "v", "1")
            assert str(e.value).startswith(f"{db}: ")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
