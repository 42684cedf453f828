"""The bundled audio model, predict_audio's contract, timelines, and training from a folder."""

from __future__ import annotations

import pandas as pd
import pytest

from trackmood.errors import DataError, ModelError
from trackmood.model.persistence import load_model
from trackmood.moods import MOODS, PROBA_COLUMNS, LabelMap
from trackmood.predict import OUTPUT_COLUMNS, predict_audio, timeline_table
from trackmood.store import Store

from .audio_fixtures import AUDIO_4Q, click_track, fourq_clips, music_like, text_as_mp3, write_wav

needs_4q = pytest.mark.skipif(not AUDIO_4Q.exists(), reason="shared 4Q audio not present")


def test_bundled_model_card():
    m = load_model("audio")
    assert m.card["kind"] == "audio"
    assert list(m.classes_) == list(MOODS)
    assert "Panda" in m.card["dataset"] and "research" in m.card["dataset"]
    metrics = m.card["metrics"]
    assert "grouped by artist" in metrics["cv"]
    assert 0.5 < metrics["accuracy_mean"] <= 1.0


@needs_4q
def test_4q_clips_through_the_model(tmp_path):
    clips = fourq_clips(2)
    store = Store(tmp_path / "lib.sqlite")
    df = predict_audio([str(p) for p in clips], store=store, workers=2)
    assert list(df.columns) == list(OUTPUT_COLUMNS)
    assert len(df) == 8 and df["error"].isna().all()
    assert df["id"].str.fullmatch(r"audio:[0-9a-f]{16}").all()
    assert df[list(PROBA_COLUMNS)].sum(axis=1).round(6).eq(1.0).all()
    assert set(df["mood"]) <= set(MOODS)
    assert (df["source"] == "audio:librosa").all()
    rows, total = store.list_tracks(model="audio")
    assert total == 8 and all(r["mood"] in MOODS for r in rows)


def test_folder_with_a_bad_file(tmp_path):
    d = tmp_path / "music"
    d.mkdir()
    write_wav(d / "song.wav", music_like(12.0), 22050)
    text_as_mp3(d)
    notes = []
    df = predict_audio([str(d)], store=False, notify=notes.append, workers=1)
    assert len(df) == 2
    bad = df[df["name"] == "notes"].iloc[0]
    assert "not an audio file" in bad["error"] and pd.isna(bad["mood"])
    good = df[df["name"] == "song"].iloc[0]
    assert good["mood"] in MOODS and pd.isna(good["error"])
    assert any("notes.mp3" in n for n in notes)


def test_timeline_rows_and_png(tmp_path):
    path = write_wav(tmp_path / "song.wav", music_like(40.0), 22050)
    out = tmp_path / "pred.csv"
    df = predict_audio([str(path)], timeline=15, out=out, store=False, workers=1)
    tl = df.loc[0, "timeline"]
    assert [(w["start"], w["end"]) for w in tl] == [(0.0, 15.0), (15.0, 30.0), (30.0, 40.0)]
    assert all(w["mood"] in MOODS and abs(sum(w[c] for c in PROBA_COLUMNS) - 1) < 1e-3 for w in tl)
    png = tmp_path / "pred.timeline.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = timeline_table(df)
    assert len(table) == 3 and list(table.columns[:5]) == ["id", "path", "name", "start", "end"]


def test_timeline_must_be_positive(tmp_path):
    from trackmood.errors import SourceError

    with pytest.raises(SourceError, match="--timeline"):
        predict_audio([str(tmp_path)], timeline=0, store=False)


def test_feature_model_refused_for_audio(tmp_path):
    with pytest.raises(ModelError, match="Spotify-style feature tables, not audio"):
        predict_audio([str(tmp_path)], model="default", store=False)


def _labeled_folder(root):
    for label, bpms, seed in (("Q2", (150, 160, 170), 0), ("Q4", (60, 65, 70), 10)):
        sub = root / label
        sub.mkdir(parents=True)
        for i, bpm in enumerate(bpms):
            y = (
                click_track(bpm, 6.0, sr=22050, seed=seed + i)
                if label == "Q2"
                else music_like(6.0, seed=seed + i)
            )
            write_wav(sub / f"{label}_{i}.wav", y, 22050)
    return root


def test_train_from_folder(tmp_path):
    from trackmood.audio.model import train_from_folder

    root = _labeled_folder(tmp_path / "data")
    out = tmp_path / "model"
    notes = []
    model = train_from_folder(
        root,
        label_map=LabelMap.parse(None),
        out=out,
        seed=0,
        notify=notes.append,
        repeats=1,
        folds=3,
        workers=1,
    )
    assert list(model.classes_) == ["Calm", "Energetic"]
    again = load_model(out)
    assert again.card["kind"] == "audio" and again.card["metrics"]["n"] == 6
    df = predict_audio([str(root / "Q2"), str(root / "Q4")], model=again, store=False, workers=1)
    assert (df["mood"] == ["Energetic"] * 3 + ["Calm"] * 3).all()
    assert any("cross-validating" in n for n in notes)


def test_train_label_map_drops_and_renames(tmp_path):
    from trackmood.audio.model import folder_labels

    root = _labeled_folder(tmp_path / "data")
    (root / "Q2").rename(root / "angry")
    pairs = folder_labels(root, label_map=LabelMap.parse(["angry=Energetic"]))
    assert {m for _, m in pairs} == {"Energetic", "Calm"}
    pairs = folder_labels(root, label_map=LabelMap.parse(["angry="]))
    assert {m for _, m in pairs} == {"Calm"}


def test_train_errors(tmp_path):
    from trackmood.audio.model import folder_labels

    with pytest.raises(DataError, match="not a folder"):
        folder_labels(tmp_path / "nope", label_map=LabelMap({}))
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no label subfolders"):
        folder_labels(tmp_path / "empty", label_map=LabelMap({}))
    (tmp_path / "odd" / "Weird").mkdir(parents=True)
    with pytest.raises(DataError, match="unknown mood label 'Weird'"):
        folder_labels(tmp_path / "odd", label_map=LabelMap({}))


def test_training_crops_stay_with_their_clip(tmp_path):
    import numpy as np

    from trackmood.audio.model import _with_crops, load_descriptors, split_rows

    root = tmp_path / "data"
    for label, seed in (("Q1", 0), ("Q3", 5)):
        (root / label).mkdir(parents=True)
        for i in range(2):
            write_wav(root / label / f"{label}_{i}.wav", music_like(33.0, seed=seed + i), 22050)
    cache = tmp_path / "d.parquet"
    df = load_descriptors(root, label_map=LabelMap({}), cache=cache, workers=1)
    # per clip: the whole clip and two 15 s slices (the last 3 s join the second one)
    assert len(df) == 12 and df["start"].isna().sum() == 4
    assert sorted(df["start"].dropna().unique()) == [0.0, 15.0]
    again = load_descriptors(root, label_map=LabelMap({}), cache=cache, workers=1)
    assert len(again) == 12  # served from the cache
    X, y, _groups, (Xc, owner) = split_rows(df)
    assert X.shape[0] == 4 and Xc.shape[0] == 8 and sorted(np.bincount(owner)) == [2, 2, 2, 2]
    Xt, yt = _with_crops(X, y, np.array([0, 3]), (Xc, owner))
    assert len(Xt) == 6 and list(yt[:2]) == [y[0], y[3]] and set(yt[2:]) == {y[0], y[3]}
    assert all(any(np.array_equal(r, c) for c in Xc[np.isin(owner, [0, 3])]) for r in Xt[2:])
