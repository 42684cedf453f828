"""Similar tracks, radio, journeys and mood arcs (issue 17, item 3).

A scanned library of generated audio checks the whole way (scan → index → `trackmood similar`);
the search itself is checked on libraries whose embeddings and files go in through the Store,
with vectors built so that the right answer is known (clusters per artist, a line from A to B, a
spread over the valence/energy plane).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from tests.library_fixtures import copy_library, scanned_library
from trackmood.cli import app
from trackmood.library import journeys, similar
from trackmood.store import Store

runner = CliRunner()
SOURCE = "musicnn:1:9"


def run(*args):
    return runner.invoke(app, list(map(str, args)))


def sha(i) -> str:
    return hashlib.sha256(str(i).encode()).hexdigest()


def one_error_line(stderr: str) -> str:
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("trackmood: error: ")
    return lines[0]


def fill(db: Path, pens, *, artists, moods, folder: Path | None = None, embedded=None) -> list[str]:
    """A library of ``len(pens)`` analysed files with these 200-d embeddings (plus 50 tag values);
    files are created under ``folder`` when given. Returns the paths.
    """
    folder = folder or Path("/nonexistent/music")
    paths = []
    with Store(db) as s:
        rows = []
        for i, (artist, mood) in enumerate(zip(artists, moods, strict=True)):
            p = folder / f"{artist}" / f"track {i:03d}.mp3"
            if folder.exists():
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_bytes(b"ID3")
            paths.append(str(p))
            rows.append(
                {
                    "path": str(p),
                    "sha": sha(i),
                    "track_id": f"audio:{sha(i)[:16]}",
                    "status": "ok",
                    "model": "audio",
                    "artist": artist,
                    "title": f"Song {i}",
                    "duration": 180.0,
                    "mood": mood,
                    "p_" + mood.lower(): 0.9,
                    "confidence": 0.5 + 0.01 * i,
                }
            )
        s.upsert_files(rows)
        tags = np.zeros((len(pens), 50))
        s.put_embeddings(
            SOURCE,
            [
                (sha(i), np.hstack([p, t]))
                for i, (p, t) in enumerate(zip(pens, tags, strict=True))
                if embedded is None or i in embedded
            ],
        )
    return paths


def in_pen_space(z: np.ndarray) -> np.ndarray:
    """Embeddings whose standardised form (as the bundled model standardises) is ``z``."""
    sp = similar.Space.from_model()
    return z / sp.scale + sp.shift


def clusters(n_artists=8, per_artist=5, seed=0, spread=0.25):
    """Each artist's tracks around its own random centre (standardised space)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_artists, similar.PEN))
    z = np.vstack([c + spread * rng.normal(size=(per_artist, similar.PEN)) for c in centres])
    artists = [f"Artist {a}" for a in range(n_artists) for _ in range(per_artist)]
    return in_pen_space(z), artists


# -- the whole way: scanned generated audio ------------------------------------------------------
def test_similar_on_a_scanned_library_finds_the_track_made_of_the_same_signal(
    tmp_path_factory, tmp_path
):
    music, db = copy_library(*scanned_library(tmp_path_factory), tmp_path)
    assert run("scan", music, "--db", db).exit_code == 0  # the copy: known by content
    with Store(db) as s:  # the scans built the index
        assert similar.update(s) == 0
        assert len(similar.load(s, extend=False)) == 5
    clicks = music / "Ärzte" / "Schrei nach Liebe.mp3"  # clicks at 160 BPM
    pad = music / "Björk" / "Jóga.flac"  # a chord pad
    r = run("similar", clicks, "--format", "json", "--db", db)
    assert r.exit_code == 0, r.stderr
    got = json.loads(r.stdout)  # one JSON array
    assert len(got) == 4  # every other track, most similar first
    assert set(got[0]) == {"id", "name", "artist", "path", "mood", "confidence", "similarity"}
    assert Path(got[0]["path"]).name == "opus track.opus"  # the other click track
    sims = [g["similarity"] for g in got]
    assert sims == sorted(sims, reverse=True)
    r = run("similar", pad, "--limit", "1", "--format", "csv", "--db", db)
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "id,name,artist,path,mood,confidence,similarity"
    assert len(lines) == 2 and "曲.m4a" in lines[1]  # the same pad, quieter, other beat noise
    # by track id too, and the index was built once: the store keeps one row per content
    with Store(db) as s:
        index = similar.load(s)
        assert len(index) == 5
        assert similar.update(s) == 0
    r = run("similar", index.ids[index.find(str(pad))], "-n", "1", "-f", "json", "--db", db)
    assert [row["name"] for row in json.loads(r.stdout)] == ["曲"]


