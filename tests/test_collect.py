"""`trackmood collect`: moods from playlists/albums/artists/search, duplicates, conflicts, resume."""

# ruff: noqa: F811  (pytest fixtures imported from tests.fakes)
import io
import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pandas as pd
import pytest
from typer.testing import CliRunner

from tests.fakes import EPISODE, LOCAL, NULL, fake_spotify, login  # noqa: F401
from trackmood.cli import app
from trackmood.collect import DATASET_COLUMNS, parse_spec_args
from trackmood.datasets import load_labeled
from trackmood.errors import DataError, LabelError
from trackmood.store import Store

runner = CliRunner()
PL = "37i9dQZF1DX3rxVfibe1L0"


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def one_error_line(result):
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines and lines[-1].startswith("trackmood: error: "), result.stderr
    return lines[-1]


# -- argument parsing ----------------------------------------------------------------------------
def test_parse_specs_keeps_mood_order_and_accepts_urls():
    specs = parse_spec_args(
        [
            "--mood=calm",
            f"https://open.spotify.com/playlist/{PL}?si=1",
            "--artist",
            f"spotify:artist:{PL}",
            "--mood",
            "Q2",
            "--search",
            "loud",
        ]
    )
    assert [(s.mood, s.kind, s.ref) for s in specs] == [
        ("Calm", "playlist", PL),
        ("Calm", "artist", PL),
        ("Energetic", "search", "loud"),
    ]


@pytest.mark.parametrize(
    "args,match",
    [
        ([], "nothing to collect"),
        ([PL], "before any --mood"),
        (["--album", PL], "before any --mood"),
        (["--mood", "Happy", "not-an-id"], "not a Spotify id"),
        (["--mood", "Happy", f"spotify:album:{PL}"], "use --album"),
        (["--mood", "Happy", "--album", f"spotify:track:{PL}"], "expects a Spotify album"),
        (["--mood", "Happy", "--frobnicate", PL], "unknown option"),
        (["--mood"], "--mood needs a value"),
    ],
)
def test_parse_specs_errors(args, match):
    with pytest.raises(DataError, match=match):
        parse_spec_args(args)


def test_unknown_mood_is_a_label_error():
    with pytest.raises(LabelError, match="unknown mood label 'Furious'"):
        parse_spec_args(["--mood", "Furious", PL])


@pytest.mark.parametrize(
    "args,code,match",
    [
        (["collect"], 2, "nothing to collect"),
        (["collect", "--mood", "Angry", PL], 2, "unknown mood label"),
        (["collect", PL], 2, "before any --mood"),
    ],
)
def test_cli_errors_one_line(fake_spotify, args, code, match):
    r = run(*args)
    assert r.exit_code == code
    assert match in one_error_line(r)


def test_cli_help_documents_moods():
    r = run("collect", "--help")
    assert r.exit_code == 0 and "--mood" in r.stdout and "--search" in r.stdout


# -- collecting ----------------------------------------------------------------------------------
@pytest.fixture
def two_playlists(fake_spotify):
    happy = fake_spotify.add_tracks(60, name="Sunny")
    sad = fake_spotify.add_tracks(30, name="Rainy")
    unknown = fake_spotify.add_track(reccobeats=False, spotify_features=False, name="Obscure")
    shared = happy[:3]  # in both playlists: conflicting labels
    p1 = fake_spotify.add_playlist(happy + [NULL, LOCAL, EPISODE, happy[10], unknown], name="Happy")
    p2 = fake_spotify.add_playlist(sad + shared, name="Sad")
    login(fake_spotify)
    return p1, p2, happy, sad, unknown


