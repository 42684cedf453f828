"""`trackmood predict` on feature tables: outputs, formats, and every bad input a user can give."""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from trackmood.cli import app
from trackmood.features import MODEL_FEATURE_NAMES
from trackmood.moods import PROBA_COLUMNS
from trackmood.pipeline import PREDICTION_COLUMNS

runner = CliRunner()
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "tracks.csv"


def run(*args):
    return runner.invoke(app, list(map(str, args)))


def one_error_line(result):
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("trackmood: error: ")
    return lines[0]


def test_example_table_to_stdout():
    r = run("predict", EXAMPLE)
    assert r.exit_code == 0, r.stderr
    assert "mood" in r.stdout and "p_calm" in r.stdout and "quadrant" in r.stdout
    assert len(r.stdout.strip().splitlines()) == 1 + 5


@pytest.mark.parametrize("suffix", ["csv", "json", "jsonl", "parquet"])
def test_output_formats_keep_ids_and_add_predictions(tmp_path, suffix):
    out = tmp_path / f"p.{suffix}"
    r = run("predict", EXAMPLE, "-o", out)
    assert r.exit_code == 0, r.stderr
    got = {
        "csv": pd.read_csv,
        "parquet": pd.read_parquet,
        "json": lambda p: pd.DataFrame(json.loads(p.read_text())),
        "jsonl": lambda p: pd.read_json(p, lines=True),
    }[suffix](out)
    assert list(got.columns) == ["name", "artist", *PREDICTION_COLUMNS]
    assert (got["status"] == "ok").all() and (got["model"] == "default").all()
    assert got[list(PROBA_COLUMNS)].sum(axis=1).round(5).eq(1).all()
    assert set(got["mood"]) <= {"Calm", "Energetic", "Happy", "Sad"}
    # the predicted mood is the most probable one
    best = got[list(PROBA_COLUMNS)].to_numpy().argmax(axis=1)
    assert [PROBA_COLUMNS[i][2:] for i in best] == [m.lower() for m in got["mood"]]


def test_single_track_from_feature_options():
    args = [
        f"--feature={k}={v}"
        for k, v in dict(
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
        ).items()
    ]
    r = run("predict", *args, "--format", "json")
    assert r.exit_code == 0, r.stderr
    (rec,) = json.loads(r.stdout)  # one JSON array
    assert rec["mood"] in ("Calm", "Sad")


def test_missing_duration_falls_back_and_says_so(tmp_path):
    df = pd.read_csv(EXAMPLE).drop(columns="duration_ms")
    p = tmp_path / "nodur.csv"
    df.to_csv(p, index=False)
    r = run("predict", p, "--format", "csv")
    assert r.exit_code == 0, r.stderr
    assert "default-noduration" in r.stderr and "duration_ms" in r.stderr
    assert len(pd.read_csv(pd.io.common.StringIO(r.stdout))) == 5


def test_missing_columns_listed(tmp_path):
    df = pd.read_csv(EXAMPLE).drop(columns=["energy", "tempo"])
    p = tmp_path / "few.csv"
    df.to_csv(p, index=False)
    r = run("predict", p)
    assert r.exit_code != 0
    line = one_error_line(r)
    assert "few.csv" in line and "energy" in line and "tempo" in line


