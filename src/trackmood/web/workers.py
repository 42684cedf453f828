"""Audio analysis in a process pool that the app owns.

Decoding and analysing audio runs native code (decoders, numba-compiled librosa kernels); a bad
file or a broken cache can crash it with a segfault. So it never runs in the server's process:
:class:`AudioPool` hands each file to a worker process (``spawn``: no state forked from a
threaded server). A worker that dies costs only the files it held: the pool is replaced, each
such file is tried once more in the fresh pool, and a file that crashes again is reported as a
crash for that file. The server and its other requests go on. The library's lock is never held
while a file is analysed (the caller takes it only to read the cache and write results).
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

log = logging.getLogger("trackmood.web")

#: Seconds a request may wait with none of its files finishing before the pool is replaced.
DEFAULT_TIMEOUT = 900.0


def _init() -> None:  # pragma: no cover - runs in the worker
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the server's to handle


def _analyse(analyser: Callable | None, path: str, window: float | None) -> dict:
    """The unit of work in a worker: one file's features (or its ``error``)."""
    if analyser is None:
        from ..audio.parallel import extract_one

        analyser = extract_one
    return analyser(path, window=window)


def _ping() -> bool:
    return True


def _death(code: int | None) -> str:
    if code is None:
        return "its worker process died"
    if code < 0:
        try:
            return f"its worker process was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"its worker process was killed by signal {-code}"
    return f"its worker process exited with status {code}"


class AudioPool:
    """A process pool for audio analysis that survives crashing workers.

    Parameters
    ----------
    workers : int
        Worker processes (started on first use).
    analyser : callable(path, window=None) -> dict, optional
        The function run in a worker (default :func:`trackmood.audio.parallel.extract_one`);
        it must be importable by reference (a module-level function).
    timeout : float
        Seconds an :meth:`analyse` call may wait without any of its files finishing before the
        pool (stuck on them) is replaced; its unfinished files are reported as too slow.
    """

    def __init__(self, *, workers: int = 1, analyser: Callable | None = None, timeout=None):
        self.workers = max(1, int(workers))
        self.analyser = analyser
        self.timeout = DEFAULT_TIMEOUT if timeout is None else float(timeout)
        self.crashes = 0
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        self._generation = 0
        self._last_death = "its worker process died"
        self._closed = False
        self._procs: dict = {}  # pid -> Process of the current pool (the pool forgets them)

    def _current(self) -> tuple[ProcessPoolExecutor, int]:
        with self._lock:
            if self._closed:
                raise RuntimeError("the audio worker pool is shut down")
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    max_workers=self.workers, mp_context=mp.get_context("spawn"), initializer=_init
                )
            return self._pool, self._generation

    def _replace(self, generation: int, why: str) -> None:
        """Throw away the pool of ``generation`` (if it is still the current one)."""
        with self._lock:
            if generation != self._generation or self._pool is None:
                return
            pool, self._pool = self._pool, None
            self._generation += 1
            procs = list(self._procs.values())
            self._procs = {}
            for _ in range(20):  # the dead worker may not be reaped yet
                dead = [p.exitcode for p in procs if p.exitcode is not None]
                if dead:
                    break
                time.sleep(0.05)
            self._last_death = _death(dead[0] if dead else None)
            if why == "crash":
                self.crashes += 1
            log.warning("audio worker pool replaced (%s: %s)", why, self._last_death)
        _stop(pool, procs)

    def _remember(self, pool, generation: int) -> None:
        with self._lock:
            if generation == self._generation:
                for pid, p in (getattr(pool, "_processes", None) or {}).items():
                    self._procs.setdefault(pid, p)

    def warm(self) -> None:
        """Start the workers now (else they start with the first file)."""
        pool, gen = self._current()
        pool.submit(_ping)
        self._remember(pool, gen)

    def analyse(self, paths: list[str], window: float | None = None) -> list[dict]:
        """One result per path, in order: ``{"features", ...}`` or ``{"error": "<one line>"}``;
        never raises for a file (a crash becomes that file's error).

        When a worker dies, every file it may have held is tried again alone in the fresh pool,
        so a second crash is blamed on the file that caused it, not on its neighbours.
        """
        results: list[dict | None] = [None] * len(paths)
        suspects = self._batch(list(range(len(paths))), paths, window, results)
        for i in suspects:
            if self._batch([i], paths, window, results):
                results[i] = {
                    "path": paths[i],
                    "error": f"the audio analysis crashed ({self._last_death}); "
                    "the file was tried twice",
                    "crashed": True,
                }
        return [
            r if r is not None else {"path": p, "error": "not analysed"}
            for r, p in zip(results, paths, strict=True)
        ]

    def _batch(self, todo: list[int], paths, window, results) -> list[int]:
        """Run ``todo`` in the pool, filling ``results``; the indices a crash took down."""
        pool, gen = self._current()
        futures = {}
        try:
            for i in todo:
                futures[pool.submit(_analyse, self.analyser, paths[i], window)] = i
                self._remember(pool, gen)
        except BrokenProcessPool:  # broken by another request meanwhile
            for f in futures:
                f.cancel()
            self._replace(gen, "crash")
            return self._batch(todo, paths, window, results)
        crashed = []
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=self.timeout, return_when=FIRST_COMPLETED)
            if not done:  # nothing finished in time: the pool is stuck on these files
                self._replace(gen, "timeout")
                for f in pending:
                    i = futures[f]
                    results[i] = {
                        "path": paths[i],
                        "error": f"the audio analysis took longer than {self.timeout:g} s",
                    }
                break
            for f in done:
                i = futures[f]
                try:
                    results[i] = f.result()
                except BrokenProcessPool:
                    self._replace(gen, "crash")
                    crashed.append(i)
                except Exception as e:  # noqa: BLE001 - reported for this file
                    first = str(e).splitlines()[0] if str(e) else ""
                    results[i] = {
                        "path": paths[i],
                        "error": f"analysis failed ({type(e).__name__}: {first})",
                    }
        return sorted(crashed)

    def shutdown(self) -> None:
        """Stop the workers (on the app's exit)."""
        with self._lock:
            pool, self._pool = self._pool, None
            self._generation += 1
            self._closed = True
            procs, self._procs = list(self._procs.values()), {}
        if pool is not None:
            _stop(pool, procs)


def _stop(pool: ProcessPoolExecutor, procs) -> None:
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        if p.is_alive():
            p.terminate()
    for p in procs:
        p.join(timeout=5)
        if p.is_alive():  # pragma: no cover - a worker stuck in native code
            p.kill()
            p.join(timeout=5)
