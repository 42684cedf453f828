"""The store's caches: key-value pages (HTTP, extraction results, settings) and embeddings as
float32 vectors, readable in bulk (:meth:`Caches.embedding_matrix`).

The musicnn embeddings that callers still read and write as kv JSON (namespace ``musicnn``) are
kept in ``embeddings`` (see :mod:`.kvembed`).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from . import kvembed


class Caches:
    """Mixed into :class:`~trackmood.store.Store` (uses its ``conn`` and ``transaction``)."""

    if TYPE_CHECKING:  # provided by Store
        conn: sqlite3.Connection

        def transaction(self) -> AbstractContextManager[sqlite3.Connection]: ...

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

        >>> from trackmood.store import Store
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

    # -- similar tracks (issue 17, branch similar): which embeddings exist ------------------
    def embedding_models(self) -> dict[str, tuple[int, int]]:
        """``{embedding model: (vectors, dim)}`` of every model in ``embeddings`` (the counts
        from the primary key alone, the width from one row).
        """
        out = {}
        for model, n in self.conn.execute(
            "SELECT model, count(*) FROM embeddings GROUP BY model"
        ).fetchall():
            row = self.conn.execute(
                "SELECT dim FROM embeddings WHERE model=? LIMIT 1", (model,)
            ).fetchone()
            out[model] = (int(n), int(row[0]) if row else 0)
        return out

    def embedding_shas(self, model: str) -> set[str]:
        """The content hashes that have an embedding of ``model`` (read from the key alone)."""
        return {
            r[0] for r in self.conn.execute("SELECT sha FROM embeddings WHERE model=?", (model,))
        }

    # ----------------------------------------------------------------------------------------
    def embedding_names(self, model: str) -> list[str] | None:
        """The feature name of each element of ``model``'s vectors, if known."""
        row = self.conn.execute(
            "SELECT names FROM embedding_columns WHERE model=?", (model,)
        ).fetchone()
        return json.loads(row[0]) if row else None

    # -- key-value --------------------------------------------------------------------------
    def kv_get(self, namespace: str, key: str) -> str | None:
        if namespace == kvembed.NAMESPACE and (where := kvembed.parse_key(key)):
            row = self.conn.execute(
                "SELECT e.vec, c.names FROM embeddings e JOIN embedding_columns c "
                "ON c.model = e.model WHERE e.model=? AND e.sha=?",
                where,
            ).fetchone()
            if row is not None:
                return json.dumps(kvembed.decode(json.loads(row[1]), row[0]))
        row = self.conn.execute(
            "SELECT value FROM kv WHERE namespace=? AND key=?", (namespace, key)
        ).fetchone()
        return row[0] if row else None

    def kv_put(self, namespace: str, key: str, value: str) -> None:
        if namespace == kvembed.NAMESPACE and (where := kvembed.parse_key(key)):
            try:
                names, blob = kvembed.encode(json.loads(value))
            except (ValueError, TypeError, AttributeError):
                names = None
            if names is not None and self.embedding_names(where[0]) in (None, names):
                with self.transaction() as c:
                    c.execute(
                        "INSERT OR IGNORE INTO embedding_columns VALUES (?, ?)",
                        (where[0], json.dumps(names)),
                    )
                    c.execute(
                        "INSERT OR REPLACE INTO embeddings VALUES (?,?,?,?,?)",
                        (where[1], where[0], len(names), blob, time.time()),
                    )
                return
        with self.transaction() as c:
            c.execute(
                "INSERT OR REPLACE INTO kv VALUES (?,?,?,?)", (namespace, key, value, time.time())
            )

    def kv_delete(self, namespace: str, key: str) -> None:
        with self.transaction() as c:
            c.execute("DELETE FROM kv WHERE namespace=? AND key=?", (namespace, key))

    def kv_keys(self, namespace: str) -> list[str]:
        keys = [
            r[0] for r in self.conn.execute("SELECT key FROM kv WHERE namespace=?", (namespace,))
        ]
        if namespace == kvembed.NAMESPACE:
            for model, sha in self.conn.execute(
                "SELECT e.model, e.sha FROM embeddings e JOIN embedding_columns c "
                "ON c.model = e.model"
            ):
                if (k := kvembed.key_of(model, sha)) is not None:
                    keys.append(k)
        return keys

    def carry_content(self, old_sha: str, new_sha: str, namespaces: Iterable[str]) -> None:
        """What is cached for the content ``old_sha`` also answers for ``new_sha`` (a file whose
        tags changed): kv entries of ``namespaces`` whose key holds the old hash, and embeddings.
        """
        spaces = list(namespaces)
        with self.transaction() as c:
            if spaces:
                c.execute(
                    "INSERT OR IGNORE INTO kv(namespace, key, value, at) SELECT namespace, "
                    "replace(key, ?, ?), value, at FROM kv WHERE instr(key, ?) > 0 AND "
                    f"namespace IN ({','.join('?' * len(spaces))})",
                    (old_sha, new_sha, old_sha, *spaces),
                )
            c.execute(
                "INSERT OR IGNORE INTO embeddings(sha, model, dim, vec, at) "
                "SELECT ?, model, dim, vec, at FROM embeddings WHERE sha=?",
                (new_sha, old_sha),
            )
