"""The music-library tables inside the trackmood store (created on first use).

``lib_files``
    One row per audio file seen by a scan: where it is (``path``), what the scan saw (``size``,
    ``mtime_ns``, ``sha``), which track it is (``track_id``), its state (``ok``, ``failed``,
    ``missing``), the tags that playlists need (``artist``, ``title``, ``duration``) and the latest
    prediction (``model``, ``mood``, ``p_*``, ``confidence``).
``lib_tag_changes``
    Every tag value trackmood writes into a file, with the value it replaces, so a run can be
    undone; written (committed) *before* the file is replaced, so a killed run can be undone too.
    Pseudo-fields starting with ``_`` keep the ID3 version and how to rebuild the original bytes
    (see :mod:`trackmood.library.tags`).

User labels go to the store's own ``labels`` table with source :data:`USER_SOURCE`; the library's
default model lives in the store's key-value table (namespace :data:`KV`).

>>> from trackmood.store import Store
>>> s = Store(":memory:")
>>> ensure(s)
>>> upsert_files(s, [{"path": "/m/a.mp3", "size": 3, "mtime_ns": 1, "status": "ok"}])
>>> get_file(s, "/m/a.mp3")["size"]
3
"""

from __future__ import annotations

import json
import os
import time
import weakref
from collections.abc import Iterable

from ..moods import PROBA_COLUMNS

#: Source name of the labels a user gives with ``label`` (store table ``labels``).
USER_SOURCE = "user"
#: Key-value namespace of library settings (``default_model``).
KV = "library"

FILE_COLUMNS = (
    "path",
    "size",
    "mtime_ns",
    "sha",
    "track_id",
    "status",
    "error",
    "artist",
    "title",
    "duration",
    "model",
    "mood",
    *PROBA_COLUMNS,
    "confidence",
    "analysed_at",
    "seen_at",
)

