"""Behavioural tests of the bundled feature models (after Made-With-ML's tests/model/test_behavioral.py).

Direction: moving a track along valence, energy or acousticness shifts the odds between the moods
that feature separates in the data. Invariance: things that do not carry mood (an id, row order) change nothing.
"""

import numpy as np
import pandas as pd
import pytest

from trackmood import load_model, pool, predict_frame
from trackmood.moods import PROBA_COLUMNS

MODELS = ["default", "default-noduration", "original"]


@pytest.fixture(scope="module")
def tracks(request):
    from tests.conftest import SHARED_DATA

    if not (SHARED_DATA / "data_moods.csv").exists():
        pytest.skip("../shared/data is not present")
    df, _ = pool([SHARED_DATA / "data_moods.csv"])
    return df.sample(300, random_state=0).reset_index(drop=True)


def proba(model, df):
    return predict_frame(model, df)[list(PROBA_COLUMNS)].to_numpy()


def shifted(df, column, delta):
    out = df.copy()
    out[column] = np.clip(out[column] + delta, 0, 1)
    return out


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize(
    "column,delta,up,down",
    [
        ("valence", +0.3, "happy", "sad"),  # more positive: happier rather than sadder
        ("valence", +0.3, "happy", "energetic"),  # the two high-energy moods differ in valence
        ("energy", +0.3, "energetic", "calm"),
        ("energy", +0.3, "happy", "sad"),
        ("acousticness", +0.3, "calm", "energetic"),
    ],
)
def test_direction(tracks, name, column, delta, up, down):
    """Moving along a feature shifts the odds between the two moods that feature separates.

    (Not "raising valence never raises P(Sad)": in these data Calm tracks have lower valence than Sad
    ones, so a brighter calm track may rightly become a little more Sad; the *odds* of Happy against
    Sad must still rise.)
    """
    model = load_model(name)
    i, j = PROBA_COLUMNS.index(f"p_{up}"), PROBA_COLUMNS.index(f"p_{down}")

    def log_odds(p):
        return np.log(p[:, i] + 1e-9) - np.log(p[:, j] + 1e-9)

    change = log_odds(proba(model, shifted(tracks, column, delta))) - log_odds(proba(model, tracks))
    assert change.mean() > 0, f"{column} {delta:+} moved the odds of {up} vs {down} the wrong way"
    assert (change >= -0.1).mean() >= 0.9, "more than 10 % of tracks moved clearly the wrong way"


@pytest.mark.parametrize("name", MODELS)
def test_invariance_to_ids_and_order(tracks, name):
    model = load_model(name)
    base = proba(model, tracks)
    renamed = tracks.assign(id=[f"x{i}" for i in range(len(tracks))], name="whatever")
    np.testing.assert_allclose(proba(model, renamed), base)
    order = np.random.default_rng(0).permutation(len(tracks))
    np.testing.assert_allclose(
        proba(model, tracks.iloc[order])[np.argsort(order)], base, atol=1e-12
    )


@pytest.mark.parametrize("name", MODELS)
def test_prototypes(name):
    """Four textbook tracks, one per corner of the plane, get their corner's mood."""
    model = load_model(name)
    base = dict(duration_ms=210000, instrumentalness=0.0, liveness=0.1, speechiness=0.04)
    protos = pd.DataFrame(
        [
            dict(
                base,
                mood="Happy",
                valence=0.95,
                energy=0.75,
                danceability=0.85,
                acousticness=0.1,
                loudness=-5,
                tempo=118,
            ),
            dict(
                base,
                mood="Energetic",
                valence=0.3,
                energy=0.97,
                danceability=0.55,
                acousticness=0.001,
                loudness=-3,
                tempo=150,
            ),
            dict(
                base,
                mood="Sad",
                valence=0.1,
                energy=0.25,
                danceability=0.4,
                acousticness=0.8,
                loudness=-11,
                tempo=70,
            ),
            dict(
                base,
                mood="Calm",
                valence=0.2,
                energy=0.08,
                danceability=0.3,
                acousticness=0.97,
                loudness=-24,
                tempo=75,
                instrumentalness=0.92,
            ),
        ]
    )
    got = predict_frame(model, protos)["mood"].tolist()
    assert got == protos["mood"].tolist()
