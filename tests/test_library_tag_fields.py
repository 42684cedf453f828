"""``trackmood tag --fields``: BPM, key, valence and energy in MP3/FLAC/OGG/M4A tags, read back by
plain mutagen, FFmpeg (the demuxer of mpv, VLC, ffplay) and a real MPD; values other tools wrote
kept unless ``--overwrite``; undo restores every file byte for byte.
"""

from __future__ import annotations

import hashlib
import math
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import mutagen
import numpy as np
import pytest

from tests.audio_fixtures import click_track
from tests.library_fixtures import write_track
from tests.mpd_fixtures import start_mpd
from tests.tag_safety_fixtures import known_library
from trackmood.library import catalog
from trackmood.library import tags as T
from trackmood.library.tagvalues import MIN_KEY_CONFIDENCE, MIN_TEMPO_CONFIDENCE
from trackmood.store import Store

SR = 44100
FORMATS = ("mp3", "flac", "ogg", "m4a")
# Independent tables (ID3v2.4 TKEY spelling; the Camelot and Open Key wheels as DJ software
# prints them), not the code's formulas.
STANDARD = {
    (0, 1): "C",
    (1, 1): "Db",
    (6, 1): "F#",
    (7, 1): "G",
    (9, 0): "Am",
    (10, 0): "Bbm",
    (2, 0): "Dm",
    (11, 0): "Bm",
    (4, 0): "Em",
    (1, 0): "C#m",
    (3, 0): "Ebm",
    (8, 0): "G#m",
}
NAMES_MAJOR = ["C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"]
NAMES_MINOR = ["Cm", "C#m", "Dm", "Ebm", "Em", "Fm", "F#m", "Gm", "G#m", "Am", "Bbm", "Bm"]
CAMELOT = {"Bbm": "3A", "F#": "2B", "Db": "3B", "Am": "8A", "C": "8B"}
OPENKEY = {"Bbm": "8m", "F#": "7d", "Db": "8d", "Am": "1m", "C": "1d"}


def sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def raw(path: Path) -> dict:
    """BPM, key, valence, energy and mood as plain mutagen reads them (the native tag names)."""
    f = mutagen.File(str(path))
    t = f.tags
    ext = path.suffix.lstrip(".")
    if ext == "mp3":

        def get(k):
            return [str(x) for fr in t.getall(k) for x in fr.text] or None

        return {
            "bpm": get("TBPM"),
            "key": get("TKEY"),
            "valence": get("TXXX:TRACKMOOD_VALENCE"),
            "energy": get("TXXX:TRACKMOOD_ENERGY"),
            "mood": get("TMOO"),
        }
    if ext == "m4a":

        def free(k):
            v = t.get("----:com.apple.iTunes:" + k)
            return [bytes(x).decode() for x in v] if v else None

        tmpo = t.get("tmpo")
        assert tmpo is None or all(isinstance(x, int) for x in tmpo)  # an integer atom
        return {
            "bpm": [str(x) for x in tmpo] if tmpo else None,
            "key": free("initialkey"),
            "valence": free("TRACKMOOD_VALENCE"),
            "energy": free("TRACKMOOD_ENERGY"),
            "mood": free("MOOD"),
        }
    return {
        "bpm": t.get("bpm"),
        "key": t.get("initialkey"),
        "valence": t.get("trackmood_valence"),
        "energy": t.get("trackmood_energy"),
        "mood": t.get("mood"),
    }


def tm(*args, db) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "trackmood", *map(str, args)],
        capture_output=True,
        text=True,
        env={**os.environ, "TRACKMOOD_DB": str(db)},
        timeout=300,
    )


# -- values from known analysis rows (no analysis: the point is the writing) ------------------
#: format -> (tempo, tempo confidence, key, mode, key confidence, valence, energy)
KNOWN = {
    "mp3": (126.5, 0.9, 10, 0, 0.9, 0.12345, 0.98765),
    "flac": (127.49, 0.8, 6, 1, 0.8, 0.5, 0.25),
    "ogg": (90.0, 0.2, 9, 0, 0.3, 0.7, 0.1),  # neither tempo nor key measured well enough
    "m4a": (174.6, 0.7, 1, 1, 0.95, 0.0004, 1.0),
}
WANT_BPM = {"mp3": "127", "flac": "127", "ogg": None, "m4a": "175"}  # rounded half up
WANT_KEY = {"mp3": "Bbm", "flac": "F#", "ogg": None, "m4a": "Db"}


