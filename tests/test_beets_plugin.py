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
