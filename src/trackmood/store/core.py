"""The :class:`Store`: the connection, tracks, features, labels and predictions.

Caches (key-value, embeddings) are in :mod:`.caches`, the music-library tables in :mod:`.files`,
every table and migration in :mod:`.schema`, the file's faults in :mod:`.faults`.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import LibraryError
from ..paths import as_text, display
from . import faults, schema
from .caches import Caches
from .files import LibraryFiles
from .listing import LibraryListing

log = logging.getLogger("trackmood.store")


def default_path() -> Path:
    """``$TRACKMOOD_DB`` if set, else the platform's user data folder."""
    env = os.environ.get("TRACKMOOD_DB")
    if env:
        return Path(env)
    from platformdirs import user_data_dir

    return Path(user_data_dir("trackmood")) / "library.sqlite"


class Store(Caches, LibraryFiles, LibraryListing):
    """A connection to the library. Safe to open from several processes (WAL, busy timeout).

    Parameters
    ----------
    path : optional
        The library file (default :func:`default_path`) or ``":memory:"``.
    notify : callable(str), optional
        Told (one line) when an old library is backed up and upgraded; default: a warning of the
        ``trackmood.store`` logger (shown on stderr).

    Raises
    ------
    LibraryError
        The file cannot be opened, read or written (damaged, not a database, read-only, full,
        locked); so can every method.
    """

    def __init__(
        self, path: str | Path | None = None, *, notify: Callable[[str], None] | None = None
    ):
        self.path: str | Path
        if path == ":memory:":
            self.path = path
        else:
            self.path = Path(path) if path is not None else default_path()
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise LibraryError(
                    f"{display(self.path.parent)}: cannot create the library's folder "
                    f"({e.strerror or e}); set TRACKMOOD_DB to a file in a writable folder",
                    path=self.path,
                ) from None
            if self.path.is_dir():
                raise LibraryError(
                    f"{display(self.path)}: cannot open the library: it is a folder, not a file; set "
                    "TRACKMOOD_DB to a file name",
                    path=self.path,
                )
        self.conn = faults.connect(self.path)
        try:
            self.conn.row_factory = sqlite3.Row
            self.conn.execute("PRAGMA foreign_keys = ON")
            if self.path != ":memory:":
                self.conn.execute("PRAGMA journal_mode = WAL")
            self.conn.execute("PRAGMA synchronous = NORMAL")
            with faults.translated(self.path):
                schema.migrate(self.conn, self.path, notify=notify or log.warning)
        except BaseException:
            self.conn.close()
            raise

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
            if self.conn.in_transaction:
                try:
                    self.conn.execute("ROLLBACK")
                except (sqlite3.Error, LibraryError):
                    pass  # the error that got us here says more
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

    def put_provider_results(
        self, found: Iterable[tuple[str, dict, dict]], misses: Iterable[tuple[str, str, str]]
    ) -> None:
        """One provider batch in one transaction: ``(track_id, values, {feature: source})`` rows
        found and ``(track_id, provider, reason)`` misses.
        """
        with self.transaction():
            for tid, values, sources in found:
                self.put_features(tid, values, source=sources)
            for tid, provider, reason in misses:
                self.mark_missing(tid, provider, reason)

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

    def delete_labels(self, track_id: str, source: str) -> int:
        """Forget ``track_id``'s label from ``source``; how many were removed (0 or 1)."""
        with self.transaction() as c:
            return c.execute(
                "DELETE FROM labels WHERE track_id=? AND source=?", (track_id, source)
            ).rowcount

    def add_labeled_tracks(self, tracks: Iterable[dict], labels: Iterable[tuple]) -> None:
        """Tracks (as :meth:`upsert_tracks`) and their ``(track_id, mood, source)`` labels, in one
        transaction.
        """
        with self.transaction():
            self.upsert_tracks(tracks)
            self.put_labels(labels)

    def get_labels(self) -> list[dict]:
        return [dict(r) for r in self.conn.execute("SELECT * FROM labels ORDER BY at, track_id")]

    def put_predictions(self, model: str, rows: Iterable[dict]) -> None:
        """Rows with ``id``, ``mood``, ``p_calm`` … ``p_sad``, optional ``confidence`` (default:
        the probability of ``mood``) and optional ``extra`` (JSON-able).
        """
        now = time.time()
        rows = list(rows)
        with self.transaction() as c:
            c.executemany(
                "INSERT OR IGNORE INTO tracks(id, added_at) VALUES (?, ?)",
                [(r["id"], now) for r in rows],
            )
            c.executemany(
                "INSERT OR REPLACE INTO predictions(track_id, model, mood, p_calm, p_energetic, "
                "p_happy, p_sad, extra, at, confidence) VALUES (?,?,?,?,?,?,?,?,?,?)",
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
                        _confidence(r),
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


def _confidence(row: dict) -> float | None:
    if row.get("confidence") is not None:
        return float(row["confidence"])
    p = row.get("p_" + str(row.get("mood", "")).lower())
    return None if p is None else float(p)
