"""The documented command reproduces the shipped default model; shipped cards carry CV figures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trackmood.features import MODEL_FEATURE_NAMES
from trackmood.model.bundled import RECIPES, build
from trackmood.model.persistence import load_model


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_shipped_cards_carry_cv_and_provenance(name):
    card = load_model(name).card
    assert card["name"] == name and card["kind"] == "features"
    assert card["command"] == "python -m trackmood.model.bundled ../shared/data"
    cv = card["metrics"]["cv"]
    assert cv["folds"] == 10 and cv["repeats"] == 5 and 0.7 < cv["accuracy_mean"] < 0.95
    assert card["training_files"][0]["file"] == "data_moods.csv"


def test_noduration_model_lacks_duration():
    assert "duration_ms" not in load_model("default-noduration").features
    assert load_model("default").features == list(MODEL_FEATURE_NAMES)


@pytest.mark.parametrize("name", ["default", "default-noduration"])
def test_recipe_reproduces_shipped_model(data_moods, name):
    shipped = load_model(name)
    rebuilt = build(name, data_moods.parent, cv=False)
    assert (
        rebuilt.card["training_files"][0]["sha256"] == shipped.card["training_files"][0]["sha256"]
    )
    df = pd.read_csv(data_moods).rename(columns={"length": "duration_ms"})
    X = df[shipped.features].to_numpy(dtype=float)
    a, b = shipped.predict_proba(X), rebuilt.predict_proba(X)
    assert (a.argmax(1) == b.argmax(1)).mean() >= 0.98
    assert np.abs(a - b).max() <= 0.02
