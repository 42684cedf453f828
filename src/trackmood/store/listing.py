"""Reading the music library as a list: every analysed file with its track's mood, confidence,
how uncertain the model is, its valence/energy estimate and the user's own label.

Used by ``trackmood library ls``, ``label --suggest`` and the web page's library view (paged,
filtered, with true totals). A prediction is *uncertain* when its two most likely moods are
closer than :data:`UNCERTAIN_MARGIN`.

>>> from trackmood.store import Store
>>> s = Store(":memory:")
>>> s.upsert_files([{"path": "/m/a.mp3", "track_id": "audio:a", "status": "ok", "model": "m",
...     "mood": "Calm", "p_calm": 0.4, "p_energetic": 0.05, "p_happy": 0.2, "p_sad": 0.35}])
>>> rows, total = s.library_tracks(uncertain=True)
>>> total, rows[0]["mood"], round(rows[0]["margin"], 2), rows[0]["uncertain"]
(1, 'Calm', 0.05, True)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite3

#: A prediction whose two most likely moods are closer than this is "uncertain".
UNCERTAIN_MARGIN = 0.15

_P = ("p.p_calm", "p.p_energetic", "p.p_happy", "p.p_sad")
_TOP = f"max({', '.join(_P)})"
# the second largest of four values is the largest of the pairwise minimums
_SECOND = "max(" + ", ".join(f"min({a}, {b})" for i, a in enumerate(_P) for b in _P[i + 1 :]) + ")"
_MARGIN = f"({_TOP} - {_SECOND})"

_FROM = (
    "FROM lib_files f "
    "JOIN predictions p ON p.track_id = f.track_id AND p.model = f.model "
    "LEFT JOIN features fv ON fv.track_id = f.track_id AND fv.name = 'valence' "
    "LEFT JOIN features fe ON fe.track_id = f.track_id AND fe.name = 'energy' "
    "LEFT JOIN labels l ON l.track_id = f.track_id AND l.source = ? "
    "LEFT JOIN tracks t ON t.id = f.track_id "
)
_COLUMNS = (
    "f.path, f.track_id, f.sha, f.status, f.model, f.duration, "
    "coalesce(f.artist, t.artist) AS artist, coalesce(f.title, t.name) AS title, "
    "p.mood, p.p_calm, p.p_energetic, p.p_happy, p.p_sad, "
    f"coalesce(p.confidence, {_TOP}) AS confidence, {_MARGIN} AS margin, "
    "fv.value AS valence, fe.value AS energy, l.mood AS label"
)
_ORDERS = {
    "path": "f.path",
    "confidence": "confidence, f.path",
    "margin": "margin, f.path",
    "mood": "p.mood, f.path",
}


class LibraryListing:
    """Mixed into :class:`~trackmood.store.Store` (uses its ``conn``)."""

    if TYPE_CHECKING:
        conn: sqlite3.Connection

    # -- library listing (issue 18: ``library ls``, suggestions, the page) ------------------
    def _listing_where(self, mood, uncertain, labelled, margin, statuses):
        where = [f"f.status IN ({','.join('?' * len(statuses))})"]
        args: list = list(statuses)
        if mood:
            where.append("p.mood = ?")
            args.append(mood)
        if uncertain is not None:
            where.append(f"{_MARGIN} {'<' if uncertain else '>='} ?")
            args.append(margin)
        if labelled is not None:
            where.append(f"l.mood IS {'NOT ' if labelled else ''}NULL")
        return " WHERE " + " AND ".join(where), args

    def library_tracks(
        self,
        *,
        mood: str | None = None,
        uncertain: bool | None = None,
        labelled: bool | None = None,
        limit: int | None = None,
        offset: int = 0,
        order: str = "path",
        margin: float = UNCERTAIN_MARGIN,
        statuses: Iterable[str] = ("ok",),
        label_source: str = "user",
    ) -> tuple[list[dict], int]:
        """``(rows, total)``: analysed library files (one row per file) matching the filters,
        paged by ``limit``/``offset``; ``total`` counts every match. ``uncertain``/``labelled``
        ``None`` means either.
        """
        if order not in _ORDERS:
            raise ValueError(f"order must be one of {sorted(_ORDERS)}")
        statuses = tuple(statuses)
        where, args = self._listing_where(mood, uncertain, labelled, margin, statuses)
        args = [label_source, *args]
        total = self.conn.execute(f"SELECT count(*) {_FROM}{where}", args).fetchone()[0]
        page = " LIMIT ? OFFSET ?" if limit is not None else ""
        extra = [int(limit), int(offset)] if limit is not None else []
        rows = []
        for r in self.conn.execute(
            f"SELECT {_COLUMNS} {_FROM}{where} ORDER BY {_ORDERS[order]}{page}", [*args, *extra]
        ):
            d = dict(r)
            d["uncertain"] = d["margin"] is not None and d["margin"] < margin
            rows.append(d)
        return rows, total

    def library_size(self, statuses: Iterable[str] = ("ok",)) -> int:
        """How many library files have a prediction (with one of ``statuses``)."""
        statuses = tuple(statuses)
        q = (
            "SELECT count(*) FROM lib_files f JOIN predictions p ON p.track_id = f.track_id "
            f"AND p.model = f.model WHERE f.status IN ({','.join('?' * len(statuses))})"
        )
        return self.conn.execute(q, statuses).fetchone()[0]

    def library_points(self) -> list[tuple]:
        """``(track_id, valence, energy, mood, label, margin)`` of every analysed track (one per
        track), for the mood map: a compact read of a large library.
        """
        q = (
            f"SELECT f.track_id, fv.value, fe.value, p.mood, l.mood, {_MARGIN} "
            f"{_FROM} WHERE f.status = 'ok' GROUP BY f.track_id"
        )
        return [tuple(r) for r in self.conn.execute(q, ("user",))]

    def library_file_paths(self, track_id: str) -> list[tuple[str, int | None, int | None]]:
        """``(path, size, mtime_ns)`` as the scan saw them, of the library's files of
        ``track_id`` (any state), by path.
        """
        return [
            (r[0], r[1], r[2])
            for r in self.conn.execute(
                "SELECT path, size, mtime_ns FROM lib_files WHERE track_id=? ORDER BY path",
                (track_id,),
            )
        ]

    def is_library_file(self, path: str) -> bool:
        """Whether ``path`` is recorded in the library (as scanned, exactly)."""
        q = "SELECT 1 FROM lib_files WHERE path=?"
        return self.conn.execute(q, (str(path),)).fetchone() is not None
