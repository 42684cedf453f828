"""The bundled audio model (musicnn embedding + logistic regression, valence and energy heads),
its training from a folder, and the kept descriptor model through the pipeline.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trackmood.audio import embedding as E
from trackmood.errors import DataError, ModelError
from trackmood.model.persistence import load_model
from trackmood.moods import MOODS, PROBA_COLUMNS, LabelMap
from trackmood.pipeline import PREDICTION_COLUMNS, TIMELINE_COLUMNS, run
from trackmood.store import Store

from .audio_fixtures import AUDIO_4Q, click_track, fourq_clips, music_like, text_as_mp3, write_wav

needs_4q = pytest.mark.skipif(not AUDIO_4Q.exists(), reason="shared 4Q audio not present")
#: The previous (descriptor) audio model, kept for the descriptor path and timelines.
OLD = "audio-descriptors"


def test_bundled_model_card():
    m = load_model("audio")
    card = m.card
    assert card["kind"] == "audio" and card["embedding"]["provider"] == "audio:musicnn"
    assert list(m.classes_) == list(MOODS)
    assert m.features[:200] == [f"mn_pen{i:03d}" for i in range(200)]
    assert len(m.features) in (200, 250)
    assert "Panda" in card["dataset"] and "research" in card["dataset"]
    assert "Pons" in card["terms"] and "ISC" in card["terms"]
    assert set(card["moods"]) == set(MOODS) and "Q1" in card["moods"]["Happy"]
    metrics = card["metrics"]
    assert "nested" in metrics["cv"] and "grouped by artist" in metrics["cv"]
    lo, hi = metrics["accuracy_ci95"]
    assert 0.5 < lo < metrics["accuracy_pooled"] < hi <= 1.0
    for head in ("valence", "energy"):
        assert 0.6 < metrics["heads_roc_auc"][head]["mean"] <= 1.0
        assert len(m.runtime.meta["heads"][head]["coef"]) == len(m.features)
    assert 1 <= card["embedding"]["max_patches"] <= 9
    assert (m.path / "MODEL_CARD.md").read_text().count("Q1") >= 1


def _quadrant_clips(n):
    return {q: sorted((AUDIO_4Q / q).glob("*.mp3"))[:n] for q in ("Q1", "Q2", "Q3", "Q4")}


@needs_4q
def test_bundled_model_on_4q_clips():
    from trackmood.model.audio_train import max_patches, predict_embedding

    m = load_model("audio")
    clips = _quadrant_clips(4)
    res = {q: [E.embed_file(p, max_patches=max_patches(m)) for p in ps] for q, ps in clips.items()}
    out = {q: predict_embedding(r, m) for q, r in res.items()}
    for o in out.values():
        assert o["provider"] == "audio:musicnn" and o["proba"].shape == (4, 4)
        np.testing.assert_allclose(o["proba"].sum(axis=1), 1.0)
        assert np.all((o["valence"] > 0) & (o["valence"] < 1))
    want = {"Q1": "Happy", "Q2": "Energetic", "Q3": "Sad", "Q4": "Calm"}
    # training clips: the model should get most of them (not a generalisation figure)
    right = sum(int((o["mood"] == want[q]).sum()) for q, o in out.items())
    assert right >= 11, right
    energy = {q: o["energy"].mean() for q, o in out.items()}
    valence = {q: o["valence"].mean() for q, o in out.items()}
    assert min(energy["Q1"], energy["Q2"]) > max(energy["Q3"], energy["Q4"])
    assert min(valence["Q1"], valence["Q4"]) > max(valence["Q2"], valence["Q3"])
    one = predict_embedding(res["Q2"][0], m)
    assert set(one["proba"]) == set(MOODS) and isinstance(float(one["energy"]), float)


def _labeled_folder(root):
    for label, seed in (("Q2", 0), ("Q4", 10)):
        sub = root / label
        sub.mkdir(parents=True)
        for i in range(3):
            y = (
                click_track(150 + 10 * i, 7.0, sr=22050, seed=seed + i)
                if label == "Q2"
                else music_like(7.0, seed=seed + i) * 0.3
            )
            write_wav(sub / f"{label}_{i}.wav", y, 22050)
    return root


def test_train_from_folder(tmp_path, monkeypatch):
    from trackmood.model import audio_train as am

    root = _labeled_folder(tmp_path / "data")
    out = tmp_path / "model"
    cache = tmp_path / "emb.npz"
    notes = []
    model = am.recipe(
        root,
        label_map=LabelMap.parse(None),
        seed=0,
        notify=notes.append,
        out=out,
        repeats=1,
        folds=3,
        cache=cache,
    )
    assert list(model.classes_) == ["Calm", "Energetic"]
    again = load_model(out)
    card = again.card
    assert card["kind"] == "audio" and card["metrics"]["n"] == 6
    assert card["embedding"]["max_patches"] in am.BUDGETS
    assert any("nested CV" in n for n in notes)
    res = [E.embed_file(p, max_patches=am.max_patches(again)) for p in sorted(root.rglob("*.wav"))]
    pred = am.predict_embedding(res, again)
    assert list(pred["mood"]) == ["Energetic"] * 3 + ["Calm"] * 3
    assert pred["energy"][:3].min() > pred["energy"][3:].max()
    # the second run is served from the cache: no file is analysed again
    monkeypatch.setattr(am, "_clip_patches", lambda *a, **k: pytest.fail("not cached"))
    data = am.load_embeddings(root, label_map=LabelMap({}), cache=cache)
    assert len(data["mood"]) == 6 and set(data["X"]) == {
        (k, b) for k in am.BUDGETS for b in am.BLOCKS
    }


def test_embeddings_pool_the_budget_patches(tmp_path):
    import soundfile as sf

    from trackmood.model import audio_train as am

    root = tmp_path / "d"
    (root / "Q1").mkdir(parents=True)
    y = music_like(31.0, sr=16000, seed=2)
    write_wav(root / "Q1" / "a.wav", y, 16000)
    y = sf.read(root / "Q1" / "a.wav", dtype="float32")[0]  # as stored (16-bit)
    data = am.load_embeddings(root, label_map=LabelMap({}), budgets=(3, 5))
    for k in (3, 5):
        direct = E.embed_signal(y, 16000, max_patches=k)
        np.testing.assert_allclose(data["X"][(k, "pen")][0], direct["embedding"], atol=1e-4)
        np.testing.assert_allclose(data["X"][(k, "pen+tags")][0, 200:], direct["tags"], atol=1e-5)


@needs_4q
def test_4q_clips_through_the_model(tmp_path):
    clips = fourq_clips(2)
    store = Store(tmp_path / "lib.sqlite")
    df = run([str(p) for p in clips], model=OLD, store=store, workers=2).predictions
    assert list(df.columns[-len(PREDICTION_COLUMNS) :]) == list(PREDICTION_COLUMNS)
    assert {"id", "path", "name"} <= set(df.columns)
    assert len(df) == 8 and (df["status"] == "ok").all() and df["reason"].isna().all()
    assert df["id"].str.fullmatch(r"audio:[0-9a-f]{16}").all()
    assert df[list(PROBA_COLUMNS)].sum(axis=1).round(6).eq(1.0).all()
    assert set(df["mood"]) <= set(MOODS)
    rows, total = store.list_tracks(model=OLD)
    assert total == 8 and all(r["mood"] in MOODS for r in rows)


def test_folder_with_a_bad_file(tmp_path):
    d = tmp_path / "music"
    d.mkdir()
    write_wav(d / "song.wav", music_like(12.0), 22050)
    text_as_mp3(d)
    notes = []
    df = run([str(d)], model=OLD, notify=notes.append, workers=1).predictions
    assert len(df) == 2
    bad = df[df["name"] == "notes"].iloc[0]
    assert "not an audio file" in bad["reason"] and pd.isna(bad["mood"])
    good = df[df["name"] == "song"].iloc[0]
    assert good["mood"] in MOODS and pd.isna(good["reason"])
    assert any("notes.mp3" in n for n in notes)


def test_timeline_rows(tmp_path):
    path = write_wav(tmp_path / "song.wav", music_like(40.0), 22050)
    table = run([str(path)], model=OLD, timeline=15, workers=1).timeline
    assert list(table.columns) == list(TIMELINE_COLUMNS)
    assert list(zip(table["start"], table["end"], strict=True)) == [
        (0.0, 15.0),
        (15.0, 30.0),
        (30.0, 40.0),
    ]
    assert table["mood"].isin(MOODS).all()
    assert (table[list(PROBA_COLUMNS)].sum(axis=1) - 1).abs().max() < 1e-3


def test_timeline_must_be_positive(tmp_path):
    with pytest.raises(DataError, match="timeline window 0") as e:
        run([str(tmp_path)], timeline=0)
    assert e.value.param == "timeline"


def test_feature_model_refused_for_audio(tmp_path):
    with pytest.raises(ModelError, match="Spotify-style feature tables, not audio") as e:
        run([str(tmp_path)], model="default")
    assert e.value.param == "model"


def test_train_label_map_drops_and_renames(tmp_path):
    from trackmood.model.audio_train import folder_labels

    root = _labeled_folder(tmp_path / "data")
    (root / "Q2").rename(root / "angry")
    pairs = folder_labels(root, label_map=LabelMap.parse(["angry=Energetic"]))
    assert {m for _, m in pairs} == {"Energetic", "Calm"}
    pairs = folder_labels(root, label_map=LabelMap.parse(["angry="]))
    assert {m for _, m in pairs} == {"Calm"}


def test_train_errors(tmp_path):
    from trackmood.model.audio_train import folder_labels

    with pytest.raises(DataError, match="not a folder"):
        folder_labels(tmp_path / "nope", label_map=LabelMap({}))
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no label subfolders"):
        folder_labels(tmp_path / "empty", label_map=LabelMap({}))
    (tmp_path / "odd" / "Weird").mkdir(parents=True)
    with pytest.raises(DataError, match="unknown mood label 'Weird'"):
        folder_labels(tmp_path / "odd", label_map=LabelMap({}))


def test_nested_cv_chooses_inside_and_reports_intervals():
    from trackmood.model.audio_cv import cross_validate

    rng = np.random.default_rng(0)
    moods = np.repeat(np.array(MOODS), 30)
    groups = np.array([f"artist{i // 2}" for i in range(len(moods))])  # two clips per artist
    centre = {m: rng.normal(0, 1, 12) for m in MOODS}
    signal = np.array([centre[m] for m in moods])
    # budget 9 carries the signal, budget 2 is noise: the inner loop must find budget 9
    Xs = {
        (2, "pen"): rng.normal(0, 1, (len(moods), 12)),
        (9, "pen"): signal + rng.normal(0, 0.8, (len(moods), 12)),
    }
    m = cross_validate(Xs, moods, groups, repeats=1, folds=3, seed=0, n_jobs=1)
    assert m["n"] == 120 and m["groups"] == 60
    assert all(k.startswith("9 patches") for k in m["choices"])
    lo, hi = m["accuracy_ci95"]
    assert 0.6 < lo <= m["accuracy_pooled"] <= hi <= 1.0
    assert m["heads_roc_auc"]["energy"]["mean"] > 0.8
    assert np.array(m["confusion"]["matrix"]).sum() == 120


@pytest.mark.slow
def test_per_clip_predictions_and_the_research_shortcut_agree():
    """cross_validate's per-clip correctness pools to its accuracy, and the research benchmark's
    per-input decomposition (benchmarks/research_audio_model.py) picks the same inputs and gives
    the same outer predictions as cross_validate run on the candidate's inputs.
    """
    import importlib.util
    from pathlib import Path

    from trackmood.model.audio_cv import cross_validate

    path = Path(__file__).parents[1] / "benchmarks" / "research_audio_model.py"
    spec = importlib.util.spec_from_file_location("research_audio_model", path)
    R = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(R)

    rng = np.random.default_rng(1)
    moods = np.repeat(np.array(MOODS), 15)
    groups = np.array([f"artist{i // 2}" for i in range(len(moods))])
    centre = {m: rng.normal(0, 1, 8) for m in MOODS}
    signal = np.array([centre[m] for m in moods])
    Xs = {
        (2, "pen"): signal + rng.normal(0, 2.5, (len(moods), 8)),
        (9, "pen"): signal + rng.normal(0, 1.0, (len(moods), 8)),
    }
    m = cross_validate(Xs, moods, groups, repeats=1, folds=3, seed=3, n_jobs=1,
                       keep_predictions=True)  # fmt: skip
    per_clip = np.array(m["per_clip_correct"])
    assert per_clip.shape == (60,) and set(np.unique(per_clip)) <= {0.0, 1.0}
    assert per_clip.mean() == pytest.approx(m["accuracy_pooled"])

    splits = R.outer_splits(moods, groups, repeats=1, folds=3, seed=3)
    res = {
        (k, i): R._key_fold(Xs[k], moods, groups, tr, te, s)
        for k in sorted(Xs)
        for i, (_r, tr, te, s) in enumerate(splits)
    }
    fam = R.family(res, sorted(Xs), moods, groups, splits, seed=3)
    assert fam["acc"] == pytest.approx(m["accuracy_mean"], abs=0.02)
    assert np.abs(fam["per_clip"] - per_clip).sum() <= 1.0  # at most one outer prediction differs
    picks = sum(v for k, v in fam["picks"].items() if k.startswith("(9"))
    assert picks == sum(v for k, v in m["choices"].items() if k.startswith("9 patches"))
