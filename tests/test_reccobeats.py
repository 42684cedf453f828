"""ReccoBeats client and the provider chain: Spotify audio-features → ReccoBeats → missing-with-reason."""

# ruff: noqa: F811  (pytest fixtures imported from tests.fakes)
import pytest

from tests.fakes import fake_spotify  # noqa: F401
from trackmood.errors import SourceError
from trackmood.sources import spotify as S
from trackmood.sources.http import RetryPolicy
from trackmood.sources.provider import CORE, FeatureChain, default_chain
from trackmood.sources.reccobeats import ReccoBeatsClient, spotify_id_from_href
from trackmood.store import Store


@pytest.fixture
def rb(fake_spotify):
    return ReccoBeatsClient(fake_spotify.reccobeats_url, policy=RetryPolicy(backoff=0.01))


def test_unknown_ids_are_omitted_and_results_mapped_back_by_href(fake_spotify, rb):
    known = fake_spotify.add_tracks(3)
    unknown = fake_spotify.add_track(reccobeats=False)
    ask = [known[2], unknown, known[0], known[1]]
    out = rb.audio_features(ask)
    assert set(out) == set(known)
    for sid in known:  # values belong to the right track
        assert out[sid]["energy"] == pytest.approx(fake_spotify.rb[sid]["energy"])
        assert "duration_ms" not in out[sid]
    body = fake_spotify.requests("/reccobeats/")[0]
    assert body["status"] == 200


def test_more_than_40_ids_per_call_is_refused(rb):
    with pytest.raises(ValueError, match="at most 40"):
        rb.audio_features([f"{i:022d}" for i in range(41)])


def test_href_parsing():
    assert (
        spotify_id_from_href("https://open.spotify.com/track/00aqkszH1FdUiJJWvX6iEl")
        == "00aqkszH1FdUiJJWvX6iEl"
    )
    assert spotify_id_from_href("https://open.spotify.com/album/00aqkszH1FdUiJJWvX6iEl") is None
    assert spotify_id_from_href(None) is None


def test_reccobeats_429_and_5xx_use_the_same_loop(fake_spotify, rb):
    sid = fake_spotify.add_track()
    fake_spotify.fail("/reccobeats/", 429, headers={"Retry-After": "0"})
    fake_spotify.fail("/reccobeats/", 503)
    assert sid in rb.audio_features([sid])
    assert [e["status"] for e in fake_spotify.requests("/reccobeats/")] == [429, 503, 200]


def test_reccobeats_bad_answer_is_a_source_error(fake_spotify, rb):
    sid = fake_spotify.add_track()
    fake_spotify.fail("/reccobeats/", 400, body={"error": "bad ids"})
    with pytest.raises(SourceError, match="ReccoBeats answered 400"):
        rb.audio_features([sid])


def chain_for(fake, store):
    api = S.SpotifyAPI(S.client(), policy=RetryPolicy(backoff=0.01))
    return default_chain(api, store=store), api


def test_bare_403_on_audio_features_falls_back_to_reccobeats(fake_spotify):
    ids = fake_spotify.add_tracks(90)
    store = Store()
    chain, _ = chain_for(fake_spotify, store)
    durations = {i: fake_spotify.tracks[i]["duration_ms"] for i in ids}
    out = chain.fetch(ids, durations=durations)
    assert all(out[i].ok and out[i].provider == "reccobeats" for i in ids)
    assert len(fake_spotify.requests("^/v1/audio-features", status=403)) == 1
    assert len(fake_spotify.requests("/reccobeats/v1/audio-features")) == 3  # 40 + 40 + 10
    stored = store.get_features([ids[0]])[ids[0]]
    assert stored["energy"][1] == "reccobeats"
    assert stored["duration_ms"] == (durations[ids[0]], "spotify")  # from the item
    # the 403 is remembered: a new chain does not ask audio-features again
    chain2, _ = chain_for(fake_spotify, store)
    new = fake_spotify.add_track()
    chain2.fetch([new])
    assert len(fake_spotify.requests("^/v1/audio-features")) == 1


def test_app_with_access_gets_spotify_features_100_a_call(fake_spotify):
    fake_spotify.audio_features_access = True
    ids = fake_spotify.add_tracks(150)
    store = Store()
    chain, _ = chain_for(fake_spotify, store)
    out = chain.fetch(ids)
    assert {out[i].provider for i in ids} == {"spotify"}
    assert out[ids[0]].values["duration_ms"] == fake_spotify.tracks[ids[0]]["duration_ms"]
    assert len(fake_spotify.requests("^/v1/audio-features")) == 2
    assert not fake_spotify.requests("/reccobeats/")
    assert store.get_features([ids[0]])[ids[0]]["time_signature"] == (4.0, "spotify")


def test_positional_nulls_from_spotify_go_on_to_reccobeats(fake_spotify):
    fake_spotify.audio_features_access = True
    a = fake_spotify.add_track()
    b = fake_spotify.add_track(spotify_features=False)
    out = chain_for(fake_spotify, Store())[0].fetch([a, b])
    assert out[a].provider == "spotify" and out[b].provider == "reccobeats"


def test_missing_everywhere_is_kept_with_a_reason_and_not_asked_again(fake_spotify):
    gone = fake_spotify.add_track(reccobeats=False, spotify_features=False)
    store = Store()
    out = chain_for(fake_spotify, store)[0].fetch([gone])
    assert not out[gone].ok
    assert "not in reccobeats's catalogue" in out[gone].reason
    assert "403" in out[gone].reason
    assert store.get_misses([gone])[gone]["reccobeats"]
    n = len(fake_spotify.requests())
    out = chain_for(fake_spotify, store)[0].fetch([gone])
    assert not out[gone].ok and len(fake_spotify.requests()) == n + 0


def test_cache_first_nothing_fetched_twice(fake_spotify):
    ids = fake_spotify.add_tracks(45)
    store = Store()
    chain_for(fake_spotify, store)[0].fetch(ids[:30])
    before = len(fake_spotify.requests("/reccobeats/"))
    out = chain_for(fake_spotify, store)[0].fetch(ids)  # only 15 new ids
    assert all(out[i].ok for i in ids)
    calls = fake_spotify.requests("/reccobeats/")[before:]
    assert len(calls) == 1 and calls[0]["path"].count("%2C") == 14


def test_chain_with_only_reccobeats_and_a_custom_provider(fake_spotify, rb):
    from trackmood.sources.provider import ReccoBeatsFeatures

    class Fixed:
        name, batch_size = "fixed", 10

        def fetch(self, ids):
            return {i: {k: 0.5 for k in CORE} | {"loudness": -5.0, "tempo": 100.0} for i in ids}

    a = fake_spotify.add_track(reccobeats=False)
    out = FeatureChain([ReccoBeatsFeatures(rb), Fixed()], Store()).fetch([a])
    assert out[a].ok and out[a].provider == "fixed"