def _table(tmp_path, name, mutate=None, rows=5):
    df = pd.concat([pd.read_csv(EXAMPLE)] * (rows // 5 + 1), ignore_index=True).iloc[:rows]
    if mutate:
        mutate(df)
    p = tmp_path / name
    df.to_csv(p, index=False)
    return p


def _set(row, col, value):
    def f(df):
        df[col] = df[col].astype(object)
        df.loc[row, col] = value

    return f


@pytest.mark.parametrize(
    "name,mutate,fragments",
    [
        ("nan.csv", _set(2, "energy", None), ["row 3", "'energy'", "empty value"]),
        ("inf.csv", _set(1, "tempo", "inf"), ["row 2", "'tempo'", "finite"]),
        ("text.csv", _set(4, "valence", "very"), ["row 5", "'valence'", "'very'"]),
        (
            "range.csv",
            _set(0, "danceability", 3.5),
            ["row 1", "'danceability'", "3.5", "out of range"],
        ),
    ],
)
def test_bad_values_named_and_no_partial_output(tmp_path, name, mutate, fragments):
    p = _table(tmp_path, name, mutate)
    out = tmp_path / "out.csv"
    r = run("predict", p, "-o", out, "--strict")
    assert r.exit_code == 2
    line = one_error_line(r)
    assert name in line and all(f in line for f in fragments), line
    assert not out.exists() and not list(tmp_path.glob(".out.csv*"))


def test_bad_row_in_a_later_chunk_leaves_no_output(tmp_path):
    p = _table(tmp_path, "big.csv", _set(2345, "energy", "x"), rows=3000)
    out = tmp_path / "out.parquet"
    r = run("predict", p, "-o", out, "--chunksize", "500", "--strict")
    assert r.exit_code == 2 and "row 2346" in one_error_line(r)
    assert not out.exists() and list(tmp_path.iterdir()) == [p]


@pytest.mark.parametrize(
    "name,content,fragment",
    [
        ("empty.csv", "", "file is empty"),
        ("header.csv", "energy,valence\n", "header only"),
        ("broken.csv", "a,b\n1,2\n3,4,5\n", "malformed CSV"),
    ],
)
def test_unreadable_files(tmp_path, name, content, fragment):
    p = tmp_path / name
    p.write_text(content)
    r = run("predict", p)
    assert r.exit_code == 2 and fragment in one_error_line(r) and name in r.stderr


def test_binary_and_missing_file(tmp_path):
    b = tmp_path / "x.csv"
    b.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00" * 50)
    r = run("predict", b)
    assert r.exit_code == 2 and "binary" in one_error_line(r)
    r = run("predict", tmp_path / "missing.csv")
    assert r.exit_code == 2 and "missing.csv: no such file" in one_error_line(r)
    r = run("predict", tmp_path / "notes.docx")
    assert r.exit_code == 2 and "no such file" in one_error_line(r)


def test_bad_arguments():
    r = run("predict", "--feature", "energy")
    assert r.exit_code == 2 and "NAME=VALUE" in one_error_line(r)
    r = run("predict", "--feature", "energy=high")
    assert r.exit_code == 2 and "'high'" in one_error_line(r)
    r = run("predict", EXAMPLE, "--format", "xml")
    assert r.exit_code == 2 and "xml" in one_error_line(r)
    r = run("predict", EXAMPLE, "--model", "no-such-model")
    assert r.exit_code == 3 and "no-such-model" in one_error_line(r)
    r = run("predict")
    assert r.exit_code == 2 and "nothing to predict" in one_error_line(r)


def test_help_everywhere():
    for args in (["--help"], ["predict", "--help"], ["info", "--help"]):
        r = run(*args)
        assert r.exit_code == 0 and "Usage" in r.stdout


def test_info_shows_card():
    r = run("info", "default", "--json")
    assert r.exit_code == 0
    card = json.loads(r.stdout)
    assert card["classes"] == ["Calm", "Energetic", "Happy", "Sad"]
    assert set(card["features"]) == set(MODEL_FEATURE_NAMES)


def test_module_entry_point_in_a_new_process():
    r = subprocess.run(
        [sys.executable, "-m", "trackmood", "predict", str(EXAMPLE), "--format", "csv"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0] == ",".join(["name", "artist", *PREDICTION_COLUMNS])


def test_interrupted_predict_leaves_no_output(tmp_path, monkeypatch):
    """Ctrl-C in the middle of a streamed table: exit 130, a one-line note, no output file."""
    import trackmood.pipeline as P

    real = P.score
    calls = []

    def interrupted_after_first_chunk(*args, **kwargs):
        calls.append(1)
        if len(calls) > 1:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(P, "score", interrupted_after_first_chunk)
    p = _table(tmp_path, "big.csv", rows=2000)
    out = tmp_path / "out.csv"
    r = run("predict", p, "-o", out, "--chunksize", "500")
    assert r.exit_code == 130 and "interrupted" in r.stderr
    assert not out.exists() and list(tmp_path.iterdir()) == [p]


def test_info_errors(tmp_path):
    r = run("info", "no-such-model")
    assert r.exit_code == 3 and "no-such-model" in one_error_line(r)
    broken = tmp_path / "m"
    broken.mkdir()
    (broken / "model.json").write_text("{not json")
    r = run("info", broken)
    assert r.exit_code == 3 and "not a valid trackmood model" in one_error_line(r)
