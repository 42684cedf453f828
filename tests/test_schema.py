"""The feature schema, column aliases, moods and label maps."""

import math

import numpy as np
import pandas as pd
import pytest

from trackmood.errors import DataError, LabelError
from trackmood.features import (
    MODEL_FEATURE_NAMES,
    canonical_column,
    normalize_columns,
    parse_duration_ms,
    parse_track_id,
    validate,
)
from trackmood.moods import MOODS, LabelMap, normalize_label

ID = "4uLU6hMCjMI75M1A2tKUQC"


@pytest.mark.parametrize(
    "raw",
    [
        ID,
        f"spotify:track:{ID}",
        f"https://open.spotify.com/track/{ID}?si=abc",
        f"https://open.spotify.com/intl-de/track/{ID}",
        f"  {ID} ",
    ],
)
def test_track_id_forms(raw):
    assert parse_track_id(raw) == ID


def test_non_spotify_ids_are_kept_and_blank_is_none():
    assert parse_track_id("audio:0123abcd") == "audio:0123abcd"
    assert parse_track_id("") is None and parse_track_id(float("nan")) is None


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("\ufeffTitle", "name"),
        ("LENGTH", "duration_ms"),
        ("duration_ms", "duration_ms"),
        ("track_uri", "id"),
        (" Energy ", "energy"),
        ("Mood", "mood"),
    ],
)
def test_column_aliases(raw, expected):
    assert canonical_column(raw) == expected


def test_duration_strings_and_numbers():
    assert parse_duration_ms("0 days 00:03:08.893000") == pytest.approx(188893.0)
    assert parse_duration_ms(215000) == 215000.0
    assert parse_duration_ms("215000") == 215000.0
    assert math.isnan(parse_duration_ms("three minutes"))


def test_normalize_columns_first_alias_wins_and_parses():
    df = pd.DataFrame(
        {
            "\ufeffid": [ID],
            "uri": ["spotify:track:zzzzzzzzzzzzzzzzzzzzzz"],
            "Length": ["0 days 00:01:00"],
        }
    )
    out = normalize_columns(df)
    assert list(out.columns) == ["id", "duration_ms"]
    assert out.loc[0, "id"] == ID and out.loc[0, "duration_ms"] == 60000.0


def _row(**over):
    base = dict(
        duration_ms=200000,
        danceability=0.5,
        acousticness=0.5,
        energy=0.5,
        instrumentalness=0.0,
        liveness=0.1,
        valence=0.5,
        loudness=-8.0,
        speechiness=0.05,
        tempo=120.0,
    )
    base.update(over)
    return base


@pytest.mark.parametrize(
    "bad,column,fragment",
    [
        ({"energy": "loud"}, "energy", "not a number"),
        ({"valence": np.nan}, "valence", "empty value"),
        ({"tempo": np.inf}, "tempo", "not a finite number"),
        ({"danceability": 1.7}, "danceability", "out of range"),
        ({"loudness": -400.0}, "loudness", "out of range"),
    ],
)
def test_validate_names_row_column_value(bad, column, fragment):
    df = pd.DataFrame([_row(), _row(**bad)])
    with pytest.raises(DataError) as e:
        validate(df, file="t.csv")
    msg = str(e.value)
    assert "t.csv" in msg and "row 2" in msg and repr(column) in msg and fragment in msg


def test_validate_missing_columns_lists_them():
    df = pd.DataFrame([_row()]).drop(columns=["tempo", "energy"])
    with pytest.raises(DataError, match="missing feature column.*energy, tempo"):
        validate(df)


def test_validate_accepts_numeric_strings():
    df = pd.DataFrame([{k: str(v) for k, v in _row().items()}])
    out = validate(df)
    assert out["energy"].dtype == float and list(MODEL_FEATURE_NAMES) == list(out.columns)


def test_moods_and_quadrants():
    assert MOODS == tuple(sorted(MOODS))
    assert normalize_label("SAD") == "Sad" and normalize_label("q2") == "Energetic"
    # the 4Q audio data set's folder names are moods (Russell's quadrants Q1-Q4)
    assert [normalize_label(q) for q in ("Q1", "Q2", "Q3", "Q4")] == [
        "Happy",
        "Energetic",
        "Sad",
        "Calm",
    ]
    with pytest.raises(LabelError, match="unknown mood label 'Romantic'"):
        normalize_label("Romantic")


def test_label_map():
    lm = LabelMap.parse(["Melancholic=Sad,Relaxing=calm", "Romantic="])
    assert lm.apply("melancholic") == "Sad" and lm.apply("RELAXING") == "Calm"
    assert lm.apply("Romantic") is None and lm.apply("happy") == "Happy"
    with pytest.raises(LabelError):
        lm.apply("Anger")
    with pytest.raises(LabelError, match="OLD=NEW"):
        LabelMap.parse(["Melancholic"])
    with pytest.raises(LabelError, match="unknown mood"):
        LabelMap.parse(["x=Furious"])