def test_the_index_grows_with_new_contents_only(tmp_path):
    db = tmp_path / "lib.sqlite"
    pens, artists = clusters(3, 3)
    paths = fill(db, pens, artists=artists, moods=["Calm"] * len(pens))
    with Store(db) as s:
        assert similar.update(s) == 9
        assert similar.update(s) == 0
        s.put_embeddings(SOURCE, [(sha(99), np.hstack([pens[0], np.zeros(50)]))])
        s.upsert_files([{"path": "/m/new.mp3", "sha": sha(99), "track_id": "audio:new",
                         "status": "ok", "model": "audio", "mood": "Sad", "p_sad": 1.0}])  # fmt: skip
        index = similar.load(s)  # extended before the search
        assert len(index) == 10
        assert similar.update(s) == 0
        # the new track is its twin's nearest neighbour
        nearest, sim = index.similar(index.find("audio:new"), limit=1)[0]
        assert nearest["path"] == paths[0] and sim > 0.999
        # another representation is another index, built from scratch
        other = similar.Space.from_model(weights={"emb": 1.0})
        assert similar.update(s, other) == 10


def test_the_index_takes_every_embedding_version_the_library_holds(tmp_path):
    db = tmp_path / "lib.sqlite"
    pens, artists = clusters(2, 3)
    fill(db, pens, artists=artists, moods=["Calm"] * 6, embedded=range(4))
    with Store(db) as s:  # tracks 4 and 5 analysed after an embedding version change
        s.put_embeddings("musicnn-v2-p9", [(sha(i), np.hstack([pens[i], np.zeros(50)])) for i in (4, 5, 0)])  # fmt: skip
        index = similar.load(s)
        assert len(index) == 6 and not index.unindexed
        assert similar.update(s) == 0


def test_similar_filters_by_mood_and_respects_the_limit(tmp_path):
    db = tmp_path / "lib.sqlite"
    pens, artists = clusters(4, 5)
    moods = ["Calm", "Sad"] * 10
    paths = fill(db, pens, artists=artists, moods=moods)
    r = run("similar", paths[0], "--mood", "sad", "-n", "3", "-f", "json", "--db", db)
    assert r.exit_code == 0, r.stderr
    got = json.loads(r.stdout)  # one JSON array
    assert len(got) == 3 and {g["mood"] for g in got} == {"Sad"}
    # without the filter its own artist's tracks come first
    r = run("similar", paths[0], "-n", "4", "-f", "json", "--db", db)
    assert {row["artist"] for row in json.loads(r.stdout)} == {"Artist 0"}


# -- radio ----------------------------------------------------------------------------------------
def test_radio_stays_near_the_seed_with_varied_artists(tmp_path):
    db = tmp_path / "lib.sqlite"
    pens, artists = clusters(12, 6, spread=0.6)
    # a second, far group: artists 0-5 are near each other (one "genre"), 6-11 elsewhere
    z = (pens - similar.Space.from_model().shift) * similar.Space.from_model().scale
    z[: 6 * 6] = 0.3 * z[: 6 * 6] + 3.0
    pens = in_pen_space(z)
    paths = fill(db, pens, artists=artists, moods=["Happy"] * len(pens))
    out = tmp_path / "lists" / "radio.m3u8"
    out.parent.mkdir()
    r = run("playlists", "radio", paths[0], "--length", "10", "--per-artist", "2", "-o", out,
            "--db", db)  # fmt: skip
    assert r.exit_code == 0, r.stderr
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "#EXTM3U"
    entries = [ln for ln in lines if not ln.startswith("#")]
    assert len(entries) == 10 and len(set(entries)) == 10
    chosen = [os.path.normpath(out.parent / e) for e in entries]
    assert chosen[0] == paths[0]  # the seed first
    picked_artists = [Path(p).parent.name for p in chosen]
    assert max(picked_artists.count(a) for a in set(picked_artists)) <= 2
    assert len(set(picked_artists)) >= 5
    # all from the seed's group (artists 0-5), none from the far one
    assert {int(a.split()[-1]) for a in picked_artists} <= set(range(6))
    assert "#EXTINF:180,Artist 0 - Song 0" in lines


