"""The library store: one SQLite file of tracks, features (with their source), labels, predictions,
and caches for the Spotify/ReccoBeats and audio sources.

The default path comes from platformdirs (``user_data_dir("trackmood")/library.sqlite``) and is
overridden by ``TRACKMOOD_DB``. The schema version is ``PRAGMA user_version``; the journal is WAL;
every write is a transaction, so a killed process loses nothing that was committed.

>>> s = Store(":memory:")
>>> s.upsert_tracks([{"id": "t1", "name": "Song"}])
>>> s.put_features("t1", {"energy": 0.5}, source="file:x.csv")
>>> s.get_features(["t1"])["t1"]["energy"]
(0.5, 'file:x.csv')
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .paths import as_text

SCHEMA_VERSION = 2

_SCHEMA = """
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
CREATE TABLE IF NOT EXISTS embeddings (
    sha TEXT NOT NULL,            -- content hash of the audio (sha256 hex)
    model TEXT NOT NULL,          -- which embedding, e.g. 'musicnn-msd:9' (model and patch budget)
    dim INTEGER NOT NULL,
    vec BLOB NOT NULL,            -- float32, little-endian, dim values
    at REAL NOT NULL,
    PRIMARY KEY (model, sha)
);
"""

#: Statements that bring a library of version ``n - 1`` to version ``n``.
_MIGRATIONS: dict[int, str] = {
    2: """
CREATE TABLE IF NOT EXISTS embeddings (
    sha TEXT NOT NULL, model TEXT NOT NULL, dim INTEGER NOT NULL, vec BLOB NOT NULL,
    at REAL NOT NULL, PRIMARY KEY (model, sha)
);
""",
}


def default_path() -> Path:
    """``$TRACKMOOD_DB`` if set, else the platform's user data folder."""
    env = os.environ.get("TRACKMOOD_DB")
    if env:
        return Path(env)
    from platformdirs import user_data_dir

    return Path(user_data_dir("trackmood")) / "library.sqlite"


