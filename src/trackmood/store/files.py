"""The music-library tables of the store: ``lib_files`` and ``lib_tag_changes``.

A file row keeps what a scan saw (path, size, mtime, content hash, tags, state) and which track
it is; its mood is that track's row in ``predictions`` for the model that analysed the file (one
copy of each prediction). Rows read back carry the prediction columns as before
(:data:`FILE_COLUMNS`).
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from ..moods import PROBA_COLUMNS

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
#: What a file row keeps itself; the others are its track's prediction.
PREDICTION_FIELDS = ("mood", *PROBA_COLUMNS, "confidence")
FACT_COLUMNS = tuple(c for c in FILE_COLUMNS if c not in PREDICTION_FIELDS)

_JOIN = (
    "FROM lib_files f LEFT JOIN predictions p ON p.track_id = f.track_id "
    "AND p.model = f.model AND f.status IN ('ok', 'missing')"
)
_SELECT = (
    "SELECT "
    + ", ".join(f"p.{c}" if c in PREDICTION_FIELDS else f"f.{c}" for c in FILE_COLUMNS)
    + f" {_JOIN}"
)


class LibraryFiles:
    """Mixed into :class:`~trackmood.store.Store` (uses its ``conn`` and ``transaction``)."""

    if TYPE_CHECKING:  # provided by Store
        conn: sqlite3.Connection

        def transaction(self) -> AbstractContextManager[sqlite3.Connection]: ...

    # -- writing ----------------------------------------------------------------------------
    def _put_file_predictions(self, c, rows: list[dict]) -> None:
        """The prediction columns of file rows become their track's prediction."""
        now = time.time()
        preds = [
            r
            for r in rows
            if r.get("mood") is not None and r.get("track_id") and r.get("model") is not None
        ]
        if not preds:
            return
        c.executemany(
            "INSERT OR IGNORE INTO tracks(id, path, added_at) VALUES (?, ?, ?)",
            [(r["track_id"], r.get("path"), now) for r in preds],
        )
        c.executemany(
            "INSERT INTO predictions(track_id, model, mood, p_calm, p_energetic, p_happy, p_sad, "
            "confidence, at) VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT(track_id, model) DO UPDATE "
            "SET mood=excluded.mood, p_calm=excluded.p_calm, p_energetic=excluded.p_energetic, "
            "p_happy=excluded.p_happy, p_sad=excluded.p_sad, "
            "confidence=coalesce(excluded.confidence, confidence), at=excluded.at",
            [
                (
                    r["track_id"],
                    r["model"],
                    r["mood"],
                    *(r.get(k) for k in PROBA_COLUMNS),
                    r.get("confidence"),
                    r.get("analysed_at") or now,
                )
                for r in preds
            ],
        )

    def upsert_files(self, rows: Iterable[dict]) -> None:
        """Insert or replace file rows (missing columns become NULL) in one transaction; their
        ``mood``, ``p_*`` and ``confidence`` go to the track's prediction of ``model``.
        """
        rows = list(rows)
        if not rows:
            return
        cols = ",".join(FACT_COLUMNS)
        marks = ",".join("?" * len(FACT_COLUMNS))
        with self.transaction() as c:
            c.executemany(
                f"INSERT OR REPLACE INTO lib_files({cols}) VALUES ({marks})",
                [tuple(r.get(k) for k in FACT_COLUMNS) for r in rows],
            )
            self._put_file_predictions(c, rows)

    def update_file(self, path: str, **values) -> None:
        """Change some columns of one file row (prediction columns change its prediction)."""
        facts = {k: v for k, v in values.items() if k not in PREDICTION_FIELDS}
        bad = [k for k in facts if k not in FACT_COLUMNS]
        if bad:
            raise KeyError(f"not a library file column: {bad}")
        with self.transaction() as c:
            if facts:
                sets = ",".join(f"{k}=?" for k in facts)
                c.execute(f"UPDATE lib_files SET {sets} WHERE path=?", (*facts.values(), path))
            if len(facts) < len(values):
                row = self.get_file(path)
                if row is not None:
                    self._put_file_predictions(c, [{**row, **values}])

    def set_file_results(self, rows: Iterable[dict]) -> None:
        """New predictions of known files: rows with ``path``, ``status``, ``error``, ``model``,
        ``analysed_at`` and (when ok) ``mood``, ``p_*``, ``confidence``; one transaction.
        """
        rows = list(rows)
        with self.transaction() as c:
            c.executemany(
                "UPDATE lib_files SET status=?, error=?, model=?, analysed_at=? WHERE path=?",
                [
                    (r["status"], r.get("error"), r["model"], r["analysed_at"], r["path"])
                    for r in rows
                ],
            )
            known = {r["path"]: r for r in map(self.get_file, [r["path"] for r in rows]) if r}
            self._put_file_predictions(
                c,
                [
                    {**known[r["path"]], **r}
                    for r in rows
                    if r["path"] in known and r["status"] == "ok"
                ],
            )

    def mark_files_missing(self, paths: Iterable[str]) -> None:
        with self.transaction() as c:
            c.executemany(
                "UPDATE lib_files SET status='missing' WHERE path=?", [(p,) for p in paths]
            )

    def delete_files(self, paths: Iterable[str]) -> None:
        with self.transaction() as c:
            c.executemany("DELETE FROM lib_files WHERE path=?", [(p,) for p in paths])

    # -- reading ----------------------------------------------------------------------------
    def get_file(self, path: str) -> dict | None:
        row = self.conn.execute(f"{_SELECT} WHERE f.path=?", (str(path),)).fetchone()
        return dict(row) if row else None

    def files_under(self, roots: Iterable[str] | None = None) -> dict[str, dict]:
        """``{path: row}`` (file facts and ``model``) of every file under the folders ``roots``
        (all files if ``None``), in one query: the fast path of a rescan.
        """
        out: dict[str, dict] = {}
        cur = self.conn.execute(
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

    def files_by_sha(self, shas: Iterable[str]) -> dict[str, list[dict]]:
        """``{sha: [rows]}`` of analysed files with these contents (for moved or renamed files)."""
        shas = list(shas)
        out: dict[str, list[dict]] = {}
        for i in range(0, len(shas), 500):
            part = shas[i : i + 500]
            q = f"{_SELECT} WHERE p.mood IS NOT NULL AND f.sha IN ({','.join('?' * len(part))})"
            for r in self.conn.execute(q, part):
                out.setdefault(r["sha"], []).append(dict(r))
        return out

    def analysed_sizes(self) -> set[int]:
        """Sizes of the files that have a prediction (a moved file must have one of them)."""
        q = f"SELECT DISTINCT f.size {_JOIN} WHERE p.mood IS NOT NULL"
        return {r[0] for r in self.conn.execute(q)}

    def analysed(self, *, statuses=("ok",)) -> list[dict]:
        """Every file row with one of ``statuses`` and a prediction, by path."""
        q = (
            f"{_SELECT} WHERE p.mood IS NOT NULL AND f.status IN "
            f"({','.join('?' * len(statuses))}) ORDER BY f.path"
        )
        return [dict(r) for r in self.conn.execute(q, tuple(statuses))]

    # -- similar tracks (issue 17, branch similar) ------------------------------------------
    #: The columns of :meth:`searchable_files`.
    SEARCHABLE_COLUMNS = (
        "path",
        "sha",
        "track_id",
        "artist",
        "title",
        "duration",
        "model",
        "mood",
        "confidence",
    )

    def searchable_files(self) -> list[tuple]:
        """Analysed ``ok`` files with a content hash and a mood, by path: tuples of
        :attr:`SEARCHABLE_COLUMNS` (lean rows for the similar-tracks index).
        """
        q = (
            "SELECT f.path, f.sha, f.track_id, f.artist, f.title, f.duration, f.model, p.mood, "
            f"p.confidence {_JOIN} WHERE p.mood IS NOT NULL AND f.status = 'ok' "
            "AND f.sha IS NOT NULL ORDER BY f.path"
        )
        return [tuple(r) for r in self.conn.execute(q).fetchall()]

    def searchable_signature(self) -> tuple:
        """Changes whenever :meth:`searchable_files` may have changed (files added, removed,
        rescanned or gone missing; predictions added, replaced or deleted): one pass over the
        files and predictions, no row returned.
        """
        files = self.conn.execute(
            "SELECT count(*), sum(status = 'ok'), max(seen_at), max(analysed_at) FROM lib_files"
        ).fetchone()
        preds = self.conn.execute("SELECT count(*), max(at) FROM predictions").fetchone()
        return (*files, *preds)

    # ----------------------------------------------------------------------------------------
    def file_shas(self, track_id: str) -> list[tuple[str, str]]:
        """``(sha, path)`` of the files that are ``track_id`` (with a known content hash)."""
        return [
            (r[0], r[1])
            for r in self.conn.execute(
                "SELECT sha, path FROM lib_files WHERE track_id=? AND sha IS NOT NULL", (track_id,)
            )
        ]

    # -- tag changes ------------------------------------------------------------------------
    def record_tag_changes(self, run: str, path: str, changes: dict[str, tuple]) -> None:
        """``changes = {field: (old, new)}`` with values ``None`` (absent) or lists of strings.

        The journal of a file is written before the file is replaced, so this commit is fsynced
        (``synchronous = FULL``): it survives a power cut as well as a kill.
        """
        now = time.time()
        prev = int(self.conn.execute("PRAGMA synchronous").fetchone()[0])
        self.conn.execute("PRAGMA synchronous = FULL")
        try:
            self._insert_tag_changes(run, path, changes, now)
        finally:
            self.conn.execute(f"PRAGMA synchronous = {prev}")

    def _insert_tag_changes(self, run: str, path: str, changes: dict, now: float) -> None:
        with self.transaction() as c:
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

    def last_tag_run(self) -> str | None:
        """The newest tagging run with changes not yet undone."""
        row = self.conn.execute(
            "SELECT run FROM lib_tag_changes WHERE undone=0 ORDER BY id DESC LIMIT 1"
        ).fetchone()
        return row[0] if row else None

    def tag_run_changes(self, run: str) -> dict[str, dict[str, tuple]]:
        """``{path: {field: (old, new)}}`` of one run (values decoded)."""
        out: dict[str, dict[str, tuple]] = {}
        for r in self.conn.execute(
            "SELECT path, field, old, new FROM lib_tag_changes WHERE run=? AND undone=0 "
            "ORDER BY id",
            (run,),
        ):
            old = None if r["old"] is None else json.loads(r["old"])
            new = None if r["new"] is None else json.loads(r["new"])
            out.setdefault(r["path"], {})[r["field"]] = (old, new)
        return out

    def mark_tag_undone(self, run: str, path: str) -> None:
        """The file of ``run`` at ``path`` holds its old values again (called after the swap)."""
        with self.transaction() as c:
            c.execute("UPDATE lib_tag_changes SET undone=1 WHERE run=? AND path=?", (run, path))

    def forget_tag_changes(self, run: str, path: str) -> None:
        """Drop the journal of a file whose replacement did not happen (it holds its old values)."""
        with self.transaction() as c:
            c.execute("DELETE FROM lib_tag_changes WHERE run=? AND path=?", (run, path))
