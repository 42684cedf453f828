"""SpotifySource and `trackmood predict` with Spotify tracks, playlists, albums, URIs and URLs;
key-free lookups through ReccoBeats.
"""

# ruff: noqa: F811  (pytest fixtures imported from tests.fakes)
import pandas as pd
import pytest
from typer.testing import CliRunner

from tests.fakes import EPISODE, fake_spotify, login  # noqa: F401
from trackmood.cli import app
from trackmood.errors import DataError
from trackmood.moods import MOODS
from trackmood.sources import spotify as S
from trackmood.sources.spotify import SpotifySource, parse_ref
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


def frame(refs, **kw):
    notes = []
    source = SpotifySource(Store(), **kw)
    df = next(source.frames(refs, notify=notes.append))
    return df, notes, source


def test_tracks_by_uri_url_and_id_with_app_credentials(fake_spotify):
    a, b, c = fake_spotify.add_tracks(3, features=CALM, duration_ms=200_000)
    gone = "0" * 22
    df, _, _ = frame([f"spotify:track:{a}", f"https://open.spotify.com/track/{b}", c, gone])
    assert list(df["id"]) == [a, b, c, gone]
    assert list(df["status"]) == ["ok", "ok", "ok", "failed"]
    assert list(df["name"][:3]) == [fake_spotify.tracks[t]["name"] for t in (a, b, c)]
    assert df.loc[3, "reason"].startswith("Spotify does not know")
    assert (df["duration_ms"][:3] == 200_000).all()
    assert df.loc[0, "provenance"]["duration_ms"] == "spotify"
    assert df.loc[0, "provenance"]["energy"] == "reccobeats"
    assert df.loc[0, "energy"] == pytest.approx(CALM["energy"])
    # one GET /tracks/{id} per track (the batch endpoint is gone) and one ReccoBeats call
    assert len(fake_spotify.requests(r"^/v1/tracks/")) == 4
    assert len(fake_spotify.requests("/reccobeats/")) == 1
    # stored: track metadata and features with their providers, but no predictions
    store = Store()
    assert store.get_track(a)["name"] == fake_spotify.tracks[a]["name"]
    assert store.get_features([a])[a]["energy"][1] == "reccobeats"
    assert store.get_predictions(a) == []


def test_key_free_tracks_without_any_spotify_credentials(fake_spotify, monkeypatch):
    for var in ("SPOTIPY_CLIENT_ID", "SPOTIPY_CLIENT_SECRET", "SPOTIPY_REDIRECT_URI"):
        monkeypatch.delenv(var)
    a, b = fake_spotify.add_tracks(2, features=CALM)
    df, notes, _ = frame([f"spotify:track:{a}", b])
    assert list(df["id"]) == [a, b] and (df["status"] == "ok").all()
    assert df["duration_ms"].isna().all() and df["energy"].notna().all()
    assert all("duration_ms" not in p for p in df["provenance"])
    assert any("no Spotify app credentials" in n for n in notes)
    assert any("duration_ms is left empty" in n for n in notes)
    # nothing asked of Spotify: no token, no track
    assert not fake_spotify.requests("^/(v1|api)/")
    assert len(fake_spotify.requests("/reccobeats/")) == 1


def test_cli_predict_key_free_uses_the_model_without_duration(fake_spotify, monkeypatch, tmp_path):
    for var in ("SPOTIPY_CLIENT_ID", "SPOTIPY_CLIENT_SECRET", "SPOTIPY_REDIRECT_URI"):
        monkeypatch.delenv(var)
    ids = fake_spotify.add_tracks(3, features=CALM)
    out = tmp_path / "p.csv"
    r = runner.invoke(app, ["predict", f"spotify:track:{ids[0]}", *ids[1:], "-o", str(out)])
    assert r.exit_code == 0, r.stderr
    df = pd.read_csv(out)
    assert list(df["id"]) == ids and set(df["mood"]) <= set(MOODS)
    assert "default-noduration" in r.stderr and "no Spotify app credentials" in r.stderr
    assert not fake_spotify.requests("^/(v1|api)/")


