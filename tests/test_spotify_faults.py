"""Every fault of the 2026 API against the fake: limits, removed endpoints, 403s, 429s, 5xx, timeouts."""

# ruff: noqa: F811  (pytest fixtures imported from tests.fakes)
import time

import pytest

from tests.fakes import fake_spotify, login  # noqa: F401
from trackmood.errors import RateLimitError, SourceError
from trackmood.sources import spotify as S
from trackmood.sources.http import HTTPFailure, RetryPolicy, parse_retry_after, with_retries
from trackmood.store import Store


class Sleeps(list):
    def __call__(self, seconds):
        self.append(seconds)


@pytest.fixture
def api(fake_spotify):
    fake_spotify.add_tracks(5)
    return S.SpotifyAPI(S.client(user=False), policy=RetryPolicy(backoff=0.01))


@pytest.fixture
def user_api(fake_spotify):
    fake_spotify.add_tracks(5)
    return S.SpotifyAPI(
        S.client(user=True, manager=login(fake_spotify)), policy=RetryPolicy(backoff=0.01)
    )


def first_track(fake):
    return next(iter(fake.tracks))


def test_400_invalid_limit_above_the_2026_maxima(user_api, fake_spotify):
    pid = fake_spotify.add_playlist(list(fake_spotify.tracks) if fake_spotify.tracks else [])
    for path in (f"playlists/{pid}/items?limit=51", "search?q=song&type=track&limit=11"):
        with pytest.raises(S.SpotifyHTTPError, match="Invalid limit") as e:
            user_api.get(path)
        assert e.value.status == 400
    rid = fake_spotify.add_artist("X", [fake_spotify.add_album("A", [])])
    # spotipy 2.26 still asks for 20 artist albums by default: the 2026 API answers 400
    with pytest.raises(Exception, match="Invalid limit"):
        user_api.sp.artist_albums(rid)


def test_reader_stays_within_limits(user_api, fake_spotify):
    ids = fake_spotify.add_tracks(25, name="Rain song")
    albums = [fake_spotify.add_album(f"A{i}", ids[i : i + 1]) for i in range(23)]
    rid = fake_spotify.add_artist("Many", albums)
    reader = S.Reader(user_api, Store())
    tracks = [t for p in reader.artist(rid) for t in p["items"]]
    assert len(tracks) == 23
    found = [t for p in reader.search("rain", limit=25) for t in p["items"]]
    assert len(found) >= 25
    assert not fake_spotify.requests(status=400)
    assert len(fake_spotify.requests(r"/artists/.*/albums")) == 3  # 10 + 10 + 3


def test_403_on_removed_endpoints(user_api, fake_spotify):
    tid = first_track(fake_spotify)
    pid = fake_spotify.add_playlist([tid])
    for call in (
        lambda: user_api.sp.tracks([tid]),
        lambda: user_api.sp._get(f"playlists/{pid}/tracks"),
        lambda: user_api.sp.user_playlist_create(fake_spotify.user_id, "x"),
    ):
        with pytest.raises(Exception) as e:
            call()
        assert getattr(e.value, "http_status", None) == 403


def test_403_on_a_playlist_names_every_development_mode_reason(user_api, fake_spotify):
    pid = fake_spotify.add_playlist([first_track(fake_spotify)], owner="someone-else")
    reader = S.Reader(user_api, Store())
    with pytest.raises(SourceError) as e:
        list(reader.playlist(pid))
    text = str(e.value)
    assert "403" in text and "\n" not in text
    assert "own or collaborate on" in text and "copy its tracks" in text  # not yours
    assert "not on the app's user list" in text  # development-mode user list
    assert "no Spotify Premium" in text  # the app owner lacks Premium


def test_collaborative_playlist_of_another_user_is_readable(user_api, fake_spotify):
    pid = fake_spotify.add_playlist([first_track(fake_spotify)], owner="friend", collaborative=True)
    assert len(next(S.Reader(user_api, Store()).playlist(pid))["items"]) == 1


def test_429_retry_after_is_honoured_for_real(api, fake_spotify):
    tid = first_track(fake_spotify)
    fake_spotify.fail(
        f"/tracks/{tid}",
        429,
        headers={"Retry-After": "1"},
        body={"error": {"status": 429, "message": "API rate limit exceeded"}},
    )
    t0 = time.monotonic()
    assert api.get(f"tracks/{tid}")["id"] == tid
    assert time.monotonic() - t0 >= 1.0
    assert [e["status"] for e in fake_spotify.requests(f"/tracks/{tid}")] == [429, 200]


