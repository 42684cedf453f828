"""The REST API, through httpx (FastAPI's TestClient) against the real app and a temp library."""

# ruff: noqa: F811  (the fake_spotify fixture is imported from tests.fakes)

from __future__ import annotations

import io
import json
import os
import socket
import sys
import tempfile
import wave

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.fakes import fake_spotify  # noqa: F401
from trackmood.moods import MOODS, PROBA_COLUMNS
from trackmood.web import create_app

FEATURES = {
    "duration_ms": 200000,
    "danceability": 0.3,
    "acousticness": 0.95,
    "energy": 0.1,
    "instrumentalness": 0.9,
    "liveness": 0.1,
    "valence": 0.2,
    "loudness": -22.0,
    "speechiness": 0.04,
    "tempo": 80.0,
}
CALM = {k: v for k, v in FEATURES.items() if k != "duration_ms"}
LOUD = {
    **FEATURES,
    "danceability": 0.7,
    "acousticness": 0.02,
    "energy": 0.95,
    "instrumentalness": 0.0,
    "valence": 0.8,
    "loudness": -4.0,
    "tempo": 128.0,
}


TOKEN = "test-token-0123456789abcdef"  # what the tests' servers are started with
AUTH = {"X-Trackmood-Token": TOKEN}


def web_client(app, **kw) -> TestClient:
    """A TestClient on 127.0.0.1 (a name the app serves) that sends the app's token."""
    return TestClient(
        app, base_url="http://127.0.0.1", headers={"X-Trackmood-Token": app.state.token}, **kw
    )


@pytest.fixture
def db(tmp_path):
    return tmp_path / "web.sqlite"


@pytest.fixture
def client(db):
    with web_client(create_app(store_path=db)) as c:
        yield c


def make_client(db, **kw):
    return web_client(create_app(store_path=db, **kw))


def csv_bytes(rows: list[dict]) -> bytes:
    return pd.DataFrame(rows).to_csv(index=False).encode()


def upload(client, name, data, ctype="text/csv", **params):
    return client.post("/predict/file", files={"file": (name, data, ctype)}, params=params)


def wav_bytes(seconds=1.0, sr=22050, freq=440.0) -> bytes:
    t = np.arange(int(seconds * sr)) / sr
    y = (0.3 * np.sin(2 * np.pi * freq * t) * 32767).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sr)
        w.writeframes(y.tobytes())
    return buf.getvalue()


# ------------------------------------------------------------------------------- service
def test_health_and_model_card(client):
    r = client.get("/health")
    assert r.status_code == 200 and r.json()["status"] == "ok" and r.json()["model"] == "default"
    card = client.get("/model").json()
    assert card["classes"] == ["Calm", "Energetic", "Happy", "Sad"]
    assert "valence" in card["features"]
    assert "path" not in card and "/" not in json.dumps(card.get("name"))


def test_regions_grid(client):
    r = client.get("/model/regions", params={"n": 5, "tempo": 90})
    assert r.status_code == 200
    body = r.json()
    assert len(body["moods"]) == 5 and all(len(row) == 5 for row in body["moods"])
    assert {m for row in body["moods"] for m in row} <= {"Calm", "Energetic", "Happy", "Sad"}
    assert body["held"]["tempo"] == 90 and "valence" not in body["held"]
    # low valence + high energy is not Calm; the top right corner is not Sad
    assert body["moods"][0][0] != "Energetic" and body["moods"][-1][-1] != "Sad"


@pytest.mark.parametrize(
    "params", [{"n": 1}, {"n": 1000}, {"n": "x"}, {"tempo": 9999}, {"loudness": -100}]
)
def test_regions_bad_params(client, params):
    r = client.get("/model/regions", params=params)
    assert r.status_code == 422 and r.json()["error"]


