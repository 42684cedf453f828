"""The audio engine: files → results (features or a one-line error), each file decoded once.

:meth:`Engine.results` finds the files (:func:`.files.find_audio`), hashes them, answers known
contents from the cache (:mod:`.cache`), analyses each other content once (same bytes under
several names: once) on its executor, keeps every finished result in the cache the moment it
arrives (an interrupted batch keeps its work) and yields one result per file as it finishes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from . import cache
from .executors import make_executor
from .files import file_hash, find_audio, track_id
from .work import MAX_DURATION


class Engine:
    """The one audio engine.

    Parameters
    ----------
    store : trackmood.store.Store, optional
        Where the cache lives (``None``: no cache).
    workers : int, optional
        Local processes (default all cores; ``1``: this process).
    scheduler : str, distributed.Client or WorkerPool, optional
        Run on a Dask cluster (an address or a client), or on a pool the caller owns (the web
        app's).
    window : float, optional
        Also give each file's descriptors per ``window``-second slice (``windows``).
    patches : int, optional
        Also compute the musicnn embedding with this patch budget (columns ``mn_*``).
    record : bool
        Keep each analysed track and its measured columns in the store (``extract``, which has
        no pipeline to do it).
    """

    def __init__(
        self,
        *,
        store=None,
        workers: int | None = None,
        scheduler=None,
        window: float | None = None,
        patches: int | None = None,
        max_duration: float | None = MAX_DURATION,
        record: bool = False,
        lock=None,
    ):
        self.store, self.workers, self.scheduler = store, workers, scheduler
        self.window, self.patches, self.max_duration = window, patches, max_duration
        self.record = record
        self.lock = lock  # held around every store access (the web app's library lock)

    def _locked(self):
        import contextlib

        return self.lock if self.lock is not None else contextlib.nullcontext()

    def results(
        self,
        paths: Iterable[str | Path],
        *,
        progress: Callable[[int, int], None] | None = None,
        notify: Callable[[str], None] | None = None,
        found=None,
    ) -> Iterator[dict]:
        """One result per file, as each finishes: ``path``, ``name``, ``sha``, ``id``,
        ``cached`` and ``features`` (+ ``windows``) or ``error``.
        """
        found = found or find_audio(paths)
        files = found.paths
        total = len(files) + len(found.bad)
        done = 0

        def tick():
            nonlocal done
            done += 1
            if progress:
                progress(done, total)

        for shown, line in found.bad:
            yield {"path": shown, "name": Path(shown).stem, "sha": None, "id": None,
                   "cached": False, "error": line}  # fmt: skip
            tick()
        todo: list[tuple[str, str]] = []
        twins: dict[str, list[str]] = {}
        for p in files:
            try:
                sha = file_hash(p)
            except OSError as e:
                yield _result(p, None, {"error": f"{p}: cannot read ({e.strerror or e})"}, False)
                tick()
                continue
            with self._locked():
                hit = cache.get(self.store, sha, window=self.window, patches=self.patches)
            if hit is not None:
                res = _result(p, sha, hit, True)
                self._record(res)
                yield res
                tick()
            elif sha in twins:
                twins[sha].append(p)
            else:
                twins[sha] = []
                todo.append((p, sha))
        if not todo:
            return
        # largest files first: the batch ends with small ones, which keeps all workers busy
        todo.sort(key=lambda j: -_size(j[0]))
        executor, owned = make_executor(
            workers=self.workers, scheduler=self.scheduler, jobs=len(todo)
        )
        try:
            for i, out in executor.imap(
                [p for p, _ in todo],
                window=self.window,
                patches=self.patches,
                max_duration=self.max_duration,
                notify=notify,
            ):
                path, sha = todo[i]
                if "error" not in out or "skip" in out:  # a skip is as final as features
                    with self._locked():
                        cache.put(
                            self.store,
                            sha,
                            out,
                            path=path,
                            window=self.window,
                            patches=self.patches,
                        )
                res = _result(path, sha, out, False)
                self._record(res)
                yield res
                tick()
                for twin in twins.get(sha, []):
                    res = _result(twin, sha, _renamed(out, path, twin), "error" not in out)
                    self._record(res)
                    yield res
                    tick()
        finally:
            if owned:
                executor.close()

    def _record(self, res: dict) -> None:
        if self.record:
            from ..persist import store_measured

            with self._locked():
                store_measured(self.store, res)

    def ordered(self, paths, *, progress=None, notify=None) -> list[dict]:
        """:meth:`results` in input order (folders sorted)."""
        found = find_audio(paths)
        order = {p: i for i, p in enumerate([s for s, _ in found.bad] + found.paths)}
        out = list(self.results(paths, progress=progress, notify=notify, found=found))
        return sorted(out, key=lambda r: order.get(r["path"], -1))


def _size(path: str) -> int:
    try:
        return Path(path).stat().st_size
    except OSError:
        return 0


def _result(path: str, sha: str | None, out: dict, cached: bool) -> dict:
    res: dict[str, Any] = {
        "path": str(path),
        "name": Path(path).stem,
        "sha": sha,
        "id": track_id(sha) if sha else None,
        "cached": cached,
    }
    for k in ("features", "windows", "error", "skip", "crash", "decoder", "read"):
        if k in out:
            res[k] = out[k]
    if "features" in res:
        res["features"] = dict(res["features"])
    if "reason" in out and "error" not in out:  # a cached skip: its reason, for this path
        res["error"] = f"{path}: {out['reason']}"
    return res


def _renamed(out: dict, old: str, new: str) -> dict:
    """``out`` with its error message naming ``new`` instead of ``old`` (same content)."""
    prefix = f"{old}: "
    if "error" in out and out["error"].startswith(prefix):
        return {**out, "error": f"{new}: {out['error'][len(prefix) :]}"}
    return out


def extract_many(
    paths,
    *,
    workers=None,
    scheduler=None,
    store=None,
    window=None,
    patches=None,
    progress=None,
    notify=None,
    max_duration=MAX_DURATION,
) -> Iterator[dict]:
    """:meth:`Engine.results` with the tracks recorded in ``store`` (what ``extract`` does)."""
    eng = Engine(
        store=store,
        workers=workers,
        scheduler=scheduler,
        window=window,
        patches=patches,
        max_duration=max_duration,
        record=True,
    )
    return eng.results(paths, progress=progress, notify=notify)
