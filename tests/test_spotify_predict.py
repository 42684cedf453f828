"""`predict_refs` and `trackmood predict` with Spotify tracks, playlists, URIs and URLs."""

# ruff: noqa: F811  (pytest fixtures imported from tests.fakes)
import pandas as pd
import pytest
from typer.testing import CliRunner

from tests.fakes import EPISODE, fake_spotify, login  # noqa: F401
from trackmood.cli import app
from trackmood.errors import DataError
from trackmood.moods import MOODS, PROBA_COLUMNS
from trackmood.sources import spotify as S
from trackmood.sources.spotify import parse_ref, predict_refs
from trackmood.store import Store

runner = CliRunner()
CALM = {
    "danceability": 0.3,
    "acousticness": 0.95,
    "energy": 0.08,
    "instrumentalness": 0.9,
    "liveness": 0.1,
    "valence": 0.35,
    "loudness": -24.0,
    "speechiness": 0.04,
    "tempo": 78.0,
}


@pytest.mark.parametrize(
    "ref,expected",
    [
        ("spotify:track:4uLU6hMCjMI75M1A2tKUQC", ("track", "4uLU6hMCjMI75M1A2tKUQC")),
        ("spotify:playlist:37i9dQZF1DX3rxVfibe1L0", ("playlist", "37i9dQZF1DX3rxVfibe1L0")),
        (
            "https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC?si=abc",
            ("track", "4uLU6hMCjMI75M1A2tKUQC"),
        ),
        (
            "open.spotify.com/intl-fr/playlist/37i9dQZF1DX3rxVfibe1L0",
            ("playlist", "37i9dQZF1DX3rxVfibe1L0"),
        ),
        ("4uLU6hMCjMI75M1A2tKUQC", ("track", "4uLU6hMCjMI75M1A2tKUQC")),
    ],
)
def test_parse_ref(ref, expected):
    assert parse_ref(ref) == expected


@pytest.mark.parametrize(
    "ref", ["", "spotify:track:short", "https://example.com/track/4uLU6hMCjMI75M1A2tKUQC"]
)
def test_parse_ref_rejects(ref):
    with pytest.raises(DataError, match="not a Spotify id"):
        parse_ref(ref)


def test_predict_tracks_by_uri_url_and_id(fake_spotify):
    a, b, c = fake_spotify.add_tracks(3, features=CALM, duration_ms=200_000)
    gone = "0" * 22
    df = predict_refs([f"spotify:track:{a}", f"https://open.spotify.com/track/{b}", c, gone])
    assert list(df.columns) == [
        "id",
        "name",
        "artist",
        "album",
        "mood",
        *PROBA_COLUMNS,
        "quadrant",
        "source",
        "reason",
    ]
    ok = df[df["mood"].notna()]
    assert list(ok["id"]) == [a, b, c]
    assert set(ok["mood"]) <= set(MOODS) and (ok["source"] == "reccobeats").all()
    assert ok[list(PROBA_COLUMNS)].sum(axis=1).round(6).eq(1).all()
    assert df.loc[df["id"] == gone, "reason"].item().startswith("Spotify does not know")
    # one GET /tracks/{id} per track (the batch endpoint is gone) and one ReccoBeats call
    assert len(fake_spotify.requests(r"^/v1/tracks/")) == 4
    assert len(fake_spotify.requests("/reccobeats/")) == 1
    # stored: predictions and features with their providers
    store = Store()
    rows, _ = store.list_tracks()
    assert {r["id"] for r in rows if r["mood"]} == {a, b, c}


def test_predict_playlist_with_missing_and_skipped_items(fake_spotify):
    ids = fake_spotify.add_tracks(4, features=CALM)
    lost = fake_spotify.add_track(reccobeats=False, spotify_features=False)
    pid = fake_spotify.add_playlist(ids + [lost, EPISODE, ids[0]])
    login(fake_spotify)
    notes = []
    df = predict_refs([f"spotify:playlist:{pid}"], notify=notes.append)
    assert df["mood"].notna().sum() == 4
    assert "no audio features" in df.loc[df["id"] == lost, "reason"].item()
    assert df["reason"].str.contains("podcast episode", na=False).sum() == 1
    assert any("§IV.2.a.i" in n for n in notes)


def test_spotify_features_source_and_model_without_duration(fake_spotify, monkeypatch):
    fake_spotify.audio_features_access = True
    a = fake_spotify.add_track(features=CALM)
    df = predict_refs([a])
    assert df["source"].item() == "spotify"
    # a track whose item has no duration: ReccoBeats has none either → default-noduration
    fake_spotify.audio_features_access = False
    b = fake_spotify.add_track(features=CALM)
    fake_spotify.tracks[b]["duration_ms"] = None
    notes = []
    store = Store()
    store.kv_put("provider-status", "spotify", '{"reason": "off", "at": 9e99}')
    df = predict_refs([b], notify=notes.append, store=store)
    assert df["mood"].notna().all()
    assert any("default-noduration" in n for n in notes)


def test_predict_rejects_albums(fake_spotify):
    with pytest.raises(DataError, match="not a Spotify album"):
        predict_refs(["spotify:album:" + "a" * 22])


def test_cli_predict_spotify_refs(fake_spotify, tmp_path):
    ids = fake_spotify.add_tracks(2, features=CALM)
    out = tmp_path / "p.csv"
    r = runner.invoke(app, ["predict", f"spotify:track:{ids[0]}", ids[1], "-o", str(out)])
    assert r.exit_code == 0, r.stderr
    df = pd.read_csv(out)
    assert list(df["id"]) == ids and {"mood", "model", "quadrant"} <= set(df.columns)


def test_cli_predict_without_credentials(fake_spotify, monkeypatch):
    monkeypatch.delenv("SPOTIPY_CLIENT_ID")
    r = runner.invoke(app, ["predict", "spotify:track:" + "a" * 22])
    assert r.exit_code == 4 and "set SPOTIPY_CLIENT_ID" in r.stderr


def test_user_scopes_needed_for_playlists_use_cached_login(fake_spotify):
    pid = fake_spotify.add_playlist(fake_spotify.add_tracks(2, features=CALM))
    manager = login(fake_spotify)
    api = S.SpotifyAPI(S.client(user=True, manager=manager))
    df = predict_refs([f"spotify:playlist:{pid}"], api=api)
    assert df["mood"].notna().sum() == 2
