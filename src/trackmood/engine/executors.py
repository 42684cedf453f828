"""Where the engine's work runs: this process, local worker processes, or a Dask cluster.

Every executor has ``imap(paths, *, window, patches, max_duration, notify)`` yielding
``(index, result)`` as files finish (results of :func:`.work.analyse_file`) and ``close()``.
"""

from __future__ import annotations

import os

from ..errors import SourceError
from ..paths import display
from .pool import WorkerPool
from .work import MAX_DURATION, analyse_file, single_threaded

#: Bump when the analysis output changes: cache keys carry it, so old entries are ignored.
EXTRACTOR_VERSION = "5"  # 5: tempo and key from rhythm.estimate_tempo and key.py


class InProcess:
    """Analyse in this process, one file after the other (``--workers 1``, or a single song).

    ``threads``: the embedding network's threads (a single song: every core; ``--workers 1``:
    one, as a worker). Other native pools run one thread, as in a worker.
    """

    def __init__(self, threads: int = 1):
        self.threads = max(1, threads)

    def imap(self, paths, *, window=None, patches=None, max_duration=MAX_DURATION, notify=None):
        from threadpoolctl import threadpool_limits

        from ..audio import embedding

        before, embedding.THREADS = embedding.THREADS, self.threads
        try:
            with threadpool_limits(1):  # as a worker: one thread per native pool
                for i, p in enumerate(paths):
                    yield (
                        i,
                        analyse_file(p, window=window, patches=patches, max_duration=max_duration),
                    )
        finally:
            embedding.THREADS = before

    def close(self) -> None:
        pass


class Dask:
    """A Dask cluster: ``scheduler`` is an address (``tcp://host:8786``) or a
    ``distributed.Client``. Workers must see the same paths (a shared file system) and have
    trackmood installed; each runs files one by one, single-threaded native code.
    """

    def __init__(self, scheduler):
        try:
            from distributed import Client
        except ImportError:  # pragma: no cover - distributed is a dependency
            raise SourceError(
                "--scheduler needs the 'distributed' package: pip install distributed"
            ) from None
        self.own = not isinstance(scheduler, Client)
        if self.own:
            try:
                self.client = Client(scheduler, timeout="5s")
            except (OSError, TimeoutError, ValueError) as e:
                raise SourceError(
                    f"cannot reach the Dask scheduler at {scheduler!r} ({e}); start one "
                    "with 'dask scheduler' or drop --scheduler"
                ) from None
        else:
            self.client = scheduler
        self.client.run(single_threaded)

    def imap(self, paths, *, window=None, patches=None, max_duration=MAX_DURATION, notify=None):
        from distributed import as_completed

        futures, index = [], {}
        try:
            for i, p in enumerate(paths):
                fut = self.client.submit(
                    analyse_file,
                    os.path.abspath(p),
                    window=window,
                    patches=patches,
                    max_duration=max_duration,
                    key=f"trackmood-{EXTRACTOR_VERSION}-{i}-{abs(hash((p, window, patches)))}",
                    pure=False,
                )
                futures.append(fut)
                index[fut.key] = i
            for fut in as_completed(futures):
                i = index[fut.key]
                try:
                    out = fut.result()
                    if out.get("path") != paths[i]:
                        out = _renamed(out, out.get("path"), paths[i])
                except Exception as e:  # noqa: BLE001 - a lost worker must not stop the batch
                    out = {
                        "path": paths[i],
                        "error": f"{display(paths[i])}: failed on the Dask cluster "
                        f"({type(e).__name__}: {e})",
                    }
                fut.release()
                yield i, out
        finally:
            if futures:
                self.client.cancel(futures)

    def close(self) -> None:
        if self.own:
            self.client.close()


def _renamed(out: dict, old, new: str) -> dict:
    """``out`` naming ``new`` instead of ``old`` (same file, another spelling of its path)."""
    out = {**out, "path": new}
    if old and "error" in out and out["error"].startswith(f"{old}: "):
        out["error"] = f"{new}: {out['error'][len(old) + 2 :]}"
    return out


def make_executor(*, workers: int | None = None, scheduler=None, jobs: int = 2):
    """The executor for a run of ``jobs`` files: Dask with ``scheduler``; else local processes
    (default all cores; ``workers=1`` or a single file: this process). Returns
    ``(executor, owned)``: an owned executor is closed by the caller.
    """
    if scheduler is not None:
        if hasattr(scheduler, "imap"):
            return scheduler, False
        return Dask(scheduler), True
    n = workers if workers and workers > 0 else (os.cpu_count() or 1)
    if min(n, jobs) <= 1:
        # a single song with no --workers: its network may use every core
        return InProcess(threads=n if workers is None and jobs == 1 else 1), True
    n = min(n, jobs)
    if jobs >= 4:
        # load scipy's filters once, before the workers fork (a single song skips this import)
        import scipy.signal  # noqa: F401
        import scipy.sparse  # noqa: F401
    return WorkerPool(workers=n), True