def test_429_over_the_cap_stops_with_when_to_resume(fake_spotify):
    fake_spotify.add_tracks(1)
    sleeps = Sleeps()
    api = S.SpotifyAPI(S.client(), policy=RetryPolicy(max_retry_after=60, sleep=sleeps))
    tid = first_track(fake_spotify)
    fake_spotify.fail(f"/tracks/{tid}", 429, headers={"Retry-After": "7200"})
    with pytest.raises(
        RateLimitError,
        match=r"wait 2 h 0 min.*60 s cap.*run the same command again after "
        r"\d\d:\d\d \(in 2 h 0 min\)",
    ) as e:
        api.get(f"tracks/{tid}")
    assert e.value.retry_after == 7200 and not e.value.quota
    assert sleeps == []  # never slept for hours


def test_cap_from_environment(fake_spotify, monkeypatch):
    monkeypatch.setenv("TRACKMOOD_MAX_RETRY_AFTER", "5")
    assert RetryPolicy().max_retry_after == 5
    monkeypatch.setenv("TRACKMOOD_MAX_RETRY_AFTER", "soon")
    with pytest.raises(SourceError, match="TRACKMOOD_MAX_RETRY_AFTER='soon'"):
        RetryPolicy()


def test_quota_exceeded_stops_cleanly(api, fake_spotify):
    tid = first_track(fake_spotify)
    fake_spotify.fail(
        f"/tracks/{tid}",
        429,
        headers={"Retry-After": "3600"},
        body={"error": {"status": 429, "message": "Too many requests", "reason": "QUOTA_EXCEEDED"}},
    )
    with pytest.raises(
        RateLimitError, match="QUOTA_EXCEEDED.*run the same command again after"
    ) as e:
        api.get(f"tracks/{tid}")
    assert e.value.quota
    assert len(fake_spotify.requests(f"/tracks/{tid}")) == 1


def test_5xx_is_retried_with_backoff(fake_spotify):
    fake_spotify.add_tracks(1)
    sleeps = Sleeps()
    api = S.SpotifyAPI(S.client(), policy=RetryPolicy(backoff=0.5, sleep=sleeps))
    tid = first_track(fake_spotify)
    fake_spotify.fail(f"/tracks/{tid}", 502, times=2)
    fake_spotify.fail(f"/tracks/{tid}", 503, times=1)
    assert api.get(f"tracks/{tid}")["id"] == tid
    assert sleeps == [0.5, 1.0, 2.0]


def test_5xx_that_does_not_stop_gives_up_with_a_message(api, fake_spotify):
    tid = first_track(fake_spotify)
    fake_spotify.fail(f"/tracks/{tid}", 500, times=10)
    with pytest.raises(SourceError, match="failed 5 times.*HTTP 500.*run the same command again"):
        api.get(f"tracks/{tid}")
    assert len(fake_spotify.requests(f"/tracks/{tid}")) == 5


def test_slow_response_times_out_and_is_retried(fake_spotify, monkeypatch):
    monkeypatch.setenv("TRACKMOOD_HTTP_TIMEOUT", "0.3")
    fake_spotify.add_tracks(1)
    api = S.SpotifyAPI(S.client(), policy=RetryPolicy(backoff=0.01))
    tid = first_track(fake_spotify)
    api.get(f"tracks/{tid}")  # token first
    fake_spotify.fail(f"/tracks/{tid}", None, delay=1.0)  # slow, then normal
    t0 = time.monotonic()
    assert api.get(f"tracks/{tid}")["id"] == tid
    assert time.monotonic() - t0 < 1.0
    assert len(fake_spotify.requests(f"/tracks/{tid}")) == 3


def test_retry_after_parsing():
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert parse_retry_after("garbage") is None


def test_other_errors_are_not_retried():
    calls = []

    def bad():
        calls.append(1)
        raise HTTPFailure(404, "nope")

    with pytest.raises(HTTPFailure):
        with_retries(bad, what="x", policy=RetryPolicy(backoff=0))
    assert calls == [1]


def test_null_local_and_episode_items_are_skipped(user_api, fake_spotify):
    from tests.fakes import EPISODE, LOCAL, NULL

    tid = first_track(fake_spotify)
    pid = fake_spotify.add_playlist([NULL, tid, LOCAL, EPISODE])
    items = next(S.Reader(user_api, Store()).playlist(pid))["items"]
    assert [S.skip_reason(t) for t in items] == [
        "empty item (removed or unavailable)",
        None,
        "local file",
        "podcast episode",
    ]
