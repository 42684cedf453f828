"""More like this and the one-click M3U8 exports (issue 17, item 4), in real headless Chromium
against the real app under uvicorn, on a library of generated audio scanned by trackmood (MP3,
FLAC, OGG, M4A, Opus): the similar list of the 160 BPM click track shows the other click track
first, a listed track plays from the library, and a mood's export downloads an M3U8 file that
lists the library's tracks of that mood.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import unquote

import pytest

from tests.library_fixtures import scanned_library

from .test_web_browser import browser, serve  # noqa: F401 - fixtures

pytestmark = pytest.mark.slow


@pytest.fixture
def scanned(tmp_path_factory, tmp_path):
    """The scanned generated library, its library file copied where ``serve`` opens it."""
    music, db = scanned_library(tmp_path_factory)
    shutil.copyfile(db, tmp_path / "browser.sqlite")
    return music


def file_moods(db: Path) -> dict[str, str]:
    """``{path: mood}`` of the library's analysed files, as the Store reads them back."""
    from trackmood.store import Store

    with Store(db) as s:
        rows = [s.get_file(p) for p in s.files_under()]
    return {r["path"]: r["mood"] for r in rows if r["status"] == "ok" and r["mood"]}


def test_more_like_this_plays_and_exports(serve, browser, scanned, tmp_path):  # noqa: F811
    from playwright.sync_api import expect

    music = scanned
    server = serve()
    ctx = browser.new_context(viewport={"width": 1280, "height": 600}, accept_downloads=True)
    page = ctx.new_page()
    errors, audio = [], []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on(
        "response",
        lambda r: audio.append((r.url, r.status)) if r.url.endswith("/audio") else None,
    )
    page.goto(server + "/")
    page.wait_for_selector("body[data-library='ready']")
    rows = page.locator("#lib-table tbody tr")
    expect(rows).to_have_count(5)

    # "More like this" on the 160 BPM click track: the other click track (Opus, 90 BPM) first
    clicks = rows.filter(has_text="Schrei nach Liebe")
    seed = clicks.get_attribute("data-id")
    clicks.locator("button.similar").click()
    expect(page.locator("#similar-h")).to_have_text("More like Schrei nach Liebe")
    expect(page.locator("#similar-box")).to_be_in_viewport()  # not below the fold
    listed = page.locator("#similar-list li")
    expect(listed).to_have_count(4)  # every other track of the library
    expect(page.locator("#similar-status")).to_have_text("")
    assert "Opus Title" in listed.first.inner_text(), listed.all_inner_texts()
    assert not any("Schrei nach Liebe" in t for t in listed.all_inner_texts())
    sims = [float(t.rsplit("similarity ", 1)[1]) for t in listed.all_inner_texts()]
    assert sims == sorted(sims, reverse=True), sims

    # the listed track plays from the library: the audio endpoint answers, the player advances
    listed.first.locator("button.play").click()
    page.wait_for_function(
        "() => { const a = document.getElementById('player'); return a.currentTime > 0.2 }",
        timeout=15000,
    )
    expect(page.locator("#now-playing")).to_have_text("Playing: Opus Title — Opus Artist")
    played = page.evaluate("() => document.getElementById('player').dataset.track")
    assert played != seed
    assert any(unquote(u).endswith(f"/tracks/{played}/audio") and s == 206 for u, s in audio), audio

    # one click exports a mood's playlist: an M3U8 download listing that mood's tracks
    moods = file_moods(tmp_path / "browser.sqlite")
    mood = moods[str(music / "Ärzte" / "Schrei nach Liebe.mp3")]
    with page.expect_download() as dl:
        page.click(f"[data-export='{mood}']")
    download = dl.value
    assert download.suggested_filename == f"{mood}.m3u8"
    text = Path(download.path()).read_text(encoding="utf-8")
    assert text.startswith("#EXTM3U"), text[:200]
    entries = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    want = sorted(p for p, m in moods.items() if m == mood)
    # each entry is one of those files, relative to a folder holding them all
    got = sorted(p for e in entries for p in want if p.endswith(os.sep + e))
    assert got == want and len(entries) == len(want), (text, moods)
    expect(page.locator("#export-status")).to_contain_text(f"Downloaded {mood}.m3u8.")

    # a mood no track has: still a valid, empty playlist
    for other in sorted({"Calm", "Energetic", "Happy", "Sad"} - set(moods.values()))[:1]:
        with page.expect_download() as dl:
            page.click(f"[data-export='{other}']")
        text = Path(dl.value.path()).read_text(encoding="utf-8")
        assert text.startswith("#EXTM3U")
        assert not [ln for ln in text.splitlines() if ln and not ln.startswith("#")], text
    assert not errors, errors
    ctx.close()
