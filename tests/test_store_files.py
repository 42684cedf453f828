"""The store's music-library files keep one copy of each prediction (the track's row in
``predictions``), and the musicnn embeddings written in the old key-value form land as float32
rows of ``embeddings``.
"""

from __future__ import annotations

import json

import numpy as np

from trackmood.library import catalog
from trackmood.store import Store

SHA = "d" * 64
TID = f"audio:{SHA}"


def file_row(path: str, **extra) -> dict:
    return {
        "path": path,
        "size": 7,
        "mtime_ns": 1,
        "sha": SHA,
        "track_id": TID,
        "status": "ok",
        "model": "audio",
        "mood": "Happy",
        "p_calm": 0.1,
        "p_energetic": 0.2,
        "p_happy": 0.6,
        "p_sad": 0.1,
        "confidence": 0.6,
        "analysed_at": 5.0,
        **extra,
    }


def predictions(s: Store) -> list[tuple]:
    q = "SELECT track_id, model, mood, p_happy, confidence FROM predictions ORDER BY model"
    return [tuple(r) for r in s.conn.execute(q)]


def test_two_files_of_one_content_share_one_prediction():
    s = Store(":memory:")
    catalog.upsert_files(s, [file_row("/m/a.mp3"), file_row("/m/copy.mp3")])
    assert predictions(s) == [(TID, "audio", "Happy", 0.6, 0.6)]
    assert catalog.get_file(s, "/m/a.mp3")["mood"] == "Happy"
    # a new prediction of the track is what both files show: there is no second copy to go stale
    s.put_predictions("audio", [{"id": TID, "mood": "Sad", "p_sad": 0.7, "p_happy": 0.1}])
    assert [catalog.get_file(s, p)["mood"] for p in ("/m/a.mp3", "/m/copy.mp3")] == ["Sad"] * 2
    assert catalog.get_file(s, "/m/a.mp3")["confidence"] == 0.7  # the probability of the mood


def test_a_failed_file_has_no_mood_even_if_its_track_has_one():
    s = Store(":memory:")
    catalog.upsert_files(s, [file_row("/m/a.mp3")])
    catalog.upsert_files(
        s, [{**file_row("/m/b.mp3"), "status": "failed", "error": "cannot decode", "mood": None}]
    )
    b = catalog.get_file(s, "/m/b.mp3")
    assert (b["status"], b["mood"], b["p_happy"]) == ("failed", None, None)
    assert [r["path"] for r in catalog.analysed(s)] == ["/m/a.mp3"]


def test_another_model_and_updates_change_the_tracks_prediction():
    s = Store(":memory:")
    catalog.upsert_files(s, [file_row("/m/a.mp3")])
    s.set_file_results(
        [
            {
                "path": "/m/a.mp3",
                "status": "ok",
                "error": None,
                "model": "personal",
                "mood": "Calm",
                "p_calm": 0.8,
                "p_energetic": 0.1,
                "p_happy": 0.05,
                "p_sad": 0.05,
                "confidence": 0.8,
                "analysed_at": 9.0,
            }
        ]
    )
    row = catalog.get_file(s, "/m/a.mp3")
    assert (row["model"], row["mood"], row["confidence"], row["size"]) == (
        "personal",
        "Calm",
        0.8,
        7,
    )
    assert [p[:3] for p in predictions(s)] == [(TID, "audio", "Happy"), (TID, "personal", "Calm")]
    catalog.update_file(s, "/m/a.mp3", size=8, mtime_ns=2)  # after tagging: new facts, same mood
    row = catalog.get_file(s, "/m/a.mp3")
    assert (row["size"], row["mtime_ns"], row["mood"]) == (8, 2, "Calm")
    s.mark_files_missing(["/m/a.mp3"])
    assert catalog.analysed(s, statuses=("missing",))[0]["mood"] == "Calm"


def test_musicnn_cache_in_key_value_form_is_stored_as_float32():
    s = Store(":memory:")
    names = [f"mn_pen{i:03d}" for i in range(200)] + ["mn_tag_rock"]
    values = dict(
        zip(names, np.linspace(-1, 1, len(names), dtype=np.float32).tolist(), strict=True)
    )
    s.kv_put("musicnn", f"1:9:{SHA}", json.dumps(values))
    assert s.conn.execute("SELECT count(*) FROM kv").fetchone()[0] == 0
    (dim, size) = s.conn.execute("SELECT dim, length(vec) FROM embeddings").fetchone()
    assert (dim, size) == (201, 201 * 4)
    assert json.loads(s.kv_get("musicnn", f"1:9:{SHA}")) == values
    assert s.kv_get("musicnn", f"1:5:{SHA}") is None  # another patch budget: not cached
    shas, m = s.embedding_matrix("musicnn:1:9")
    assert shas == [SHA] and m.shape == (1, 201)
    assert s.embedding_names("musicnn:1:9") == names
    # other namespaces stay plain key-value
    s.kv_put("audio", "x", "{}")
    assert s.kv_get("audio", "x") == "{}"