# -- path and mood arc ---------------------------------------------------------------------------
def test_path_goes_from_a_to_b_in_small_steps(tmp_path):
    db = tmp_path / "lib.sqlite"
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=similar.PEN), rng.normal(size=similar.PEN)
    line = [
        (1 - t) * a + t * b + 0.05 * rng.normal(size=similar.PEN) for t in np.linspace(0, 1, 20)
    ]
    noise = [3 * rng.normal(size=similar.PEN) for _ in range(40)]
    z = np.vstack([line, noise])
    paths = fill(db, in_pen_space(z), artists=[f"A{i}" for i in range(len(z))],
                 moods=["Calm"] * len(z))  # fmt: skip
    with Store(db) as s:
        index = similar.load(s)
    ia, ib = index.find(paths[0]), index.find(paths[19])
    rows = journeys.path(index, ia, ib, length=8)
    assert rows[0]["path"] == paths[0] and rows[-1]["path"] == paths[19]
    assert len(rows) == 8 and len({r["path"] for r in rows}) == 8
    V = index.V[[index.find(r["path"]) for r in rows]]
    steps = 1 - (V[:-1] * V[1:]).sum(axis=1)
    assert steps.mean() < (1 - V[0] @ V[-1]) / 2  # much smaller than the whole way
    assert all(r["path"] in paths[:20] for r in rows)  # along the line, not the noise
    # through the CLI, as M3U8 on stdout
    r = run("playlists", "path", paths[0], paths[19], "--length", "5", "--db", db)
    assert r.exit_code == 0, r.stderr
    entries = [ln for ln in r.stdout.splitlines() if not ln.startswith("#")]
    assert len(entries) == 5
    assert os.path.normpath(os.path.join(os.getcwd(), entries[-1])) == paths[19]


def test_mood_arc_moves_from_calm_to_energetic_through_valence_and_energy(tmp_path):
    db = tmp_path / "lib.sqlite"
    sp = similar.Space.from_model()
    rng = np.random.default_rng(2)
    n = 80
    target = rng.uniform(0.05, 0.95, size=(n, 2))  # valence, energy
    logits = np.log(target / (1 - target)) - sp.h
    z = np.linalg.lstsq(sp.H.T, logits.T, rcond=None)[0].T  # heads give exactly these
    quad = {(1, 0): "Calm", (0, 1): "Energetic", (1, 1): "Happy", (0, 0): "Sad"}
    moods = [quad[(int(v > 0.5), int(e > 0.5))] for v, e in target]
    fill(db, in_pen_space(z), artists=[f"A{i}" for i in range(n)], moods=moods)
    with Store(db) as s:
        index = similar.load(s)
    np.testing.assert_allclose(index.ve, target[[int(r.split()[-1]) for r in
                               [index.row(i)["title"] for i in range(n)]]], atol=1e-3)  # fmt: skip
    rows = journeys.arc(index, "Calm", "Energetic", length=10)
    assert len(rows) == 10 and len({r["path"] for r in rows}) == 10
    assert rows[0]["mood"] == "Calm" and rows[-1]["mood"] == "Energetic"
    ve = index.ve[[index.find(r["path"]) for r in rows]]
    energy, valence = ve[:, 1], ve[:, 0]
    assert np.corrcoef(np.arange(10), energy)[0, 1] > 0.8
    assert np.corrcoef(np.arange(10), valence)[0, 1] < -0.8
    r = run("playlists", "path", "--from", "Calm", "--to", "Energetic", "-n", "6", "--db", db)
    assert r.exit_code == 0, r.stderr
    assert len([ln for ln in r.stdout.splitlines() if ln.startswith("#EXTINF")]) == 6