def test_collect_two_moods_to_a_dataset(fake_spotify, two_playlists, tmp_path):
    p1, p2, happy, sad, unknown = two_playlists
    out = tmp_path / "dataset.csv"
    r = run("collect", "--mood", "Happy", p1, "--mood", "Sad", p2, "-o", out)
    assert r.exit_code == 0, r.stderr
    df = pd.read_csv(out)
    assert list(df.columns) == list(DATASET_COLUMNS)
    assert Counter(df["mood"]) == {"Happy": 57, "Sad": 30}
    assert set(df["source"]) == {"reccobeats"}
    assert df["id"].is_unique and unknown not in set(df["id"])
    assert not set(happy[:3]) & set(df["id"])
    # conflicts reported with names, skipped items counted, summary on stderr
    assert "conflicting moods for" in r.stderr and "Happy, Sad" in r.stderr
    assert "3 tracks with conflicting moods dropped" in r.stderr
    assert "1 local file" in r.stderr and "1 podcast episode" in r.stderr
    assert "1 empty item" in r.stderr and "1 duplicates merged" in r.stderr
    assert "1 without features" in r.stderr
    assert "Spotify Developer Terms §IV.2.a.i" in r.stderr
    assert "this command collects Spotify's data" in r.stderr
    # item metadata came from the pages: no per-track calls, no removed endpoints
    assert not fake_spotify.requests(r"^/v1/tracks")
    assert len(fake_spotify.requests(r"/items\?")) == 3
    assert len(fake_spotify.requests(r"fields=snapshot_id")) == 2  # one check per playlist
    # the dataset loads as a labeled table; the library has tracks, labels and per-value sources
    labeled = load_labeled(out)
    assert len(labeled) == 87
    store = Store()
    assert len(store.get_labels()) >= 90
    feats = store.get_features([sad[0]])[sad[0]]
    assert feats["valence"][1] == "reccobeats" and feats["duration_ms"][1] == "spotify"
    assert store.get_misses([unknown])[unknown]


def test_terms_notice_only_once(fake_spotify, two_playlists, tmp_path):
    p1 = two_playlists[0]
    first = run("collect", "--mood", "Happy", p1, "-o", tmp_path / "a.csv")
    second = run("collect", "--mood", "Happy", p1, "-o", tmp_path / "b.csv")
    assert "§IV.2.a.i" in first.stderr and "§IV.2.a.i" not in second.stderr
    assert "Data and Spotify's terms" in first.stderr


def test_collect_to_stdout_and_rerun_makes_one_small_request(fake_spotify, two_playlists):
    p1 = two_playlists[0]
    r1 = run("collect", "--mood", "Happy", p1)
    assert r1.exit_code == 0, r1.stderr
    fake_spotify.clear_log()
    r2 = run("collect", "--mood", "Happy", p1)
    assert r2.stdout == r1.stdout
    # only the snapshot check: the playlist did not change, so its pages come from the cache
    assert [e["path"] for e in fake_spotify.requests()] == [
        f"/v1/playlists/{p1}?fields=snapshot_id"
    ]
    assert "1 requests" in r2.stderr and "2 pages from the cache" in r2.stderr


def test_tracks_added_to_a_playlist_are_seen_on_the_next_run(fake_spotify, two_playlists):
    p1, _, happy, _, _ = two_playlists
    r1 = run("collect", "--mood", "Happy", p1)
    assert r1.exit_code == 0, r1.stderr
    new = fake_spotify.add_tracks(2, name="Brand new")
    fake_spotify.playlists[p1]["entries"].extend(new)  # the snapshot_id changes with the items
    fake_spotify.clear_log()
    r2 = run("collect", "--mood", "Happy", p1)
    assert r2.exit_code == 0, r2.stderr
    assert set(new) <= set(pd.read_csv(io.StringIO(r2.stdout))["id"])
    assert set(new).isdisjoint(pd.read_csv(io.StringIO(r1.stdout))["id"])
    assert len(fake_spotify.requests(r"/items\?")) == 2  # the changed playlist was read again


def test_collect_album_artist_search_with_client_credentials(fake_spotify, tmp_path):
    a1 = fake_spotify.add_tracks(55, name="Quiet")  # 2 pages of album tracks
    a2 = fake_spotify.add_tracks(4, name="Hush")
    loud = fake_spotify.add_tracks(15, name="Thunder")
    album1, album2 = fake_spotify.add_album("One", a1), fake_spotify.add_album("Two", a2)
    artist = fake_spotify.add_artist("Calm Person", [album2])
    out = tmp_path / "d.csv"
    r = run(
        "collect",
        "--mood",
        "Calm",
        "--album",
        album1,
        "--artist",
        artist,
        "--mood",
        "Energetic",
        "--search",
        "thunder",
        "--search-limit",
        "12",
        "-o",
        out,
    )
    assert r.exit_code == 0, r.stderr
    df = pd.read_csv(out)
    assert Counter(df["mood"]) == {"Calm": 59, "Energetic": 12}
    assert set(df.loc[df["mood"] == "Energetic", "id"]) <= set(loud)
    assert df.loc[df["id"] == a1[0], "album"].item() == "One"
    assert not fake_spotify.requests(status=400)
    assert not fake_spotify.requests("/authorize")  # no user login needed


