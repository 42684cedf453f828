"""The app's audio worker pool: the audio engine's one crash-surviving pool
(:class:`trackmood.engine.WorkerPool`) with the server's settings.

Decoding and analysing audio runs native code; a bad file can crash it with a segfault. So it
never runs in the server's process: each file goes to a worker process (``spawn``: no state
forked from a threaded server). A worker that dies costs only the files it held (see
:mod:`trackmood.engine.pool`); the server and its other requests go on. The library's lock is
never held while a file is analysed.
"""

from __future__ import annotations

from collections.abc import Callable

from ..engine.pool import WorkerPool

#: Seconds a request may wait with none of its files finishing before the pool is replaced.
DEFAULT_TIMEOUT = 900.0


class AudioPool(WorkerPool):
    """:class:`~trackmood.engine.WorkerPool` for the server: ``spawn``, a timeout (default
    :data:`DEFAULT_TIMEOUT`), workers that start light (uploads come one or a few at a time).

    ``analyser(path, window=None) -> dict`` replaces the descriptor analysis (a test hook;
    a module-level function).
    """

    def __init__(self, *, workers: int = 1, analyser: Callable | None = None, timeout=None):
        super().__init__(
            workers=workers,
            context="spawn",
            timeout=DEFAULT_TIMEOUT if timeout is None else float(timeout),
            analyser=analyser,
            batch=False,
        )