# -- errors ---------------------------------------------------------------------------------------
def test_errors_are_one_line_with_exit_code_2(tmp_path):
    db = tmp_path / "lib.sqlite"
    pens, artists = clusters(2, 2)
    paths = fill(db, pens, artists=artists, moods=["Calm", "Sad", "Calm", "Sad"])
    env = {**os.environ, "TRACKMOOD_DB": str(db)}

    def tm(*args):
        return subprocess.run([sys.executable, "-m", "trackmood", *map(str, args)],
                              capture_output=True, text=True, env=env)  # fmt: skip

    r = tm("similar", tmp_path / "not scanned.mp3")
    assert r.returncode == 2 and r.stdout == ""
    assert "not scanned.mp3: not a track of the library" in one_error_line(r.stderr)
    r = tm("similar", paths[0], "--mood", "Melancholic")
    assert r.returncode == 2 and "'Melancholic' is not one of" in one_error_line(r.stderr)
    for args in (
        ("playlists", "radio", "audio:unknown"),
        ("playlists", "path", paths[0], paths[0]),
        ("playlists", "path", paths[0]),
        ("playlists", "path", "--from", "Calm", "--to", "Happy"),  # no Happy track
        ("similar", paths[0], "-o", tmp_path / "out.parquet"),
    ):
        r = run(*args, "--db", db)
        assert r.exit_code == 2, (args, r.stderr)
        one_error_line(r.stderr)
    assert not (tmp_path / "out.parquet").exists()


# -- web ------------------------------------------------------------------------------------------
@pytest.fixture
def web(tmp_path):
    from fastapi.testclient import TestClient

    from trackmood.web import create_app

    db = tmp_path / "web.sqlite"
    pens, artists = clusters(4, 3)
    music = tmp_path / "music"
    music.mkdir()
    moods = ["Calm", "Energetic", "Calm"] * 4
    paths = fill(db, pens, artists=artists, moods=moods, folder=music)
    app = create_app(store_path=db)
    with TestClient(app, base_url="http://127.0.0.1") as c:  # no token: GET needs none
        yield c, db, paths


def test_web_similar_tracks(web):
    client, db, paths = web
    with Store(db) as s:
        index = similar.load(s)
    seed = index.ids[index.paths.index(paths[0])]
    r = client.get(f"/tracks/{seed}/similar", params={"limit": 4})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["seed"] == seed and len(body["tracks"]) == 4
    first = body["tracks"][0]
    assert set(first) == {"id", "name", "artist", "path", "mood", "confidence", "similarity"}
    assert first["artist"] == "Artist 0"  # its own artist's cluster
    sims = [t["similarity"] for t in body["tracks"]]
    assert sims == sorted(sims, reverse=True)
    r = client.get(f"/tracks/{seed}/similar", params={"mood": "energetic"})
    assert {t["mood"] for t in r.json()["tracks"]} == {"Energetic"}
    # a track added since (the index is kept between requests, not beyond a change)
    with Store(db) as s:
        twin = s.get_embeddings(SOURCE, [sha(0)])[sha(0)]
        s.put_embeddings(SOURCE, [(sha(500), twin)])
        s.upsert_files([{"path": "/elsewhere/twin.mp3", "sha": sha(500), "track_id": "audio:twin",
                         "status": "ok", "model": "audio", "mood": "Sad", "p_sad": 1.0}])  # fmt: skip
    first = client.get(f"/tracks/{seed}/similar", params={"limit": 1}).json()["tracks"][0]
    assert first["id"] == "audio:twin" and first["similarity"] > 0.999
    assert client.get("/tracks/audio:nope/similar").status_code == 404
    assert client.get(f"/tracks/{seed}/similar", params={"mood": "Blue"}).status_code == 422


def test_web_mood_playlist_download(web):
    client, _, paths = web
    r = client.get("/playlists/Calm.m3u8")
    assert r.status_code == 200, r.text
    assert r.headers["content-disposition"] == 'attachment; filename="Calm.m3u8"'
    lines = r.text.splitlines()
    assert lines[0] == "#EXTM3U"
    entries = [ln for ln in lines if not ln.startswith("#")]
    calm = [p for i, p in enumerate(paths) if i % 3 != 1]
    root = os.path.commonpath([os.path.dirname(p) for p in calm])
    assert sorted(os.path.join(root, e) for e in entries) == sorted(calm)
    # most confident first (confidence grows with the index in fill())
    assert os.path.join(root, entries[0]) == calm[-1]
    assert client.get("/playlists/Blue.m3u8").status_code == 422
