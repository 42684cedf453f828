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


def _hashes_of(ids):
    import hashlib

    return {hashlib.sha1(str(i).encode()).hexdigest()[:12] for i in ids}


def test_saved_model_records_hashes_of_its_training_ids_not_the_ids(tmp_path):
    src = toy_table(tmp_path / "a.csv")
    folder = save_model(train_model([str(src)]), tmp_path / "m")
    ids = pd.read_csv(src)["id"].tolist()
    stored = {
        line for line in (folder / "training_ids.txt").read_text().split("\n") if line[:1] != "#"
    } - {""}
    assert stored == _hashes_of(ids) and len(stored) == 120
    everything = "".join(p.read_text(errors="replace") for p in folder.iterdir())
    assert not [i for i in ids if i in everything]  # no raw id anywhere in the folder
    assert load_model(folder).card["training_ids"]["count"] == 120


def test_evaluate_saved_model_leaves_out_rows_it_was_trained_on(tmp_path):
    a = toy_table(tmp_path / "a.csv")
    save_model(train_model([str(a)]), tmp_path / "m")
    mixed = tmp_path / "mixed.csv"  # 120 rows the model saw + 120 it did not, in a new file
    pd.concat([pd.read_csv(a), pd.read_csv(toy_table(tmp_path / "b.csv", seed=9))]).to_csv(
        mixed, index=False
    )
    told = []
    m = evaluate([str(mixed)], model=str(tmp_path / "m"), notify=told.append)
    scores = m["saved_model"]
    assert scores["rows"] == 120 and scores["excluded"] == 120 and scores["rows_in"] == 240
    assert sum(sum(r) for r in scores["confusion"]) == 120
    assert scores["scope"] == "cross-dataset" and m["cross_dataset"] is scores
    assert m["headline"].startswith("model `custom-default` (trained on a.csv) on mixed.csv:")
    assert "120 rows in its training data left out" in m["headline"]
    assert m["headline"].endswith("cross-dataset")
    assert any("120 of 240 rows left out" in t for t in told)


def test_evaluate_on_the_training_table_is_not_called_cross_dataset(tmp_path):
    a = toy_table(tmp_path / "a.csv")
    clash = pd.read_csv(a).iloc[:10].assign(mood="Happy")  # 10 ids given another mood elsewhere
    clash = clash[pd.read_csv(a).iloc[:10]["mood"] != "Happy"]
    clash.to_csv(tmp_path / "c.csv", index=False)
    save_model(
        train_model([str(a), str(tmp_path / "c.csv")]),
        tmp_path / "m",
    )
    # the conflicting ids were dropped from training: they are all a.csv has that is held out
    told = []
    m = evaluate([str(a)], model=str(tmp_path / "m"), notify=told.append)
    assert m["saved_model"]["rows"] == 10 and m["saved_model"]["excluded"] == 110
    assert "cross_dataset" not in m and "not cross-dataset" in m["headline"]
    assert any("one of model `custom-default`'s training tables" in t for t in told)
    # a table all of whose rows it trained on: a clear error naming the card's held-out figure
    b = toy_table(tmp_path / "b.csv", seed=3)
    save_model(train_model([str(b)], cv=True, folds=3, repeats=1), tmp_path / "mb")
    card_cv = load_model(tmp_path / "mb").card["metrics"]["cv"]["accuracy_mean"]
    with pytest.raises(DataError, match="all 120 rows of b.csv are in model") as e:
        evaluate([str(b)], model=str(tmp_path / "mb"))
    assert f"{100 * card_cv:.1f} %" in str(e.value)


def test_evaluate_refuses_moods_the_model_does_not_predict(tmp_path):
    a = toy_table(tmp_path / "a.csv")
    save_model(train_model([f"{a}:Happy="]), tmp_path / "m")
    other = toy_table(tmp_path / "b.csv", seed=5)
    with pytest.raises(DataError, match="Happy.*30 rows.*b.csv:Happy="):
        evaluate([str(other)], model=str(tmp_path / "m"))


def test_recipe_cv_headline_names_recipe_protocol_and_the_bundled_models_figure(tmp_path):
    src = toy_table(tmp_path / "a.csv")
    m = evaluate([str(src)], folds=3, repeats=2, holdout_split=False)
    acc = m["cv"]["accuracy_mean"]
    assert m["headline"].startswith(
        f"default recipe, 2×3 stratified CV on a.csv: accuracy {100 * acc:.1f} %"
    )
    bundled = load_model("default").card["metrics"]["cv"]["accuracy_mean"]
    assert "bundled model 'default'" in m["note"] and f"{100 * bundled:.1f} %" in m["note"]


def test_bundled_default_scored_on_its_own_table_points_to_its_held_out_figure(data_moods):
    card = load_model("default").card
    held = next(
        t["accuracy"]
        for t in card["metrics"]["leave_one_table_out"]["tables"]
        if t["table"] == "data_moods"
    )
    m = evaluate([str(data_moods)], model="default")
    scores = m["saved_model"]
    assert scores["excluded"] >= 600 and scores["rows"] + scores["excluded"] == 686
    assert (
        "not cross-dataset" in m["headline"] and f"data_moods {100 * held:.1f} %" in m["headline"]
    )


def test_unknown_label_hint_fits_the_command(tmp_path):
    from typer.testing import CliRunner

    from trackmood.cli import app

    src = toy_table(tmp_path / "a.csv")
    df = pd.read_csv(src)
    df.loc[df["mood"] == "Calm", "mood"] = "Relaxing"
    df.to_csv(src, index=False)
    r = CliRunner().invoke(app, ["train", str(src), "--no-cv", "-o", str(tmp_path / "m")])
    assert r.exit_code == 2
    line = r.stderr.strip()
    assert "\n" not in line and "unknown mood label 'Relaxing'" in line
    assert f"{src}:Relaxing=MOOD" in line and "--label-map Relaxing=MOOD" in line
    assert "drop its rows with Relaxing=" in line
    # `label` has no --label-map: its error names the moods and nothing else
    r = CliRunner().invoke(app, ["label", str(tmp_path / "x.mp3"), "Angry"])
    assert r.exit_code != 0 and "unknown mood label 'Angry'" in r.stderr
    assert "--label-map" not in r.stderr and "Calm, Energetic, Happy, Sad" in r.stderr
