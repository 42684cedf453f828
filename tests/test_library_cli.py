"""The issue's "done when", through the command line: scan, tag, undo, rescan, playlists."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.library_fixtures import TRACKS, audio_packets, copy_library, scanned_library
from trackmood.library import tags as T
from trackmood.moods import MOODS


def test_scan_tag_undo_rescan_export(tmp_path_factory, tmp_path):
    music, db = copy_library(*scanned_library(tmp_path_factory), tmp_path)
    env = {**os.environ, "TRACKMOOD_DB": str(db)}

    def tm(*args):
        run = subprocess.run(
            [sys.executable, "-m", "trackmood", *args], capture_output=True, text=True, env=env
        )
        assert run.returncode == 0, run.stderr
        return run

    files = sorted(p for p in music.rglob("*") if p.is_file())
    packets = {p: audio_packets(p) for p in files}
    first = tm("scan", str(music))
    assert f"{len(TRACKS)} known by content" in first.stderr  # the copy: nothing analysed
    dry = tm("tag", "--dry-run", str(music))
    assert dry.stdout.count("would write: ") == len(TRACKS)
    assert all(T.Tagged(str(p)).get(T.MOOD) is None for p in files)
    tm("tag", str(music))
    for p in files:
        assert T.Tagged(str(p)).get(T.MOOD)[0] in MOODS
        assert audio_packets(p) == packets[p]
    tm("tag", "--undo")
    assert all(T.Tagged(str(p)).get(T.MOOD) is None for p in files)
    again = tm("scan", str(music))
    assert f"{len(TRACKS)} unchanged, 0 analysed" in again.stderr
    out = tmp_path / "playlists"
    listing = tm("playlists", "export", "--format", "m3u8", "-o", str(out)).stdout.splitlines()
    assert len(listing) == 4
    for line in listing:
        path, _count = line.split("\t")
        for entry in Path(path).read_text(encoding="utf-8").splitlines():
            if not entry.startswith("#"):
                assert (Path(path).parent / entry).is_file(), entry
