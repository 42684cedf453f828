"""The library store: one SQLite file of tracks, features (with their source), labels, predictions,
embeddings, the music-library files and caches for the Spotify/ReccoBeats and audio sources.

Every table, migration and write of the library is in this package: :mod:`.schema` (tables and the
versioned migrations, with a backup before one), :mod:`.core` (:class:`Store`), :mod:`.caches`
(key-value, float32 embeddings), :mod:`.files` (scanned files, tag changes), :mod:`.faults`
(SQLite errors about the file → :class:`~trackmood.errors.LibraryError`) and :mod:`.check`
(integrity check, starting a new library).

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

from .core import Store, default_path
from .schema import SCHEMA_VERSION

__all__ = ["SCHEMA_VERSION", "Store", "default_path"]
