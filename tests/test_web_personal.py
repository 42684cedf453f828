"""``POST /library/personal``: the page's "Learn from my labels" trains a personal model on the
library's labels, adopts it only when it beats the bundled one, and the library's moods change
at once (``GET /library/tracks``); too few labels is a one-line 422, writes need the token.
"""

from __future__ import annotations

import threading

import pytest

from tests.test_library_personal import _add_labeled, _bundled_moods, _clusters, library  # noqa: F401
from tests.test_web_api import web_client
from tests.test_web_browser import browser, serve  # noqa: F401 - fixtures
from trackmood.moods import MOODS
from trackmood.web import create_app


def _moods(client) -> list:
    """Every library file's ``(id, mood)``, in path order (the page's table)."""
    page = client.get("/library/tracks", params={"limit": 1000}).json()
    assert page["total"] == page["all"] == len(page["tracks"])
    return [(t["id"], t["mood"]) for t in page["tracks"]]


def _disagreeing_labels(store) -> int:
    """Two tight groups of tracks, each labelled with a mood the bundled model never gives it."""
    feats = _clusters(store)
    bundled = _bundled_moods(feats)
    labels = []
    for g in (0, 1):
        group = bundled[g * 6 : (g + 1) * 6]
        labels += [next(m for m in MOODS[g * 2 :] + MOODS if m not in group)] * 6
    for i, (f, m) in enumerate(zip(feats, labels, strict=True)):
        _add_labeled(store, f, m, i)
    return len(labels)


def test_learning_from_labels_adopts_the_model_and_changes_the_moods(library):  # noqa: F811
    music, store = library
    n = _disagreeing_labels(store)
    with web_client(create_app(store_path=store.path)) as client:
        before = _moods(client)
        r = client.post("/library/personal")
        assert r.status_code == 200, r.text
        body = r.json()
        after = _moods(client)
    assert body["labels"] == n and body["adopted"] is True
    assert body["bundled_accuracy"] == 0.0 and body["personal_accuracy"] == 1.0
    assert body["model"].startswith("personal-")
    assert body["rescored"] == len(after)
    assert [i for i, _ in before] == [i for i, _ in after]
    changed = sum(b != a for b, a in zip(before, after, strict=True))
    assert changed > 0
    assert body["changed"] == changed
    assert body["summary"] == (
        f"Personal model adopted: 100 % vs 0 % on your {n} labels; {changed} track(s) changed mood."
    )
    assert any("re-scored from stored embeddings" in line for line in body["lines"])


def test_too_few_labels_is_a_one_line_422(library):  # noqa: F811
    music, store = library
    with web_client(create_app(store_path=store.path)) as client:
        r = client.post("/library/personal")
    assert r.status_code == 422
    assert r.json()["error"] == (
        "a personal model needs at least 4 labeled tracks with audio features; the library has 0"
    )


def test_training_needs_the_token(library):  # noqa: F811
    music, store = library
    _disagreeing_labels(store)
    app = create_app(store_path=store.path)
    with web_client(app) as client:
        r = client.post("/library/personal", headers={"X-Trackmood-Token": ""})
        assert r.status_code == 403
        assert _moods(client) and not (store.path.parent / "personal-model").exists()


def test_a_second_request_while_training_is_refused(library, monkeypatch):  # noqa: F811
    import trackmood.library.personal as personal

    music, store = library
    started, release = threading.Event(), threading.Event()

    def slow(store, **kw):
        started.set()
        release.wait(10)
        raise personal.DataError("stopped by the test")

    monkeypatch.setattr(personal, "train_personal", slow)
    with web_client(create_app(store_path=store.path)) as client:
        first = {}
        t = threading.Thread(target=lambda: first.setdefault("r", client.post("/library/personal")))
        t.start()
        assert started.wait(10)
        second = client.post("/library/personal")
        release.set()
        t.join(10)
    assert second.status_code == 409
    assert second.json()["error"].startswith("a personal model is already being trained")
    assert first["r"].status_code == 422


@pytest.mark.slow
def test_the_page_learns_from_labels_and_shows_the_new_moods(library, serve, browser, tmp_path):  # noqa: F811
    """In real Chromium against the app under uvicorn: "Learn from my labels" shows the result
    line and the table's moods change without reloading the page.
    """
    import sqlite3

    from playwright.sync_api import expect

    music, store = library
    n = _disagreeing_labels(store)
    with sqlite3.connect(str(tmp_path / "browser.sqlite")) as dest:  # where serve() opens it
        store.conn.backup(dest)
    server = serve()
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server + "/")
    page.wait_for_selector("body[data-library='ready']")
    rows = page.locator("#lib-table tbody tr")
    expect(rows).to_have_count(10)
    before = [rows.nth(i).get_attribute("data-mood") for i in range(10)]
    page.click("#teach-learn")
    result = page.locator("#teach-result")
    expect(result).to_contain_text(
        f"Personal model adopted: 100 % vs 0 % on your {n} labels;", timeout=60000
    )
    changed = int(result.inner_text().split("; ")[1].split(" ")[0])
    assert changed > 0
    page.wait_for_function(
        "(before) => [...document.querySelectorAll('#lib-table tbody tr')]"
        ".some((r, i) => r.dataset.mood !== before[i])",
        arg=before,
    )
    after = [rows.nth(i).get_attribute("data-mood") for i in range(10)]
    assert sum(a != b for a, b in zip(after, before, strict=True)) == changed
    assert not errors, errors
    page.close()