_SCHEMA = """
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

_READY: weakref.WeakSet = weakref.WeakSet()


def ensure(store) -> None:
    """Create the library tables if they are not there (cheap after the first call)."""
    if store in _READY:
        return
    with store.transaction() as c:
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                c.execute(statement)
    _READY.add(store)


def upsert_files(store, rows: Iterable[dict]) -> None:
    """Insert or replace file rows (missing columns become NULL) in one transaction."""
    ensure(store)
    rows = list(rows)
    if not rows:
        return
    cols = ",".join(FILE_COLUMNS)
    marks = ",".join("?" * len(FILE_COLUMNS))
    with store.transaction() as c:
        c.executemany(
            f"INSERT OR REPLACE INTO lib_files({cols}) VALUES ({marks})",
            [tuple(r.get(k) for k in FILE_COLUMNS) for r in rows],
        )


def update_file(store, path: str, **values) -> None:
    ensure(store)
    sets = ",".join(f"{k}=?" for k in values)
    with store.transaction() as c:
        c.execute(f"UPDATE lib_files SET {sets} WHERE path=?", (*values.values(), path))


def delete_files(store, paths: Iterable[str]) -> None:
    ensure(store)
    with store.transaction() as c:
        c.executemany("DELETE FROM lib_files WHERE path=?", [(p,) for p in paths])


def get_file(store, path: str) -> dict | None:
    ensure(store)
    row = store.conn.execute("SELECT * FROM lib_files WHERE path=?", (str(path),)).fetchone()
    return dict(row) if row else None


def files_under(store, roots: Iterable[str] | None = None) -> dict[str, dict]:
    """``{path: row}`` of every file under the folders ``roots`` (all files if ``None``), in one
    query: the fast path of a rescan.
    """
    ensure(store)
    out: dict[str, dict] = {}
    cur = store.conn.execute(
        "SELECT path, size, mtime_ns, sha, track_id, status, model FROM lib_files"
    )
    roots = None if roots is None else [r.rstrip("/\\") for r in roots]
    sep = os.sep
    for r in cur:
        p = r[0]
        if roots is None or any(p == root or p.startswith(root + sep) for root in roots):
            out[p] = {
                "path": p,
                "size": r[1],
                "mtime_ns": r[2],
                "sha": r[3],
                "track_id": r[4],
                "status": r[5],
                "model": r[6],
            }
    return out


def files_by_sha(store, shas: Iterable[str]) -> dict[str, list[dict]]:
    """``{sha: [rows]}`` of analysed files with these contents (for moved or renamed files)."""
    ensure(store)
    shas = list(shas)
    out: dict[str, list[dict]] = {}
    for i in range(0, len(shas), 500):
        part = shas[i : i + 500]
        q = f"SELECT * FROM lib_files WHERE status IN ('ok','missing') AND mood IS NOT NULL AND sha IN ({','.join('?' * len(part))})"
        for r in store.conn.execute(q, part):
            out.setdefault(r["sha"], []).append(dict(r))
    return out


def analysed_sizes(store) -> set[int]:
    """Sizes of the files that have a prediction (a moved file must have one of them)."""
    ensure(store)
    return {
        r[0]
        for r in store.conn.execute("SELECT DISTINCT size FROM lib_files WHERE mood IS NOT NULL")
    }


def analysed(store, *, statuses=("ok",)) -> list[dict]:
    """Every file row with one of ``statuses`` and a prediction, by path."""
    ensure(store)
    q = f"SELECT * FROM lib_files WHERE mood IS NOT NULL AND status IN ({','.join('?' * len(statuses))}) ORDER BY path"
    return [dict(r) for r in store.conn.execute(q, statuses)]


# -- tag changes ----------------------------------------------------------------------------
def record_changes(store, run: str, path: str, changes: dict[str, tuple]) -> None:
    """``changes = {field: (old, new)}`` with values ``None`` (absent) or lists of strings."""
    ensure(store)
    now = time.time()
    # the journal must survive a power cut as well as a kill: this commit is fsynced (FULL)
    prev = int(store.conn.execute("PRAGMA synchronous").fetchone()[0])
    store.conn.execute("PRAGMA synchronous = FULL")
    try:
        _insert_changes(store, run, path, changes, now)
    finally:
        store.conn.execute(f"PRAGMA synchronous = {prev}")


def _insert_changes(store, run: str, path: str, changes: dict[str, tuple], now: float) -> None:
    with store.transaction() as c:
        c.executemany(
            "INSERT INTO lib_tag_changes(run, path, field, old, new, at) VALUES (?,?,?,?,?,?)",
            [
                (
                    run,
                    path,
                    f,
                    None if old is None else json.dumps(old),
                    None if new is None else json.dumps(new),
                    now,
                )
                for f, (old, new) in changes.items()
            ],
        )


def last_run(store) -> str | None:
    """The newest tagging run with changes not yet undone."""
    ensure(store)
    row = store.conn.execute(
        "SELECT run FROM lib_tag_changes WHERE undone=0 ORDER BY id DESC LIMIT 1"
    ).fetchone()
    return row[0] if row else None


def run_changes(store, run: str) -> dict[str, dict[str, tuple]]:
    """``{path: {field: (old, new)}}`` of one run (values decoded)."""
    ensure(store)
    out: dict[str, dict[str, tuple]] = {}
    for r in store.conn.execute(
        "SELECT path, field, old, new FROM lib_tag_changes WHERE run=? AND undone=0 ORDER BY id",
        (run,),
    ):
        old = None if r["old"] is None else json.loads(r["old"])
        new = None if r["new"] is None else json.loads(r["new"])
        out.setdefault(r["path"], {})[r["field"]] = (old, new)
    return out


def mark_undone(store, run: str, path: str) -> None:
    """The file of ``run`` at ``path`` holds its old values again (called after the swap)."""
    with store.transaction() as c:
        c.execute("UPDATE lib_tag_changes SET undone=1 WHERE run=? AND path=?", (run, path))


def forget_changes(store, run: str, path: str) -> None:
    """Drop the journal of a file whose replacement did not happen (it holds its old values)."""
    with store.transaction() as c:
        c.execute("DELETE FROM lib_tag_changes WHERE run=? AND path=?", (run, path))


# -- settings -------------------------------------------------------------------------------
def default_model(store) -> str | None:
    """The library's own default model (a folder), if one was adopted; else ``None``."""
    return store.kv_get(KV, "default_model")


def set_default_model(store, model: str | None) -> None:
    if model is None:
        with store.transaction() as c:
            c.execute("DELETE FROM kv WHERE namespace=? AND key='default_model'", (KV,))
    else:
        store.kv_put(KV, "default_model", str(model))
