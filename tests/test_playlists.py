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


# -- writes are never blind (issue 12.2) ----------------------------------------------------------
def creates(fake):
    return fake.requests("^/v1/me/playlists$", method="POST")


def assert_one_playlist_per_mood_each_track_once(fake):
    made = [p for p in fake.my_playlists() if p["name"].endswith("(trackmood)")]
    names = [p["name"] for p in made]
    assert len(names) == len(set(names)), names  # no mood playlist twice
    for p in made:
        assert len(p["entries"]) == len(set(p["entries"])), p["name"]  # no track twice
    assert sum(len(p["entries"]) for p in made) == 150
    return made


def test_slow_create_that_happened_is_found_not_made_twice(fake_spotify, source, monkeypatch):
    pid, _ = source
    monkeypatch.setenv("TRACKMOOD_HTTP_TIMEOUT", "0.5")
    # the first create is done by Spotify but answered after the client gave up
    fake_spotify.fail("^/v1/me/playlists$", None, delay=1.5, method="POST", apply=True)
    r = runner.invoke(app, ["playlists", "split", pid])
    assert r.exit_code == 0, r.stderr
    made = assert_one_playlist_per_mood_each_track_once(fake_spotify)
    assert len(creates(fake_spotify)) == len(made)  # the lost answer was not followed by a 2nd POST
    assert "looking for it before creating it again" in r.stderr
    assert "[trackmood:" in made[0]["description"]


def test_create_answered_502_after_it_happened_is_found(fake_spotify, source):
    pid, _ = source
    fake_spotify.fail("^/v1/me/playlists$", 502, method="POST", apply=True)
    r = runner.invoke(app, ["playlists", "split", pid])
    assert r.exit_code == 0, r.stderr
    made = assert_one_playlist_per_mood_each_track_once(fake_spotify)
    assert len(creates(fake_spotify)) == len(made)


def test_create_that_failed_before_happening_is_made_once_after_a_lookup(fake_spotify, source):
    pid, _ = source
    fake_spotify.fail("^/v1/me/playlists$", 503, method="POST")  # not done
    r = runner.invoke(app, ["playlists", "split", pid])
    assert r.exit_code == 0, r.stderr
    made = assert_one_playlist_per_mood_each_track_once(fake_spotify)
    assert len(creates(fake_spotify)) == len(made) + 1
    # between the failed and the next create: a look at your playlists
    log = fake_spotify.requests("^/v1/me/playlists")
    first_post = next(i for i, e in enumerate(log) if e["method"] == "POST")
    assert log[first_post + 1]["method"] == "GET"


def test_add_answered_500_after_it_happened_is_not_repeated(fake_spotify, source):
    pid, _ = source
    fake_spotify.fail(r"^/v1/playlists/[^/]+/items$", 500, method="POST", apply=True)
    r = runner.invoke(app, ["playlists", "split", pid])
    assert r.exit_code == 0, r.stderr
    made = assert_one_playlist_per_mood_each_track_once(fake_spotify)
    adds = fake_spotify.requests(r"^/v1/playlists/[^/]+/items$", method="POST")
    assert len(adds) == sum((len(p["entries"]) + 99) // 100 for p in made)  # none repeated
    assert "comparing with the playlist before adding again" in r.stderr
    assert "added 150 track(s)" in r.stdout


def test_a_playlist_of_the_same_name_without_the_marker_is_not_used(fake_spotify, source):
    pid, _ = source
    mine = fake_spotify.add_playlist([], name="Mixed bag · Calm (trackmood)")
    r = runner.invoke(app, ["playlists", "split", pid])
    assert r.exit_code == 0, r.stderr
    assert fake_spotify.playlists[mine]["entries"] == []


# -- fresh playlists (12.3), exit codes and messages (12.6) ------------------------------------
def test_tracks_added_to_the_source_are_split_on_the_next_run(fake_spotify, source):
    pid, _ = source
    assert runner.invoke(app, ["playlists", "split", pid]).exit_code == 0
    more = fake_spotify.add_tracks(3, features=CALM, duration_ms=240000)
    fake_spotify.playlists[pid]["entries"].extend(more)
    r = runner.invoke(app, ["playlists", "split", pid])
    assert r.exit_code == 0, r.stderr
    assert "added 3 track(s)" in r.stdout
    # unchanged since: one snapshot check and no page; --refresh reads the pages again
    fake_spotify.clear_log()
    assert runner.invoke(app, ["playlists", "split", pid]).exit_code == 0
    assert len(fake_spotify.requests(f"/v1/playlists/{pid}/items")) == 0
    assert len(fake_spotify.requests(f"/v1/playlists/{pid}\\?fields=snapshot_id")) == 1
    fake_spotify.clear_log()
    assert runner.invoke(app, ["playlists", "split", pid, "--refresh"]).exit_code == 0
    assert len(fake_spotify.requests(f"/v1/playlists/{pid}/items")) == 4  # 156 items, 50 a page


def test_no_track_with_features_exits_non_zero_and_writes_nothing(fake_spotify):
    login(fake_spotify)
    lost = fake_spotify.add_tracks(2, reccobeats=False, spotify_features=False)
    pid = fake_spotify.add_playlist(lost, name="Obscure")
    r = runner.invoke(app, ["playlists", "split", pid])
    assert r.exit_code == 4
    line = [x for x in r.stderr.splitlines() if x.strip()][-1]
    assert "no track of playlist 'Obscure' got audio features" in line
    assert "nothing created" in line and not creates(fake_spotify)


def test_left_out_line_says_no_audio_features_once(fake_spotify, source):
    pid, _ = source
    r = runner.invoke(app, ["playlists", "split", pid, "--dry-run"])
    line = next(x for x in r.stdout.splitlines() if "tracks left out" in x)
    assert line.startswith("2 tracks left out: no audio features (")
    assert line.count("no audio features") == 1
