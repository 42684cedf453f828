"""Training builds a complete card; evaluation is honest and writes a report folder."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from trackmood import report as R
from trackmood.datasets import LabeledSource
from trackmood.errors import DataError, LabelError, ModelError
from trackmood.model.cards import USER_TERMS_NOTE, card_markdown
from trackmood.model.evaluate import PUBLISHED, cross_validate, evaluate, evaluate_model
from trackmood.model.persistence import TERMS_NOTE, load_model, save_model
from trackmood.model.train import train_model

FEATS = [
    "duration_ms",
    "danceability",
    "acousticness",
    "energy",
    "instrumentalness",
    "liveness",
    "valence",
    "loudness",
    "speechiness",
    "tempo",
]


def toy_table(path, n=30, seed=0, label="Calm", ids=True):
    """A small synthetic labeled table with four separable moods (written by the test itself)."""
    rng = np.random.default_rng(seed)
    rows = []
    centers = {
        "Calm": (0.2, 0.7),
        "Energetic": (0.85, 0.3),
        "Happy": (0.8, 0.85),
        "Sad": (0.2, 0.2),
    }
    for k, (mood, (e, v)) in enumerate(centers.items()):
        for i in range(n):
            rows.append(
                {
                    "id": f"t{seed}-{k}-{i}" if ids else None,
                    "length": rng.uniform(1.2e5, 3e5),
                    "danceability": rng.uniform(0.2, 0.8),
                    "acousticness": rng.uniform(0, 1),
                    "energy": float(np.clip(rng.normal(e, 0.08), 0, 1)),
                    "instrumentalness": rng.uniform(0, 0.5),
                    "liveness": rng.uniform(0, 0.4),
                    "valence": float(np.clip(rng.normal(v, 0.08), 0, 1)),
                    "loudness": rng.uniform(-20, -3),
                    "speechiness": rng.uniform(0, 0.2),
                    "tempo": rng.uniform(70, 160),
                    "mood": mood,
                }
            )
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_train_card_is_complete(tmp_path):
    src = toy_table(tmp_path / "a.csv")
    model = train_model([str(src)], seed=0, cv=True, folds=3, repeats=1)
    card = model.card
    assert card["kind"] == "features" and card["recipe"] == "default"
    assert card["features"] == FEATS and card["classes"] == ["Calm", "Energetic", "Happy", "Sad"]
    assert (
        card["training_files"][0]["rows"] == 120 and len(card["training_files"][0]["sha256"]) == 64
    )
    assert card["pool"]["rows_out"] == 120 and card["terms"] == USER_TERMS_NOTE
    # a model the user trains has its own title and no paragraph about the bundled models' data
    assert card["name"] == "custom-default" and not card["bundled"]
    text = card_markdown(card)
    assert text.startswith("# Model card: custom-default") and "bundled feature models" not in text
    assert TERMS_NOTE not in text
    # the moods are defined by the training data: Happy tracks have the highest mean valence here
    defs = card["mood_definitions"]
    assert max(defs, key=lambda m: defs[m]["valence"]) == "Happy" and defs["Calm"]["rows"] == 30
    # calibration and the uncertain threshold were chosen on out-of-fold rows
    assert 0.3 <= card["uncertain_below"] <= 0.9
    assert card["calibration"]["temperature"] > 0 and "in_domain" in card["calibration"]
    assert card["metrics"]["cv"]["fits"] == 3 and card["metrics"]["cv"]["accuracy_mean"] > 0.8
    cm = np.asarray(
        card["metrics"]["cv"]["confusion"]
    )  # pooled out-of-fold counts, for the web page
    assert cm.shape == (4, 4) and cm.sum() == 120 and (cm.sum(axis=1) == 30).all()
    assert card["metrics"]["cv"]["confusion_labels"] == card["classes"]
    assert np.trace(cm) / cm.sum() >= card["metrics"]["cv"]["accuracy_mean"] - 0.05
    assert "scikit-learn" in card["versions"]
    saved = load_model(save_model(model, tmp_path / "m"))
    X = pd.read_csv(src).rename(columns={"length": "duration_ms"})[FEATS].to_numpy()
    np.testing.assert_allclose(saved.predict_proba(X), model.predict_proba(X))


def test_training_is_deterministic_for_a_seed(tmp_path):
    src = toy_table(tmp_path / "a.csv")
    a, b = (train_model([str(src)], seed=5) for _ in range(2))
    X = np.random.default_rng(1).uniform(0, 1, (20, 10)) * [3e5, 1, 1, 1, 1, 1, 1, -30, 1, 150]
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))


def test_train_with_label_map_features_and_original(tmp_path):
    src = tmp_path / "b.csv"
    toy_table(src)
    df = pd.read_csv(src)
    df["mood"] = df["mood"].replace({"Sad": "Melancholic"})
    df.to_csv(src, index=False)
    with pytest.raises(LabelError, match="Melancholic"):
        train_model([str(src)])
    m = train_model([f"{src}:Melancholic=Sad"], features=["energy", "valence"])
    assert m.features == ["energy", "valence"] and "Sad" in m.card["classes"]
    orig = train_model([LabeledSource.parse(f"{src}:Melancholic=Sad")], kind="original", epochs=20)
    assert orig.card["recipe"] == "original" and len(orig.runtime.members[0]) == 2


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"kind": "forest"}, "unknown model kind"),
        ({"features": ["energy", "colour"]}, "unknown feature"),
    ],
)
def test_train_bad_arguments(tmp_path, kwargs, match):
    with pytest.raises(DataError, match=match):
        train_model([str(toy_table(tmp_path / "a.csv"))], **kwargs)


def test_train_needs_two_moods_and_data(tmp_path):
    src = toy_table(tmp_path / "a.csv")
    with pytest.raises(DataError, match="two moods"):
        train_model([f"{src}:Energetic=,Happy=,Sad="])
    with pytest.raises(DataError, match="no training data"):
        train_model([])


def test_cv_with_extra_never_leaks_test_ids(tmp_path, monkeypatch):
    prim = pd.read_csv(toy_table(tmp_path / "a.csv")).rename(columns={"length": "duration_ms"})
    extra = pd.read_csv(toy_table(tmp_path / "b.csv", seed=1)).rename(
        columns={"length": "duration_ms"}
    )
    extra = pd.concat([extra, prim.iloc[:10]])  # 10 rows share ids with the primary table
    r = cross_validate(prim, folds=3, repeats=1, extra=extra, n_jobs=1)
    assert r.extra_rows == 120 and r.confusion.sum() == 120


def test_cv_too_few_rows_is_a_clear_error(tmp_path):
    prim = pd.read_csv(toy_table(tmp_path / "a.csv", n=3)).rename(columns={"length": "duration_ms"})
    with pytest.raises(DataError, match="too few rows for 10-fold"):
        cross_validate(prim, folds=10, repeats=1)


def test_evaluate_writes_report_folder(tmp_path):
    src = toy_table(tmp_path / "a.csv")
    out = tmp_path / "rep"
    m = evaluate(
        [str(src)],
        folds=3,
        repeats=2,
        out=out,
        extra_train=[str(toy_table(tmp_path / "x.csv", seed=2))],
    )
    assert {p.name for p in out.iterdir()} >= {
        "report.md",
        "metrics.json",
        "confusion.png",
        "distributions.png",
        "grouped_means.csv",
    }
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["cv"]["fits"] == 6 and saved["published"] == PUBLISHED
    assert 0 <= saved["holdout"]["accuracy"] <= 1 and saved["holdout"]["test_rows"] == 24
    assert set(saved["grouped_means"]) == {"Calm", "Energetic", "Happy", "Sad"}
    text = (out / "report.md").read_text()
    assert "72.8 %" in text and "Mean of each feature by mood" in text
    assert m["cv"]["accuracy_mean"] > 0.8
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".rep")]


def test_cross_dataset_evaluation(tmp_path):
    model = train_model([str(toy_table(tmp_path / "a.csv"))])
    save_model(model, tmp_path / "m")
    other = toy_table(tmp_path / "b.csv", seed=7)
    m = evaluate([f"{other}:Happy="], model=str(tmp_path / "m"), out=tmp_path / "r")
    assert m["cross_dataset"]["rows"] == 90 and "Happy" not in m["cross_dataset"]["recall"]
    with pytest.raises(ModelError):
        evaluate([str(other)], model=str(tmp_path / "nope"))
    with pytest.raises(DataError, match="lacks feature"):
        evaluate_model(model, pd.DataFrame({"energy": [0.1], "mood": ["Sad"]}))


def test_plots_return_figures(tmp_path):
    df = pd.read_csv(toy_table(tmp_path / "a.csv")).rename(columns={"length": "duration_ms"})
    assert isinstance(R.confusion_figure([[3, 1], [0, 4]], ["Calm", "Sad"]), Figure)
    assert isinstance(R.distributions_figure(df, FEATS), Figure)
    assert isinstance(R.recall_figure({"Calm": 0.5}), Figure)
    means = R.grouped_means(df, FEATS)
    assert list(means.index) == ["Calm", "Energetic", "Happy", "Sad"]
    assert means.loc["Happy", "valence"] > means.loc["Sad", "valence"]


def test_real_data_cv_beats_published(data_moods):
    df = pd.read_csv(data_moods).rename(columns={"length": "duration_ms"})
    r = cross_validate(df, folds=10, repeats=1, seed=0)
    assert r.summary["accuracy_mean"] > PUBLISHED["cv_accuracy"] + 0.05
