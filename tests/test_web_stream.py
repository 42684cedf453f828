"""``GET /tracks/{id}/audio`` streams library files only (Range requests, content types), and
``GET /library/tracks`` / ``/library/map`` page the scanned library with true totals.
Real app, real SQLite library, real files (generated WAV), real symlinks.
"""

from __future__ import annotations

import io
import wave

import numpy as np
import pytest

from trackmood.web import create_app

from .test_library_ls import make_library
from .test_web_api import web_client


def wav_file(path, seconds=1.0, sr=8000, freq=440.0):
    t = np.arange(int(seconds * sr)) / sr
    pcm = (0.3 * np.sin(2 * np.pi * freq * t) * 32767).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sr)
        w.writeframes(pcm.tobytes())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue())
    return path


def add_file(store, path, tid, **kw):
    store.upsert_files(
        [
            {
                "path": str(path),
                "size": path.stat().st_size if path.exists() else 0,
                "mtime_ns": path.stat().st_mtime_ns if path.exists() else 0,
                "sha": tid[-16:].rjust(64, "0"),
                "track_id": tid,
                "status": "ok",
                "model": "audio",
                "mood": "Calm",
                "p_calm": 0.7,
                "p_energetic": 0.1,
                "p_happy": 0.1,
                "p_sad": 0.1,
                **kw,
            }
        ]
    )


@pytest.fixture
def lib(tmp_path):
    from trackmood.store import Store

    music = tmp_path / "music"
    song = wav_file(music / "Artist" / "song.wav")
    secret = tmp_path / "secret.txt"
    secret.write_text("not music: private\n")
    db = tmp_path / "lib.sqlite"
    with Store(db) as s:
        add_file(s, song, "audio:00000000000000a1")
        # a track the library knows, but whose path was never scanned (e.g. an upload's name)
        s.upsert_tracks([{"id": "audio:00000000000000b2", "name": "x", "path": str(secret)}])
    return db, song, secret, music


def test_streams_a_library_file_with_ranges(lib):
    db, song, _, _ = lib
    data = song.read_bytes()
    with web_client(create_app(store_path=db)) as c:
        r = c.get("/tracks/audio:00000000000000a1/audio")
        assert r.status_code == 200 and r.content == data
        assert r.headers["content-type"] == "audio/wav"
        assert r.headers["accept-ranges"] == "bytes"
        r = c.get("/tracks/audio:00000000000000a1/audio", headers={"Range": "bytes=100-199"})
        assert r.status_code == 206 and r.content == data[100:200]
        assert r.headers["content-range"] == f"bytes 100-199/{len(data)}"
        assert r.headers["content-length"] == "100"
        r = c.get("/tracks/audio:00000000000000a1/audio", headers={"Range": "bytes=-50"})
        assert r.status_code == 206 and r.content == data[-50:]
        r = c.get("/tracks/audio:00000000000000a1/audio", headers={"Range": "bytes=1000-"})
        assert r.status_code == 206 and r.content == data[1000:]
        for bad in (f"bytes={len(data)}-", "bytes=50-10", "lines=1-2", "bytes=x-y"):
            r = c.get("/tracks/audio:00000000000000a1/audio", headers={"Range": bad})
            assert r.status_code == 416, bad
            assert r.headers["content-range"] == f"bytes */{len(data)}"
        r = c.head("/tracks/audio:00000000000000a1/audio")
        assert r.status_code == 200 and r.headers["content-length"] == str(len(data))


def test_serves_nothing_outside_the_library(lib, tmp_path):
    db, song, secret, music = lib
    with web_client(create_app(store_path=db)) as c:
        # a track with a path that the library never scanned
        r = c.get("/tracks/audio:00000000000000b2/audio")
        assert r.status_code == 404 and b"private" not in r.content
        for tid in ("..%2F..%2Fsecret.txt", "%2e%2e", "nope", str(secret).replace("/", "%2F")):
            r = c.get(f"/tracks/{tid}/audio")
            assert r.status_code == 404, tid
            assert b"private" not in r.content
        r = c.get("/tracks/audio:00000000000000a1/../../../secret.txt/audio")
        assert r.status_code == 404 and b"private" not in r.content

    # the scanned file replaced by a symbolic link out of the library
    song.unlink()
    song.symlink_to(secret)
    with web_client(create_app(store_path=db)) as c:
        r = c.get("/tracks/audio:00000000000000a1/audio")
        assert r.status_code == 404 and b"private" not in r.content
    song.unlink()

    # a folder on the way that became a link to somewhere else
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "song.wav").write_text("not music: private\n")
    (music / "Artist").rmdir()
    (music / "Artist").symlink_to(elsewhere)
    with web_client(create_app(store_path=db)) as c:
        r = c.get("/tracks/audio:00000000000000a1/audio")
        assert r.status_code == 404 and b"private" not in r.content
    (music / "Artist").unlink()
    with web_client(create_app(store_path=db)) as c:  # gone: 404, not 500
        assert c.get("/tracks/audio:00000000000000a1/audio").status_code == 404


def test_a_music_folder_that_is_a_link_plays(tmp_path):
    """~/Music often is a link to another disk: files scanned through it play."""
    from trackmood.store import Store

    real = tmp_path / "disk" / "Music"
    song = wav_file(real / "song.wav")
    (tmp_path / "Music").symlink_to(real)
    db = tmp_path / "lib.sqlite"
    with Store(db) as s:
        add_file(
            s,
            tmp_path / "Music" / "song.wav",
            "audio:00000000000000c3",
            mtime_ns=song.stat().st_mtime_ns,
        )
    with web_client(create_app(store_path=db)) as c:
        r = c.get("/tracks/audio:00000000000000c3/audio")
        assert r.status_code == 200 and r.content == song.read_bytes()
        # the same file, changed since the scan (reached through a link): refused
        song.write_bytes(song.read_bytes() + b"more")
        assert c.get("/tracks/audio:00000000000000c3/audio").status_code == 404


def test_library_pages_have_true_totals(tmp_path):
    from trackmood.store import Store

    db = tmp_path / "big.sqlite"
    with Store(db) as s:
        rows = make_library(s, 1500, labels=30)
    with web_client(create_app(store_path=db)) as c:
        page = c.get("/library/tracks?limit=100&offset=1450").json()
        assert page["total"] == 1500 and page["all"] == 1500 and len(page["tracks"]) == 50
        sad = sum(r["mood"] == "Sad" for r in rows)
        page = c.get("/library/tracks?mood=Sad&limit=10").json()
        assert page["total"] == sad and page["all"] == 1500
        assert {t["mood"] for t in page["tracks"]} == {"Sad"}
        page = c.get("/library/tracks?labelled=true&limit=1000").json()
        assert page["total"] == 30 and all(t["label"] for t in page["tracks"])
        page = c.get("/library/tracks?uncertain=true&limit=5").json()
        assert all(t["uncertain"] for t in page["tracks"]) and 0 < page["total"] < 1500
        t = page["tracks"][0]
        assert t["audio"] == f"/tracks/{t['id']}/audio" and "/" not in t["file"]
        m = c.get("/library/map").json()
        assert m["count"] == 1500 and len(m["valence"]) == 1500
        assert sum(x >= 0 for x in m["label"]) == 30
        assert c.get("/library/tracks?uncertain=maybe").status_code == 422
