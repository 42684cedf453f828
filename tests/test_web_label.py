"""PUT /tracks/{id}/label: the user's own mood for a track, through the real app and library."""

import pytest

from trackmood.library.labels import user_labels
from trackmood.store import Store
from trackmood.web import create_app

from .test_web_api import web_client

ROW = {
    "danceability": 0.7,
    "acousticness": 0.02,
    "energy": 0.95,
    "instrumentalness": 0.0,
    "valence": 0.8,
    "loudness": -4.0,
    "tempo": 128.0,
    "liveness": 0.1,
    "speechiness": 0.05,
    "duration_ms": 200000,
    "id": "t-label",
    "name": "loud",
}


@pytest.fixture
def db(tmp_path):
    return tmp_path / "web.sqlite"


def test_put_label_stores_user_mood(db):
    with web_client(create_app(store_path=db)) as c:
        assert c.post("/predict", json=[ROW]).status_code == 200
        ids = [t["id"] for t in c.get("/tracks").json()["tracks"]]
        tid = next(i for i in ids if i.endswith("t-label"))
        r = c.put(f"/tracks/{tid}/label", json={"mood": "sad"})
        assert r.status_code == 200, r.text
        assert r.json() == {"id": tid, "label": "Sad"}
        bad = c.put(f"/tracks/{tid}/label", json={"mood": "grumpy"})
        assert bad.status_code == 422 and "grumpy" in bad.json()["error"]
        missing = c.put("/tracks/nope/label", json={"mood": "Calm"})
        assert missing.status_code == 404
    s = Store(db)
    try:
        assert user_labels(s) == {tid: "Sad"}
    finally:
        s.close()