def build(folder: Path, known: dict, prepare=None):
    """Four short files, ``prepare(files)`` applied, and a library that knows them with the
    analysis values ``known`` (catalog rows and features through the store, no analysis).
    """
    music, db = folder / "music", folder / "lib.sqlite"
    files = {
        fmt: write_track(music / f"t.{fmt}", fmt, click_track(100, 1.0, SR), "Artist", fmt)
        for fmt in FORMATS
    }
    if prepare:
        prepare(files)
    known_library(music, db)
    store = Store(db)
    for fmt, (tempo, tc, key, mode, kc, val, en) in known.items():
        tid = catalog.get_file(store, str(files[fmt]))["track_id"]
        values = dict(tempo=tempo, beat_confidence=tc, key=key, mode=mode, key_confidence=kc)
        store.put_features(tid, {**values, "valence": val, "energy": en}, source="audio:test")
    return files, store, db


@pytest.fixture
def known(tmp_path):
    files, store, db = build(tmp_path, KNOWN)
    yield files, store, db
    store.close()


def test_fields_written_in_every_format_in_each_notation_and_undone_byte_for_byte(known):
    files, store, _ = known
    before = {fmt: sha(p) for fmt, p in files.items()}
    paths = [str(p) for p in files.values()]
    # the default is the mood alone
    rep = T.tag_files(store, paths)
    assert {f.status for f in rep.files} == {"written"}
    assert all(raw(p)["bpm"] is None and raw(p)["key"] is None for p in files.values())
    rep = T.tag_files(store, paths, fields=T.FIELD_NAMES)
    assert {f.status for f in rep.files} == {"written"}, [f.line() for f in rep.files]
    for fmt, p in files.items():
        got = raw(p)
        assert got["bpm"] == ([WANT_BPM[fmt]] if WANT_BPM[fmt] else None), fmt
        assert got["key"] == ([WANT_KEY[fmt]] if WANT_KEY[fmt] else None), fmt
        val, en = KNOWN[fmt][5:]
        assert got["valence"] == [f"{val:.3f}"] and got["energy"] == [f"{en:.3f}"], fmt
        assert got["mood"] == [catalog.get_file(store, str(p))["mood"]]
    ogg = next(f for f in rep.files if f.path.endswith(".ogg"))
    assert "tempo confidence 0.20 below" in ogg.message and "key confidence 0.30" in ogg.message
    # the key in DJ notations replaces trackmood's own key without --overwrite
    for notation, table in (("camelot", CAMELOT), ("openkey", OPENKEY)):
        rep = T.tag_files(store, paths, fields=("key",), notation=notation)
        for fmt, p in files.items():
            want = table.get(WANT_KEY[fmt]) if WANT_KEY[fmt] else None
            assert raw(p)["key"] == ([want] if want else None), (notation, fmt)
            assert raw(p)["bpm"] == ([WANT_BPM[fmt]] if WANT_BPM[fmt] else None)  # untouched
    # a rescan analyses nothing (the library's record follows every write)
    from trackmood.library.scan import scan

    assert scan(store, [files["mp3"].parent], workers=1).analysed == 0
    for _ in range(4):  # openkey, camelot, all fields, mood: newest first
        assert {f.status for f in T.undo(store).files} == {"restored"}
    assert {fmt: sha(p) for fmt, p in files.items()} == before
    assert T.undo(store).run == ""


def _other_tool(files: dict) -> None:
    """BPM 128 and key Am as other taggers write them (ID3v2.3 TBPM/TKEY, Picard's Vorbis KEY,
    INITIALKEY, MP4 tmpo and initialkey).
    """
    from mutagen.id3 import TBPM, TKEY
    from mutagen.mp4 import MP4FreeForm

    f = mutagen.File(str(files["mp3"]))
    f.tags.add(TBPM(encoding=1, text=["128"]))
    f.tags.add(TKEY(encoding=1, text=["Am"]))
    f.save(v2_version=3)
    f = mutagen.File(str(files["flac"]))
    f["BPM"], f["KEY"] = ["128"], ["Am"]
    f.save()
    f = mutagen.File(str(files["ogg"]))
    f["BPM"], f["INITIALKEY"] = ["128"], ["Am"]
    f.save()
    f = mutagen.File(str(files["m4a"]))
    f["tmpo"] = [128]
    f["----:com.apple.iTunes:initialkey"] = [MP4FreeForm(b"Am")]
    f.save()


