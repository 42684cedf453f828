"""The user's own moods for tracks of the library (the CLI's ``label`` and the web page's badge).

Labels go to the store's ``labels`` table with source ``user``; a file is named by its path (it
must have been scanned) or by its track id.

>>> from trackmood.store import Store
>>> s = Store(":memory:")
>>> s.upsert_tracks([{"id": "audio:0123456789abcdef", "name": "Song"}])
>>> set_label(s, "audio:0123456789abcdef", "calm")["mood"]
'Calm'
>>> user_labels(s)
{'audio:0123456789abcdef': 'Calm'}
"""

from __future__ import annotations

import os

from ..errors import DataError
from ..moods import normalize_label
from . import catalog


def resolve_track(store, id_or_path: str) -> tuple[str, str | None]:
    """``(track_id, path or None)`` for a scanned file's path or a known track id."""
    text = str(id_or_path)
    catalog.ensure(store)
    candidates = [text]
    if os.path.exists(os.path.expanduser(text)):
        candidates.insert(0, os.path.abspath(os.path.expanduser(text)))
    for c in candidates:
        row = catalog.get_file(store, c)
        if row is not None:
            if not row["track_id"]:
                raise DataError(f"{c}: could not be analysed, so it has no track id")
            return row["track_id"], c
    if store.get_track(text) is not None:
        return text, None
    if os.path.exists(os.path.expanduser(text)):
        raise DataError(f"{text}: not in the library yet; scan its folder first")
    raise DataError(f"{text!r} is neither a scanned file nor a track id in the library")


def set_label(store, id_or_path: str, mood: str) -> dict:
    """Store the user's mood for one track; returns ``{"track_id", "path", "mood"}``.

    Raises :class:`~trackmood.errors.DataError` for an unknown track or mood.
    """
    m = normalize_label(mood)
    tid, path = resolve_track(store, id_or_path)
    store.put_labels([(tid, m, catalog.USER_SOURCE)])
    return {"track_id": tid, "path": path, "mood": m}


def remove_label(store, id_or_path: str) -> bool:
    tid, _ = resolve_track(store, id_or_path)
    return store.delete_labels(tid, catalog.USER_SOURCE) > 0


def user_labels(store) -> dict[str, str]:
    """``{track_id: mood}`` of every label the user gave."""
    return {
        r["track_id"]: r["mood"] for r in store.get_labels() if r["source"] == catalog.USER_SOURCE
    }
