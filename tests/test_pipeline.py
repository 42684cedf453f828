"""The one way through: the same table gives the same outcome from `trackmood predict`, the Python
API (`pipeline.run`) and an in-memory frame (`predict_features`, what the web calls); one policy for
bad rows, `--strict`, one predictions schema, one model load per run, store writes.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from trackmood import pipeline
from trackmood.cli import app
from trackmood.datasets import read_table
from trackmood.errors import DataError
from trackmood.model.persistence import load_model
from trackmood.moods import MOODS, PROBA_COLUMNS
from trackmood.store import Store

runner = CliRunner()
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "tracks.csv"
ONE_TRACK = dict(
    duration_ms=200000,
    danceability=0.3,
    acousticness=0.9,
    energy=0.1,
    instrumentalness=0.9,
    liveness=0.1,
    valence=0.1,
    loudness=-20,
    speechiness=0.04,
    tempo=70,
)


def run(*args):
    return runner.invoke(app, list(map(str, args)))


def one_error_line(result):
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("trackmood: error: ")
    return lines[0]


@pytest.fixture
def holed(tmp_path):
    """The example table with one empty cell (row 3, energy) and one out-of-range value."""
    df = pd.read_csv(EXAMPLE)
    df["energy"] = df["energy"].astype(object)
    df.loc[2, "energy"] = None
    df.loc[4, "tempo"] = 900.0
    p = tmp_path / "holed.csv"
    df.to_csv(p, index=False)
    return p


def _outcome(df):
    df = df.reset_index(drop=True)
    return {
        "status": df["status"].tolist(),
        "mood": [m if isinstance(m, str) else None for m in df["mood"]],
        "reason": [r if isinstance(r, str) else None for r in df["reason"]],
        "p": [
            [None if np.isnan(x) else round(float(x), 5) for x in row]
            for row in df[list(PROBA_COLUMNS)].to_numpy(dtype=float)
        ],
    }


def test_same_outcome_from_cli_python_api_and_frame(holed):
    r = run("predict", holed, "--format", "csv")
    assert r.exit_code == 0, r.stderr
    assert "2 of 5 rows not scored" in r.stderr
    cli = pd.read_csv(io.StringIO(r.stdout))
    api = pipeline.run([str(holed)]).predictions
    frame = pipeline.predict_features(read_table(holed), file=str(holed))
    assert cli["status"].tolist() == ["ok", "ok", "invalid", "ok", "invalid"]
    assert _outcome(cli) == _outcome(api) == _outcome(frame)
    bad = api.iloc[2]
    assert pd.isna(bad["mood"]) and pd.isna(bad["p_calm"]) and pd.isna(bad["confidence"])
    assert bad["reason"] == f"{holed}, row 3, column 'energy': empty value"
    assert api.iloc[4]["reason"].endswith("column 'tempo': tempo 900 is out of range 0 to 300 BPM")
    good = api[api["status"] == "ok"]
    assert set(good["mood"]) <= set(MOODS) and good["reason"].isna().all()


def test_strict_fails_fast_with_one_line(holed, tmp_path):
    out = tmp_path / "out.csv"
    r = run("predict", holed, "--strict", "-o", out)
    assert r.exit_code == 2
    assert "holed.csv, row 3, column 'energy': empty value" in one_error_line(r)
    assert not out.exists() and not list(tmp_path.glob(".out.csv*"))
    with pytest.raises(DataError, match="row 3, column 'energy'"):
        pipeline.run([str(holed)], strict=True)
    with pytest.raises(DataError, match="row 3"):
        pipeline.predict_features(read_table(holed), strict=True)


def test_predictions_schema_confidence_uncertain_quadrant():
    rows = pd.DataFrame(
        [{**ONE_TRACK, "name": "a", "valence": 0.9, "energy": 0.2}, {**ONE_TRACK, "name": "b"}]
    )
    out = pipeline.predict_features(rows)
    assert list(out.columns) == ["name", *pipeline.PREDICTION_COLUMNS]
    p = out[list(PROBA_COLUMNS)].to_numpy()
    assert np.allclose(out["confidence"], p.max(axis=1))
    assert (out["uncertain"] == (out["confidence"] < 0.5)).all()
    # the quadrant comes from the input's valence and energy, not from the predicted mood
    assert out["quadrant"].tolist() == [
        "positive valence, low energy",
        "negative valence, low energy",
    ]
    assert (out["model"] == "default").all() and (out["status"] == "ok").all()
    assert pipeline.quadrants(np.array([np.nan]), np.array([0.5])).tolist() == [""]


def test_card_threshold_marks_uncertain_and_model_object_is_used_as_is():
    m = load_model("default")
    m.card = {**m.card, "uncertain_below": 1.01}  # every answer below it
    out = pipeline.run([pd.DataFrame([ONE_TRACK])], model=m)
    assert out.model == "default" and bool(out.predictions["uncertain"].iloc[0])


def test_model_is_loaded_once_per_run(tmp_path, monkeypatch):
    import trackmood.model.persistence as persistence

    calls = []
    real = persistence.load_model
    monkeypatch.setattr(persistence, "load_model", lambda *a: calls.append(a) or real(*a))
    tables = []
    for i in range(3):
        p = tmp_path / f"t{i}.csv"
        pd.read_csv(EXAMPLE).to_csv(p, index=False)
        tables.append(str(p))
    result = pipeline.run(tables, chunksize=2)
    assert len(result.predictions) == 15 and len(calls) == 1


def test_store_keeps_predictions_features_and_provenance(tmp_path):
    df = pd.read_csv(EXAMPLE).assign(id=[f"t{i}" for i in range(5)])
    df.loc[1, "energy"] = 7.0  # invalid: not stored
    p = tmp_path / "ids.csv"
    df.to_csv(p, index=False)
    with Store(tmp_path / "lib.sqlite") as store:
        result = pipeline.run([str(p)], store=store)
        assert result.counts() == {"ok": 4, "invalid": 1, "failed": 0}
        pred = store.get_predictions("t0")
        assert pred[0]["model"] == "default" and pred[0]["mood"] in MOODS
        assert store.get_predictions("t1") == []
        feats = store.get_features(["t0"])["t0"]
        assert feats["energy"] == (df.loc[0, "energy"], "file:ids.csv")
        assert store.get_track("t0")["name"] == df.loc[0, "name"]


def test_big_parquet_streams_every_row_in_chunks(tmp_path):
    df = pd.concat([pd.read_csv(EXAMPLE)] * 700, ignore_index=True)  # 3,500 rows
    p = tmp_path / "big.parquet"
    df.to_parquet(p, row_group_size=1000)
    chunks = list(pipeline.stream([str(p)], chunksize=1000))
    assert [len(c) for c in chunks] == [1000, 1000, 1000, 500]
    assert sum((c["status"] == "ok").sum() for c in chunks) == 3500
    out = tmp_path / "out.parquet"
    r = run("predict", p, "-o", out, "--chunksize", "1000")
    assert r.exit_code == 0, r.stderr
    assert len(pd.read_parquet(out)) == 3500


def test_resolve_kinds(tmp_path):
    (tmp_path / "music").mkdir()
    kinds = pipeline.resolve(["a.csv", "b.mp3", str(tmp_path / "music"), "4uLU6hMCjMI75M1A2tKUQC"])
    assert kinds == [
        ("table", ["a.csv"]),
        ("audio", ["b.mp3", str(tmp_path / "music")]),
        ("spotify", ["4uLU6hMCjMI75M1A2tKUQC"]),
    ]
    with pytest.raises(DataError, match="no such file"):
        pipeline.resolve(["nothing.docx"])


def test_version_and_help_without_python_types():
    r = run("--version")
    assert r.exit_code == 0 and r.stdout.startswith("trackmood ") and r.stdout.strip()[-1].isdigit()
    commands = [[], ["predict"], ["info"], ["extract"], ["serve"], ["train"], ["evaluate"]]
    commands += [["collect"], ["playlists", "split"]]
    for args in commands:
        r = run(*args, "--help")
        assert r.exit_code == 0, (args, r.output)
        for python_type in ("<bool>", "<str>", "<int>", "<float>", "<list[", "<path>"):
            assert python_type not in r.stdout, (args, python_type)
    assert "--strict" in run("predict", "--help").stdout


def test_feature_option_names_the_closest_known_feature():
    r = run("predict", "--feature", "enrgy=0.5")
    line = one_error_line(r)
    assert r.exit_code == 2 and "unknown feature 'enrgy'; did you mean 'energy'?" in line
    assert line.endswith("(--feature)")


def test_range_message_reads_cleanly():
    args = [f"--feature={k}={v}" for k, v in {**ONE_TRACK, "energy": 1.9}.items()]
    r = run("predict", *args)
    line = one_error_line(r)
    assert "energy 1.9 is out of range 0–1" in line and "[0, 1]" not in line


def test_empty_or_audio_less_folder_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKMOOD_DB", str(tmp_path / "lib.sqlite"))
    empty = tmp_path / "empty"
    empty.mkdir()
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "notes.txt").write_text("hello")
    for folder in (empty, docs):
        r = run("predict", folder)
        assert r.exit_code == 2 and "no audio files in this folder" in one_error_line(r)
        assert r.stdout == ""


def test_timeline_value_gets_its_flag_hint(tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKMOOD_DB", str(tmp_path / "lib.sqlite"))
    r = run("predict", tmp_path, "--timeline", "0")
    line = one_error_line(r)
    assert "timeline window 0" in line and line.endswith("(--timeline)")
    with pytest.raises(DataError, match="timeline window") as e:
        pipeline.run([str(tmp_path)], timeline=-1)
    assert "--" not in str(e.value)  # the library speaks of values, not flags


def test_one_track_needs_no_pandas():
    code = (
        "import runpy, sys\n"
        f"sys.argv = ['trackmood', 'predict', '--format', 'json', "
        f"{', '.join(repr(f'--feature={k}={v}') for k, v in ONE_TRACK.items())}]\n"
        "try:\n    runpy.run_module('trackmood', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "print('pandas' in sys.modules, file=sys.stderr)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.stderr.strip().splitlines()[-1] == "False", r.stderr
    (rec,) = json.loads(r.stdout)  # one JSON array
    assert rec["mood"] in MOODS and rec["status"] == "ok" and 0 < rec["confidence"] <= 1


def test_text_and_boolean_cells_are_flagged_not_crashed(tmp_path):
    df = pd.read_csv(EXAMPLE)
    df["valence"] = df["valence"].astype(object)
    df.loc[1, "valence"] = "very"
    df.loc[3, "valence"] = True
    out = pipeline.predict_features(df)
    assert out["status"].tolist() == ["ok", "invalid", "ok", "invalid", "ok"]
    assert out["reason"].iloc[1] == "row 2, column 'valence': not a number (value 'very')"
    assert out["mood"].notna().tolist() == [True, False, True, False, True]


def test_spotify_kind_goes_through_a_contract_source(monkeypatch):
    """Once sources.spotify.SpotifySource exists the pipeline scores its frames itself."""
    import types

    from trackmood.sources.table import contract_frame

    calls = []

    class FakeSpotifySource:
        kind = "spotify"

        def __init__(self, *, store=None, config=None, refresh=False):
            calls.append(store)

        def frames(self, refs, *, progress=None, notify=None):
            rows = [{**ONE_TRACK, "id": refs[0]}, {**ONE_TRACK, "id": refs[1]}]
            rows[1].pop("duration_ms")  # scored by the model without duration
            df = contract_frame(pd.DataFrame(rows), provider="reccobeats")
            df.loc[len(df)] = {"id": refs[2], "status": "failed", "reason": "unknown id"}
            df.at[2, "provenance"] = {}
            yield df

    fake = types.ModuleType("trackmood.sources.spotify")
    fake.SpotifySource = FakeSpotifySource
    monkeypatch.setitem(sys.modules, "trackmood.sources.spotify", fake)
    ids = ["4uLU6hMCjMI75M1A2tKUQC", "5uLU6hMCjMI75M1A2tKUQC", "6uLU6hMCjMI75M1A2tKUQC"]
    result = pipeline.run(ids)
    p = result.predictions
    assert p["id"].tolist() == ids and p["status"].tolist() == ["ok", "ok", "failed"]
    assert p["model"].tolist()[:2] == ["default", "default-noduration"]
    assert p["reason"].iloc[2] == "unknown id" and pd.isna(p["mood"].iloc[2])
    assert result.model == "default, default-noduration"


def test_several_tables_with_different_identity_columns(tmp_path):
    a = tmp_path / "a.csv"
    pd.read_csv(EXAMPLE).to_csv(a, index=False)
    b = tmp_path / "b.csv"
    pd.read_csv(EXAMPLE).assign(id=[f"t{i}" for i in range(5)]).to_csv(b, index=False)
    out = tmp_path / "both.parquet"
    r = run("predict", a, b, "-o", out)
    assert r.exit_code == 0, r.stderr
    got = pd.read_parquet(out)
    assert len(got) == 10 and got["id"].isna().sum() == 5 and (got["status"] == "ok").all()


def test_strict_stops_at_the_first_bad_row_not_the_first_bad_column(tmp_path):
    df = pd.read_csv(EXAMPLE)
    df.loc[4, "danceability"] = 3.0  # an early column, a late row
    df.loc[1, "tempo"] = -5.0  # a late column, an early row
    with pytest.raises(DataError, match="row 2, column 'tempo': tempo -5 is out of range"):
        pipeline.predict_features(df, strict=True)
    flagged = pipeline.predict_features(df)
    assert flagged["status"].tolist() == ["ok", "invalid", "ok", "ok", "invalid"]


def test_a_preloaded_bundled_model_falls_back_like_its_name():
    """The web app passes its loaded model; a table without duration still gets scored."""
    rows = pd.DataFrame([ONE_TRACK]).drop(columns="duration_ms")
    notes = []
    out = pipeline.predict_features(rows, model=load_model("default"), notify=notes.append)
    assert out["model"].tolist() == ["default-noduration"] and "duration_ms" in notes[0]