def test_values_of_other_tools_kept_unless_overwrite_dry_run_shows_undo_restores(tmp_path):
    well = {**KNOWN, "ogg": (90.0, 0.9, 9, 0, 0.9, 0.7, 0.1)}  # every value measured well
    files, store, db = build(tmp_path, well, _other_tool)
    store.close()
    before = {fmt: sha(p) for fmt, p in files.items()}
    run = tm("tag", "--fields", "bpm,key,valence", "--dry-run", files["mp3"].parent, db=db)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert len(lines) == 4 and all(line.startswith("would write: ") for line in lines), lines
    assert all("kept its own BPM 128" in line and "kept its own key Am" in line for line in lines)
    assert {fmt: sha(p) for fmt, p in files.items()} == before
    # without --overwrite only trackmood's own fields are written
    run = tm("tag", "--fields", "bpm,key,valence", files["mp3"].parent, db=db)
    assert run.returncode == 0, run.stderr
    for fmt, p in files.items():
        got = raw(p)
        assert got["bpm"] == ["128"] and got["valence"] is not None, fmt
    assert raw(files["flac"])["key"] is None  # its key is in KEY (Picard): no INITIALKEY added
    assert mutagen.File(str(files["flac"]))["KEY"] == ["Am"]
    assert [raw(files[f])["key"] for f in ("mp3", "ogg", "m4a")] == [["Am"]] * 3
    after_first = {fmt: sha(p) for fmt, p in files.items()}
    # --overwrite replaces them (Picard's KEY itself is never written)
    run = tm("tag", "--fields", "bpm,key,valence", "--overwrite", files["mp3"].parent, db=db)
    assert run.returncode == 0, run.stderr
    for fmt, p in files.items():
        got = raw(p)
        assert got["bpm"] == [{**WANT_BPM, "ogg": "90"}[fmt]], fmt
        assert got["key"] == [{**WANT_KEY, "ogg": "Am"}[fmt]], fmt
    assert mutagen.File(str(files["flac"]))["KEY"] == ["Am"]
    undo = tm("tag", "--undo", db=db)
    assert undo.returncode == 0, undo.stderr
    assert {fmt: sha(p) for fmt, p in files.items()} == after_first
    assert tm("tag", "--undo", db=db).returncode == 0
    assert {fmt: sha(p) for fmt, p in files.items()} == before
    assert mutagen.File(str(files["mp3"])).tags.version[:2] == (2, 3)


def test_unknown_field_or_notation_is_a_one_line_error(tmp_path):
    db = tmp_path / "lib.sqlite"
    run = tm("tag", "--fields", "mood,tempo,bpm", tmp_path, db=db)
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1 and "Traceback" not in run.stderr
    assert "'tempo'" in run.stderr
    assert all(f in run.stderr for f in ("mood", "bpm", "key", "valence", "energy"))
    run = tm("tag", "--fields", "key", "--key-notation", "lancelot", tmp_path, db=db)
    assert run.returncode == 2 and run.stderr.count("\n") == 1
    assert "camelot" in run.stderr and "openkey" in run.stderr
    assert not db.exists() or catalog.last_run(Store(db)) is None


# -- a real scan of generated clips of known tempo, read back by FFmpeg and MPD ---------------
def chord_clicks(bpm: float, root: int, minor: bool, seconds: float = 8.0) -> np.ndarray:
    """Clicks at ``bpm`` over a sustained triad on pitch class ``root`` (two octaves)."""
    y = click_track(bpm, seconds, SR)
    t = np.arange(len(y)) / SR
    f0 = 220.0 * 2 ** ((root - 9) / 12)
    for step in (0, 3 if minor else 4, 7):
        for octave in (1, 2):
            y += 0.05 * np.sin(2 * np.pi * f0 * octave * 2 ** (step / 12) * t)
    return y.astype(np.float32)


#: format -> (tempo, root, minor)
CLIPS = {
    "mp3": (120, 9, True),
    "flac": (100, 2, True),
    "ogg": (130, 7, False),
    "m4a": (90, 0, False),
}


