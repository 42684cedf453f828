"""The web app goes the one way through: a table gives the same outcome from ``POST /predict/file``
as from ``trackmood predict`` and ``pipeline.run`` (flagged rows with the same reason, the others
scored alike), and the pipeline's choice of model, its ``uncertain`` and its library writes.
"""

from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from trackmood import pipeline
from trackmood.cli import app
from trackmood.features import MODEL_FEATURES
from trackmood.moods import PROBA_COLUMNS
from trackmood.web import create_app

from .test_web_api import web_client


def generated(n: int, seed: int) -> pd.DataFrame:
    """``n`` tracks with every model feature drawn inside its documented range."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({f.name: rng.uniform(f.low, f.high, n) for f in MODEL_FEATURES})
    for f in MODEL_FEATURES:  # open-ended ranges: keep values ordinary
        if not (math.isfinite(f.low) and math.isfinite(f.high)):
            df[f.name] = rng.uniform(0, 1, n)
    df["loudness"] = rng.uniform(-30, -2, n)
    df["tempo"] = rng.uniform(60, 180, n)
    df["duration_ms"] = rng.uniform(120e3, 360e3, n)
    df.insert(0, "id", [f"gen-{seed}-{i}" for i in range(n)])
    df.insert(1, "name", [f"Track {i}" for i in range(n)])
    return df


@pytest.fixture
def client(tmp_path):
    with web_client(create_app(store_path=tmp_path / "web.sqlite")) as c:
        yield c


def outcome(rows) -> list[tuple]:
    """Per row: status, mood, reason, model, the probabilities (4 places: CSV keeps 6 digits), uncertain."""
    out = []
    for r in rows:

        def val(v):
            return None if v is None or (isinstance(v, float) and math.isnan(v)) else v

        p = tuple(None if val(r[c]) is None else round(float(r[c]), 4) for c in PROBA_COLUMNS)
        unc = val(r["uncertain"])
        unc = None if unc is None or unc is pd.NA else str(unc).lower() == "true"
        out.append((r["status"], val(r["mood"]), val(r["reason"]), r["model"], p, unc))
    return out


def test_one_empty_cell_same_outcome_from_web_cli_and_pipeline(client, tmp_path, monkeypatch):
    df = generated(6, seed=3)
    df["valence"] = df["valence"].astype(object)
    df.loc[3, "valence"] = None  # row 4: one empty cell
    monkeypatch.chdir(tmp_path)  # every path names the file as the web does: "mine.csv"
    df.to_csv("mine.csv", index=False)

    r = client.post(
        "/predict/file",
        files={"file": ("mine.csv", (tmp_path / "mine.csv").read_bytes(), "text/csv")},
    )
    assert r.status_code == 200, r.text
    web = r.json()["predictions"]
    cli = CliRunner().invoke(app, ["predict", "mine.csv", "--format", "csv"])
    assert cli.exit_code == 0, cli.stderr
    cli_rows = pd.read_csv(io.StringIO(cli.stdout)).to_dict(orient="records")
    api_rows = pipeline.run(["mine.csv"]).predictions.to_dict(orient="records")

    assert outcome(web) == outcome(cli_rows) == outcome(api_rows)
    assert [x["status"] for x in web] == ["ok", "ok", "ok", "invalid", "ok", "ok"]
    assert web[3]["reason"] == "mine.csv, row 4, column 'valence': empty value"
    assert r.json()["errors"] == 1 and r.json()["model"] == "default"
    # the scored rows are in the library; the flagged one is not
    stored = {t["id"] for t in client.get("/tracks").json()["tracks"]}
    assert stored == {f"gen-3-{i}" for i in (0, 1, 2, 4, 5)}


def test_without_duration_the_web_chooses_the_model_the_cli_chooses(client, tmp_path):
    df = generated(3, seed=4).drop(columns=["duration_ms"])
    path = tmp_path / "short.csv"
    df.to_csv(path, index=False)
    r = client.post("/predict/file", files={"file": ("short.csv", path.read_bytes(), "text/csv")})
    assert r.status_code == 200, r.text
    body = r.json()
    result = pipeline.run([str(path)])
    assert body["model"] == result.model == "default-noduration"
    assert [p["model"] for p in body["predictions"]] == ["default-noduration"] * 3
    assert any("duration_ms" in m for m in body["messages"])  # and says why
    assert outcome(body["predictions"]) == outcome(result.predictions.to_dict(orient="records"))
    again = client.post("/predict", json=df.to_dict(orient="records")).json()  # remembered
    assert again["model"] == "default-noduration" and again["messages"] == body["messages"]


def test_uncertain_follows_the_confidence(client):
    rows = generated(40, seed=5).to_dict(orient="records")
    body = client.post("/predict", json=rows, params={"store": False}).json()
    below = pipeline.uncertain_below(pipeline.load("default"))
    preds = body["predictions"]
    assert all(isinstance(p["uncertain"], bool) for p in preds)
    assert [p["uncertain"] for p in preds] == [p["confidence"] < below for p in preds]
    assert client.get("/tracks").json()["total"] == 0  # store=false: nothing kept


def test_the_pipeline_writes_the_library_under_the_apps_lock(tmp_path):
    import threading

    from trackmood.web import service
    from trackmood.web.deps import Settings, WebState

    state = WebState(Settings(store_path=tmp_path / "lib.sqlite"))
    state.open()
    try:
        df = generated(2, seed=6)
        done = threading.Event()
        worker = threading.Thread(
            target=lambda: (
                service.predict_rows(state, df, file="t.csv", source="file:t.csv"),
                done.set(),
            )
        )
        with state.lock:  # another request holds the library
            worker.start()
            assert not done.wait(0.5)  # scored, but waits to write
        assert done.wait(10)
        worker.join()
        with state.lock:
            assert {t["id"] for t in state.store.list_tracks()[0]} == {"gen-6-0", "gen-6-1"}
    finally:
        state.close()
