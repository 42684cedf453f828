"""The page opens on the scanned library, in real headless Chromium against the real app under
uvicorn: a library of 5,003 tracks (5,000 generated rows written through the Store's methods and
three real generated WAV files) — the mood map draws every track, filters and paging show true
totals, a library file plays in the <audio> element (Range requests), and labelling from the
"teach trackmood" queue changes the label stored in the library.
"""

from __future__ import annotations

import numpy as np
import pytest

from .test_library_ls import make_library, margin
from .test_web_browser import ARTIFACTS, browser, serve  # noqa: F401 - fixtures
from .test_web_stream import add_file, wav_file

pytestmark = pytest.mark.slow


@pytest.fixture
def big_library(tmp_path):
    from trackmood.store import Store

    with Store(tmp_path / "browser.sqlite") as s:  # where the serve fixture opens it
        rows = make_library(s, 5000, seed=5)
        clips = []
        for i, freq in enumerate((330.0, 440.0, 550.0)):
            path = wav_file(tmp_path / "music" / f"clip {i}.wav", seconds=3.0, freq=freq)
            tid = f"audio:{0xC0FFEE00 + i:016x}"
            add_file(s, path, tid, title=f"Real clip {i}", artist="Generator")
            s.put_features_many(
                [(tid, {"valence": 0.2 + 0.3 * i, "energy": 0.6})], source="estimate:audio"
            )
            s.put_labels([(tid, "Calm", "user")])
            clips.append(tid)
    return rows, clips


def test_library_page(serve, browser, big_library, tmp_path):  # noqa: F811 - fixtures
    from playwright.sync_api import expect

    rows, clips = big_library
    server = serve()
    ctx = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = ctx.new_page()
    errors, audio = [], []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and "Failed to load resource" not in m.text
            else None
        ),
    )  # generated rows: no file
    page.on(
        "response",
        lambda r: (
            audio.append((r.url, r.status, r.headers.get("content-type")))
            if "/audio" in r.url
            else None
        ),
    )
    page.goto(server + "/")
    page.wait_for_selector("body[data-library='ready']")

    # the map draws every track (5,000 generated + 3 clips), on a canvas
    canvas = page.locator("#lib-map")
    assert canvas.get_attribute("data-points") == "5003"
    coloured = page.evaluate("""() => { const c = document.getElementById('lib-map');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0;
        for (let i = 0; i < d.length; i += 4) if (d[i+3] > 0 && Math.abs(d[i]-d[i+2]) > 40) n++;
        return n; }""")
    assert coloured > 3000, coloured  # coloured mood points, not just the frame
    count = page.locator("#lib-count")
    expect(count).to_have_text("Showing 1–100 of 5,003 matching tracks (5,003 in all).")
    expect(page.locator("#lib-table tbody tr")).to_have_count(100)

    # paging
    page.click("#lib-next")
    expect(count).to_have_text("Showing 101–200 of 5,003 matching tracks (5,003 in all).")
    # "more like this" on the first of 100 rows: the answer is brought into view
    page.locator("#lib-table tbody tr").first.locator("button.similar").click()
    expect(page.locator("#similar-status")).not_to_have_text("Looking…")
    expect(page.locator("#similar-box")).to_be_in_viewport()

    # filters: totals counted by the server, as the test computes them from what it stored
    sad = sum(r["mood"] == "Sad" for r in rows)
    page.click("#lib-mood button[data-mood='Sad']")
    expect(count).to_have_text(f"Showing 1–100 of {sad:,} matching tracks (5,003 in all).")
    assert int(canvas.get_attribute("data-shown")) == sad
    unsure_sad = sum(r["mood"] == "Sad" and margin(r) < 0.15 for r in rows)
    page.check("#lib-uncertain")
    expect(count).to_contain_text(f"of {unsure_sad:,} matching tracks (5,003 in all)")
    assert page.locator("#lib-table tbody .uncertain").count() == min(100, unsure_sad)
    page.uncheck("#lib-uncertain")
    page.click("#lib-mood button[data-mood='']")
    page.select_option("#lib-labelled", "true")
    expect(count).to_have_text("Showing 1–3 of 3 matching tracks (5,003 in all).")
    page.screenshot(path=str(ARTIFACTS / "web-library.png"), full_page=False)

    # a library file plays in the browser
    page.locator("#lib-table tbody tr").first.locator("button.play").click()
    page.wait_for_function(
        "() => { const a = document.getElementById('player'); return a.currentTime > 0.2 }",
        timeout=15000,
    )
    assert any(s in (200, 206) and t == "audio/wav" for _, s, t in audio), audio
    assert page.locator("#now-playing").inner_text().startswith("Playing: Real clip")

    # the teach queue: the first suggestion, labelled Happy, is stored in the library
    page.click("#teach-start")
    card = page.locator("#teach-card")
    expect(card).to_be_visible(timeout=30000)
    first = card.get_attribute("data-track")
    assert first and first not in clips  # the clips are labelled already
    page.click("#teach-moods button[data-mood='Happy']")
    expect(page.locator("#teach-status")).to_contain_text("is Happy to you")
    assert card.get_attribute("data-track") != first  # next one
    from trackmood.store import Store

    with Store(tmp_path / "browser.sqlite") as s:
        mine = {r["track_id"]: r["mood"] for r in s.get_labels() if r["source"] == "user"}
    assert mine[first] == "Happy" and len(mine) == 4
    expect(count).to_have_text("Showing 1–4 of 4 matching tracks (5,003 in all).")

    # "more like this" on a track the scan did not embed says why; the exports download
    # (a scanned library's similar tracks and playlists: tests/test_web_similar_page.py)
    page.locator("#lib-table tbody tr").first.locator("button.similar").click()
    expect(page.locator("#similar-status")).to_contain_text(
        "has no musicnn embedding: scan it again"
    )
    with page.expect_download() as dl:
        page.click("[data-export='Calm']")
    assert dl.value.suggested_filename == "Calm.m3u8"
    expect(page.locator("#export-status")).to_contain_text("Downloaded Calm.m3u8")

    # the model card in words, not raw metric keys
    card_text = page.locator("#model-card").inner_text()
    assert "recall_mean" not in card_text and "accuracy_mean" not in card_text
    assert "Accuracy" in card_text
    assert not errors, errors
    ctx.close()


def test_a_large_map_stays_responsive(serve, browser, tmp_path):  # noqa: F811 - fixtures
    """30,000 tracks: the page is ready, and redrawing the map for a filter is quick."""
    from trackmood.store import Store

    with Store(tmp_path / "browser.sqlite") as s:
        make_library(s, 30000, seed=9)
    server = serve()
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(server + "/")
    page.wait_for_selector("body[data-library='ready']", timeout=60000)
    assert page.locator("#lib-map").get_attribute("data-points") == "30000"
    ms = page.evaluate("""() => { const t = performance.now();
        for (let i = 0; i < 5; i++) drawMap(); return (performance.now() - t) / 5; }""")
    assert ms < 250, ms
    np.testing.assert_equal(
        page.locator("#lib-count").inner_text().endswith("(30,000 in all)."), True
    )
