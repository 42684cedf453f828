"""The page in real headless Chromium (Debian's ``chromium``, driven by Playwright) against the
real app under uvicorn on loopback: upload a CSV, see rows and map points, filter, sort, download,
and a phone-width view. Screenshots go to ``artifacts/`` (git-ignored).
"""

from __future__ import annotations

import csv
import shutil
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from .test_web_api import fake_extract, wav_bytes

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def serve(tmp_path, monkeypatch):
    """``serve(model=None)`` starts the real app under uvicorn on a free loopback port."""
    uvicorn = pytest.importorskip("uvicorn")
    from trackmood.web import create_app

    servers = []

    def start(model=None) -> str:
        port = free_port()
        app = create_app(
            model=model,
            store_path=tmp_path / "browser.sqlite",
            allowed_hosts=["127.0.0.1", "localhost"],
            # the page's audio path runs a stand-in analyser in the worker (the UI is tested here)
            audio_analyser=fake_extract,
        )
        config = uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"
        )
        srv = uvicorn.Server(config)
        thread = threading.Thread(target=srv.run, daemon=True)
        thread.start()
        servers.append((srv, thread))
        deadline = time.monotonic() + 20
        while not srv.started:
            if time.monotonic() > deadline or not thread.is_alive():
                pytest.fail("uvicorn did not start")
            time.sleep(0.05)
        return f"http://127.0.0.1:{port}"

    yield start
    for srv, thread in servers:
        srv.should_exit = True
        thread.join(timeout=10)


def model_with_confusion():
    """The default model with a card that carries metrics and a confusion matrix."""
    from trackmood.model.persistence import TrainedModel, load_model

    base = load_model("default")
    card = {
        **base.card,
        "metrics": {
            "accuracy": 0.71,
            "macro_f1": 0.7,
            "confusion": {
                "labels": ["Calm", "Energetic", "Happy", "Sad"],
                "matrix": [[50, 2, 5, 10], [3, 40, 8, 2], [6, 9, 30, 4], [12, 1, 3, 45]],
            },
        },
    }
    return TrainedModel(base.runtime, card, base.path)


@pytest.fixture
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (apt-get install chromium)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def make_csv(path: Path, n: int = 16) -> Path:
    rng = np.random.default_rng(7)
    rows = []
    for i in range(n):
        rows.append(
            {
                "name": f"Track {i:02d}",
                "artist": "Test Artist",
                "length": 180000 + 1000 * i,
                "danceability": rng.uniform(0.2, 0.9),
                "acousticness": rng.uniform(0, 1),
                "energy": rng.uniform(0.05, 0.95),
                "instrumentalness": rng.uniform(0, 0.5),
                "liveness": rng.uniform(0.05, 0.3),
                "valence": rng.uniform(0.05, 0.95),
                "loudness": rng.uniform(-25, -3),
                "speechiness": rng.uniform(0.03, 0.2),
                "tempo": rng.uniform(70, 170),
            }
        )
    rows[1]["artist"] = "<img src=x onerror=alert(1)>"  # shown as text, never as markup
    rows.append({**rows[0], "name": "Broken", "energy": "very"})
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def watch(page, base):
    """Collect console errors, page errors and any request that leaves the server."""
    problems = []
    page.on(
        "console",
        lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None,
    )
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on(
        "request",
        lambda r: (
            problems.append(f"outside request: {r.url}")
            if not (r.url.startswith(base) or r.url.startswith(("data:", "blob:")))
            else None
        ),
    )
    return problems


