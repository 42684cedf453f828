"""Personal moods: ``trackmood label`` and the personal model that is adopted only when better."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from tests.library_fixtures import copy_library, scanned_library
from trackmood.engine import cache
from trackmood.errors import DataError
from trackmood.library import catalog
from trackmood.library.labels import set_label, user_labels
from trackmood.library.personal import train_personal
from trackmood.library.scan import scan
from trackmood.model.persistence import load_model
from trackmood.moods import MOODS
from trackmood.store import Store


@pytest.fixture
def library(tmp_path_factory, tmp_path):
    music, db = copy_library(*scanned_library(tmp_path_factory), tmp_path)
    store = Store(db)
    scan(store, [music], workers=1)
    yield music, store
    store.close()


def test_label_by_path_and_by_id_and_errors(library):
    music, store = library
    mp3 = next(music.rglob("*.mp3"))
    got = set_label(store, str(mp3), "sad")
    row = catalog.get_file(store, str(mp3))
    assert got == {"track_id": row["track_id"], "path": str(mp3), "mood": "Sad"}
    set_label(store, row["track_id"], "Happy")  # by id: replaces the label
    assert user_labels(store) == {row["track_id"]: "Happy"}
    with pytest.raises(DataError, match="unknown mood label 'Dreamy'"):
        set_label(store, str(mp3), "Dreamy")
    with pytest.raises(DataError, match="neither a scanned file nor a track id"):
        set_label(store, "audio:ffffffffffffffff", "Sad")
    stray = music.parent / "new.mp3"
    stray.write_bytes(mp3.read_bytes())
    with pytest.raises(DataError, match="not in the library yet"):
        set_label(store, str(stray), "Sad")


def test_label_cli(library):
    music, store = library
    flac = next(music.rglob("*.flac"))
    env = {**os.environ, "TRACKMOOD_DB": str(store.path)}
    ok = subprocess.run(
        [sys.executable, "-m", "trackmood", "label", str(flac), "calm"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == f"{flac}: Calm"
    bad = subprocess.run(
        [sys.executable, "-m", "trackmood", "label", str(flac), "Dreamy"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert bad.returncode != 0
    lines = bad.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("trackmood: error: unknown mood label 'Dreamy'")


def _features() -> list[str]:
    return list(load_model("audio").features)


def _add_labeled(store, feats: dict, mood: str, i: int) -> None:
    """A labeled track whose cached musicnn embedding is ``feats`` (as a scan leaves it)."""
    sha = hashlib.sha256(f"labeled {i}".encode()).hexdigest()
    tid = f"audio:{sha[:16]}"
    cache.put_embedding(store, sha, feats, 9)
    store.upsert_tracks([{"id": tid, "name": f"t{i}"}])
    catalog.upsert_files(
        store, [{"path": f"/labeled/{i}.mp3", "sha": sha, "track_id": tid, "status": "ok"}]
    )
    set_label(store, tid, mood)


def _clusters(store, n_per: int = 6, seed: int = 0) -> list[dict]:
    """Two tight groups of embeddings around two real scanned files' embeddings."""
    rng = np.random.default_rng(seed)
    names = _features()
    centers = []
    for r in catalog.analysed(store)[:2]:
        raw = cache.embeddings(store, [r["sha"]], 9)[r["sha"]]
        centers.append(np.array([raw[k] for k in names], dtype=float))
    out = []
    for c in centers:
        for _ in range(n_per):
            v = c + 0.01 * np.abs(c).mean() * rng.standard_normal(len(c))
            out.append(dict(zip(names, v.tolist(), strict=True)))
    return out


def _bundled_moods(feats: list[dict]) -> list[str]:
    m = load_model("audio")
    X = np.array([[f[k] for k in m.features] for f in feats])
    return [m.runtime.classes[i] for i in m.predict_proba(X).argmax(axis=1)]


def test_personal_model_adopted_when_it_beats_the_bundled_one(library, tmp_path):
    music, store = library
    feats = _clusters(store)
    bundled = _bundled_moods(feats)
    # labels the bundled model gets wrong: one mood per group, never the bundled answer
    labels = []
    for g in (0, 1):
        group = bundled[g * 6 : (g + 1) * 6]
        labels += [next(m for m in MOODS[g * 2 :] + MOODS if m not in group)] * 6
    for i, (f, m) in enumerate(zip(feats, labels, strict=True)):
        _add_labeled(store, f, m, i)
    assert len(set(labels)) == 2
    rep = train_personal(store, folds=3)
    assert rep.labels == 12 and rep.folds == 3 and rep.base == "none"
    assert rep.bundled_accuracy == 0.0
    assert rep.personal_accuracy == 1.0
    assert rep.adopted and catalog.default_model(store) == str(
        (store.path.parent / "personal-model").resolve()
    )
    assert any("is now this library's default" in line for line in rep.lines())
    # the library's moods change at once, from the stored embeddings (no rescan, no audio read)
    mine = [r for r in catalog.analysed(store) if r["path"].startswith(str(music))]
    assert mine and {r["model"] for r in mine} == {rep.model_name}
    personal = load_model(rep.model_path)
    for r in mine:
        raw = cache.embeddings(store, [r["sha"]], 9)[r["sha"]]
        x = np.array([[raw[k] for k in personal.features]])
        assert r["mood"] == personal.runtime.classes[int(personal.predict_proba(x).argmax())]
    assert rep.rescore.rescored == len(catalog.analysed(store))
    assert any("re-scored from stored embeddings" in line for line in rep.lines())
    # the next scan has nothing to analyse or re-predict
    again = scan(store, [music], workers=1)
    assert again.analysed == 0
    assert {r["model"] for r in catalog.analysed(store) if r["path"].startswith(str(music))} == {
        rep.model_name
    }


