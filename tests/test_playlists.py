"""`trackmood playlists split`: one playlist per mood, ≤ 100 tracks a call, idempotent, --dry-run."""
# ruff: noqa: F811  (pytest fixtures imported from tests.fakes)

import pytest
from typer.testing import CliRunner

from tests.fakes import LOCAL, fake_spotify, login  # noqa: F401
from trackmood.cli import app
from trackmood.playlists import mood_playlist_name, split_playlist
from trackmood.sources import spotify as S

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
ENERGETIC = {
    "danceability": 0.6,
    "acousticness": 0.01,
    "energy": 0.95,
    "instrumentalness": 0.1,
    "liveness": 0.3,
    "valence": 0.3,
    "loudness": -4.0,
    "speechiness": 0.08,
    "tempo": 150.0,
}


@pytest.fixture
def source(fake_spotify):
    ids = (
        fake_spotify.add_tracks(130, features=CALM, duration_ms=240000)
        + fake_spotify.add_tracks(20, features=ENERGETIC, duration_ms=200000)
        + fake_spotify.add_tracks(2, reccobeats=False, spotify_features=False)
    )
    pid = fake_spotify.add_playlist(ids + [LOCAL], name="Mixed bag")
    login(fake_spotify)
    return pid, ids


def mood_playlists(fake):
    return {p["name"]: p for p in fake.my_playlists() if p["name"].endswith("(trackmood)")}


def test_split_creates_mood_playlists_and_adds_each_track_once(fake_spotify, source):
    pid, _ = source
    r = runner.invoke(app, ["playlists", "split", pid])
    assert r.exit_code == 0, r.stderr
    made = mood_playlists(fake_spotify)
    assert made, r.stdout
    total = sum(len(p["entries"]) for p in made.values())
    assert total == 150  # 2 without features left out
    assert "2 tracks left out: no audio features" in r.stdout
    assert "1 playlist items left out" in r.stdout
    for name, p in made.items():
        assert name.startswith("Mixed bag · ")
        assert len(p["entries"]) == len(set(p["entries"]))
        assert p["public"] is False
    # creation through POST /me/playlists, never /users/{id}/playlists; adds ≤ 100 per call
    assert len(fake_spotify.requests("^/v1/me/playlists$", method="POST")) == len(made)
    assert not fake_spotify.requests("^/v1/users/")
    adds = fake_spotify.requests(r"^/v1/playlists/.*/items$", method="POST")
    assert all(e["status"] == 201 for e in adds)
    biggest = max(len(p["entries"]) for p in made.values())
    assert biggest > 100 and len(adds) == sum(
        (len(p["entries"]) + 99) // 100 for p in made.values()
    )


def test_second_run_creates_and_adds_nothing(fake_spotify, source):
    pid, _ = source
    assert runner.invoke(app, ["playlists", "split", pid]).exit_code == 0
    before = {n: list(p["entries"]) for n, p in mood_playlists(fake_spotify).items()}
    fake_spotify.clear_log()
    r = runner.invoke(app, ["playlists", "split", pid])
    assert r.exit_code == 0, r.stderr
    assert {n: p["entries"] for n, p in mood_playlists(fake_spotify).items()} == before
    assert not fake_spotify.requests(method="POST")
    assert "created 0 playlist(s), added 0 track(s)" in r.stdout


def test_rerun_after_a_crash_between_chunks_adds_only_the_rest(fake_spotify, source):
    pid, _ = source
    # the second add to the big playlist fails for good: the run stops with an error
    calls = {"n": 0}
    api = S.SpotifyAPI(S.client(user=True))
    real_post = api.post

    def flaky_post(path, payload, **kw):
        if path.endswith("/items"):
            calls["n"] += 1
            if calls["n"] == 2:
                raise S.SourceError("network went away")
        return real_post(path, payload, **kw)

    api.post = flaky_post
    with pytest.raises(S.SourceError):
        split_playlist(pid, api=api)
    r = runner.invoke(app, ["playlists", "split", pid])
    assert r.exit_code == 0, r.stderr
    made = mood_playlists(fake_spotify)
    assert sum(len(p["entries"]) for p in made.values()) == 150
    for p in made.values():
        assert len(p["entries"]) == len(set(p["entries"]))
    assert len(made) == len(set(made))


def test_dry_run_changes_nothing(fake_spotify, source):
    pid, _ = source
    r = runner.invoke(app, ["playlists", "split", pid, "--dry-run"])
    assert r.exit_code == 0, r.stderr
    assert "would create" in r.stdout and "would be added" in r.stdout
    assert not fake_spotify.requests("^/v1/", method="POST")
    assert not mood_playlists(fake_spotify)


def test_split_of_a_playlist_you_cannot_read(fake_spotify, source):
    theirs = fake_spotify.add_playlist(source[1][:3], owner="someone")
    r = runner.invoke(app, ["playlists", "split", theirs])
    assert r.exit_code == 4 and "own or collaborate" in r.stderr


def test_split_bad_reference(fake_spotify):
    r = runner.invoke(app, ["playlists", "split", "https://open.spotify.com/album/" + "a" * 22])
    assert r.exit_code == 2 and "takes a playlist" in r.stderr


def test_name_format():
    assert mood_playlist_name("Road trip", "Happy") == "Road trip · Happy (trackmood)"


def test_fake_refuses_bare_array_and_too_many_uris(fake_spotify, source):
    pid, ids = source
    api = S.SpotifyAPI(S.client(user=True))
    with pytest.raises(S.SpotifyHTTPError, match="Invalid limit"):
        api.post(f"playlists/{pid}/items", {"uris": [f"spotify:track:{i}" for i in ids[:101]]})
    with pytest.raises(Exception, match="No uris"):
        api.sp.playlist_add_items(pid, ids[:2])  # spotipy 2.26 posts a bare JSON array