def test_page_end_to_end(serve, browser, tmp_path):
    from playwright.sync_api import expect

    server = serve(model_with_confusion())
    ARTIFACTS.mkdir(exist_ok=True)
    table = make_csv(tmp_path / "my tracks.csv")
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = ctx.new_page()
    problems = watch(page, server)
    page.goto(server + "/")
    page.wait_for_selector("body[data-ready='true']")
    expect(page.locator("#map-regions rect")).to_have_count(1600)
    expect(page.locator("#model-card table.confusion tbody td")).to_have_count(16)
    assert "Accuracy" in page.locator("#model-card").inner_text()  # in words, not keys

    page.set_input_files("#file-input", str(table))
    expect(page.locator("#tracks-table tbody tr")).to_have_count(17)
    assert page.locator("#map-points circle").count() == 16
    assert page.locator("tr.has-error").count() == 1
    assert page.locator("#tracks-table img").count() == 0
    assert page.get_by_text("<img src=x onerror=alert(1)>", exact=True).count() == 1
    assert "row 17, column 'energy'" in page.locator("tr.has-error").inner_text()
    assert "1 of 17 rows could not be predicted" in page.locator("#error").inner_text()
    expect(page.locator("#progress-box")).to_be_hidden()

    # a click on a mood badge gives the track the user's own mood, kept in the library
    first = page.locator("#tracks-table tbody tr").first
    first.locator("button.badge-button").click()
    first.locator(".mood-menu button", has_text="Sad").click()
    expect(first.locator(".my-mood")).to_have_text("your mood: Sad")

    # hover a point: the tooltip names the track
    page.locator("#map-points circle").first.hover()
    tip = page.locator("#tooltip")
    tip.wait_for(state="visible")
    assert "Track" in tip.inner_text()

    # filter by the first track's mood
    mood = page.locator("#tracks-table tbody tr").first.get_attribute("data-mood")
    assert mood in ("Calm", "Energetic", "Happy", "Sad")
    page.click(f"#mood-filter button[data-mood='{mood}']")
    assert page.get_attribute(f"#mood-filter button[data-mood='{mood}']", "aria-pressed") == "true"
    rows = page.locator("#tracks-table tbody tr")
    n = rows.count()
    assert 1 <= n < 17
    assert all(rows.nth(i).get_attribute("data-mood") == mood for i in range(n))
    assert page.locator("#map-points circle").count() == n

    # sort by P(Calm), highest first
    page.click("#tracks-table th[data-key='p_calm'] button")
    assert page.get_attribute("#tracks-table th[data-key='p_calm']", "aria-sort") == "descending"

    # download the filtered table as CSV
    with page.expect_download() as info:
        page.click("#download")
    saved = tmp_path / "download.csv"
    info.value.save_as(saved)
    with open(saved, newline="") as fh:
        got = list(csv.DictReader(fh))
    assert len(got) == n and {r["mood"] for r in got} == {mood}
    assert {"p_calm", "p_energetic", "p_happy", "p_sad", "quadrant"} <= set(got[0])
    sums = [sum(float(r[c]) for c in ("p_calm", "p_energetic", "p_happy", "p_sad")) for r in got]
    assert all(abs(s - 1) < 1e-4 for s in sums)

    # audio with a mood timeline
    page.click("#mood-filter button[data-mood='']")
    page.check("#timeline-on")
    page.fill("#timeline-sec", "4")
    page.set_input_files(
        "#file-input",
        files=[{"name": "Hum.wav", "mimeType": "audio/wav", "buffer": wav_bytes(0.2)}],
    )
    page.wait_for_selector("#timelines-section:not([hidden]) .strip")
    assert page.locator("#timelines .seg").count() == 2
    assert "Hum.wav" in page.locator("#timelines").inner_text()

    page.screenshot(path=str(ARTIFACTS / "web-desktop.png"), full_page=True)

    # removing a track from the page: its DELETE carries the token the server put in the page
    before = page.request.get(server + "/tracks").json()["total"]
    page.locator("#tracks-table tbody tr:not(.has-error) button.icon").first.click()
    expect(page.locator("#status")).to_contain_text("Removed")
    assert page.request.get(server + "/tracks").json()["total"] == before - 1
    assert not problems, problems

    # the same request without the token, from the page itself, is refused
    status = page.evaluate(
        "() => fetch('/predict', {method: 'POST', headers: {'Content-Type': "
        "'application/json'}, body: '[]'}).then(r => r.status)"
    )
    assert status == 403
    ctx.close()


def test_page_phone_width(serve, browser, tmp_path):
    from playwright.sync_api import expect

    server = serve()
    ARTIFACTS.mkdir(exist_ok=True)
    ctx = browser.new_context(
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
    )
    page = ctx.new_page()
    problems = watch(page, server)
    page.goto(server + "/")
    page.wait_for_selector("body[data-ready='true']")
    # the bundled card's out-of-fold confusion matrix is drawn as a table, cell for cell
    card = page.request.get(server + "/model").json()
    cm = card["metrics"]["cv"]["confusion"]
    table = page.locator("#model-card table.confusion")
    expect(table).to_be_visible()
    cells = table.locator("tbody tr").first.locator("td")
    assert [int(c) for c in cells.all_inner_texts()] == cm[0]
    page.set_input_files("#file-input", str(make_csv(tmp_path / "t.csv", n=8)))
    expect(page.locator("#map-points circle")).to_have_count(8)
    # nothing wider than the screen except the table, which scrolls inside its own box
    overflow = page.evaluate("document.documentElement.scrollWidth")
    assert overflow <= 391, overflow
    box = page.locator("#map").bounding_box()
    assert box and box["width"] <= 390 and box["width"] > 250
    page.screenshot(path=str(ARTIFACTS / "web-phone.png"), full_page=True)
    # the library is kept: a new page shows the tracks again
    page.reload()
    expect(page.locator("#tracks-table tbody tr")).to_have_count(8)
    assert not problems, problems
    ctx.close()