# ------------------------------------------------------------------------------- POST /predict
def test_predict_json(client):
    r = client.post(
        "/predict",
        json=[{**FEATURES, "name": "quiet piano", "id": "t-1"}, {**LOUD, "name": "loud"}],
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["count"] == 2 and body["errors"] == 0 and body["model"] == "default"
    quiet, loud = body["predictions"]
    assert quiet["id"] == "t-1" and quiet["name"] == "quiet piano"
    for p in (quiet, loud):
        assert abs(sum(p[c] for c in PROBA_COLUMNS) - 1) < 1e-6
        assert p["reason"] is None and isinstance(p["uncertain"], bool)
        assert p["model"] == "default" and p["status"] == "ok"
        assert p["confidence"] == max(p[c] for c in PROBA_COLUMNS)
    # the quadrant of the track's own valence and energy (the predictions schema)
    assert quiet["quadrant"] == "negative valence, low energy"
    assert loud["quadrant"] == "positive valence, high energy"
    assert quiet["mood"] in ("Calm", "Sad") and loud["mood"] in ("Happy", "Energetic")
    assert loud["id"].startswith("feat:")  # a stable id for a row without one
    assert quiet["valence"] == 0.2 and quiet["energy"] == 0.1


def test_predict_json_matches_the_table_path(client):
    rows = [{**FEATURES, "name": "a"}, {**LOUD, "name": "b", "artist": "c"}]
    direct = client.post("/predict", json=rows).json()["predictions"]
    filed = upload(client, "same.csv", csv_bytes(rows)).json()["predictions"]
    for x, y in zip(direct, filed, strict=False):
        assert x["id"] == y["id"] and x["mood"] == y["mood"]
        assert all(abs(x[c] - y[c]) < 1e-12 for c in PROBA_COLUMNS)
    assert client.get("/tracks").json()["total"] == 2  # same ids: one library entry each


def test_predict_per_row_errors_and_aliases(client):
    no_tempo = {k: v for k, v in FEATURES.items() if k != "tempo"}
    alias = {**{k: v for k, v in FEATURES.items() if k != "tempo"}, "bpm": 90}
    r = client.post("/predict", json=[no_tempo, alias])
    assert r.status_code == 200
    first, second = r.json()["predictions"]
    assert first["mood"] is None and "row 1" in first["reason"] and "'tempo'" in first["reason"]
    assert first["status"] == "invalid" and first["model"] == "default"  # whose input it lacks
    assert first["p_calm"] is None and first["uncertain"] is None
    assert second["mood"] and second["reason"] is None and second["status"] == "ok"


def test_predict_without_duration_uses_the_noduration_model(client):
    r = client.post("/predict", json=[{k: v for k, v in FEATURES.items() if k != "duration_ms"}])
    assert r.status_code == 200 and r.json()["model"] == "default-noduration"
    assert r.json()["predictions"][0]["mood"]


@pytest.mark.parametrize(
    "payload,needle",
    [
        ([], "no tracks"),
        ({"energy": 0.5}, "list"),
        ([{**FEATURES, "energy": 1.5}], "energy"),
        ([{**FEATURES, "tempo": "fast"}], "tempo"),
        ([{**FEATURES, "id": 7}], "id"),
        ([3], "0"),
    ],
)
def test_predict_bad_input(client, payload, needle):
    r = client.post("/predict", json=payload)
    assert r.status_code == 422, r.text
    assert needle in r.json()["error"]


def test_predict_not_json(client):
    for data in (b"{not json", b"NaN", b'[{"energy": NaN}]'):
        r = client.post("/predict", content=data, headers={"content-type": "application/json"})
        assert r.status_code == 422 and r.json()["error"]


def test_predict_limits(db):
    with make_client(db, max_rows=2, max_upload_mb=0.01) as c:
        r = c.post("/predict", json=[FEATURES] * 3)
        assert r.status_code == 413 and "limit of 2" in r.json()["error"]
        r = c.post(
            "/predict",
            content=b"[" + b" " * 20000 + b"]",
            headers={"content-type": "application/json"},
        )
        assert r.status_code == 413 and "limit" in r.json()["error"]

        def chunks():  # no Content-Length: the limit is counted while reading
            for _ in range(10):
                yield b" " * 2000

        r = c.post("/predict", content=chunks(), headers={"content-type": "application/json"})
        assert r.status_code == 413


def test_predict_store_flag(client):
    client.post("/predict", json=[FEATURES], params={"store": False})
    assert client.get("/tracks").json()["total"] == 0
    client.post("/predict", json=[FEATURES])
    assert client.get("/tracks").json()["total"] == 1


# ------------------------------------------------------------------------------- POST /predict/file
def test_predict_file_csv_with_bad_rows(client):
    rows = [
        {"name": "ok", **FEATURES},
        {"name": "bad", **FEATURES, "energy": "loud"},
        {"name": "far", **FEATURES, "valence": 7},
        {"name": "ok2", **LOUD},
    ]
    r = upload(client, "mine.csv", csv_bytes(rows))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["count"] == 4 and body["errors"] == 2
    p = body["predictions"]
    assert [x["row"] for x in p] == [1, 2, 3, 4]
    assert p[0]["mood"] and p[3]["mood"]
    assert p[1]["mood"] is None and "mine.csv, row 2, column 'energy'" in p[1]["reason"]
    assert "'loud'" in p[1]["reason"] and p[1]["status"] == "invalid"
    assert "row 3, column 'valence'" in p[2]["reason"] and "7" in p[2]["reason"]
    assert p[0]["source"] == "file:mine.csv"


def test_predict_file_parquet_json_tsv(client, tmp_path):
    df = pd.DataFrame([{"id": "a", **FEATURES}, {"id": "b", **LOUD}])
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    r = upload(client, "t.parquet", buf.getvalue(), "application/octet-stream")
    assert r.status_code == 200 and r.json()["count"] == 2
    r = upload(client, "t.json", df.to_json(orient="records").encode(), "application/json")
    assert r.status_code == 200 and [p["id"] for p in r.json()["predictions"]] == ["a", "b"]
    r = upload(
        client, "t.tsv", df.to_csv(sep="\t", index=False).encode(), "text/tab-separated-values"
    )
    assert r.status_code == 200 and r.json()["errors"] == 0


@pytest.mark.parametrize(
    "name,data,ctype,status,needle",
    [
        ("t.xlsx", b"PK\x03\x04", "application/octet-stream", 415, "unsupported"),
        ("t", b"a,b\n1,2\n", "text/csv", 415, "unsupported"),
        ("t.csv", b"a,b\n1,2\n", "image/png", 415, "content type"),
        ("t.csv", b"", "text/csv", 422, "empty"),
        ("t.csv", b"name,energy\n", "text/csv", 422, "no data rows"),
        ("t.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00", "text/csv", 422, "binary"),
        ("t.csv", b"name,energy\nx,0.5\n", "text/csv", 422, "missing feature"),
        ("t.json", b"{oops", "application/json", 422, "malformed JSON"),
        ("t.json", b"[1, 2]", "application/json", 422, "list of objects"),
        ("t.parquet", b"PAR1 not really", "application/octet-stream", 422, "Parquet"),
        ("t.csv", b"\xff\xfe\xfa\xfb,1\n2,3\n", "text/csv", 422, "UTF-8"),
    ],
)
def test_predict_file_bad_files(client, name, data, ctype, status, needle):
    r = upload(client, name, data, ctype)
    assert r.status_code == status, r.text
    assert needle in r.json()["error"]
    assert "/tmp" not in r.json()["error"] and "trackmood-web-" not in r.json()["error"]


def test_predict_file_needs_a_file(client):
    r = client.post("/predict/file", data={"x": "1"})
    assert r.status_code == 422 and "file" in r.json()["error"]
    r = client.post("/predict/file", content=b"name,energy", headers={"content-type": "text/csv"})
    assert r.status_code == 422


def test_predict_file_limits(db):
    with make_client(db, max_upload_mb=0.002, max_rows=3) as c:
        big = csv_bytes([{"name": "x" * 40, **FEATURES}] * 30)
        r = upload(c, "big.csv", big)
        assert r.status_code == 413 and "big.csv" in r.json()["error"]
        r = upload(c, "rows.csv", csv_bytes([FEATURES] * 4))
        assert r.status_code == 413 and "limit of 3 rows" in r.json()["error"], r.text


def test_upload_name_never_reaches_the_file_system(client, tmp_path, monkeypatch):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    evil = "../../../../tmp/evil\x00name.csv"
    r = upload(client, evil, csv_bytes([{"name": "a", **FEATURES}]))
    assert r.status_code == 200
    source = r.json()["predictions"][0]["source"]
    assert source.startswith("file:evil") and "/" not in source and ".." not in source
    r = upload(client, "..\\..\\x.csv", b"", "text/csv")
    assert r.status_code == 422
    assert list(scratch.iterdir()) == []  # uploads removed, nothing written elsewhere
    assert not (tmp_path.parent / "evil").exists()


# ------------------------------------------------------------------------------- POST /predict/audio
def fake_extract(path, *, window=None):
    """Stands in for the audio analysis in a worker process (module level: sent by reference).
    Descriptors follow the file's bytes, so different files get different features.
    """
    from trackmood.audio.extract import DESCRIPTORS

    with open(path, "rb") as fh:
        data = fh.read()
    assert data[:4] == b"RIFF"
    if len(data) < 44:
        return {"path": path, "error": f"{path}: truncated WAV header"}
    level = (sum(data[44:4000:7]) % 97) / 97.0
    feats = {d: level for d in DESCRIPTORS}
    feats.update({"duration_ms": 1000.0, "tempo": 100.0, "loudness": -20.0})
    out = {"path": path, "features": feats, "decoder": "fake", "pid": os.getpid()}
    if window:
        out["windows"] = [
            {"start": 0.0, "end": window, **{d: 0.0 for d in DESCRIPTORS}},
            {"start": window, "end": 2 * window, **{d: 1.0 for d in DESCRIPTORS}},
        ]
    return out


@pytest.fixture
def audio_client(db):
    with web_client(create_app(store_path=db, audio_analyser=fake_extract)) as c:
        yield c


def test_predict_audio_contract(audio_client):
    client = audio_client
    files = [
        ("files", ("My Song.wav", wav_bytes(), "audio/wav")),
        ("files", ("other.wav", wav_bytes(freq=220.0), "application/octet-stream")),
    ]
    r = client.post("/predict/audio", files=files, data={"timeline": "5"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model"] == "audio" and body["errors"] == 0
    first, second = body["predictions"]
    assert [first["name"], second["name"]] == ["My Song.wav", "other.wav"]
    for p in (first, second):
        assert p["model"] == "audio" and p["status"] == "ok" and p["reason"] is None
        assert p["mood"] in ("Calm", "Energetic", "Happy", "Sad")
        assert abs(sum(p[c] for c in PROBA_COLUMNS) - 1) < 1e-6
        assert p["confidence"] == max(p[c] for c in PROBA_COLUMNS)
        assert p["id"].startswith("audio:") and len(p["timeline"]) == 2
        assert [w["start"] for w in p["timeline"]] == [0.0, 5.0]
    assert first["id"] != second["id"]  # different bytes, different tracks
    assert "trackmood-web-" not in r.text
    page = client.get("/tracks").json()
    assert page["total"] == 2
    stored = {t["id"]: t for t in page["tracks"]}
    assert stored[first["id"]]["timeline"] == first["timeline"]
    assert stored[first["id"]]["model"] == "audio"
    detail = client.get(f"/tracks/{first['id']}").json()
    assert detail["track"]["file"] == "My Song.wav"
    assert detail["features"]["tempo"] == {"value": 100.0, "source": "audio:librosa"}
    # the same bytes again: answered from the library's cache, same prediction
    again = client.post("/predict/audio", files=[files[0]], data={"timeline": "5"}).json()
    assert again["predictions"][0]["id"] == first["id"]
    assert again["predictions"][0]["mood"] == first["mood"]


def test_predict_audio_failed_file_has_a_reason(audio_client):
    # a RIFF header with nothing after it: the fake analysis fails on it like a decoder would
    r = audio_client.post(
        "/predict/audio", files=[("files", ("broken.wav", b"RIFX" + b"\0" * 40, "audio/wav"))]
    )
    assert r.status_code == 415  # not even a recognised container
    r = audio_client.post(
        "/predict/audio", files=[("files", ("half.wav", b"RIFF" + b"\0" * 10, "audio/wav"))]
    )
    assert r.status_code == 200, r.text
    p = r.json()["predictions"][0]
    assert p["status"] == "failed" and p["mood"] is None and "half.wav" in p["reason"]
    assert r.json()["errors"] == 1 and r.json()["model"] == "audio"


@pytest.mark.parametrize(
    "files,data,status,needle",
    [
        ([("files", ("a.txt", b"RIFF....WAVE", "audio/wav"))], {}, 415, "unsupported audio"),
        ([("files", ("a.wav", b"RIFF....WAVE", "text/html"))], {}, 415, "not audio"),
        ([("files", ("a.wav", b"<html>hello</html>", "audio/wav"))], {}, 415, "not a recognised"),
        ([("files", ("a.wav", b"", "audio/wav"))], {}, 422, "empty"),
        ([("files", ("a.wav", b"RIFF....WAVE", "audio/wav"))], {"timeline": "-1"}, 422, "timeline"),
        ([], {"x": "1"}, 422, "files"),
    ],
)
def test_predict_audio_bad_uploads(audio_client, files, data, status, needle):
    r = audio_client.post("/predict/audio", files=files or None, data=data)
    assert r.status_code == status, r.text
    assert needle in r.json()["error"]


def test_predict_audio_limits(db):
    with make_client(db, max_files=1, max_upload_mb=0.01, audio_analyser=fake_extract) as c:
        files = [("files", (f"{i}.wav", wav_bytes(0.01), "audio/wav")) for i in range(2)]
        r = c.post("/predict/audio", files=files)
        assert r.status_code == 413 and "2 files" in r.json()["error"]
        r = c.post("/predict/audio", files=[("files", ("big.wav", wav_bytes(1.0), "audio/wav"))])
        assert r.status_code == 413


def test_predict_audio_unavailable(audio_client, monkeypatch):
    monkeypatch.setitem(sys.modules, "trackmood.engine", None)  # import fails
    r = audio_client.post(
        "/predict/audio", files=[("files", ("a.wav", wav_bytes(0.1), "audio/wav"))]
    )
    assert r.status_code == 503 and "not available" in r.json()["error"]


@pytest.mark.slow
def test_predict_audio_real(client):
    pytest.importorskip("librosa")
    r = client.post(
        "/predict/audio",
        files=[("files", ("tone.wav", wav_bytes(6.0), "audio/wav"))],
        data={"timeline": "2"},
    )
    if r.status_code == 503 and "not installed" in r.json()["error"]:
        pytest.skip("the bundled audio model is not trained yet")
    assert r.status_code == 200, r.text
    p = r.json()["predictions"][0]
    assert p["name"] == "tone.wav" and r.json()["model"] == p["model"] == "audio"
    assert p["mood"] in ("Calm", "Energetic", "Happy", "Sad"), p["reason"]
    assert isinstance(p["uncertain"], bool) and p["timeline"][0]["start"] == 0
    assert len(p["timeline"]) >= 2 and p["timeline"][-1]["end"] == pytest.approx(6.0, abs=0.05)


# ------------------------------------------------------------------------------- POST /predict/spotify
def test_spotify_not_configured(client, fake_spotify, monkeypatch):
    # no credentials: a single track's features come from ReccoBeats by id (the local fake)
    for k in ("SPOTIPY_CLIENT_ID", "SPOTIPY_CLIENT_SECRET", "SPOTIPY_REDIRECT_URI"):
        monkeypatch.delenv(k, raising=False)
    tid = fake_spotify.add_track(features=CALM)
    r = client.post("/predict/spotify", json={"refs": [f"spotify:track:{tid}"]})
    assert r.status_code == 200, r.text
    body = r.json()
    p = body["predictions"][0]
    assert p["id"] == tid and p["status"] == "ok" and p["mood"] in MOODS
    assert p["energy"] == pytest.approx(CALM["energy"]) and isinstance(p["uncertain"], bool)
    # Spotify gave no duration: the bundled model trained without it predicted, and says so
    assert body["model"] == "default-noduration" and p["model"] == "default-noduration"
    assert any("ReccoBeats" in m for m in body["messages"])
    assert fake_spotify.requests(r"^/reccobeats/") and not fake_spotify.requests(r"^/v1/")
    r = client.post(
        "/predict/spotify",
        json={"refs": ["https://open.spotify.com/playlist/37i9dQZF1DXcBWIGoYBM5M"]},
    )
    assert r.status_code == 503 and "login" in r.json()["error"]
    r = client.post("/predict/spotify", json={"refs": ["spotify:album:4uLU6hMCjMI75M1A2tKUQC"]})
    assert r.status_code == 503 and "credentials" in r.json()["error"]


def test_spotify_contract(client, fake_spotify):
    tid = fake_spotify.add_track(name="Song", features=CALM, duration_ms=200_000)
    gone = "0" * 22
    r = client.post("/predict/spotify", json={"refs": [f"spotify:track:{tid}", gone]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["count"] == 2 and body["errors"] == 1
    assert any(m.startswith("notice:") for m in body["messages"])  # Spotify's terms, said once
    ok, failed = body["predictions"]
    assert ok["name"] == "Song" and ok["mood"] in MOODS and ok["status"] == "ok"
    assert body["model"] == "default" and ok["model"] == "default"  # it has a duration
    assert failed["status"] == "failed" and failed["mood"] is None and failed["p_calm"] is None
    assert failed["reason"].startswith("Spotify does not know")
    stored = client.get(f"/tracks/{tid}").json()  # the pipeline kept it in the library
    assert stored["predictions"][0]["model"] == "default"
    assert stored["features"]["energy"]["source"] == "reccobeats"

    other = fake_spotify.add_track(features=CALM)
    fake_spotify.fail("/reccobeats/", 429, headers={"Retry-After": "700"}, times=5)
    r = client.post("/predict/spotify", json={"refs": [other]})
    assert r.status_code == 429 and r.headers["retry-after"] == "700"

    fresh = fake_spotify.add_track(features=CALM)
    fake_spotify.fail(f"/tracks/{fresh}", 500, times=10)
    r = client.post("/predict/spotify", json={"refs": [fresh]})
    assert r.status_code == 503 and "HTTP 500" in r.json()["error"]


def test_spotify_does_not_hold_the_library_lock_on_the_network(client, fake_spotify):
    import threading
    import time

    tid = fake_spotify.add_track(features=CALM)
    fake_spotify.fail("/reccobeats/", None, delay=1.5)  # slow, then normal
    answer = {}
    t = threading.Thread(
        target=lambda: answer.update(r=client.post("/predict/spotify", json={"refs": [tid]}))
    )
    t.start()
    deadline = time.monotonic() + 20
    while not fake_spotify.requests(r"^/reccobeats/") and time.monotonic() < deadline:
        time.sleep(0.01)  # until the source waits on ReccoBeats
    t0 = time.perf_counter()
    assert client.post("/predict", json=[FEATURES]).status_code == 200  # writes the library
    assert time.perf_counter() - t0 < 1.0
    t.join()
    assert answer["r"].status_code == 200 and answer["r"].json()["predictions"][0]["mood"]


@pytest.mark.parametrize(
    "payload",
    [
        {"refs": []},
        {"refs": ["not a spotify thing!"]},
        {"refs": "x"},
        {},
        {"refs": ["4uLU6hMCjMI75M1A2tKUQC"], "x": 1},
        {"refs": ["spotify:artist:4uLU6hMCjMI75M1A2tKUQC"]},
    ],
)
def test_spotify_bad_refs(client, payload):
    r = client.post("/predict/spotify", json=payload)
    assert r.status_code == 422, r.text
    assert r.json()["error"]


def test_spotify_unavailable(client, monkeypatch):
    monkeypatch.setitem(sys.modules, "trackmood.sources.spotify", None)
    r = client.post("/predict/spotify", json={"refs": ["4uLU6hMCjMI75M1A2tKUQC"]})
    assert r.status_code == 503


# ------------------------------------------------------------------------------- the library
def test_tracks_list_filter_get_delete(client):
    client.post(
        "/predict",
        json=[{**FEATURES, "id": "quiet", "name": "Quiet"}, {**LOUD, "id": "loud", "name": "Loud"}],
    )
    upload(client, "x.csv", csv_bytes([{"id": "filed", **FEATURES}]))
    page = client.get("/tracks").json()
    assert page["total"] == 3 and {t["id"] for t in page["tracks"]} == {"quiet", "loud", "filed"}
    t = next(t for t in page["tracks"] if t["id"] == "quiet")
    assert t["valence"] == 0.2 and t["model"] == "default" and t["source"] == "web:api"
    assert t["quadrant"] == "negative valence, low energy"  # its valence 0.2 and energy 0.1
    mood = t["mood"]
    only = client.get("/tracks", params={"mood": mood.lower()}).json()
    assert only["tracks"] and all(x["mood"] == mood for x in only["tracks"])
    assert client.get("/tracks", params={"source": "file:"}).json()["total"] == 1
    # LIKE's wildcards in the prefix are literal characters
    for wild in ("%", "_", "web_api", "file%"):
        assert client.get("/tracks", params={"source": wild}).json()["total"] == 0, wild
    second = client.get("/tracks", params={"limit": 1, "offset": 1}).json()
    assert second["total"] == 3 and second["tracks"][0]["id"] == page["tracks"][1]["id"]

    one = client.get("/tracks/quiet").json()
    assert one["track"]["name"] == "Quiet" and one["features"]["energy"]["value"] == 0.1
    assert one["predictions"][0]["mood"] == mood

    assert client.delete("/tracks/quiet").status_code == 204
    r = client.get("/tracks/quiet")
    assert r.status_code == 404 and "quiet" in r.json()["error"]
    assert client.delete("/tracks/quiet").status_code == 404


def test_tracks_source_prefix_is_literal(client):
    upload(client, "50%_off.csv", csv_bytes([{"id": "a", **FEATURES}]))
    upload(client, "500 off.csv", csv_bytes([{"id": "b", **LOUD}]))

    def total(prefix):
        return client.get("/tracks", params={"source": prefix}).json()["total"]

    assert total("file:") == 2 and total("file:50%_") == 1 and total("file:50%_off.csv") == 1
    assert total("file:5") == 2 and total("file:50%") == 1 and total("file:5_") == 0


@pytest.mark.parametrize(
    "params", [{"mood": "Angry"}, {"limit": 0}, {"limit": 5000}, {"offset": -1}, {"limit": "many"}]
)
def test_tracks_bad_params(client, params):
    r = client.get("/tracks", params=params)
    assert r.status_code == 422 and r.json()["error"]


# ------------------------------------------------------------------------------- errors and security
def test_unknown_routes_are_json(client):
    r = client.get("/nope")
    assert r.status_code == 404 and r.json()["error"].startswith("no such page")
    r = client.put("/predict", json=[])
    assert r.status_code == 405 and r.json()["error"]


def test_cross_origin_writes_refused(client):
    r = client.post("/predict", json=[FEATURES], headers={"Origin": "http://evil.example"})
    assert r.status_code == 403 and "cross-origin" in r.json()["error"]
    r = client.delete("/tracks/x", headers={"Origin": "null"})
    assert r.status_code == 403
    r = client.post("/predict", json=[FEATURES], headers={"Origin": "http://127.0.0.1"})
    assert r.status_code == 200


def test_allowed_hosts(db):
    # by default the app answers to loopback names only, whatever it is asked for
    with make_client(db) as c:
        for host in ("testserver", "evil.example", "127.0.0.1.evil.example", "10.0.0.1"):
            r = c.get("/tracks", headers={"Host": host})
            assert r.status_code == 421, host
            assert host in r.json()["error"] and "--allow-host" in r.json()["error"]
        for host in ("127.0.0.1:8000", "localhost", "LOCALHOST.:9", "[::1]:8000"):
            assert c.get("/tracks", headers={"Host": host}).status_code == 200, host
    with make_client(db, allowed_hosts=["box.lan"], any_ip=True) as c:
        assert c.get("/health", headers={"Host": "box.lan:8000"}).status_code == 200
        assert c.get("/health", headers={"Host": "192.168.1.5:8000"}).status_code == 200
        assert c.get("/health", headers={"Host": "evil.example"}).status_code == 421


def test_writes_need_the_token(db):
    app = create_app(store_path=db, token=TOKEN)
    with TestClient(app, base_url="http://127.0.0.1") as c:  # sends no token by itself
        r = c.post("/predict", json=[FEATURES])
        assert r.status_code == 403 and "X-Trackmood-Token" in r.json()["error"]
        assert "missing token" in r.json()["error"]
        r = c.post("/predict", json=[FEATURES], headers={"X-Trackmood-Token": TOKEN[:-1] + "x"})
        assert r.status_code == 403 and "wrong token" in r.json()["error"]
        assert c.get("/tracks").json()["total"] == 0  # nothing was stored
        # a form on another site cannot add a header: a plain form POST is refused
        r = c.post(
            "/predict/file",
            content=b"--x\r\nContent-Disposition: form-data; name=file; filename=a.csv\r\n\r\n"
            + csv_bytes([FEATURES])
            + b"\r\n--x--\r\n",
            headers={"Content-Type": "multipart/form-data; boundary=x"},
        )
        assert r.status_code == 403
        assert c.get("/tracks").json()["total"] == 0
        # the header or a bearer token both work
        assert c.post("/predict", json=[FEATURES], headers=AUTH).status_code == 200
        r = c.post("/predict", json=[LOUD], headers={"Authorization": f"Bearer {TOKEN}"})
        assert r.status_code == 200
        tid = c.get("/tracks").json()["tracks"][0]["id"]
        assert c.put(f"/tracks/{tid}/label", json={"mood": "Sad"}).status_code == 403
        assert c.delete(f"/tracks/{tid}").status_code == 403
        assert c.get("/tracks").json()["total"] == 2
        assert c.delete(f"/tracks/{tid}", headers=AUTH).status_code == 204


def test_page_carries_the_token(db):
    app = create_app(store_path=db)
    token = app.state.token
    assert len(token) >= 32 and token != create_app(store_path=db).state.token  # fresh each time
    with TestClient(app, base_url="http://127.0.0.1") as c:
        r = c.get("/")
        assert f'<meta name="trackmood-token" content="{token}">' in r.text
        assert r.headers["cache-control"] == "no-store"
        assert c.post("/predict", json=[FEATURES], headers={"X-Trackmood-Token": token}).is_success
        spec = c.get("/openapi.json").json()
        assert spec["paths"]["/predict"]["post"]["security"] == [{"token": []}]
        assert "security" not in spec["paths"]["/tracks"]["get"]
    with pytest.raises(ValueError, match="16 to 256 characters"):
        create_app(store_path=db, token="short")


def test_page_docs_and_headers(client):
    r = client.get("/")
    assert r.status_code == 200 and "Mood map" in r.text
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"
    for asset in ("/static/app.js", "/static/style.css"):
        assert client.get(asset).status_code == 200
    import re

    for asset in ("/", "/static/app.js", "/static/style.css"):  # nothing loaded from elsewhere
        assert not re.search(r"(src|href|url)\s*[=(]\s*[\"']?(https?:)?//", client.get(asset).text)
    docs = client.get("/docs")
    assert docs.status_code == 200 and "/docs-assets/swagger-ui-bundle.js" in docs.text
    assert "cdn" not in docs.text.lower()
    assert client.get("/docs-assets/swagger-ui-bundle.js").status_code == 200
    spec = client.get("/openapi.json").json()
    assert {
        "/predict",
        "/predict/file",
        "/predict/audio",
        "/predict/spotify",
        "/tracks",
        "/tracks/{track_id}",
        "/model",
        "/health",
    } <= set(spec["paths"])
    assert client.get("/static/../app.py").status_code == 404


def test_docs_without_swagger_ui_is_a_local_page(db, monkeypatch):
    from trackmood.web.routes import pages

    monkeypatch.setattr(pages, "swagger_dir", lambda: None)
    with make_client(db) as c:
        r = c.get("/docs")
        assert r.status_code == 200 and "/openapi.json" in r.text and "<script" not in r.text
        assert "POST /predict/file" in r.text


def test_bad_limits_rejected():
    with pytest.raises(ValueError):
        create_app(max_upload_mb=0)


# ------------------------------------------------------------------------------- trackmood serve
def test_serve_cli_help_and_errors(tmp_path):
    from trackmood.cli import app

    runner = CliRunner()
    r = runner.invoke(app, ["serve", "--help"])
    assert r.exit_code == 0 and "--port" in r.output and "127.0.0.1" in r.output
    r = runner.invoke(
        app, ["serve", "--model", str(tmp_path / "nothing"), "--db", str(tmp_path / "x.db")]
    )
    assert r.exit_code != 0 and "no model at" in r.output
    r = runner.invoke(app, ["serve", "--db", str(tmp_path)])  # a folder, not a file
    assert r.exit_code == 5 and "cannot open the library" in r.output and str(tmp_path) in r.output
    r = runner.invoke(app, ["serve", "--db", str(tmp_path / "z.db"), "--token", "short"])
    assert r.exit_code != 0 and "--token" in r.output and "16 to 256 characters" in r.output
    r = runner.invoke(app, ["serve", "--db", str(tmp_path / "z.db"), "--allow-host", "a/b"])
    assert r.exit_code != 0 and "--allow-host 'a/b'" in r.output
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = runner.invoke(app, ["serve", "--port", str(port), "--db", str(tmp_path / "y.db")])
    assert r.exit_code != 0 and "pass another --port" in r.output