def test_playlist_with_missing_and_skipped_items(fake_spotify):
    ids = fake_spotify.add_tracks(4, features=CALM)
    lost = fake_spotify.add_track(reccobeats=False, spotify_features=False)
    pid = fake_spotify.add_playlist(ids + [lost, EPISODE, ids[0]])
    login(fake_spotify)
    df, notes, _ = frame([f"spotify:playlist:{pid}"])
    assert list(df["id"][:5]) == ids + [lost]
    assert (df["status"][:4] == "ok").all()
    reason = df.loc[df["id"] == lost, "reason"].item()
    assert reason.startswith("no audio features (") and reason.count("no audio features") == 1
    assert df["reason"].str.contains("podcast episode", na=False).sum() == 1
    assert len(df) == 6  # the repeat of ids[0] is merged
    assert any("1 repeated track(s) merged" in n for n in notes)
    assert any("§IV.2.a.i" in n and "feeds Spotify's data" in n for n in notes)


def test_album_and_rejected_kinds(fake_spotify):
    ids = fake_spotify.add_tracks(3, features=CALM)
    album = fake_spotify.add_album("Quiet", ids)
    df, _, _ = frame([f"spotify:album:{album}", "spotify:artist:" + "a" * 22, "nope"])
    assert list(df["id"]) == [*ids, "a" * 22, "nope"]
    assert (df["album"][:3] == "Quiet").all() and (df["status"][:3] == "ok").all()
    assert "not a track list" in df.loc[3, "reason"]
    assert "not a Spotify id" in df.loc[4, "reason"]


def test_spotify_audio_features_where_the_app_has_access(fake_spotify):
    fake_spotify.audio_features_access = True
    a = fake_spotify.add_track(features=CALM)
    df, _, _ = frame([a])
    prov = df.loc[0, "provenance"]
    assert set(prov.values()) == {"spotify"} and df.loc[0, "time_signature"] == 4


def test_playlist_without_a_login_says_to_run_login(fake_spotify):
    pid = fake_spotify.add_playlist(fake_spotify.add_tracks(2, features=CALM))
    with pytest.raises(S.LoginRequired, match="run `trackmood login`"):
        frame([f"spotify:playlist:{pid}"])
    assert not fake_spotify.requests("/authorize")


def test_cli_predict_spotify_refs(fake_spotify, tmp_path):
    ids = fake_spotify.add_tracks(2, features=CALM)
    out = tmp_path / "p.csv"
    r = runner.invoke(app, ["predict", f"spotify:track:{ids[0]}", ids[1], "-o", str(out)])
    assert r.exit_code == 0, r.stderr
    df = pd.read_csv(out)
    assert list(df["id"]) == ids and {"mood", "model", "quadrant"} <= set(df.columns)


def test_user_scopes_needed_for_playlists_use_cached_login(fake_spotify):
    pid = fake_spotify.add_playlist(fake_spotify.add_tracks(2, features=CALM))
    manager = login(fake_spotify)
    api = S.SpotifyAPI(S.client(user=True, manager=manager))
    df, _, _ = frame([f"spotify:playlist:{pid}"], api=api)
    assert (df["status"] == "ok").sum() == 2


def test_track_without_a_duration_at_spotify_is_said(fake_spotify):
    a = fake_spotify.add_track(features=CALM)
    fake_spotify.tracks[a]["duration_ms"] = None
    df, notes, _ = frame([a])
    assert df.loc[0, "status"] == "ok" and pd.isna(df.loc[0, "duration_ms"])
    assert any("Spotify gave none" in n for n in notes)


def test_tracks_with_a_login_but_no_secret_get_names_from_spotify(fake_spotify, monkeypatch):
    a = fake_spotify.add_track(features=CALM, duration_ms=210_000)
    login(fake_spotify)
    monkeypatch.delenv("SPOTIPY_CLIENT_SECRET")  # a PKCE-only app
    df, notes, _ = frame([a])
    assert df.loc[0, "name"] == fake_spotify.tracks[a]["name"]
    assert df.loc[0, "duration_ms"] == 210_000
    assert not any("no Spotify app credentials" in n for n in notes)


def test_cli_predict_exits_non_zero_when_no_track_got_features(fake_spotify, tmp_path):
    gone = [fake_spotify.add_track(reccobeats=False) for _ in range(2)]
    out = tmp_path / "p.csv"
    r = runner.invoke(app, ["predict", *gone, "-o", str(out)])
    assert r.exit_code == 4 and not out.exists()
    line = [x for x in r.stderr.splitlines() if x.strip()][-1]
    assert "no track of the request got audio features" in line and gone[0] in line


def test_pipeline_names_the_model_that_predicted(fake_spotify):
    from trackmood import pipeline

    ids = fake_spotify.add_tracks(2, features=CALM)
    result = pipeline.run(ids, store=Store())
    df = result.predictions
    assert result.model == "default" and (df["model"] == "default").all()
    assert df["mood"].notna().all()
