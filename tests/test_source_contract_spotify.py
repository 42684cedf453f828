"""The source contract (sources/base.py) for SpotifySource: against the fake Spotify server (app
credentials and a user login) and against the fake ReccoBeats alone (no key at all).

The assertions mirror the contract helper of the other sources (tests/contract.py on the "spine"
branch); the lead unifies them at merge.
"""

# ruff: noqa: F811  (pytest fixtures imported from tests.fakes)
import math
import os
import subprocess
import sys

import pytest

from tests.fakes import EPISODE, LOCAL, NULL, fake_spotify, login  # noqa: F401
from trackmood.features import MODEL_FEATURE_NAMES
from trackmood.sources.base import CONTRACT_COLUMNS, FAILED, OK, frame_columns_ok
from trackmood.sources.spotify import FEATURE_COLUMNS, SpotifySource
from trackmood.store import Store

from .contract import check_feature_frames

PROVIDERS = {"spotify", "reccobeats"}


def run_source(refs, **kw):
    calls, notes = [], []
    source = SpotifySource(Store(), **kw)
    frames = list(source.frames(refs, progress=lambda *a: calls.append(a), notify=notes.append))
    assert frames, "a source yields at least one frame"
    import pandas as pd

    return pd.concat(frames, ignore_index=True), calls, notes


def assert_contract(df, expected_ids, calls):
    """The contract every source meets (tests/contract.py), plus what Spotify adds."""
    check_feature_frames([df], expected_ids)
    assert frame_columns_ok(list(df.columns)), list(df.columns)
    assert list(CONTRACT_COLUMNS) == ["id", "provenance", "status", "reason"]
    # one row per requested track, in input order
    assert list(df["id"]) == expected_ids
    assert set(df["status"]) <= {OK, FAILED}
    features = [c for c in FEATURE_COLUMNS if c in df.columns]
    assert set(MODEL_FEATURE_NAMES) <= set(features)
    for _, row in df.iterrows():
        prov = row["provenance"]
        assert isinstance(prov, dict)
        present = {c for c in features if not _nan(row[c])}
        if row["status"] == OK:
            assert row["reason"] is None
            # the provider of every non-null feature is named, and nothing else is
            assert set(prov) == present, (row["id"], prov, present)
            assert set(prov.values()) <= PROVIDERS
            assert all(not _nan(row[c]) for c in MODEL_FEATURE_NAMES if c != "duration_ms")
        else:
            assert present == set() and prov == {}
            reason = row["reason"]
            assert isinstance(reason, str) and reason.strip() and "\n" not in reason
    # progress: (stage, done, total) with done ≤ total when total is known
    assert calls, "progress was never reported"
    for stage, done, total in calls:
        assert isinstance(stage, str) and stage
        assert isinstance(done, int) and done >= 0
        assert total is None or (isinstance(total, int) and done <= total)


def _nan(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def test_contract_against_fake_spotify(fake_spotify):
    ids = fake_spotify.add_tracks(45, duration_ms=200_000)
    lost = fake_spotify.add_track(reccobeats=False, spotify_features=False)
    pid = fake_spotify.add_playlist([*ids[:42], NULL, lost, LOCAL, EPISODE, ids[0]])
    login(fake_spotify)
    refs = [f"spotify:track:{ids[44]}", f"https://open.spotify.com/playlist/{pid}", ids[43]]
    df, calls, _ = run_source(refs)
    expected = [ids[44], *ids[:42], f"spotify:playlist:{pid}#42", lost]
    expected += [df["id"][45], df["id"][46], ids[43]]  # local file and episode: their URIs
    assert df["id"][45].startswith("spotify:local:") and df["id"][46].startswith("spotify:episode:")
    assert_contract(df, expected, calls)
    assert (df["status"] == OK).sum() == 44
    row = df.iloc[0]
    assert row["provenance"]["duration_ms"] == "spotify"
    assert row["provenance"]["energy"] == "reccobeats"
    assert any(stage.startswith("reading playlist") for stage, _, _ in calls)
    assert any(stage == "features from reccobeats" for stage, _, _ in calls)
    assert Store().get_predictions(ids[0]) == []  # a source never writes predictions


def test_contract_against_fake_reccobeats_key_free(fake_spotify, monkeypatch):
    for var in ("SPOTIPY_CLIENT_ID", "SPOTIPY_CLIENT_SECRET", "SPOTIPY_REDIRECT_URI"):
        monkeypatch.delenv(var)
    ids = fake_spotify.add_tracks(3)
    unknown = fake_spotify.add_track(reccobeats=False)
    refs = [ids[2], f"spotify:track:{unknown}", f"https://open.spotify.com/track/{ids[0]}"]
    df, calls, notes = run_source(refs)
    assert_contract(df, [ids[2], unknown, ids[0]], calls)
    assert list(df["status"]) == [OK, FAILED, OK]
    assert df["duration_ms"].isna().all()
    assert "reccobeats" in df.loc[1, "reason"]
    assert not fake_spotify.requests("^/(v1|api)/")
    # a rerun is answered from the library, still by the contract (progress included)
    n = len(fake_spotify.requests())
    again, calls, _ = run_source(refs)
    assert_contract(again, [ids[2], unknown, ids[0]], calls)
    assert again["energy"].equals(df["energy"]) and len(fake_spotify.requests()) == n


def test_all_failed_is_reported_per_row(fake_spotify, monkeypatch):
    monkeypatch.delenv("SPOTIPY_CLIENT_SECRET")
    gone = [fake_spotify.add_track(reccobeats=False) for _ in range(2)]
    df, calls, _ = run_source(gone)
    assert_contract(df, gone, calls)
    assert (df["status"] == FAILED).all()  # the caller turns this into a non-zero exit


@pytest.mark.timeout(60)
def test_the_source_imports_no_model_or_prediction_code(fake_spotify):
    code = (
        "import sys\n"
        "from trackmood.sources.spotify import SpotifySource\n"
        "from trackmood.store import Store\n"
        f"df = next(SpotifySource(Store()).frames([{fake_spotify.add_track()!r}]))\n"
        "assert (df['status'] == 'ok').all(), df\n"
        "bad = [m for m in sys.modules if m.startswith(('trackmood.model', 'trackmood.predict',"
        " 'trackmood.pipeline', 'trackmood.spotify_predict'))]\n"
        "assert not bad, bad\n"
    )
    env = {**os.environ, "SPOTIPY_CLIENT_ID": "", "SPOTIPY_CLIENT_SECRET": ""}
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