def test_personal_model_not_adopted_when_the_bundled_one_is_right(library, tmp_path):
    music, store = library
    feats = _clusters(store, seed=1)
    for i, (f, m) in enumerate(zip(feats, _bundled_moods(feats), strict=True)):
        _add_labeled(store, f, m, i)
    # base data as a table (e.g. the bundled model's training embeddings)
    base = tmp_path / "base.parquet"
    rows = [{**f, "mood": MOODS[i % 4]} for i, f in enumerate(_clusters(store, seed=2))]
    pd.DataFrame([*rows, {**feats[0], "mood": "Sad"}]).to_parquet(base)  # + one of the user's
    rep = train_personal(store, base=base, folds=3)
    assert rep.bundled_accuracy == 1.0 and rep.base_rows == len(rows) and rep.base_overlap == 1
    assert "1 of your labeled tracks left out of it" in rep.lines()[1]
    assert not rep.adopted and catalog.default_model(store) is None
    assert not (store.path.parent / "personal-model").exists()


def test_too_few_labels_is_one_clear_error(library):
    music, store = library
    set_label(store, str(next(music.rglob("*.mp3"))), "Sad")
    with pytest.raises(
        DataError, match="at least 4 labeled tracks with audio features; the library has 1"
    ):
        train_personal(store)


def test_train_personal_cli_reports_one_line_error(library):
    music, store = library
    env = {**os.environ, "TRACKMOOD_DB": str(store.path)}
    run = subprocess.run(
        [sys.executable, "-m", "trackmood", "library", "train-personal"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [
        "trackmood: error: a personal model needs at least 4 labeled tracks with audio "
        "features; the library has 0"
    ]


def test_labeled_files_are_embedded_when_missing_and_a_base_folder_is_read(
    library, tmp_path, monkeypatch
):
    from tests.audio_fixtures import click_track, music_like, write_wav

    music, store = library
    rows = catalog.analysed(store)[:4]
    # no embedding cached for the labeled files: train_personal computes (and caches) it
    store.conn.execute("DELETE FROM embeddings")
    store.conn.commit()
    for r, mood in zip(rows, ("Sad", "Happy", "Sad", "Happy"), strict=True):
        set_label(store, r["path"], mood)
    base = tmp_path / "base"
    for mood, signals in (
        ("Calm", [music_like(3.5, 22050, seed=s) * 0.3 for s in (2, 3)]),
        ("Energetic", [click_track(bpm, 3.5, 22050) for bpm in (150, 170)]),
    ):
        (base / mood).mkdir(parents=True)
        for i, y in enumerate(signals):
            write_wav(base / mood / f"{i}.wav", y, 22050)
    said = []
    rep = train_personal(store, base=base, folds=2, notify=said.append)
    assert rep.labels == 4 and rep.skipped == 0
    # progress with the time spent (and left, while it runs) on the way
    assert any(s.startswith("embedding base clips: 4/4 (") for s in said), said
    assert rep.base == str(base) and rep.base_rows == 4
    assert 0.0 <= rep.personal_accuracy <= 1.0 and 0.0 <= rep.bundled_accuracy <= 1.0
    assert rep.adopted == (rep.personal_accuracy > rep.bundled_accuracy)
    for r in rows:
        cached = cache.embeddings(store, [r["sha"]], 9)[r["sha"]]
        assert len([k for k in cached if k.startswith("mn_pen")]) == 200
    # the base clips' embeddings are kept in the library by content hash: a second run reads
    # them from it and decodes no audio at all
    for f in base.rglob("*.wav"):
        sha = hashlib.sha256(f.read_bytes()).hexdigest()
        assert sha in cache.embeddings(store, [sha], 9)
    from trackmood.engine import Engine

    def no_audio(*a, **k):
        raise AssertionError("audio decoded on the second run")

    monkeypatch.setattr(Engine, "results", no_audio)
    said = []
    again = train_personal(store, base=base, folds=2, notify=said.append)
    assert again.base_rows == 4 and not any("embedding" in s for s in said)
