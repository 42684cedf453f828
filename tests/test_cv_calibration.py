"""One CV with optional groups, leave-one-table-out without leaks, calibration chosen out of fold."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trackmood.datasets import LabeledSource, pool
from trackmood.errors import DataError
from trackmood.model import cv as CV
from trackmood.model.calibration import (
    apply_temperature,
    calibrate_tables,
    choose_threshold,
    ece,
    fit_temperature,
    split_accuracy,
)
from trackmood.model.evaluate import evaluate
from trackmood.model.recipes import RECIPES, get_recipe, make_estimator
from trackmood.model.train import train_model

sys.path.insert(0, str(Path(__file__).parent))
from test_train_evaluate import toy_table


def frame(path):
    return pd.read_csv(path).rename(columns={"length": "duration_ms"})


def test_registry_names_kind_and_features():
    assert {"default", "original", "audio"} <= set(RECIPES)
    assert get_recipe("default").kind == "features" and get_recipe("audio").kind == "audio"
    assert get_recipe("audio").build == "trackmood.model.audio_train:recipe"  # resolved lazily
    with pytest.raises(DataError, match="unknown model kind 'forest'"):
        get_recipe("forest")
    with pytest.raises(DataError, match="reads audio"):
        make_estimator("audio")


def test_no_import_circle_between_train_and_evaluate():
    import ast

    src = Path(__file__).resolve().parents[1] / "src" / "trackmood" / "model"
    imports = {}
    for name in ("train", "evaluate", "cv", "recipes", "cards", "calibration"):
        tree = ast.parse((src / f"{name}.py").read_text())
        imports[name] = {
            n.module.lstrip(".")
            for n in ast.walk(tree)
            if isinstance(n, ast.ImportFrom) and n.module
        }
    assert "evaluate" not in imports["train"]
    for low in ("cv", "recipes", "cards", "calibration"):
        assert not {"train", "evaluate"} & imports[low], low


def test_grouped_cv_never_splits_a_group(tmp_path):
    df = frame(toy_table(tmp_path / "a.csv"))
    groups = np.arange(len(df)) // 3  # 40 "artists" of 3 tracks
    pairs = CV.splits(df["mood"].to_numpy(), folds=4, repeats=2, seed=0, groups=groups)
    assert len(pairs) == 8
    for tr, te in pairs:
        assert not set(groups[tr]) & set(groups[te])
    r = CV.cross_validate(df, folds=4, repeats=2, groups=groups, n_jobs=1)
    assert r.summary["grouped"] and r.summary["fits"] == 8 and r.confusion.sum() == 2 * len(df)
    assert r.oof.shape == (2, len(df), 4)
    np.testing.assert_allclose(r.oof.sum(axis=2), 1.0)  # every row held out once per repeat


def test_leave_one_table_out_removes_shared_ids_from_training(tmp_path):
    a = frame(toy_table(tmp_path / "a.csv", seed=0))
    b = frame(toy_table(tmp_path / "b.csv", seed=1))
    b.loc[:9, "id"] = a.loc[:9, "id"].to_numpy()  # 10 tracks in both tables
    c = frame(toy_table(tmp_path / "c.csv", seed=2))
    classes, res = CV.leave_one_table_out({"a": a, "b": b, "c": c}, n_jobs=1)
    by = {r.table: r for r in res}
    assert classes == ["Calm", "Energetic", "Happy", "Sad"]
    assert by["a"].overlap_removed == 10 and by["a"].train_rows == 240 - 10
    assert by["c"].overlap_removed == 0 and len(by["c"].y) == 120
    assert all(r.scores["accuracy"] > 0.8 for r in res)
    with pytest.raises(DataError, match="at least two"):
        CV.leave_one_table_out({"a": a})


def test_temperature_recovers_overconfidence():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 1.5, (4000, 4))
    true_p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    y = np.array([rng.choice(4, p=p) for p in true_p])
    over = apply_temperature(true_p, 0.5)  # twice as sharp as the truth
    T = fit_temperature(over, y)
    assert 1.7 < T < 2.3
    assert ece(apply_temperature(over, T), y) < ece(over, y) / 2
    assert np.array_equal(apply_temperature(over, T).argmax(1), over.argmax(1))


def test_threshold_marks_the_part_more_often_wrong():
    conf = np.linspace(0.26, 0.99, 2000)
    p = np.column_stack([conf, (1 - conf) / 3, (1 - conf) / 3, (1 - conf) / 3])
    rng = np.random.default_rng(1)
    y = np.where(rng.uniform(size=2000) < conf, 0, 1)  # right with probability = confidence
    t = choose_threshold(p, y)
    assert 0.55 < t < 0.85
    s = split_accuracy(p, y, t)
    assert s["uncertain_accuracy"] < 0.5 < s["confident_accuracy"]
    parts = {"x": (p[::2], y[::2]), "z": (p[1::2], y[1::2])}
    cal = calibrate_tables(parts, in_domain=(p, y))
    assert set(cal["loto"]["per_table"]) == {"x", "z"} and cal["in_domain"]["ece_raw"] < 0.1


def test_train_with_several_tables_reports_loto_and_calibration(tmp_path):
    a, b = toy_table(tmp_path / "a.csv", seed=0), toy_table(tmp_path / "b.csv", seed=1)
    c = toy_table(tmp_path / "c.csv", seed=2)
    m = train_model([str(a), str(b), str(c)], cv=True, folds=3, repeats=1, cv_table="a")
    loto = m.card["metrics"]["leave_one_table_out"]
    assert [t["table"] for t in loto["tables"]] == ["a", "b", "c"]
    assert "scored on a" in m.card["metrics"]["cv"]["protocol"]
    assert (
        m.card["metrics"]["cv"]["confusion"] and np.sum(m.card["metrics"]["cv"]["confusion"]) == 120
    )
    assert m.runtime.temperature == pytest.approx(m.card["calibration"]["temperature"])
    assert m.card["uncertain_below"] == m.card["calibration"]["uncertain_below"]


def test_evaluate_leave_one_table_out(tmp_path):
    a, b = toy_table(tmp_path / "a.csv", seed=0), toy_table(tmp_path / "b.csv", seed=1)
    out = tmp_path / "rep"
    m = evaluate([str(a), f"{b}:Sad="], folds=3, repeats=1, loto=True, out=out, holdout_split=False)
    tables = {t["table"]: t for t in m["leave_one_table_out"]["tables"]}
    assert tables["b"]["rows"] == 90 and tables["b"]["recall"]["Sad"] is None
    assert m["cv_table"] == "a" and m["cv"]["fits"] == 3
    text = (out / "report.md").read_text()
    assert "## Leave-one-table-out" in text and "| b | 90 |" in text and "n/a" in text
    with pytest.raises(DataError, match="at least two"):
        evaluate([str(a)], loto=True)


def test_pool_tags_each_row_with_its_table(tmp_path):
    a, b = toy_table(tmp_path / "a.csv", seed=0), toy_table(tmp_path / "b.csv", seed=1)
    df, _ = pool([LabeledSource(a, table="one"), LabeledSource(b)])
    assert df["_table"].value_counts().to_dict() == {"one": 120, "b": 120}


def test_runtime_temperature_round_trips_and_keeps_the_mood(tmp_path):
    from trackmood.model.persistence import load_model, save_model

    m = train_model([str(toy_table(tmp_path / "a.csv"))], features=["energy", "valence"])
    X = np.random.default_rng(0).uniform(0, 1, (50, 2))
    raw = m.predict_proba(X)
    m.runtime.temperature = 2.0
    soft = m.predict_proba(X)
    np.testing.assert_allclose(soft, apply_temperature(raw, 2.0), atol=1e-9)
    assert (soft.max(1) < raw.max(1) + 1e-12).all() and (soft.argmax(1) == raw.argmax(1)).all()
    back = load_model(save_model(m, tmp_path / "m"))
    assert back.runtime.temperature == 2.0
    np.testing.assert_allclose(back.predict_proba(X), soft)
    doc = (
        (tmp_path / "m" / "model.json")
        .read_text()
        .replace('"temperature": 2.0', '"temperature": -1')
    )
    (tmp_path / "m" / "model.json").write_text(doc)
    from trackmood.errors import ModelError

    with pytest.raises(ModelError, match="temperature must be a positive number"):
        load_model(tmp_path / "m")
