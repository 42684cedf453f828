"""Every table of the library and every migration, in one versioned chain.

The schema version is ``PRAGMA user_version``. A new library runs :data:`V1` and then each step of
:data:`MIGRATIONS` in turn, so a new library and a migrated one are built by the same statements.
An existing library is copied (SQLite backup API) beside itself as
``<name>.v<old version>-backup-<YYYYmmdd-HHMMSS>`` before its first migration step.

Versions
--------
1. tracks, features (with their source), feature misses, labels, predictions, key-value caches.
2. ``embeddings``: float32 vectors by content hash and embedding model.
3. the music-library tables ``lib_files`` (file facts and the track they are; the mood is the
   track's row in ``predictions``, which gains ``confidence``) and ``lib_tag_changes``;
   ``embedding_columns``; the musicnn embeddings kept as JSON in ``kv`` move to ``embeddings``.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from . import kvembed

V1 = """
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
    source TEXT NOT NULL,         -- e.g. 'playlist:<id>', 'file:<name>', 'user'
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

_V2 = """
CREATE TABLE IF NOT EXISTS embeddings (
    sha TEXT NOT NULL,            -- content hash of the audio (sha256 hex)
    model TEXT NOT NULL,          -- which embedding, e.g. 'musicnn:1:9' (version, patch budget)
    dim INTEGER NOT NULL,
    vec BLOB NOT NULL,            -- float32, little-endian, dim values
    at REAL NOT NULL,
    PRIMARY KEY (model, sha)
);
"""

LIB_TABLES = """
CREATE TABLE IF NOT EXISTS lib_files (
    path TEXT PRIMARY KEY,
    size INTEGER, mtime_ns INTEGER, sha TEXT,
    track_id TEXT,                 -- its mood: predictions (track_id, model)
    status TEXT NOT NULL,          -- 'ok', 'failed' (analysis failed), 'missing' (gone from disk)
    error TEXT,
    artist TEXT, title TEXT, duration REAL,
    model TEXT,                    -- the model that analysed it
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
CREATE TABLE IF NOT EXISTS embedding_columns (
    model TEXT PRIMARY KEY,        -- an embeddings.model
    names TEXT NOT NULL            -- JSON list: the feature name of each vector element
);
"""

#: The file facts ``lib_files`` keeps (the prediction columns are the track's prediction).
LIB_FILE_FACTS = (
    "path, size, mtime_ns, sha, track_id, status, error, artist, title, duration, model, "
    "analysed_at, seen_at"
)


def _script(conn: sqlite3.Connection, script: str) -> None:
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    q = "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?"
    return conn.execute(q, (name,)).fetchone() is not None


def _v2(conn: sqlite3.Connection) -> None:
    _script(conn, _V2)


def _v3(conn: sqlite3.Connection) -> None:
    cols = {r[1] for r in conn.execute("PRAGMA table_info(predictions)")}
    if "confidence" not in cols:
        conn.execute("ALTER TABLE predictions ADD COLUMN confidence REAL")
    old = _has_table(conn, "lib_files")  # made on first use by the catalog of version 2
    if old:
        for index in ("lib_files_sha", "lib_files_track"):
            conn.execute(f"DROP INDEX IF EXISTS {index}")
        conn.execute("ALTER TABLE lib_files RENAME TO lib_files_v2")
    _script(conn, LIB_TABLES)
    if old:
        # one copy of each prediction: the file's mood becomes (or corrects) its track's row
        conn.execute(
            "INSERT OR IGNORE INTO tracks(id, path, added_at) SELECT track_id, min(path), "
            "coalesce(min(analysed_at), min(seen_at), 0) FROM lib_files_v2 "
            "WHERE track_id IS NOT NULL GROUP BY track_id"
        )
        conn.execute(
            "INSERT INTO predictions(track_id, model, mood, p_calm, p_energetic, p_happy, p_sad, "
            "confidence, at) SELECT track_id, model, mood, p_calm, p_energetic, p_happy, p_sad, "
            "confidence, coalesce(analysed_at, seen_at, 0) FROM lib_files_v2 "
            "WHERE mood IS NOT NULL AND track_id IS NOT NULL AND model IS NOT NULL "
            "ON CONFLICT(track_id, model) DO UPDATE SET mood=excluded.mood, "
            "p_calm=excluded.p_calm, p_energetic=excluded.p_energetic, p_happy=excluded.p_happy, "
            "p_sad=excluded.p_sad, confidence=excluded.confidence"
        )
        conn.execute(
            f"INSERT INTO lib_files({LIB_FILE_FACTS}) SELECT {LIB_FILE_FACTS} FROM lib_files_v2"
        )
        conn.execute("DROP TABLE lib_files_v2")
    _move_kv_embeddings(conn)


def _move_kv_embeddings(conn: sqlite3.Connection) -> None:
    """The musicnn embeddings kept as JSON in ``kv`` become float32 rows of ``embeddings``."""
    cur = conn.execute("SELECT key, value, at FROM kv WHERE namespace=?", (kvembed.NAMESPACE,))
    names_of: dict[str, list[str]] = {}
    while batch := cur.fetchmany(1000):
        rows, moved = [], []
        for key, value, at in batch:
            where = kvembed.parse_key(key)
            try:
                names, blob = kvembed.encode(json.loads(value))
            except (ValueError, TypeError, AttributeError):
                continue  # not an embedding: left in kv as it was
            if where is None or names_of.setdefault(where[0], names) != names:
                continue
            rows.append((where[1], where[0], len(names), blob, at))
            moved.append((key,))
        conn.executemany("INSERT OR REPLACE INTO embeddings VALUES (?,?,?,?,?)", rows)
        conn.executemany(f"DELETE FROM kv WHERE namespace='{kvembed.NAMESPACE}' AND key=?", moved)
    conn.executemany(
        "INSERT OR REPLACE INTO embedding_columns VALUES (?, ?)",
        [(m, json.dumps(n)) for m, n in names_of.items()],
    )


#: Steps that bring a library of version ``n - 1`` to version ``n`` (run in one transaction).
MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {2: _v2, 3: _v3}
SCHEMA_VERSION = max(MIGRATIONS)


def backup(conn: sqlite3.Connection, path: Path, version: int) -> Path:
    """Copy the library beside itself before a migration; returns the copy's path."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.v{version}-backup-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.v{version}-backup-{stamp}-{n}")
    dest = sqlite3.connect(str(target))
    try:
        conn.backup(dest)
    except BaseException:
        dest.close()
        target.unlink(missing_ok=True)
        raise
    dest.close()
    return target


def migrate(conn: sqlite3.Connection, path, *, notify: Callable[[str], None]) -> None:
    """Bring the library at ``conn`` to :data:`SCHEMA_VERSION` (a backup first if it has data)."""
    from ..errors import LibraryError

    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise LibraryError(
            f"{path}: library schema version {version} is newer than this trackmood "
            f"({SCHEMA_VERSION}); upgrade trackmood",
            path=path,
        )
    if version == SCHEMA_VERSION:
        return
    if version >= 1 and path != ":memory:":
        copy = backup(conn, Path(path), version)
        notify(f"library {path}: upgrading from version {version}; the old one is kept at {copy}")
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]  # another process may
        if version == 0:  # have migrated it meanwhile
            _script(conn, V1)
            version = 1
        for step in range(version + 1, SCHEMA_VERSION + 1):
            MIGRATIONS[step](conn)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
