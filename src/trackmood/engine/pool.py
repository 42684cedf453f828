"""The one process pool of the audio engine: it survives crashing workers.

Decoding runs native code (decoders, onnxruntime); a bad file can crash it with a segfault. A
worker that dies costs only time: the pool is replaced, every file it may have held is tried once
more *alone* in the fresh pool (so a second crash is blamed on the file that caused it, not on its
neighbours), and a file that crashes again is reported as a crash for that file; the rest of the
batch goes on. A call may wait at most ``timeout`` seconds with none of its files finishing: then
the pool (stuck on them) is replaced and those files are reported as too slow.

The CLI uses one for a run (``fork``: workers start in milliseconds); the web app keeps one for its
life (``spawn``: nothing forked from a threaded server). The pool is thread-safe.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from ..paths import display
from .work import MAX_DURATION, analyse_file, worker_init

log = logging.getLogger("trackmood.engine")


def _ping() -> bool:
    return True


def death(code: int | None) -> str:
    """How a worker died: ``killed by SIGSEGV``, ``exit code 70``."""
    if code is None:
        return "died"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def crash_error(path: str, how: str) -> dict:
    return {
        "path": path,
        "error": f"{display(path)}: the audio analysis crashed its worker process ({how}), "
        "again when retried alone in a fresh process",
        "crash": how,
    }


def default_context() -> str:
    return "fork" if "fork" in mp.get_all_start_methods() else "spawn"


class WorkerPool:
    """Worker processes that analyse audio files (:func:`.work.analyse_file`).

    Parameters
    ----------
    workers : int
        Processes (started on first use).
    context : ``'fork'`` or ``'spawn'``
    timeout : float, optional
        Seconds a call may wait with none of its files finishing (default: no limit).
    analyser : callable(path, window=None) -> dict, optional
        Replaces the descriptor analysis (a module-level function: sent by reference).
    batch : bool
        Workers load scipy's filters up front (cheaper per file in a batch).
    """

    def __init__(
        self,
        *,
        workers: int = 1,
        context: str | None = None,
        timeout: float | None = None,
        analyser: Callable | None = None,
        batch: bool = True,
    ):
        self.workers = max(1, int(workers))
        self.context = context or default_context()
        self.timeout = timeout
        self.analyser = analyser
        self.batch = batch
        self.crashes = 0
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        self._generation = 0
        self._last_death = "died"
        self._closed = False
        self._procs: dict = {}  # pid -> Process of the current pool

    # -- pool life ------------------------------------------------------------------------------
    def _current(self) -> tuple[ProcessPoolExecutor, int]:
        with self._lock:
            if self._closed:
                raise RuntimeError("the audio worker pool is shut down")
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    max_workers=self.workers,
                    mp_context=mp.get_context(self.context),
                    initializer=worker_init,
                    initargs=(self.batch,),
                )
            return self._pool, self._generation

    def _remember(self, pool, generation: int) -> None:
        with self._lock:
            if generation == self._generation:
                for pid, p in (getattr(pool, "_processes", None) or {}).items():
                    self._procs.setdefault(pid, p)

    def _replace(self, generation: int, why: str) -> None:
        """Throw away the pool of ``generation`` (if it is still the current one)."""
        with self._lock:
            if generation != self._generation or self._pool is None:
                return
            pool, self._pool = self._pool, None
            self._generation += 1
            procs, self._procs = list(self._procs.values()), {}
            dead: list = []
            for _ in range(20):  # the dead worker may not be reaped yet
                dead = [p.exitcode for p in procs if p.exitcode is not None]
                if dead:
                    break
                time.sleep(0.05)
            # the executor terminates the other workers of a broken pool: blame the first death
            # that is not that
            blame = [c for c in dead if c != -signal.SIGTERM] or dead
            self._last_death = death(blame[0] if blame else None)
            if why == "crash":
                self.crashes += 1
            log.warning("audio worker pool replaced (%s: %s)", why, self._last_death)
        _stop(pool, procs)

    def warm(self) -> None:
        """Start the workers now (else they start with the first file)."""
        pool, gen = self._current()
        pool.submit(_ping)
        self._remember(pool, gen)

    def shutdown(self) -> None:
        """Stop the workers."""
        with self._lock:
            pool, self._pool = self._pool, None
            self._generation += 1
            self._closed = True
            procs, self._procs = list(self._procs.values()), {}
        if pool is not None:
            _stop(pool, procs)

    close = shutdown

    # -- work -----------------------------------------------------------------------------------
    def imap(
        self,
        paths: list[str],
        *,
        window: float | None = None,
        patches: int | None = None,
        max_duration: float | None = MAX_DURATION,
        notify: Callable[[str], None] | None = None,
    ) -> Iterator[tuple[int, dict]]:
        """``(index, result)`` for every path, as each finishes; never raises for a file."""
        kw = {"window": window, "patches": patches, "max_duration": max_duration}
        suspects: list[int] = []
        yield from self._run(list(range(len(paths))), paths, kw, suspects)
        if suspects and notify:
            notify(
                f"a worker process died; retrying the {len(suspects)} file(s) it may have been "
                "analysing one at a time in a fresh process"
            )
        for i in suspects:
            again: list[int] = []
            got = list(self._run([i], paths, kw, again))
            if again:
                yield i, crash_error(paths[i], self._last_death)
            else:
                yield from got

    def analyse(
        self, paths: list[str], window: float | None = None, patches: int | None = None
    ) -> list[dict]:
        """One result per path, in order (see :meth:`imap`)."""
        out: list[dict | None] = [None] * len(paths)
        for i, res in self.imap(paths, window=window, patches=patches):
            out[i] = res
        return [r or {"path": p, "error": "not analysed"} for r, p in zip(out, paths, strict=True)]

    def _run(self, todo: list[int], paths, kw, crashed: list[int]) -> Iterator[tuple[int, dict]]:
        """Run ``todo`` (at most 2 per worker in flight); indices a crash took down go to
        ``crashed``.
        """
        pool, gen = self._current()
        rest = list(todo)
        futures: dict = {}

        def submit() -> bool:
            i = rest.pop(0)
            try:
                fut = pool.submit(analyse_file, paths[i], analyser=self.analyser, **kw)
            except (BrokenProcessPool, RuntimeError):  # broken by another call meanwhile
                rest.insert(0, i)
                return False
            futures[fut] = i
            self._remember(pool, gen)
            return True

        while rest and len(futures) < 2 * self.workers:
            if not submit():
                break
        broken = False
        try:
            while futures:
                done, _ = wait(list(futures), timeout=self.timeout, return_when=FIRST_COMPLETED)
                if not done:  # nothing finished in time: the pool is stuck on these files
                    self._replace(gen, "timeout")
                    for f in list(futures):
                        i = futures.pop(f)
                        yield (
                            i,
                            {
                                "path": paths[i],
                                "error": f"{display(paths[i])}: the audio analysis took longer "
                                f"than {self.timeout:g} s",
                            },
                        )
                    break
                for f in done:
                    i = futures.pop(f)
                    try:
                        res = f.result()
                    except BrokenProcessPool:
                        broken = True
                        crashed.append(i)
                        continue
                    except Exception as e:  # noqa: BLE001 - reported for this file
                        first = str(e).splitlines()[0] if str(e) else ""
                        res = {
                            "path": paths[i],
                            "error": f"{display(paths[i])}: analysis failed "
                            f"({type(e).__name__}: {first})",
                        }
                    yield i, res
                    if rest and not broken:
                        submit()
        finally:
            if futures and not broken:  # the caller stopped early (Ctrl-C, generator closed)
                for f in futures:
                    f.cancel()
        if broken:
            self._replace(gen, "crash")
        if rest:  # left after a crash: on in the fresh pool
            yield from self._run(rest, paths, kw, crashed)


def _stop(pool: ProcessPoolExecutor, procs) -> None:
    procs = list(procs) + [
        p for p in (getattr(pool, "_processes", None) or {}).values() if p not in procs
    ]
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        if p.is_alive():
            p.terminate()
    for p in procs:
        p.join(timeout=5)
        if p.is_alive():  # pragma: no cover - a worker stuck in native code
            p.kill()
            p.join(timeout=5)
