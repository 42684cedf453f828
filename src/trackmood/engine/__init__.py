"""The audio engine: the one way audio files become features, for the CLI, the web app and the
library alike (through :func:`trackmood.pipeline.run` and the audio source).

- :mod:`.files` — the one file finder (one hidden rule, names that are not UTF-8 reported, never a
  crash) and the one content hash;
- :mod:`.read` — decode once: descriptors and the musicnn embedding from the same decoded audio,
  on a fixed budget of excerpts for long tracks (cost and memory independent of length);
- :mod:`.work` — the unit of work in a worker process (single-threaded native code);
- :mod:`.pool` — the one crash-surviving process pool; :mod:`.executors` — this process, local
  processes or a Dask cluster;
- :mod:`.cache` — the one cache keyed by content, in the library store;
- :mod:`.core` — :class:`Engine`, which ties them together.
"""

from __future__ import annotations

from .cache import CACHE_NAMESPACE, cache_key, embedding_model
from .core import Engine, extract_many
from .executors import EXTRACTOR_VERSION, make_executor
from .files import Found, file_hash, find_audio, has_audio, track_id
from .pool import WorkerPool
from .work import CRASH_HOOK, MAX_DURATION, analyse_file

__all__ = [
    "CACHE_NAMESPACE",
    "CRASH_HOOK",
    "EXTRACTOR_VERSION",
    "MAX_DURATION",
    "Engine",
    "Found",
    "WorkerPool",
    "analyse_file",
    "cache_key",
    "embedding_model",
    "extract_many",
    "file_hash",
    "find_audio",
    "has_audio",
    "make_executor",
    "track_id",
]