def test_forbidden_playlist_message_and_exit_code(fake_spotify, tmp_path):
    login(fake_spotify)
    theirs = fake_spotify.add_playlist(fake_spotify.add_tracks(2), owner="other-user")
    r = run("collect", "--mood", "Sad", theirs)
    assert r.exit_code == 4
    line = one_error_line(r)
    assert "403" in line and "own or collaborate" in line and "copy its tracks" in line


def test_quota_exceeded_stops_with_exit_4_and_resume_time(fake_spotify, two_playlists):
    p1 = two_playlists[0]
    fake_spotify.fail(
        "/items",
        429,
        headers={"Retry-After": "600"},
        body={"error": {"status": 429, "message": "Too many requests", "reason": "QUOTA_EXCEEDED"}},
    )
    r = run("collect", "--mood", "Happy", p1)
    assert r.exit_code == 4
    assert "QUOTA_EXCEEDED" in one_error_line(r) and "run the same command again after" in r.stderr


def test_retry_after_over_the_option_cap(fake_spotify, two_playlists):
    p1 = two_playlists[0]
    fake_spotify.fail("/items", 429, headers={"Retry-After": "30"})
    r = run("collect", "--mood", "Happy", p1, "--max-retry-after", "5")
    assert r.exit_code == 4 and "more than the 5 s cap" in one_error_line(r)


def test_nothing_collected_is_an_error(fake_spotify):
    login(fake_spotify)
    pid = fake_spotify.add_playlist(
        [fake_spotify.add_track(reccobeats=False, spotify_features=False)]
    )
    r = run("collect", "--mood", "Happy", pid)
    assert r.exit_code == 4 and "nothing written" in one_error_line(r)


# -- kill -9 and resume --------------------------------------------------------------------------
def _start(fake, out, pid):
    env = {**os.environ, **fake.env()}
    return subprocess.Popen(
        [sys.executable, "-m", "trackmood", "collect", "--mood", "Happy", pid, "-o", str(out)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


@pytest.mark.timeout(120)
def test_kill_9_and_resume_repeats_no_successful_request(fake_spotify, tmp_path):
    ids = fake_spotify.add_tracks(300)  # 6 item pages, 1 audio-features, 8 ReccoBeats
    pid = fake_spotify.add_playlist(ids, name="Big")
    login(fake_spotify)
    fake_spotify.clear_log()
    out = tmp_path / "big.csv"
    for hold in (3, 10):  # killed while paging, then while fetching features
        fake_spotify.hold_after(hold)
        proc = _start(fake_spotify, out, pid)
        assert fake_spotify.wait_held(60), proc.communicate(timeout=5)
        time.sleep(0.2)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        fake_spotify.release()
        fake_spotify._held.clear()
        fake_spotify._release.clear()
        fake_spotify._n = 0
        assert not out.exists()
    proc = _start(fake_spotify, out, pid)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr.decode()
    df = pd.read_csv(out)
    assert len(df) == 300 and set(df["id"]) == set(ids)
    ok = [
        e["path"]
        for e in fake_spotify.requests(status=200)
        if not e["path"].startswith("/api/token")
    ]
    # each run checks the playlist's snapshot once (one small request); nothing else repeats
    checks = [p for p in ok if p.endswith("fields=snapshot_id")]
    assert len(checks) == 3
    repeated = [p for p, n in Counter(ok).items() if n > 1 and p not in checks]
    assert repeated == []
    assert len(fake_spotify.requests(status=0)) == 2  # the two requests cut off by the kills
    assert len(ok) - len(checks) == 6 + 8  # the floor: pages + ReccoBeats calls


def test_refresh_rereads_pages_but_not_features(fake_spotify, two_playlists):
    p1 = two_playlists[0]
    assert run("collect", "--mood", "Happy", p1).exit_code == 0
    fake_spotify.clear_log()
    r = run("collect", "--mood", "Happy", p1, "--refresh")
    assert r.exit_code == 0, r.stderr
    assert len(fake_spotify.requests("/items")) == 2
    assert not fake_spotify.requests("audio-features")
