"""``trackmood library ls``: every analysed track of a real SQLite library with its mood,
confidence, uncertain flag, valence/energy and the user's label; filters and formats; true counts.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from trackmood.moods import MOODS

ROOT = Path(__file__).resolve().parents[1]


def make_library(store, n: int, *, seed: int = 0, root: str = "/music", labels: int = 0):
    """``n`` analysed files written through the Store's methods (as a scan would): random mood
    probabilities, valence/energy estimates, ``labels`` of them with the user's own mood.
    Returns the file rows (with the probabilities they were given).
    """
    rng = np.random.default_rng(seed)
    proba = rng.dirichlet(np.ones(4) * 0.7, size=n)
    rows = []
    for i in range(n):
        p = proba[i]
        rows.append(
            {
                "path": f"{root}/Artist {i % 97:02d}/track {i:05d}.mp3",
                "size": 1000 + i,
                "mtime_ns": i,
                "sha": f"{i:064x}",
                "track_id": f"audio:{i:016x}",
                "status": "ok",
                "artist": f"Artist {i % 97:02d}",
                "title": f"Track {i:05d}",
                "duration": 180.0,
                "model": "audio",
                "mood": MOODS[int(p.argmax())],
                "p_calm": float(p[0]),
                "p_energetic": float(p[1]),
                "p_happy": float(p[2]),
                "p_sad": float(p[3]),
                "confidence": float(p.max()),
            }
        )
    store.upsert_files(rows)
    ve = rng.uniform(0, 1, size=(n, 2))
    store.put_features_many(
        [
            (r["track_id"], {"valence": float(v), "energy": float(e)})
            for r, (v, e) in zip(rows, ve, strict=True)
        ],
        source="estimate:audio",
    )
    for r, (v, e) in zip(rows, ve, strict=True):
        r["valence"], r["energy"] = float(v), float(e)
    if labels:
        store.put_labels(
            [(r["track_id"], MOODS[k % 4], "user") for k, r in enumerate(rows[:labels])]
        )
    return rows


def run(*args, db):
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "TRACKMOOD_DB": str(db)}
    return subprocess.run(
        [sys.executable, "-m", "trackmood", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


@pytest.fixture
def library(tmp_path):
    from trackmood.store import Store

    db = tmp_path / "lib.sqlite"
    with Store(db) as s:
        rows = make_library(s, 300, labels=12)
        s.upsert_files([{"path": "/music/broken.mp3", "status": "failed", "error": "bad"}])
    return db, rows


def margin(r):
    p = sorted([r["p_calm"], r["p_energetic"], r["p_happy"], r["p_sad"]])
    return p[-1] - p[-2]


def test_ls_csv_lists_every_analysed_track_with_its_mood_and_label(library):
    db, rows = library
    res = run("library", "ls", "--format", "csv", db=db)
    assert res.returncode == 0, res.stderr
    got = list(csv.DictReader(io.StringIO(res.stdout)))
    assert len(got) == 300  # the failed file has no mood: not listed
    assert "300 of 300 analysed track(s)" in res.stderr
    by_path = {g["path"]: g for g in got}
    for k, r in enumerate(rows):
        g = by_path[r["path"]]
        assert g["mood"] == r["mood"]
        assert float(g["confidence"]) == pytest.approx(
            max(r[c] for c in ("p_calm", "p_energetic", "p_happy", "p_sad")), abs=1e-5
        )
        assert float(g["valence"]) == pytest.approx(r["valence"], abs=1e-5)
        assert float(g["energy"]) == pytest.approx(r["energy"], abs=1e-5)
        assert g["label"] == (MOODS[k % 4] if k < 12 else "")
        assert g["uncertain"] == str(margin(r) < 0.15)


def test_ls_filters_and_json(library, tmp_path):
    db, rows = library
    res = run("library", "ls", "--mood", "sad", "--uncertain", "--format", "json", db=db)
    assert res.returncode == 0, res.stderr
    got = json.loads(res.stdout)  # one JSON array
    want = {r["path"] for r in rows if r["mood"] == "Sad" and margin(r) < 0.15}
    assert want and {g["path"] for g in got} == want
    assert all(g["uncertain"] is True for g in got)
    assert f"{len(want)} of 300 analysed track(s)" in res.stderr

    out = tmp_path / "labelled.csv"
    res = run("library", "ls", "--labelled", "-o", str(out), db=db)
    assert res.returncode == 0, res.stderr
    got = list(csv.DictReader(out.open()))
    assert {g["path"] for g in got} == {r["path"] for r in rows[:12]}


def test_ls_table_and_bad_input(library):
    db, rows = library
    res = run("library", "ls", db=db)
    assert res.returncode == 0, res.stderr
    assert rows[0]["path"] in res.stdout and "confidence" in res.stdout.splitlines()[0]
    bad = run("library", "ls", "--mood", "Angry", db=db)
    assert bad.returncode != 0 and "Traceback" not in bad.stderr and "Angry" in bad.stderr
    bad = run("library", "ls", "--format", "xml", db=db)
    assert bad.returncode != 0 and "xml" in bad.stderr and "Traceback" not in bad.stderr