@pytest.fixture(scope="module")
def tagged(tmp_path_factory):
    """The clips, scanned and tagged with every field by the CLI once (the tests only read)."""
    root = tmp_path_factory.mktemp("clips")
    music = root / "music"
    files = {
        fmt: write_track(music / f"{fmt} clip.{fmt}", fmt, chord_clicks(*spec), "Gen", fmt)
        for fmt, spec in CLIPS.items()
    }
    db = root / "lib.sqlite"
    run = tm("tag", "--fields", "mood,bpm,key,valence,energy", music, db=db)
    assert run.returncode == 0, run.stderr
    return files, music, db


def _ffmpeg_tags(path: Path) -> dict[str, str]:
    """Tags as FFmpeg's demuxers read them (keys lowercased)."""
    import av

    with av.open(str(path)) as c:
        meta = {**c.metadata, **c.streams.audio[0].metadata}
    return {k.lower(): v for k, v in meta.items()}


@pytest.mark.slow
def test_real_scan_tags_bpm_and_key_that_mutagen_and_ffmpeg_read(tagged):
    files, music, db = tagged
    with Store(db) as store:
        for fmt, p in files.items():
            row = catalog.get_file(store, str(p))
            m = catalog.measures(store, [row["track_id"]])[row["track_id"]]
            got = raw(p)
            if m["beat_confidence"] >= MIN_TEMPO_CONFIDENCE:
                bpm = int(got["bpm"][0])
                assert bpm == math.floor(m["tempo"] + 0.5), fmt
                assert abs(bpm - CLIPS[fmt][0]) <= 0.03 * CLIPS[fmt][0], (fmt, bpm)
            else:
                assert got["bpm"] is None
            if m["key_confidence"] >= MIN_KEY_CONFIDENCE and m["key"] >= 0:
                names = NAMES_MAJOR if m["mode"] == 1 else NAMES_MINOR
                assert got["key"] == [names[int(m["key"])]], fmt
            else:
                assert got["key"] is None
            assert float(got["valence"][0]) == pytest.approx(m["valence"], abs=5.01e-4)
            assert float(got["energy"][0]) == pytest.approx(m["energy"], abs=5.01e-4)
            # FFmpeg reads the same values (TBPM/TKEY, BPM/INITIALKEY, initialkey); its MP4
            # demuxer has no tmpo (iTunes, beets, mutagen and TagLib read it)
            ff = _ffmpeg_tags(p)
            if got["bpm"] and fmt != "m4a":
                assert ff.get("tbpm", ff.get("bpm")) == got["bpm"][0], (fmt, ff)
            if got["key"]:
                assert ff.get("tkey", ff.get("initialkey")) == got["key"][0], (fmt, ff)
    written = [fmt for fmt, p in files.items() if raw(p)["bpm"]]
    assert len(written) >= 3, "BPM of generated click tracks should be measured well enough"


