"""The ``mood`` beets plugin with real beets (from PyPI) on a temporary library."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import mutagen
import pytest

pytest.importorskip("beets")

from tests.audio_fixtures import click_track  # noqa: E402
from tests.library_fixtures import TRACKS, make_library, write_track  # noqa: E402
from trackmood.moods import MOODS  # noqa: E402

SRC = Path(__file__).resolve().parents[1] / "src"


@pytest.fixture
def beets_env(tmp_path):
    music = tmp_path / "music"
    make_library(music)
    cfg = tmp_path / "beetsdir"
    cfg.mkdir()
    (cfg / "config.yaml").write_text(
        f"directory: {tmp_path / 'lib'}\n"
        f"library: {cfg / 'library.db'}\n"
        "plugins: mood\n"
        "import:\n  copy: no\n  write: no\n  autotag: no\n"
        "mood:\n  workers: 1\n",
        encoding="utf-8",
    )
    env = {
        **os.environ,
        "BEETSDIR": str(cfg),
        "TRACKMOOD_DB": str(tmp_path / "trackmood.sqlite"),
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
        "PYTHONIOENCODING": "utf-8",
    }

    def beet(*args: str) -> subprocess.CompletedProcess:
        run = subprocess.run(
            [sys.executable, "-m", "beets", *args],
            capture_output=True,
            text=True,
            encoding="utf-8",
            env=env,
            timeout=300,
        )
        assert run.returncode == 0, run.stderr
        return run

    beet("import", "-A", "-q", str(music))
    return music, beet


def file_moods(music: Path) -> dict[str, list[str] | None]:
    out = {}
    for p in sorted(music.rglob("*")):
        if not p.is_file():
            continue
        f = mutagen.File(str(p))
        tags = f.tags or {}
        if p.suffix == ".mp3":
            out[p.name] = [str(t) for fr in tags.getall("TMOO") for t in fr.text] or None
        elif p.suffix == ".m4a":
            v = tags.get("----:com.apple.iTunes:MOOD")
            out[p.name] = [bytes(x).decode() for x in v] if v else None
        else:
            out[p.name] = tags.get("mood")
    return out


def test_beet_mood_fills_flexible_attributes_query_and_write(beets_env):
    music, beet = beets_env
    listed = beet("ls", "-f", "$path")
    assert len(listed.stdout.splitlines()) == len(TRACKS)
    beet("mood")
    rows = beet("ls", "-f", "$path|$mood|$mood_p_calm|$mood_p_energetic|$mood_p_happy|$mood_p_sad")
    moods = {}
    for line in rows.stdout.splitlines():
        path, mood, *p = line.split("|")
        assert mood in MOODS
        assert sum(map(float, p)) == pytest.approx(1.0, abs=1e-3)
        assert float(p[MOODS.index(mood)]) == max(map(float, p))
        moods[Path(path).name] = mood
    assert len(moods) == len(TRACKS)
    # the flexible attribute answers queries
    for mood in set(moods.values()):
        hits = beet("ls", "-f", "$path", f"mood:{mood}").stdout.splitlines()
        assert sorted(Path(h).name for h in hits) == sorted(
            n for n, m in moods.items() if m == mood
        )
    assert beet("ls", "mood_p_calm:2..").stdout.strip() == ""  # typed as a number
    # tags are untouched until beet write puts them into every format
    assert set(file_moods(music).values()) == {None}
    beet("write")
    assert file_moods(music) == {n: [m] for n, m in moods.items()}
    # a second run has nothing to do unless forced
    again = beet("-v", "mood")
    assert "no items to analyse" in again.stderr + again.stdout
    # with auto: yes, importing analyses the new items
    extra = music.parent / "extra"
    write_track(extra / "new.flac", "flac", click_track(120, 3.0), "Auto", "Imported")
    auto = music.parent / "auto.yaml"
    auto.write_text("mood:\n  auto: yes\n", encoding="utf-8")
    beet("-c", str(auto), "import", "-A", "-q", str(extra))
    got = beet("ls", "-f", "$mood|$mood_p_sad", f"path:{extra}").stdout.split("|")
    assert got[0] in MOODS and 0.0 <= float(got[1]) <= 1.0


def test_plugin_module_is_found_in_the_namespace_package():
    import beetsplug

    paths = [Path(p).resolve() for p in beetsplug.__path__]
    assert (SRC / "beetsplug").resolve() in paths
    assert not (SRC / "beetsplug" / "__init__.py").exists()


def _measures(db: Path, music: Path) -> dict[str, dict]:
    """``{file name: analysis values}`` from trackmood's library (through its catalog) for the
    files under ``music`` (their track ids: the content hash).
    """
    from trackmood.audio.parallel import file_hash, track_id
    from trackmood.library import catalog
    from trackmood.store import Store

    ids = {p.name: track_id(file_hash(str(p))) for p in music.rglob("*") if p.is_file()}
    with Store(db) as store:
        m = catalog.measures(store, ids.values())
    return {name: m[tid] for name, tid in ids.items() if tid in m}


# ID3v2.4 TKEY spelling, written out here (not the plugin's table)
KEYS = {
    1: ["C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"],
    0: ["Cm", "C#m", "Dm", "Ebm", "Em", "Fm", "F#m", "Gm", "G#m", "Am", "Bbm", "Bm"],
}


def test_beet_mood_fills_empty_bpm_and_initial_key_and_valence_energy(beets_env, tmp_path):
    from trackmood.library.tagvalues import MIN_KEY_CONFIDENCE, MIN_TEMPO_CONFIDENCE

    music, beet = beets_env
    opus = next(music.rglob("*.opus"))
    beet("modify", "-y", f"path:{opus}", "bpm=99", "initial_key=Gm")  # set by the user before
    beet("mood")
    rows = beet("ls", "-f", "$path|$bpm|$initial_key|$mood_valence|$mood_energy").stdout
    measured = _measures(tmp_path / "trackmood.sqlite", music)
    written = 0
    for line in rows.splitlines():
        path, bpm, key, valence, energy = line.split("|")
        name = Path(path).name
        m = measured[name]
        if name == opus.name:
            assert (bpm, key) == ("99", "Gm")  # beets' own values are kept
        else:
            if m["beat_confidence"] >= MIN_TEMPO_CONFIDENCE:
                assert int(bpm) == int(m["tempo"] + 0.5), name
                written += 1
            else:
                assert bpm == "0", name
            good_key = m["key_confidence"] >= MIN_KEY_CONFIDENCE and m["key"] >= 0
            assert key == (KEYS[int(m["mode"])][int(m["key"])] if good_key else ""), name
        assert float(valence) == pytest.approx(m["valence"], abs=5.01e-4)
        assert float(energy) == pytest.approx(m["energy"], abs=5.01e-4)
    assert written >= 1, rows
    mp3 = next(music.rglob("*.mp3"))  # 160 BPM clicks
    if measured[mp3.name]["beat_confidence"] >= MIN_TEMPO_CONFIDENCE:
        got = int(beet("ls", "-f", "$bpm", f"path:{mp3}").stdout)
        assert abs(got - 160) <= 5
    # flexible attributes are typed: queries by range work
    assert beet("ls", "mood_energy:2..").stdout.strip() == ""
    # beet write puts them into the files: TBPM/TKEY and trackmood's own fields
    beet("write")
    f = mutagen.File(str(mp3))
    want = beet("ls", "-f", "$bpm|$initial_key|$mood_valence", f"path:{mp3}").stdout.strip()
    bpm, key, valence = want.split("|")
    if bpm != "0":
        assert [str(x) for x in f.tags.getall("TBPM")[0].text] == [bpm]
    if key:
        assert str(f.tags.getall("TKEY")[0].text[0]) == key
    assert str(f.tags.getall("TXXX:TRACKMOOD_VALENCE")[0].text[0]) == valence


def test_beets_reads_bpm_and_key_that_trackmood_tag_wrote(beets_env, tmp_path):
    music, beet = beets_env
    db = tmp_path / "trackmood.sqlite"
    run = subprocess.run(
        [sys.executable, "-m", "trackmood", "tag", "--fields", "mood,bpm,key", str(music)],
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "TRACKMOOD_DB": str(db),
            "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
        },
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    (tmp_path / "lib").mkdir(exist_ok=True)  # else beet update asks whether to go on
    beet("update")
    rows = beet("ls", "-f", "$path|$bpm|$initial_key|$mood").stdout.splitlines()
    assert len(rows) == len(TRACKS)
    seen = 0
    for line in rows:
        path, bpm, key, mood = line.split("|")
        t = mutagen.File(path, easy=False).tags
        p = Path(path)
        if p.suffix == ".mp3":
            tag_bpm = [str(x) for fr in t.getall("TBPM") for x in fr.text]
            tag_key = [str(x) for fr in t.getall("TKEY") for x in fr.text]
        elif p.suffix == ".m4a":
            tag_bpm = [str(x) for x in t.get("tmpo", [])]
            tag_key = [bytes(x).decode() for x in t.get("----:com.apple.iTunes:initialkey", [])]
        else:
            tag_bpm, tag_key = t.get("bpm", []), t.get("initialkey", [])
        assert bpm == (tag_bpm[0] if tag_bpm else "0"), line
        assert key == (tag_key[0] if tag_key else ""), line
        assert mood in MOODS  # beets read the MOOD tag through the plugin's field
        seen += bool(tag_bpm) + bool(tag_key)
    assert seen >= 2, rows
