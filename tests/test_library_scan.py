"""``trackmood scan``: incremental analysis of a generated library, moves, removals, resuming."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.library_fixtures import TRACKS, copy_library, scanned_library, write_track
from trackmood.library import catalog
from trackmood.library.scan import scan
from trackmood.moods import MOODS
from trackmood.store import Store


@pytest.fixture
def library(tmp_path_factory, tmp_path):
    music, db = copy_library(*scanned_library(tmp_path_factory), tmp_path)
    store = Store(db)
    # the copy sits at new paths: known by content, so nothing is analysed again
    rep = scan(store, [music], workers=1)
    assert (rep.analysed, rep.reused) == (0, len(TRACKS))
    yield music, store
    store.close()


def test_first_scan_stores_predictions_and_tags(tmp_path_factory):
    music, db = scanned_library(tmp_path_factory)
    store = Store(db)
    rows = {os.path.relpath(r["path"], music): r for r in catalog.analysed(store)}
    store.close()
    assert set(rows) == {t[0] for t in TRACKS}
    for rel, _fmt, artist, title, _ in TRACKS:
        r = rows[rel]
        assert r["mood"] in MOODS and r["status"] == "ok"
        probs = [r[c] for c in ("p_calm", "p_energetic", "p_happy", "p_sad")]
        assert sum(probs) == pytest.approx(1.0, abs=1e-6)
        assert r["confidence"] == pytest.approx(max(probs))
        assert (r["artist"], r["title"]) == (artist, title)
        assert r["duration"] == pytest.approx(3.0, abs=0.1)
        assert r["track_id"].startswith("audio:") and len(r["sha"]) == 64


def test_second_scan_analyses_nothing(library):
    music, store = library
    rep = scan(store, [music], workers=1)
    assert (rep.found, rep.unchanged, rep.analysed, rep.reused) == (len(TRACKS), len(TRACKS), 0, 0)
    assert rep.missing == [] and rep.failed == []


def test_moved_renamed_removed_and_changed_files(library):
    music, store = library
    mp3 = next(music.rglob("*.mp3"))
    flac = next(music.rglob("*.flac"))
    ogg = next(music.rglob("*.ogg"))
    before = catalog.get_file(store, str(mp3))
    moved = music / "elsewhere" / "renamed.mp3"
    moved.parent.mkdir()
    mp3.rename(moved)
    flac.unlink()
    # same path, new content: analysed again
    import numpy as np

    # (3.5 s: the musicnn embedding needs at least 3 s of audio)
    t = np.arange(int(3.5 * 44100)) / 44100
    write_track(ogg, "ogg", (0.1 * np.sin(2 * np.pi * 330 * t)).astype(np.float32), None, None)
    rep = scan(store, [music], workers=1)
    assert rep.moved == [(str(mp3), str(moved))]
    assert rep.missing == [str(flac)]
    assert rep.analysed == 1 and rep.reused == 1, rep.lines()
    now = catalog.get_file(store, str(moved))
    assert (now["track_id"], now["mood"], now["p_sad"]) == (
        before["track_id"],
        before["mood"],
        before["p_sad"],
    )
    assert catalog.get_file(store, str(mp3)) is None
    assert catalog.get_file(store, str(flac))["status"] == "missing"
    assert catalog.get_file(store, str(ogg))["duration"] == pytest.approx(3.5, abs=0.05)
    # reported once: a further scan finds nothing new missing
    again = scan(store, [music], workers=1)
    assert again.missing == [] and again.analysed == 0


def test_interrupted_scan_resumes_without_redoing_finished_files(tmp_path):
    from tests.library_fixtures import make_library

    music = tmp_path / "m"
    make_library(music)
    store = Store(tmp_path / "lib.sqlite")
    calls = []

    def stop_after_first(stage, done, total):
        calls.append(stage)
        if stage == "analysing" and done == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        scan(store, [music], workers=1, progress=stop_after_first)
    assert len(catalog.analysed(store)) == 1  # committed before the interruption
    rep = scan(store, [music], workers=1)
    assert (rep.unchanged, rep.analysed) == (1, len(TRACKS) - 1)
    store.close()


def test_broken_file_is_reported_and_not_retried_until_it_changes(library):
    music, store = library
    bad = music / "notes.mp3"
    bad.write_text("not audio\n" * 50)
    rep = scan(store, [music], workers=1)
    assert len(rep.failed) == 1 and "notes.mp3" in rep.failed[0]
    assert catalog.get_file(store, str(bad))["status"] == "failed"
    assert scan(store, [music], workers=1).failed == []


def test_cli_scan_and_missing_folder(tmp_path, library):
    music, store = library
    env = {**os.environ, "TRACKMOOD_DB": str(store.path)}
    run = subprocess.run(
        [sys.executable, "-m", "trackmood", "scan", str(music)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert run.returncode == 0, run.stderr
    assert f"{len(TRACKS)} unchanged, 0 analysed" in run.stderr
    bad = subprocess.run(
        [sys.executable, "-m", "trackmood", "scan", str(tmp_path / "nope")],
        capture_output=True,
        text=True,
        env=env,
    )
    assert bad.returncode != 0
    assert bad.stderr.strip().splitlines() == [
        f"trackmood: error: {tmp_path / 'nope'}: no such file or folder"
    ]


def test_killed_scan_keeps_finished_files(tmp_path):
    """SIGKILL in the middle of a scan: every committed file counts as done on the next run."""
    import signal
    import sqlite3
    import time

    from tests.library_fixtures import make_library

    music = tmp_path / "m"
    make_library(music)
    db = tmp_path / "lib.sqlite"
    env = {**os.environ, "TRACKMOOD_DB": str(db)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "trackmood", "scan", "--workers", "1", str(music)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def done() -> int:
        try:
            with sqlite3.connect(str(db), timeout=5) as c:
                return c.execute("SELECT count(*) FROM lib_files WHERE status = 'ok'").fetchone()[0]
        except sqlite3.OperationalError:  # not created yet
            return 0

    deadline = time.monotonic() + 240
    while done() < 1 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    kept = done()
    assert 1 <= kept < len(TRACKS), "the kill came too late to test resuming"
    store = Store(db)
    rep = scan(store, [music], workers=1)
    store.close()
    assert (rep.unchanged, rep.analysed) == (kept, len(TRACKS) - kept)


def test_undecodable_file_name_is_reported_not_a_crash(library):
    music, store = library
    raw = os.fsencode(str(music)) + b"/bad\xff name.mp3"
    with open(raw, "wb") as f:
        f.write(b"\x00" * 100)
    rep = scan(store, [music], workers=1)
    assert rep.unchanged == len(TRACKS) and rep.analysed == 0
    assert len(rep.failed) == 1 and "not valid UTF-8" in rep.failed[0]


def test_analyse_goes_through_the_pipeline(library):
    from trackmood.library.analyse import analyse
    from trackmood.pipeline import score_audio
    from trackmood.predictions import audio_model
    from trackmood.sources.audio import AudioSource

    music, store = library
    bad = music / "broken.flac"
    bad.write_bytes(b"fLaC" + b"\0" * 100)
    got = {r["path"]: r for r in analyse([music], store=store, workers=1)}
    assert got[str(bad)]["status"] == "failed" and "broken.flac" in got[str(bad)]["reason"]
    # the same answers as the pipeline's own audio path on the same files
    model = audio_model()
    frame = next(AudioSource(store=store, workers=1, embed_patches=9).frames([str(music)]))
    pred, _ = score_audio(frame, model)
    for path, p in zip(frame["path"], pred.to_dict("records"), strict=True):
        row = got[path]
        assert row["status"] == p["status"]
        if p["status"] != "ok":
            continue
        assert row["mood"] == p["mood"] and row["quadrant"] == p["quadrant"] != ""
        assert row["valence"] == pytest.approx(p["valence"]) and 0 <= row["valence"] <= 1
        assert row["p_sad"] == pytest.approx(p["p_sad"]) and isinstance(row["uncertain"], bool)
