"""A library written by today's trackmood (schema 1 or 2, with the music-library tables the
catalog created outside the schema version) opens with the new store: every row is kept, the
file moods live once in ``predictions``, the JSON embeddings become float32 rows, the version is
the latest, and a backup equal to the old library is left beside it.

The DDL below is copied from the store (version 1 and 2) and ``library/catalog.py`` as they were
before the store owned every table: it is the fixture, not the code under test.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from trackmood.library import catalog
from trackmood.store import SCHEMA_VERSION, Store

ROOT = Path(__file__).resolve().parents[1]

OLD_STORE_DDL = """
CREATE TABLE IF NOT EXISTS tracks (
    id TEXT PRIMARY KEY,          -- Spotify id, or 'audio:<sha256>' for audio files
    name TEXT, artist TEXT, album TEXT, path TEXT,
    meta TEXT,                    -- JSON of anything else worth keeping
    added_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS features (
    track_id TEXT NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    value REAL,
    source TEXT NOT NULL,         -- 'spotify', 'reccobeats', 'audio:librosa', 'file:<name>', 'estimate:...'
    at REAL NOT NULL,
    PRIMARY KEY (track_id, name)
);
CREATE TABLE IF NOT EXISTS feature_misses (
    track_id TEXT NOT NULL,
    provider TEXT NOT NULL,
    reason TEXT NOT NULL,
    at REAL NOT NULL,
    PRIMARY KEY (track_id, provider)
);
CREATE TABLE IF NOT EXISTS labels (
    track_id TEXT NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
    mood TEXT NOT NULL,
    source TEXT NOT NULL,         -- e.g. 'playlist:<id>', 'file:<name>'
    at REAL NOT NULL,
    PRIMARY KEY (track_id, source)
);
CREATE TABLE IF NOT EXISTS predictions (
    track_id TEXT NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
    model TEXT NOT NULL,
    mood TEXT NOT NULL,
    p_calm REAL, p_energetic REAL, p_happy REAL, p_sad REAL,
    extra TEXT,                   -- JSON, e.g. a mood timeline
    at REAL NOT NULL,
    PRIMARY KEY (track_id, model)
);
CREATE TABLE IF NOT EXISTS kv (
    namespace TEXT NOT NULL,      -- e.g. 'http' (cached API pages), 'audio' (extraction by hash)
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    at REAL NOT NULL,
    PRIMARY KEY (namespace, key)
);
CREATE INDEX IF NOT EXISTS predictions_mood ON predictions(mood);
"""
OLD_V2_DDL = """
CREATE TABLE IF NOT EXISTS embeddings (
    sha TEXT NOT NULL, model TEXT NOT NULL, dim INTEGER NOT NULL, vec BLOB NOT NULL,
    at REAL NOT NULL, PRIMARY KEY (model, sha)
);
"""
OLD_CATALOG_DDL = """
CREATE TABLE IF NOT EXISTS lib_files (
    path TEXT PRIMARY KEY,
    size INTEGER, mtime_ns INTEGER, sha TEXT, track_id TEXT,
    status TEXT NOT NULL,          -- 'ok', 'failed' (analysis failed), 'missing' (gone from disk)
    error TEXT,
    artist TEXT, title TEXT, duration REAL,
    model TEXT, mood TEXT,
    p_calm REAL, p_energetic REAL, p_happy REAL, p_sad REAL, confidence REAL,
    analysed_at REAL, seen_at REAL
);
CREATE INDEX IF NOT EXISTS lib_files_sha ON lib_files(sha);
CREATE INDEX IF NOT EXISTS lib_files_track ON lib_files(track_id);
CREATE TABLE IF NOT EXISTS lib_tag_changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run TEXT NOT NULL,
    path TEXT NOT NULL,
    field TEXT NOT NULL,
    old TEXT,                      -- JSON list of strings, NULL = the field was absent
    new TEXT,
    at REAL NOT NULL,
    undone INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS lib_tag_changes_run ON lib_tag_changes(run);
"""

A, B, C = ("a" * 64, "b" * 64, "c" * 64)
NAMES = [f"mn_pen{i:03d}" for i in range(200)] + [f"mn_tag_{t}" for t in ("rock", "sad", "happy")]
#: (path, size, mtime_ns, sha, track_id, status, error, artist, title, duration, model, mood,
#:  p_calm, p_energetic, p_happy, p_sad, confidence, analysed_at, seen_at)
FILES = [
    ("/m/a.mp3", 10, 1, A, f"audio:{A}", "ok", None, "Ann", "Song A", 3.5, "audio", "Calm",
     0.7, 0.1, 0.1, 0.1, 0.7, 100.0, 101.0),
    ("/m/copy of a.mp3", 10, 2, A, f"audio:{A}", "ok", None, None, None, 3.5, "audio", "Calm",
     0.7, 0.1, 0.1, 0.1, 0.7, 100.0, 101.0),
    ("/m/b.flac", 20, 3, B, f"audio:{B}", "missing", None, "Bo", "Song B", 4.0, "audio", "Sad",
     0.1, 0.1, 0.2, 0.6, 0.6, 90.0, 95.0),
    ("/m/bad.ogg", 5, 4, C, f"audio:{C}", "failed", "cannot decode", None, None, None, "audio",
     None, None, None, None, None, None, None, 99.0),
]  # fmt: skip


def old_library(path: Path, version: int) -> dict:
    """A library as today's trackmood leaves it; returns the embeddings it holds."""
    rng = np.random.default_rng(0)
    embeddings = {
        sha: dict(zip(NAMES, rng.normal(size=len(NAMES)).astype(np.float32).tolist(), strict=True))
        for sha in (A, B)
    }
    c = sqlite3.connect(path, isolation_level=None)
    c.execute("PRAGMA journal_mode = WAL")
    c.executescript(OLD_STORE_DDL + (OLD_V2_DDL if version >= 2 else ""))
    c.execute(f"PRAGMA user_version = {version}")
    c.executescript(OLD_CATALOG_DDL)  # catalog.ensure, outside the version
    c.execute("BEGIN")
    c.execute(
        "INSERT INTO tracks VALUES ('sp1', 'Spotify song', 'X', 'Y', NULL, '{\"uri\": 1}', 1)"
    )
    c.execute("INSERT INTO features VALUES ('sp1', 'energy', 0.5, 'spotify', 2)")
    c.execute("INSERT INTO labels VALUES ('sp1', 'Happy', 'playlist:p', 3)")
    c.execute("INSERT INTO predictions VALUES ('sp1', 'default', 'Happy', .1, .2, .6, .1, NULL, 4)")
    for f in FILES:
        if f[4] not in ("audio:" + C,):
            c.execute(
                "INSERT OR IGNORE INTO tracks(id, path, added_at) VALUES (?, ?, 5)", f[4:5] + f[0:1]
            )
    # the pipeline also wrote B's prediction, with a timeline
    c.execute(
        "INSERT INTO predictions VALUES (?, 'audio', 'Sad', .1, .1, .2, .6, ?, 90)",
        (f"audio:{B}", json.dumps({"timeline": [["Sad", 0.6]]})),
    )
    c.executemany(f"INSERT INTO lib_files VALUES ({','.join('?' * 19)})", FILES)
    c.execute(
        "INSERT INTO lib_tag_changes(run, path, field, old, new, at) "
        "VALUES ('r1', '/m/a.mp3', 'MOOD', NULL, '[\"Calm\"]', 7)"
    )
    c.execute("INSERT INTO kv VALUES ('library', 'default_model', '/models/personal', 8)")
    c.execute("INSERT INTO kv VALUES ('http', 'GET /x', '{\"page\": 1}', 9)")
    for sha, values in embeddings.items():
        c.execute("INSERT INTO kv VALUES ('musicnn', ?, ?, 10)", (f"1:9:{sha}", json.dumps(values)))
    c.execute("COMMIT")
    c.close()
    return embeddings


def dump(path: Path) -> list[str]:
    c = sqlite3.connect(path)
    try:
        return [*c.iterdump(), f"user_version={c.execute('PRAGMA user_version').fetchone()[0]}"]
    finally:
        c.close()


@pytest.mark.parametrize("version", [1, 2])
def test_todays_library_is_migrated_with_everything_kept(tmp_path, version):
    db = tmp_path / "library.sqlite"
    embeddings = old_library(db, version)
    before = dump(db)
    old_rows = {
        r[0]: dict(zip(catalog.FILE_COLUMNS, r, strict=True)) for r in FILES
    }  # what catalog.get_file gave

    said: list[str] = []
    with Store(db, notify=said.append) as s:
        assert s.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 3
        # the library commands see the same file rows
        for path, row in old_rows.items():
            assert catalog.get_file(s, path) == row
        assert [r["path"] for r in catalog.analysed(s)] == ["/m/a.mp3", "/m/copy of a.mp3"]
        assert [r["path"] for r in catalog.analysed(s, statuses=("missing",))] == ["/m/b.flac"]
        assert catalog.analysed_sizes(s) == {10, 20}
        assert sorted(r["path"] for r in catalog.files_by_sha(s, [A, B, C])[A]) == [
            "/m/a.mp3",
            "/m/copy of a.mp3",
        ]
        assert C not in catalog.files_by_sha(s, [C])
        assert catalog.run_changes(s, "r1") == {"/m/a.mp3": {"MOOD": (None, ["Calm"])}}
        assert catalog.default_model(s) == "/models/personal"
        # one copy of each prediction: lib_files keeps no mood; predictions has it once
        cols = {r[1] for r in s.conn.execute("PRAGMA table_info(lib_files)")}
        assert not cols & {"mood", "p_calm", "p_energetic", "p_happy", "p_sad", "confidence"}
        preds = s.conn.execute(
            "SELECT track_id, model, mood, confidence FROM predictions ORDER BY track_id"
        ).fetchall()
        assert [tuple(r) for r in preds] == [
            (f"audio:{A}", "audio", "Calm", 0.7),
            (f"audio:{B}", "audio", "Sad", 0.6),
            ("sp1", "default", "Happy", None),
        ]
        (b,) = s.get_predictions(f"audio:{B}")
        assert b["extra"] == {"timeline": [["Sad", 0.6]]}  # the pipeline's timeline is kept
        # the rest of the library
        assert s.get_track("sp1")["meta"] == {"uri": 1}
        assert s.get_features(["sp1"]) == {"sp1": {"energy": (0.5, "spotify")}}
        assert s.get_labels()[0]["mood"] == "Happy"
        assert s.kv_get("http", "GET /x") == '{"page": 1}'
        # embeddings: float32 rows, no JSON left, still readable by their old key
        assert (
            s.conn.execute("SELECT count(*) FROM kv WHERE namespace='musicnn'").fetchone()[0] == 0
        )
        shas, m = s.embedding_matrix("musicnn:1:9")
        assert shas == [A, B] and m.dtype == np.float32 and m.shape == (2, len(NAMES))
        np.testing.assert_array_equal(m[0], np.array(list(embeddings[A].values()), np.float32))
        assert json.loads(s.kv_get("musicnn", f"1:9:{B}")) == embeddings[B]
        assert s.kv_keys("musicnn") == [f"1:9:{A}", f"1:9:{B}"]

    (copy,) = tmp_path.glob(f"library.sqlite.v{version}-backup-*")
    assert dump(copy) == before
    assert said == [
        f"library {db}: upgrading from version {version}; the old one is kept at {copy}"
    ]
    with Store(db, notify=said.append):
        pass
    assert len(said) == 1 and len(list(tmp_path.glob("library.sqlite.v*-backup-*"))) == 1


def test_a_new_library_has_no_backup_and_the_latest_version(tmp_path):
    said: list[str] = []
    with Store(tmp_path / "library.sqlite", notify=said.append) as s:
        assert s.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert said == [] and sorted(p.name for p in tmp_path.iterdir() if "backup" in p.name) == []


def test_the_backup_is_announced_on_stderr_in_one_line(tmp_path):
    db = tmp_path / "library.sqlite"
    old_library(db, 2)
    r = subprocess.run(
        [sys.executable, "-c", f"from trackmood.store import Store; Store({str(db)!r}).close()"],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"},
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    (line,) = r.stderr.splitlines()
    assert line.startswith(f"library {db}: upgrading from version 2; the old one is kept at ")


def test_a_migration_that_fails_changes_nothing(tmp_path):
    """A step that fails half-way (here a trigger refuses the moved embeddings) rolls the whole
    migration back: the library is as it was, at its old version.
    """
    db = tmp_path / "library.sqlite"
    old_library(db, 2)
    c = sqlite3.connect(db, isolation_level=None)
    c.execute(
        "CREATE TRIGGER no_more BEFORE INSERT ON embeddings BEGIN SELECT RAISE(ABORT, 'no'); END"
    )
    c.close()
    before = dump(db)
    with pytest.raises(sqlite3.IntegrityError):
        Store(db, notify=lambda m: None)
    assert dump(db) == before
