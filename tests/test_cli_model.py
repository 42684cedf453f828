"""`trackmood train` and `trackmood evaluate` through the CLI: outputs, exit codes, one-line errors."""

from __future__ import annotations

import json
import sys
import types

import pandas as pd
from typer.testing import CliRunner

from trackmood.cli import app
from trackmood.model.persistence import TrainedModel, load_model

sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
from test_train_evaluate import toy_table

from trackmood.model.train import train_model

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_train_then_evaluate_saved_model(tmp_path):
    src = toy_table(tmp_path / "a.csv")
    r = run("train", src, "-o", tmp_path / "m", "--no-cv", "--seed", 3)
    assert r.exit_code == 0, r.output
    model = load_model(tmp_path / "m")
    assert model.card["seed"] == 3 and model.card["command"].startswith("trackmood")
    r = run(
        "evaluate",
        toy_table(tmp_path / "b.csv", seed=4),
        "--model",
        tmp_path / "m",
        "-o",
        tmp_path / "rep",
        "--json",
    )
    assert r.exit_code == 0, r.output
    metrics = json.loads(r.stdout[r.stdout.index("{") :])
    assert metrics["cross_dataset"]["accuracy"] > 0.8
    assert (tmp_path / "rep" / "metrics.json").exists()


def test_train_with_cv_label_map_and_features(tmp_path):
    src = tmp_path / "a.csv"
    toy_table(src)
    df = pd.read_csv(src)
    df["mood"] = df["mood"].replace({"Calm": "Relaxing", "Sad": "Romantic"})
    df.to_csv(src, index=False)
    r = run(
        "train",
        src,
        "--label-map",
        "Relaxing=Calm",
        "-l",
        "Romantic=",
        "--features",
        "energy,valence",
        "-o",
        tmp_path / "m",
        "--cv",
    )
    assert r.exit_code == 0, r.output
    card = load_model(tmp_path / "m").card
    assert card["classes"] == ["Calm", "Energetic", "Happy"] and card["features"] == [
        "energy",
        "valence",
    ]
    assert card["metrics"]["cv"]["fits"] == 50


def test_evaluate_cv_prints_figures(tmp_path):
    r = run(
        "evaluate",
        toy_table(tmp_path / "a.csv"),
        "--repeats",
        1,
        "--folds",
        3,
        "-o",
        tmp_path / "r",
    )
    assert r.exit_code == 0, r.output
    first = r.stdout.splitlines()[0]  # the headline says what was measured
    assert first.startswith("default recipe, 1×3 stratified CV on a.csv: accuracy ")
    assert "80/20 split accuracy" in r.stdout
    assert (tmp_path / "r" / "report.md").exists()


def test_errors_are_one_line_and_nonzero(tmp_path):
    cases = [
        ("train", tmp_path / "missing.csv", "-o", tmp_path / "m"),
        ("train", toy_table(tmp_path / "a.csv"), "--kind", "forest", "-o", tmp_path / "m"),
        ("train", toy_table(tmp_path / "a.csv"), "--label-map", "nonsense", "-o", tmp_path / "m"),
        ("train", "-o", tmp_path / "m"),
        (
            "evaluate",
            toy_table(tmp_path / "a.csv"),
            "--model",
            tmp_path / "nomodel",
            "-o",
            tmp_path / "r",
        ),
        ("evaluate", toy_table(tmp_path / "a.csv"), "--folds", 50, "-o", tmp_path / "r"),
    ]
    for args in cases:
        r = run(*args)
        assert r.exit_code != 0, args
        lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
        errors = [ln for ln in lines if ln.startswith("trackmood: error: ")]
        # exactly one error line, and it is the last thing said (a pooling summary may come first)
        assert len(errors) == 1 and lines[-1] == errors[0], (args, r.stderr)
    assert not (tmp_path / "m").exists() and not (tmp_path / "r").exists()


def test_bad_label_names_file_and_row(tmp_path):
    src = tmp_path / "a.csv"
    toy_table(src)
    df = pd.read_csv(src)
    df.loc[4, "mood"] = "Grumpy"
    df.to_csv(src, index=False)
    r = run("train", src, "-o", tmp_path / "m", "--no-cv")
    assert r.exit_code != 0 and "row 5" in r.stderr and "Grumpy" in r.stderr and "a.csv" in r.stderr


