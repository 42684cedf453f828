"""Names kept for callers of the old module; everything lives in :mod:`trackmood.engine`.

>>> track_id("ab" * 32)
'audio:abababababababab'
"""

from __future__ import annotations

from ..engine import (
    CACHE_NAMESPACE,
    CRASH_HOOK,
    EXTRACTOR_VERSION,
    MAX_DURATION,
    cache_key,
    extract_many,
    file_hash,
    track_id,
)
from ..engine import analyse_file as extract_one

__all__ = [
    "CACHE_NAMESPACE",
    "CRASH_HOOK",
    "EXTRACTOR_VERSION",
    "MAX_DURATION",
    "cache_key",
    "extract_many",
    "extract_one",
    "file_hash",
    "track_id",
]