class Store:
    """A connection to the library. Safe to open from several processes (WAL, busy timeout)."""

    def __init__(self, path: str | Path | None = None):
        if path == ":memory:":
            self.path = path
        else:
            self.path = Path(path) if path is not None else default_path()
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(
            str(self.path), timeout=30, isolation_level=None, check_same_thread=False
        )
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA foreign_keys = ON")
        if self.path != ":memory:":
            self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.execute("PRAGMA synchronous = NORMAL")
        self._migrate()

    def _migrate(self) -> None:
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            from .errors import TrackmoodError

            raise TrackmoodError(
                f"{self.path}: library schema version {version} is newer than this "
                f"trackmood ({SCHEMA_VERSION}); upgrade trackmood"
            )
        if version < SCHEMA_VERSION:
            with self.transaction() as c:
                if version == 0:
                    script = _SCHEMA
                else:
                    script = "".join(_MIGRATIONS[v] for v in range(version + 1, SCHEMA_VERSION + 1))
                for statement in script.split(";"):
                    if statement.strip():
                        c.execute(statement)
                c.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def close(self) -> None:
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``; rolled back on any exception."""
        if self.conn.in_transaction:
            yield self.conn
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # -- tracks ---------------------------------------------------------------------------
    def upsert_tracks(self, tracks: Iterable[dict]) -> None:
        """Insert or update tracks (``id`` required; name/artist/album/path; other keys → meta)."""
        now = time.time()
        rows = []
        for t in tracks:
            meta = {
                k: v for k, v in t.items() if k not in ("id", "name", "artist", "album", "path")
            }
            rows.append(
                (
                    t["id"],
                    as_text(t.get("name")),
                    as_text(t.get("artist")),
                    as_text(t.get("album")),
                    as_text(t.get("path")),
                    json.dumps(meta, default=str) if meta else None,
                    now,
                )
            )
        with self.transaction() as c:
            c.executemany(
                "INSERT INTO tracks(id, name, artist, album, path, meta, added_at) VALUES (?,?,?,?,?,?,?) "
                "ON CONFLICT(id) DO UPDATE SET name=coalesce(excluded.name, name), "
                "artist=coalesce(excluded.artist, artist), album=coalesce(excluded.album, album), "
                "path=coalesce(excluded.path, path), meta=coalesce(excluded.meta, meta)",
                rows,
            )

    def get_track(self, track_id: str) -> dict | None:
        row = self.conn.execute("SELECT * FROM tracks WHERE id=?", (track_id,)).fetchone()
        if row is None:
            return None
        out = dict(row)
        out["meta"] = json.loads(out["meta"]) if out["meta"] else {}
        return out

    def delete_track(self, track_id: str) -> bool:
        with self.transaction() as c:
            n = c.execute("DELETE FROM tracks WHERE id=?", (track_id,)).rowcount
            c.execute("DELETE FROM feature_misses WHERE track_id=?", (track_id,))
        return n > 0

    def list_tracks(
        self,
        *,
        mood: str | None = None,
        source: str | None = None,
        model: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> tuple[list[dict], int]:
        """Tracks with their latest prediction (of ``model`` if given), filtered; and the total."""
        where, args = [], []
        if mood:
            where.append("p.mood = ?")
            args.append(mood)
        if source:
            where.append(
                "EXISTS (SELECT 1 FROM features f WHERE f.track_id = t.id "
                "AND f.source LIKE ? ESCAPE '\\')"
            )  # a prefix: LIKE's wildcards in it are literal
            args.append(source.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")
        if model:
            where.append("(p.model = ? OR p.model IS NULL)")
            args.append(model)
        clause = ("WHERE " + " AND ".join(where)) if where else ""
        base = (
            f"FROM tracks t LEFT JOIN predictions p ON p.track_id = t.id AND p.at = "
            f"(SELECT max(at) FROM predictions q WHERE q.track_id = t.id) {clause}"
        )
        total = self.conn.execute(f"SELECT count(*) {base}", args).fetchone()[0]
        rows = self.conn.execute(
            f"SELECT t.id, t.name, t.artist, t.album, t.path, p.model, p.mood, p.p_calm, p.p_energetic, "
            f"p.p_happy, p.p_sad, p.extra {base} ORDER BY t.added_at, t.id LIMIT ? OFFSET ?",
            args + [limit, offset],
        ).fetchall()
        out = []
        for r in rows:
            d = dict(r)
            d["extra"] = json.loads(d["extra"]) if d["extra"] else None
            out.append(d)
        return out, total

    # -- features ---------------------------------------------------------------------------
    def put_features(
        self, track_id: str, values: dict[str, float | None], *, source: str | dict
    ) -> None:
        """Store feature values; ``source`` is one string or a ``{feature: source}`` dict."""
        now = time.time()
        rows = [
            (
                track_id,
                k,
                None if v is None else float(v),
                source[k] if isinstance(source, dict) else source,
                now,
            )
            for k, v in values.items()
        ]
        with self.transaction() as c:
            c.execute("INSERT OR IGNORE INTO tracks(id, added_at) VALUES (?, ?)", (track_id, now))
            c.executemany("INSERT OR REPLACE INTO features VALUES (?,?,?,?,?)", rows)
            c.execute("DELETE FROM feature_misses WHERE track_id=?", (track_id,))

    def put_features_many(
        self, rows: Iterable[tuple[str, dict[str, float | None]]], *, source: str | dict
    ) -> None:
        """Many ``(track_id, {feature: value})`` rows in one transaction and one executemany."""
        now = time.time()
        rows = list(rows)
        values = [
            (
                tid,
                k,
                None if v is None else float(v),
                source[k] if isinstance(source, dict) else source,
                now,
            )
            for tid, feats in rows
            for k, v in feats.items()
        ]
        with self.transaction() as c:
            c.executemany(
                "INSERT OR IGNORE INTO tracks(id, added_at) VALUES (?, ?)",
                [(tid, now) for tid, _ in rows],
            )
            c.executemany("INSERT OR REPLACE INTO features VALUES (?,?,?,?,?)", values)
            c.executemany(
                "DELETE FROM feature_misses WHERE track_id=?", [(tid,) for tid, _ in rows]
            )

    def get_features(
        self, track_ids: Iterable[str]
    ) -> dict[str, dict[str, tuple[float | None, str]]]:
        """``{track_id: {feature: (value, source)}}`` for the ids that have any."""
        ids = list(track_ids)
        out: dict[str, dict] = {}
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            q = f"SELECT track_id, name, value, source FROM features WHERE track_id IN ({','.join('?' * len(part))})"
            for r in self.conn.execute(q, part):
                out.setdefault(r["track_id"], {})[r["name"]] = (r["value"], r["source"])
        return out

    def mark_missing(self, track_id: str, provider: str, reason: str) -> None:
        with self.transaction() as c:
            c.execute(
                "INSERT OR IGNORE INTO tracks(id, added_at) VALUES (?, ?)", (track_id, time.time())
            )
            c.execute(
                "INSERT OR REPLACE INTO feature_misses VALUES (?,?,?,?)",
                (track_id, provider, reason, time.time()),
            )

    def get_misses(self, track_ids: Iterable[str]) -> dict[str, dict[str, str]]:
        """``{track_id: {provider: reason}}``."""
        out: dict[str, dict] = {}
        ids = list(track_ids)
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            q = f"SELECT * FROM feature_misses WHERE track_id IN ({','.join('?' * len(part))})"
            for r in self.conn.execute(q, part):
                out.setdefault(r["track_id"], {})[r["provider"]] = r["reason"]
        return out

    # -- labels and predictions -------------------------------------------------------------
    def put_labels(self, rows: Iterable[tuple[str, str, str]]) -> None:
        """``(track_id, mood, source)`` rows."""
        now = time.time()
        with self.transaction() as c:
            for tid, mood, source in rows:
                c.execute("INSERT OR IGNORE INTO tracks(id, added_at) VALUES (?, ?)", (tid, now))
                c.execute(
                    "INSERT OR REPLACE INTO labels VALUES (?,?,?,?)", (tid, mood, source, now)
                )

    def get_labels(self) -> list[dict]:
        return [dict(r) for r in self.conn.execute("SELECT * FROM labels ORDER BY at, track_id")]

    def put_predictions(self, model: str, rows: Iterable[dict]) -> None:
        """Rows with ``id``, ``mood``, ``p_calm`` … ``p_sad`` and optional ``extra`` (JSON-able)."""
        now = time.time()
        rows = list(rows)
        with self.transaction() as c:
            c.executemany(
                "INSERT OR IGNORE INTO tracks(id, added_at) VALUES (?, ?)",
                [(r["id"], now) for r in rows],
            )
            c.executemany(
                "INSERT OR REPLACE INTO predictions VALUES (?,?,?,?,?,?,?,?,?)",
                [
                    (
                        r["id"],
                        model,
                        r["mood"],
                        r.get("p_calm"),
                        r.get("p_energetic"),
                        r.get("p_happy"),
                        r.get("p_sad"),
                        json.dumps(r["extra"], default=str) if r.get("extra") is not None else None,
                        now,
                    )
                    for r in rows
                ],
            )

    def get_predictions(self, track_id: str) -> list[dict]:
        """Every model's prediction for one track, newest first."""
        out = []
        for r in self.conn.execute(
            "SELECT model, mood, p_calm, p_energetic, p_happy, p_sad, extra, at FROM predictions "
            "WHERE track_id=? ORDER BY at DESC, model",
            (track_id,),
        ):
            d = dict(r)
            d["extra"] = json.loads(d["extra"]) if d["extra"] else None
            out.append(d)
        return out

    # -- embeddings (compact: float32 blobs, readable in bulk) ------------------------------
    def put_embeddings(self, model: str, rows: Iterable[tuple[str, object]]) -> None:
        """Store ``(sha, vector)`` rows of one embedding ``model`` (vectors become float32)."""
        import numpy as np

        now = time.time()
        values = []
        for sha, vec in rows:
            v = np.ascontiguousarray(np.asarray(vec, dtype="<f4").ravel())
            values.append((sha, model, int(v.size), v.tobytes(), now))
        with self.transaction() as c:
            c.executemany("INSERT OR REPLACE INTO embeddings VALUES (?,?,?,?,?)", values)

    def get_embeddings(self, model: str, shas: Iterable[str]) -> dict:
        """``{sha: float32 vector}`` for the contents that have an embedding of ``model``."""
        import numpy as np

        shas = list(shas)
        out: dict = {}
        for i in range(0, len(shas), 500):
            part = shas[i : i + 500]
            q = (
                "SELECT sha, vec FROM embeddings WHERE model=? AND "
                f"sha IN ({','.join('?' * len(part))})"
            )
            for sha, blob in self.conn.execute(q, [model, *part]):
                out[sha] = np.frombuffer(blob, dtype="<f4")
        return out

    def embedding_matrix(self, model: str) -> tuple[list[str], object]:
        """Every embedding of ``model`` at once: ``(shas, float32 array of shape (n, dim))``.

        >>> s = Store(":memory:")
        >>> s.put_embeddings("m", [("a", [1.0, 2.0]), ("b", [3.0, 4.0])])
        >>> shas, m = s.embedding_matrix("m")
        >>> shas, m.shape, m.dtype.name
        (['a', 'b'], (2, 2), 'float32')
        """
        import numpy as np

        rows = self.conn.execute(
            "SELECT sha, dim, vec FROM embeddings WHERE model=? ORDER BY sha", (model,)
        ).fetchall()
        if not rows:
            return [], np.zeros((0, 0), dtype=np.float32)
        dim = rows[0][1]
        buf = b"".join(r[2] for r in rows if r[1] == dim)
        shas = [r[0] for r in rows if r[1] == dim]
        return shas, np.frombuffer(buf, dtype="<f4").reshape(len(shas), dim)

    # -- generic caches ---------------------------------------------------------------------
    def kv_get(self, namespace: str, key: str) -> str | None:
        row = self.conn.execute(
            "SELECT value FROM kv WHERE namespace=? AND key=?", (namespace, key)
        ).fetchone()
        return row[0] if row else None

    def kv_put(self, namespace: str, key: str, value: str) -> None:
        with self.transaction() as c:
            c.execute(
                "INSERT OR REPLACE INTO kv VALUES (?,?,?,?)", (namespace, key, value, time.time())
            )

    def kv_keys(self, namespace: str) -> list[str]:
        return [
            r[0] for r in self.conn.execute("SELECT key FROM kv WHERE namespace=?", (namespace,))
        ]