# -- MPD --------------------------------------------------------------------------------------
def _mpd_command(port: int, command: str) -> list[str]:
    """One MPD protocol command; the response lines before ``OK``."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        f = s.makefile("rwb")
        assert f.readline().startswith(b"OK MPD")
        f.write(command.encode() + b"\n")
        f.flush()
        out = []
        while (line := f.readline().decode("utf-8", "replace").rstrip("\n")) != "OK":
            assert not line.startswith("ACK"), line
            out.append(line)
        return out


@pytest.mark.slow
def test_mpd_reads_the_tagged_files(tagged, tmp_path):
    """MPD 0.23 (Debian 12) has no BPM or key tag type, and a mood tag only from 0.24: it is
    asserted that MPD still reads every tagged file (title, artist, duration), and the mood where
    MPD has the tag type.
    """
    if not shutil.which("mpd"):
        pytest.skip("mpd is not installed (scripts/install-test-deps.sh installs it)")
    files, music, db = tagged
    proc, port = start_mpd(tmp_path / "mpd", music)
    try:
        types = {line.split(": ", 1)[1].lower() for line in _mpd_command(port, "tagtypes")}
        _mpd_command(port, "update")
        deadline = time.monotonic() + 60
        while any(x.startswith("updating_db") for x in _mpd_command(port, "status")):
            assert time.monotonic() < deadline, "mpd update did not finish"
            time.sleep(0.1)
        songs: dict[str, dict] = {}
        for line in _mpd_command(port, "listallinfo"):
            k, _, v = line.partition(": ")
            if k == "file":
                cur = songs.setdefault(v, {})
            elif k != "directory":
                cur[k.lower()] = v
    finally:
        proc.kill()
        proc.wait(timeout=10)
    assert sorted(songs) == sorted(p.name for p in files.values())
    with Store(db) as store:
        for fmt, p in files.items():
            song = songs[p.name]
            assert song["title"] == fmt and song["artist"] == "Gen", song
            assert abs(float(song["duration"]) - 8.0) < 0.2, song
            assert raw(p)["bpm"] or raw(p)["key"]  # trackmood's tags are in the file MPD read
            if "mood" in types:  # MPD >= 0.24
                assert song["mood"] == catalog.get_file(store, str(p))["mood"]
    assert not {"bpm", "tbpm", "key", "initialkey"} & types  # MPD has no such tag type


@pytest.mark.parametrize("phase", ["journaled", "replaced"])
def test_killed_run_with_every_field_is_undone_byte_for_byte(tmp_path, phase):
    """SIGKILL while the second file is written (journal committed, before or after its swap):
    ``--undo`` puts back every file, BPM and key included, byte for byte.
    """
    import signal

    well = {**KNOWN, "ogg": (90.0, 0.9, 9, 0, 0.9, 0.7, 0.1)}
    files, store, db = build(tmp_path, well, _other_tool)
    store.close()
    before = {fmt: sha(p) for fmt, p in files.items()}
    music = files["mp3"].parent
    args = ("tag", "--fields", "mood,bpm,key,valence,energy", "--overwrite")
    env = {**os.environ, "TRACKMOOD_DB": str(db), "TRACKMOOD_TEST_KILL": f"{phase}:2"}
    run = subprocess.run(
        [sys.executable, "-m", "trackmood", *args, str(music)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert run.returncode == -signal.SIGKILL, run.stderr
    changed = [fmt for fmt, p in files.items() if sha(p) != before[fmt]]
    assert len(changed) == (2 if phase == "replaced" else 1), changed
    assert any(raw(files[f])["bpm"] == [WANT_BPM[f]] for f in changed if WANT_BPM[f])
    undo = tm("tag", "--undo", db=db)
    assert undo.returncode == 0, undo.stderr
    assert {fmt: sha(p) for fmt, p in files.items()} == before
    assert not [p for p in music.iterdir() if ".trackmood-" in p.name]  # no temporary left


# -- mpv: a player that shows BPM, key and mood ---------------------------------------------
def _mpv_tags(path: Path) -> dict[str, str]:
    """The tags the mpv player reads from ``path`` (its ``metadata`` property, keys lowercased)."""
    run = subprocess.run(
        ["mpv", "--no-config", "--ao=null", "--vo=null", "--length=0.1",
         "--term-playing-msg=<<${metadata}>>", str(path)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    block = run.stdout.split("<<", 1)[1].split(">>", 1)[0]
    return {
        k.strip().lower(): v.strip()
        for k, _, v in (line.partition(":") for line in block.splitlines())
        if k.strip()
    }


@pytest.mark.slow
def test_mpv_plays_the_tagged_files_and_shows_bpm_key_and_mood(tagged):
    """MPD 0.23 has no BPM or key tag type; mpv (Debian's player) shows every field we write."""
    if not shutil.which("mpv"):
        pytest.skip("mpv is not installed (scripts/install-test-deps.sh installs it)")
    files, _music, _db = tagged
    checked = 0
    for fmt, p in files.items():
        got, seen = raw(p), _mpv_tags(p)
        mood = seen.get("tmoo", seen.get("mood", seen.get("----:com.apple.itunes:mood")))
        assert mood == T.Tagged(str(p)).get(T.MOOD)[0], (fmt, seen)
        if got["bpm"] and fmt != "m4a":  # FFmpeg's MP4 demuxer (mpv's) has no tmpo
            assert seen.get("tbpm", seen.get("bpm")) == got["bpm"][0], (fmt, seen)
            checked += 1
        if got["key"] and fmt != "m4a":
            assert seen.get("tkey", seen.get("initialkey")) == got["key"][0], (fmt, seen)
    assert checked >= 2, "mpv should show the BPM of the generated click tracks"
