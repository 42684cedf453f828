"""Hostile file names: names that are not UTF-8 and names with line breaks, through the real CLI
(subprocesses, real generated audio, a real library file) and a real player (MPD + mpc).
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.audio_fixtures import music_like, write_wav
from tests.library_fixtures import SR, copy_library, scanned_library, write_track
from tests.mpd_fixtures import start_mpd
from trackmood.library import catalog
from trackmood.moods import MOODS
from trackmood.store import Store

#: the issue's file name: three lines of an M3U file in one name
EVIL = "evil\n#EXTINF:1,pwned\nrtsp:evil.example.mp3"
LATIN1 = os.fsdecode(b"caf\xe9.wav")  # "café" in Latin-1: not UTF-8


def tm(*args, db: Path, ok: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "TRACKMOOD_DB": str(db), "PYTHONIOENCODING": "utf-8"}
    run = subprocess.run(
        [sys.executable, "-m", "trackmood", *map(str, args)],
        capture_output=True,
        env=env,
        timeout=300,
    )
    run.stdout_text = run.stdout.decode("utf-8")  # every byte printed is UTF-8
    run.stderr_text = run.stderr.decode("utf-8")
    if ok:
        assert run.returncode == 0, run.stderr_text
    return run


@pytest.fixture
def folder(tmp_path):
    """A folder with a good WAV, a WAV whose name is not UTF-8 and a damaged one (not UTF-8)."""
    d = tmp_path / "music"
    d.mkdir()
    write_wav(d / "good.wav", music_like(6.0, 22050, seed=21), 22050)
    write_wav(d / "tmp.wav", music_like(6.0, 22050, seed=22), 22050)
    os.rename(d / "tmp.wav", os.path.join(d, LATIN1))
    Path(os.path.join(d, os.fsdecode(b"bad\xfe.mp3"))).write_bytes(b"just some text\n" * 10)
    return d


def test_predict_folder_with_a_name_that_is_not_utf8(folder, tmp_path):
    db = tmp_path / "lib.sqlite"
    out = tmp_path / "p.csv"
    run = tm("predict", folder, "-o", out, db=db)
    rows = {r["name"]: r for r in csv.DictReader(io.StringIO(out.read_text("utf-8")))}
    assert set(rows) == {"good", "caf\\xe9", "bad\\xfe"}
    assert rows["good"]["status"] == rows["caf\\xe9"]["status"] == "ok"
    assert rows["caf\\xe9"]["mood"] in MOODS and rows["caf\\xe9"]["path"].endswith("caf\\xe9.wav")
    assert rows["bad\\xfe"]["status"] == "failed"
    # the damaged file is reported on one line, its name escaped
    assert "bad\\xfe.mp3: not an audio file" in run.stderr_text
    assert "\\udc" not in run.stderr_text and "Traceback" not in run.stderr_text
    # the table on stdout too, and the library knows the track under its escaped name
    table = tm("predict", folder, db=db).stdout_text
    assert "caf\\xe9" in table and "good" in table
    with Store(db) as store:
        names = {t["name"] for t in store.list_tracks(limit=10)[0]}
    assert {"good", "caf\\xe9"} <= names


def test_scan_reports_a_name_that_is_not_utf8_escaped(folder, tmp_path):
    run = tm("scan", folder, db=tmp_path / "lib.sqlite", ok=False)
    assert run.returncode == 4  # reported one by one, the other files analysed
    assert f"{folder}/caf\\xe9.wav: the file name is not valid UTF-8" in run.stderr_text
    assert "1 analysed" in run.stderr_text and "\\udc" not in run.stderr_text


def test_extract_folder_with_a_name_that_is_not_utf8(folder, tmp_path):
    db = tmp_path / "lib.sqlite"
    run = tm("extract", folder, "--workers", "1", db=db)
    rows = {r["name"]: r for r in csv.DictReader(io.StringIO(run.stdout_text))}
    assert set(rows) == {"good", "caf\\xe9", "bad\\xfe"}
    assert float(rows["caf\\xe9"]["tempo"]) > 0 and not rows["caf\\xe9"]["error"]
    assert "not an audio file" in rows["bad\\xfe"]["error"]
    assert "2 file(s) extracted, 1 failed" in run.stderr_text
    out = tmp_path / "f.parquet"
    tm("extract", folder, "-o", out, db=db)
    import pandas as pd

    assert sorted(pd.read_parquet(out)["name"]) == ["bad\\xfe", "caf\\xe9", "good"]


# -- playlists -------------------------------------------------------------------------------


@pytest.fixture
def hostile_library(tmp_path_factory, tmp_path):
    """The generated library plus files named with a newline, a carriage return and a leading
    ``#`` (new audio each), scanned; ``(music, db, hostile paths)``.
    """
    music, db = copy_library(*scanned_library(tmp_path_factory), tmp_path)
    named = {
        EVIL: 31,
        "cr\r#EXTINF:1,x\rrtsp:cr.example.mp3": 32,
        "#lead.mp3": 33,  # a comment line if written as it is
    }
    for name, seed in named.items():
        write_track(music / name, "mp3", music_like(3.0, SR, seed=seed), None, None)
    tm("scan", music, db=db)
    with Store(db) as store, store.transaction() as c:  # only this copy's rows
        c.execute("DELETE FROM lib_files WHERE path NOT LIKE ?", (str(music) + "/%",))
    return music, db, [str(music / n) for n in named]


def playlist_lines(folder: Path) -> dict[str, list[str]]:
    return {m: (folder / f"{m}.m3u8").read_bytes().decode("utf-8").split("\n")[:-1] for m in MOODS}


def test_export_never_lets_a_name_add_lines(hostile_library):
    music, db, hostile = hostile_library
    with Store(db) as store:
        rows = {r["path"]: r for r in catalog.analysed(store)}
    assert set(hostile) <= set(rows)  # analysed like any other file
    run = tm("playlists", "export", "-o", music, db=db)
    lines = playlist_lines(music)
    every = [ln for m in MOODS for ln in lines[m]]
    assert not [ln for ln in every if "rtsp:" in ln or "pwned" in ln or "\r" in ln]
    for mood in MOODS:
        body = lines[mood][1:]
        assert lines[mood][0] == "#EXTM3U" and len(body) % 2 == 0
        assert all(x.startswith("#EXTINF:") for x in body[0::2])
        assert all((music / p).is_file() for p in body[1::2])
    entries = {os.path.normpath(music / p) for m in MOODS for p in lines[m][2::2]}
    assert entries == set(rows) - set(hostile[:2])  # the '#lead' file is in, as './#lead.mp3'
    assert "./#lead.mp3" in every
    # each left-out file is reported on one stderr line, its name escaped
    skipped = [ln for ln in run.stderr_text.splitlines() if "skipped in " in ln]
    assert len(skipped) == 2
    assert any("evil\\n#EXTINF:1,pwned\\nrtsp:evil.example.mp3: " in ln for ln in skipped)
    assert any("cr\\r#EXTINF:1,x\\rrtsp:cr.example.mp3: " in ln for ln in skipped)
    assert all("control character" in ln for ln in skipped)


@pytest.mark.parametrize("name", [EVIL, "a\rb", "a\x00b", "a\x1cb", "a\x85b", "a\u2028b"])
def test_render_writes_no_name_that_breaks_a_line(name, tmp_path):
    from trackmood.library import m3u

    rows = [
        {
            "path": str(tmp_path / f"{name}.mp3"),
            "duration": 3.0,
            "artist": "A\u2028B",
            "title": name,
        },
        {"path": str(tmp_path / "ok.mp3"), "duration": 3.0, "artist": "A\u2028B", "title": name},
    ]
    text = m3u.render(rows, tmp_path)
    lines = text.splitlines()
    assert len(lines) == 3 and lines[0] == "#EXTM3U" and lines[2] == "ok.mp3"
    assert lines[1].startswith("#EXTINF:3,A B - ")  # the tags' breaks are spaces
    assert text.split("\n")[:-1] == text.splitlines()  # no other line break anywhere


@pytest.fixture
def mpd(tmp_path):
    """``start(music)``: a real MPD over ``music`` on a free loopback port (null audio output);
    returns ``mpc(*args) -> output lines``.
    """
    if not (shutil.which("mpd") and shutil.which("mpc")):
        pytest.skip("mpd and mpc are not installed (scripts/install-test-deps.sh installs them)")
    procs = []

    def start(music: Path):
        proc, port = start_mpd(tmp_path / "mpd", music)
        procs.append(proc)
        env = {**os.environ, "MPD_HOST": "127.0.0.1", "MPD_PORT": str(port)}

        def mpc(*args) -> list[str]:
            r = subprocess.run(["mpc", *args], capture_output=True, env=env, timeout=60)
            assert r.returncode == 0, r.stderr
            return [os.fsdecode(x) for x in r.stdout.split(b"\n") if x]

        return mpc

    yield start
    for proc in procs:
        proc.kill()
        proc.wait(timeout=10)


@pytest.mark.slow
def test_mpd_loads_exactly_the_intended_tracks(hostile_library, mpd):
    music, db, hostile = hostile_library
    with Store(db) as store:
        intended = {
            m: sorted(
                os.path.relpath(r["path"], music)
                for r in catalog.analysed(store)
                if r["mood"] == m and r["path"] not in hostile[:2]
            )
            for m in MOODS
        }
    assert sum(map(len, intended.values())) == 6  # the 5 generated tracks and '#lead.mp3'
    tm("playlists", "export", "-o", music, db=db)  # the playlists beside the music
    mpc = mpd(music)
    mpc("update", "--wait")
    assert "#lead.mp3" in mpc("listall")
    for mood in MOODS:
        mpc("clear")
        mpc("load", f"{mood}.m3u8")
        queue = mpc("-f", "%file%", "playlist")
        assert not [q for q in queue if "rtsp:" in q or "pwned" in q or "evil" in q], queue
        assert sorted(queue) == intended[mood], mood