def test_train_audio_delegates(tmp_path, monkeypatch):
    calls = {}

    def recipe(directory, *, label_map, seed, notify):
        calls.update(directory=directory, label_map=label_map, seed=seed)
        rt = train_model([str(toy_table(tmp_path / "t.csv"))], features=["energy", "valence"])
        return TrainedModel(runtime=rt.runtime, card={"name": "audio", "kind": "audio"})

    fake = types.ModuleType("trackmood.model.audio_train")
    fake.recipe = (
        recipe  # the audio recipe is found by its dotted path, trackmood.model.audio_train:recipe
    )
    monkeypatch.setitem(sys.modules, "trackmood.model.audio_train", fake)
    if "trackmood.audio" not in sys.modules:
        monkeypatch.setitem(sys.modules, "trackmood.audio", types.ModuleType("trackmood.audio"))
    monkeypatch.setattr(sys.modules["trackmood.audio"], "model", fake, raising=False)
    r = run(
        "train", "--audio", tmp_path, "--label-map", "Q1=Happy", "--seed", 2, "-o", tmp_path / "a"
    )
    assert r.exit_code == 0, r.output
    assert calls["directory"] == tmp_path and calls["seed"] == 2
    assert calls["label_map"].apply("q1") == "Happy"
    card = load_model(tmp_path / "a").card  # saved by the same train path as feature models
    assert (
        card["recipe"] == "audio"
        and card["name"] == "a"
        and card["command"].startswith("trackmood")
    )
    r = run("train", "--recipe", "audio", tmp_path, "-o", tmp_path / "b", "--seed", 3)
    assert r.exit_code == 0, r.output
    assert calls["seed"] == 3 and (tmp_path / "b" / "model.json").exists()
    r = run("train", "--audio", tmp_path, toy_table(tmp_path / "x.csv"))
    assert r.exit_code != 0 and "not both" in r.stderr


def test_help():
    for cmd in ("train", "evaluate"):
        r = run(cmd, "--help")
        assert r.exit_code == 0 and "Usage" in r.stdout


def test_conflicting_duplicates_are_reported_and_dropped(tmp_path):
    a = toy_table(tmp_path / "a.csv")
    df = pd.read_csv(a)
    clash = df.iloc[[0, 1]].copy()
    clash["mood"] = ["Sad", df.loc[1, "mood"]]  # row 0 now conflicts; row 1 is a plain duplicate
    b = tmp_path / "b.csv"
    clash.to_csv(b, index=False)
    r = run("train", a, b, "-o", tmp_path / "m", "--no-cv")
    assert r.exit_code == 0, r.output
    assert (
        "1 duplicate rows merged" in r.stderr and "1 ids with conflicting moods dropped" in r.stderr
    )
    assert f"dropped id {df.loc[0, 'id']}: labelled Calm and Sad" in r.stderr
    assert load_model(tmp_path / "m").card["pool"]["rows_out"] == len(df) - 1
    r = run("evaluate", a, b, "--folds", 3, "--repeats", 1, "-o", tmp_path / "rep")
    assert r.exit_code == 0 and f"dropped id {df.loc[0, 'id']}" in r.stderr


def test_evaluate_leave_one_table_out_prints_each_table(tmp_path):
    a, b = toy_table(tmp_path / "a.csv", seed=0), toy_table(tmp_path / "b.csv", seed=1)
    c = toy_table(tmp_path / "c.csv", seed=2)
    args = ("evaluate", a, f"{b}:Sad=", c, "--leave-one-table-out", "--folds", 3, "--repeats", 1)
    r = run(*args, "-o", tmp_path / "rep")
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert [ln.split(":")[0] for ln in lines if ln.startswith("leave-one-table-out ")][:3] == [
        "leave-one-table-out a",
        "leave-one-table-out b",
        "leave-one-table-out c",
    ]
    assert any(ln.startswith("leave-one-table-out mean accuracy") for ln in lines)
    assert any(ln.startswith("ECE leave-one-table-out") for ln in lines)
    assert "label map dropped 30 rows of b.csv (Sad 30)" in r.stderr
    r = run("evaluate", a, "--leave-one-table-out", "-o", tmp_path / "r2")
    assert r.exit_code != 0 and "at least two labelled tables" in r.stderr.strip().splitlines()[-1]
