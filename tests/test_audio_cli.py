"""`trackmood extract` and `trackmood predict` on audio, through the real CLI."""

from __future__ import annotations

import pandas as pd
from typer.testing import CliRunner

from trackmood.cli import app

from .audio_fixtures import click_track, text_as_mp3, write_wav

runner = CliRunner()


def test_extract_help():
    r = runner.invoke(app, ["extract", "--help"])
    assert r.exit_code == 0 and "--scheduler" in r.output and "--workers" in r.output


def test_extract_to_parquet_and_csv(tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKMOOD_DB", str(tmp_path / "lib.sqlite"))
    d = tmp_path / "music"
    d.mkdir()
    write_wav(d / "a.wav", click_track(120, 6.0, sr=22050), 22050)
    text_as_mp3(d)
    out = tmp_path / "f.parquet"
    r = runner.invoke(app, ["extract", str(d), "-o", str(out), "--workers", "1"])
    assert r.exit_code == 0, r.output
    df = pd.read_parquet(out)
    assert len(df) == 2
    good = df[df["name"] == "a"].iloc[0]
    assert (
        abs(good["tempo"] - 120) < 2 and pd.isna(good["valence"]) and 0 <= good["energy_est"] <= 1
    )
    assert "not an audio file" in df[df["name"] == "notes"].iloc[0]["error"]
    assert "skipped:" in r.stderr and "1 file(s) extracted, 1 failed" in r.stderr
    r = runner.invoke(app, ["extract", str(d / "a.wav")])  # CSV on stdout, cached
    assert r.exit_code == 0 and r.stdout.startswith("id,path,name,duration_ms,tempo")


def test_extract_errors(tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKMOOD_DB", str(tmp_path / "lib.sqlite"))
    r = runner.invoke(app, ["extract", str(tmp_path / "missing")])
    assert (
        r.exit_code != 0 and "trackmood: error:" in r.stderr and "missing: no such file" in r.stderr
    )
    bad = text_as_mp3(tmp_path)
    r = runner.invoke(app, ["extract", str(bad)])
    assert r.exit_code == 4 and "not an audio file" in r.stderr
    r = runner.invoke(app, ["extract", str(bad), "-o", str(tmp_path / "x.xlsx")])
    assert r.exit_code == 2 and "unknown output file type '.xlsx'" in r.stderr
    assert ".csv" in r.stderr and ".parquet" in r.stderr and not (tmp_path / "x.xlsx").exists()


def test_predict_audio_file(tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKMOOD_DB", str(tmp_path / "lib.sqlite"))
    path = write_wav(tmp_path / "song.wav", click_track(120, 8.0, sr=22050), 22050)
    r = runner.invoke(app, ["predict", str(path), "-o", str(tmp_path / "p.csv")])
    assert r.exit_code == 0, r.output
    df = pd.read_csv(tmp_path / "p.csv")
    assert df.loc[0, "mood"] in ("Calm", "Energetic", "Happy", "Sad")
    assert df.loc[0, "id"].startswith("audio:")


def test_predict_timeline_is_one_row_per_window(tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKMOOD_DB", str(tmp_path / "lib.sqlite"))
    song = write_wav(tmp_path / "song.wav", click_track(120, 25.0, sr=22050), 22050)
    out = tmp_path / "moods.csv"
    r = runner.invoke(app, ["predict", str(song), "--timeline", "10", "-o", str(out)])
    assert r.exit_code == 0, r.output
    df = pd.read_csv(out)
    assert list(zip(df["start"], df["end"], strict=False)) == [
        (0.0, 10.0),
        (10.0, 20.0),
        (20.0, 25.0),
    ]
    assert set(df["mood"]) <= {"Calm", "Energetic", "Happy", "Sad"} and (df["name"] == "song").all()
    assert (tmp_path / "moods.timeline.png").read_bytes()[:4] == b"\x89PNG"
