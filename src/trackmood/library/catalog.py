"""The music-library files as the library commands see them (the tables and their writes are the
store's: :mod:`trackmood.store.files`).

A file row: where it is (``path``), what the scan saw (``size``, ``mtime_ns``, ``sha``), which
track it is (``track_id``), its state (``ok``, ``failed``, ``missing``), the tags that playlists
need (``artist``, ``title``, ``duration``) and its mood — the track's prediction by the model that
analysed it (``model``, ``mood``, ``p_*``, ``confidence``; kept once, in ``predictions``). Every
tag value trackmood wrote into a file is recorded with the value it replaced, so a run can be
undone; the record is committed (fsynced) *before* the file is replaced, so a killed run can be
undone too.

User labels go to the store's own ``labels`` table with source :data:`USER_SOURCE`; the library's
default model lives in the store's key-value table (namespace :data:`KV`).

>>> from trackmood.store import Store
>>> s = Store(":memory:")
>>> upsert_files(s, [{"path": "/m/a.mp3", "size": 3, "mtime_ns": 1, "status": "ok"}])
>>> get_file(s, "/m/a.mp3")["size"]
3
"""

from __future__ import annotations

from collections.abc import Iterable

from ..moods import PROBA_COLUMNS
from ..store.files import FILE_COLUMNS

__all__ = ["FILE_COLUMNS", "KV", "PROBA_COLUMNS", "USER_SOURCE"]

#: Source name of the labels a user gives with ``label`` (store table ``labels``).
USER_SOURCE = "user"
#: Key-value namespace of library settings (``default_model``).
KV = "library"


def ensure(store) -> None:
    """Nothing to do: the library tables are part of the store's schema (version 3)."""


def upsert_files(store, rows: Iterable[dict]) -> None:
    """Insert or replace file rows (missing columns become NULL) in one transaction."""
    store.upsert_files(rows)


def update_file(store, path: str, **values) -> None:
    store.update_file(path, **values)


def delete_files(store, paths: Iterable[str]) -> None:
    store.delete_files(paths)


def get_file(store, path: str) -> dict | None:
    return store.get_file(path)


def files_under(store, roots: Iterable[str] | None = None) -> dict[str, dict]:
    """``{path: row}`` of every file under the folders ``roots`` (all files if ``None``), in one
    query: the fast path of a rescan.
    """
    return store.files_under(roots)


def files_by_sha(store, shas: Iterable[str]) -> dict[str, list[dict]]:
    """``{sha: [rows]}`` of analysed files with these contents (for moved or renamed files)."""
    return store.files_by_sha(shas)


def analysed_sizes(store) -> set[int]:
    """Sizes of the files that have a prediction (a moved file must have one of them)."""
    return store.analysed_sizes()


def analysed(store, *, statuses=("ok",)) -> list[dict]:
    """Every file row with one of ``statuses`` and a prediction, by path."""
    return store.analysed(statuses=statuses)


def measures(store, track_ids: Iterable[str]) -> dict[str, dict[str, float | None]]:
    """``{track_id: {name: value}}``: what the analysis measured and estimated for these tracks
    (``tempo`` and its confidence, ``key``, ``mode``, ``key_confidence``, ``loudness``,
    ``valence``, ``energy`` …), from the store's features.
    """
    return {
        tid: {name: value for name, (value, _source) in feats.items()}
        for tid, feats in store.get_features([t for t in track_ids if t]).items()
    }


# -- tag changes ----------------------------------------------------------------------------
def record_changes(store, run: str, path: str, changes: dict[str, tuple]) -> None:
    """``changes = {field: (old, new)}`` with values ``None`` (absent) or lists of strings."""
    store.record_tag_changes(run, path, changes)


def last_run(store) -> str | None:
    """The newest tagging run with changes not yet undone."""
    return store.last_tag_run()


def run_changes(store, run: str) -> dict[str, dict[str, tuple]]:
    """``{path: {field: (old, new)}}`` of one run (values decoded)."""
    return store.tag_run_changes(run)


def mark_undone(store, run: str, path: str) -> None:
    """The file of ``run`` at ``path`` holds its old values again (called after the swap)."""
    store.mark_tag_undone(run, path)


def forget_changes(store, run: str, path: str) -> None:
    """Drop the journal of a file whose replacement did not happen (it holds its old values)."""
    store.forget_tag_changes(run, path)


# -- settings -------------------------------------------------------------------------------
def default_model(store) -> str | None:
    """The library's own default model (a folder), if one was adopted; else ``None``."""
    return store.kv_get(KV, "default_model")


def set_default_model(store, model: str | None) -> None:
    if model is None:
        store.kv_delete(KV, "default_model")
    else:
        store.kv_put(KV, "default_model", str(model))
