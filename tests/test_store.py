"""The SQLite library: schema version, WAL, per-value sources, transactions, concurrent processes."""

import multiprocessing as mp
import sqlite3

import pytest

from trackmood.errors import TrackmoodError
from trackmood.store import SCHEMA_VERSION, Store, default_path


def test_default_path_from_environment(private_store):
    assert default_path() == private_store
    with Store() as s:
        assert s.path == private_store
    assert private_store.exists()


def test_schema_version_and_wal(tmp_path):
    db = tmp_path / "lib.sqlite"
    Store(db).close()
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_newer_schema_is_refused(tmp_path):
    db = tmp_path / "lib.sqlite"
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA user_version = 99")
    conn.commit()
    conn.close()
    with pytest.raises(TrackmoodError, match="newer than this trackmood"):
        Store(db)


def test_features_keep_their_source_per_value(tmp_path):
    s = Store(tmp_path / "l.sqlite")
    s.put_features(
        "t1",
        {"energy": 0.7, "duration_ms": 200000.0},
        source={"energy": "reccobeats", "duration_ms": "spotify"},
    )
    got = s.get_features(["t1", "nope"])
    assert got == {"t1": {"energy": (0.7, "reccobeats"), "duration_ms": (200000.0, "spotify")}}
    s.mark_missing("t2", "reccobeats", "unknown id")
    assert s.get_misses(["t2"]) == {"t2": {"reccobeats": "unknown id"}}
    s.put_features("t2", {"energy": 0.1}, source="audio:librosa")
    assert s.get_misses(["t2"]) == {}  # found later: the miss is forgotten


def test_tracks_predictions_filter_and_delete(tmp_path):
    s = Store(tmp_path / "l.sqlite")
    s.upsert_tracks([{"id": "a", "name": "A", "genre": "x"}, {"id": "b", "name": "B"}])
    s.upsert_tracks([{"id": "a", "artist": "Someone"}])  # update keeps the name
    assert s.get_track("a")["name"] == "A" and s.get_track("a")["artist"] == "Someone"
    assert s.get_track("a")["meta"] == {"genre": "x"}
    s.put_features("a", {"energy": 0.9}, source="file:x.csv")
    s.put_predictions(
        "default",
        [
            {
                "id": "a",
                "mood": "Happy",
                "p_calm": 0.1,
                "p_energetic": 0.2,
                "p_happy": 0.6,
                "p_sad": 0.1,
            },
            {
                "id": "b",
                "mood": "Sad",
                "p_calm": 0.1,
                "p_energetic": 0.1,
                "p_happy": 0.1,
                "p_sad": 0.7,
                "extra": {"timeline": [1, 2]},
            },
        ],
    )
    rows, total = s.list_tracks(mood="Sad")
    assert total == 1 and rows[0]["id"] == "b" and rows[0]["extra"] == {"timeline": [1, 2]}
    rows, total = s.list_tracks(source="file:")
    assert [r["id"] for r in rows] == ["a"]
    rows, total = s.list_tracks(limit=1, offset=1)
    assert total == 2 and [r["id"] for r in rows] == ["b"]
    assert s.delete_track("a") and not s.delete_track("a")
    assert s.get_features(["a"]) == {}  # cascade


def test_failed_transaction_leaves_nothing(tmp_path):
    s = Store(tmp_path / "l.sqlite")
    with pytest.raises(RuntimeError):
        with s.transaction() as c:
            c.execute("INSERT INTO kv VALUES ('n', 'k', 'v', 0)")
            raise RuntimeError("boom")
    assert s.kv_get("n", "k") is None


def _writer(path, start):
    s = Store(path)
    for i in range(start, start + 50):
        s.kv_put("n", str(i), "x")


def test_two_processes_write_at_once(tmp_path):
    db = tmp_path / "l.sqlite"
    Store(db).close()
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(db, k * 50)) for k in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    assert len(Store(db).kv_keys("n")) == 100


def test_bulk_features_and_predictions_of_one_track(tmp_path):
    s = Store(tmp_path / "l.sqlite")
    s.mark_missing("a", "reccobeats", "unknown id")
    s.put_features_many(
        [("a", {"energy": 0.2}), ("b", {"energy": 0.4, "valence": 0.1})], source="file:t.csv"
    )
    assert s.get_features(["a", "b"]) == {
        "a": {"energy": (0.2, "file:t.csv")},
        "b": {"energy": (0.4, "file:t.csv"), "valence": (0.1, "file:t.csv")},
    }
    assert s.get_misses(["a"]) == {}
    s.put_predictions("m1", [{"id": "a", "mood": "Calm", "p_calm": 0.9}])
    s.put_predictions("m2", [{"id": "a", "mood": "Sad", "p_sad": 0.8, "extra": {"k": 1}}])
    preds = s.get_predictions("a")
    assert [p["model"] for p in preds] == ["m2", "m1"] and preds[0]["extra"] == {"k": 1}
    assert s.get_predictions("b") == []
