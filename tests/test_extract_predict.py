"""`trackmood extract DIR -o f.parquet` then `trackmood predict f.parquet`: the table is scored by
the bundled model that reads what extract measures (chosen automatically and said on stderr), and
a model's feature names match a table's columns exactly as written.
"""

from __future__ import annotations

import warnings

import pandas as pd
import pytest
from typer.testing import CliRunner

from trackmood.cli import app
from trackmood.datasets import read_table
from trackmood.errors import DataError
from trackmood.features import MODEL_FEATURE_NAMES, canonical_column, record_from_pairs
from trackmood.model.persistence import load_model
from trackmood.pipeline import choose_model

from .audio_fixtures import click_track, music_like, write_pyav, write_wav

runner = CliRunner()


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    """Two real clips (an MP3 and a WAV) extracted to Parquet and CSV by the CLI."""
    tmp = tmp_path_factory.mktemp("extract")
    music = tmp / "music"
    music.mkdir()
    write_pyav(music / "pad.mp3", music_like(8.0, 22050), 22050, "libmp3lame")
    write_wav(music / "clicks.wav", click_track(128, 8.0, sr=22050), 22050)
    out = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TRACKMOOD_DB", str(tmp / "lib.sqlite"))
        for suffix in ("parquet", "csv"):
            path = tmp / f"features.{suffix}"
            r = runner.invoke(app, ["extract", str(music), "-o", str(path), "--workers", "1"])
            assert r.exit_code == 0, r.output
            out[suffix] = path
    return out


@pytest.mark.parametrize("suffix", ["parquet", "csv"])
def test_extract_table_is_scored_by_the_descriptor_model(extracted, suffix, tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKMOOD_DB", str(tmp_path / "lib.sqlite"))
    out = tmp_path / "moods.csv"
    with warnings.catch_warnings():  # nothing but the model's line on stderr (pandas' warnings
        warnings.simplefilter("error")  # on a wide table would be printed there)
        r = runner.invoke(app, ["predict", str(extracted[suffix]), "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    pred = pd.read_csv(out)
    assert len(pred) == 2 and pred["status"].tolist() == ["ok", "ok"], pred["reason"].tolist()
    assert set(pred["model"]) == {"audio-descriptors"}
    assert set(pred["mood"]) <= {"Calm", "Energetic", "Happy", "Sad"}
    assert "using bundled model 'audio-descriptors'" in r.stderr
    assert "danceability" in r.stderr  # says which columns had no values
    # the same as asking for that model by name
    named = tmp_path / "named.csv"
    r = runner.invoke(
        app, ["predict", str(extracted[suffix]), "-m", "audio-descriptors", "-o", str(named)]
    )
    assert r.exit_code == 0, r.output
    pd.testing.assert_frame_equal(pd.read_csv(named), pred)


def test_audio_model_on_an_extract_table_is_a_one_line_error(extracted, tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKMOOD_DB", str(tmp_path / "lib.sqlite"))
    r = runner.invoke(app, ["predict", str(extracted["parquet"]), "-m", "audio"])
    assert r.exit_code != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("trackmood: error:"), r.stderr
    assert "predict the audio files themselves" in lines[0] and "mn_pen000" in lines[0]
    assert "mn_pen001" not in lines[0]  # not 200 column names


def test_descriptor_names_are_read_exactly_as_written(extracted):
    model = load_model("audio-descriptors")
    cased = [f for f in model.features if f != f.lower()]
    assert cased, "the descriptor model has names with capitals (chroma keys)"
    table = read_table(extracted["csv"])
    assert set(model.features) <= set(table.columns)
    assert choose_model(table.columns, "audio-descriptors").name == "audio-descriptors"
    # a header in another case is another column: reported missing, by its exact name
    folded = [c.lower() if c in cased else c for c in table.columns]
    with pytest.raises(DataError, match="missing feature column"):
        choose_model(folded, "audio-descriptors")
    # the schema's own names and aliases still match whatever their case
    assert [canonical_column(c) for c in (" Energy", "BPM", "Track_URI", "Path")] == [
        "energy",
        "tempo",
        "id",
        "path",
    ]
    assert canonical_column(cased[0]) == cased[0]
    with pytest.raises(DataError, match="did you mean 'energy'"):  # typos: any case
        record_from_pairs(["ENRGY=0.8"])


def test_the_python_api_chooses_the_same_model_for_an_extract_table(extracted):
    from trackmood.pipeline import predict_features

    said: list[str] = []
    pred = predict_features(read_table(extracted["parquet"]), notify=said.append)
    assert pred["status"].tolist() == ["ok", "ok"]
    assert set(pred["model"]) == {"audio-descriptors"}
    assert any("'audio-descriptors'" in m for m in said)


def test_a_table_with_the_embedding_columns_gets_the_audio_model():
    """Should extract write the musicnn columns, its tables would get the better `audio` model."""
    audio, desc = load_model("audio"), load_model("audio-descriptors")
    spotify = ["danceability", "acousticness", "energy", "valence", "loudness", "tempo"]
    columns = [*spotify, *desc.features, *audio.features]
    assert choose_model(columns, empty=spotify[:4]).name == "audio"
    assert choose_model([*spotify, *desc.features], empty=spotify[:4]).name == "audio-descriptors"
    # a table whose Spotify-style features all have values keeps the feature model
    full = [*MODEL_FEATURE_NAMES, *desc.features, *audio.features]
    assert choose_model(full, empty=[]).name == "default"
