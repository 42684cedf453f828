"""Extract many files: a local process pool (all cores by default) or a Dask cluster, with a
content-hash cache in the library store so that a rerun, or a renamed or moved file, does no work
twice, and an interrupted batch keeps every finished track.

The unit of work is :func:`extract_one` (a plain function of a path, importable on any worker): it
never raises for a bad file, it returns ``{"error": "<one line>"}`` instead, so one damaged file
does not stop a batch. The main process hashes files, answers cached ones from the store, hands
the rest to the pool (or to ``Client(address)`` for ``--scheduler tcp://host:8786``) and commits
each result to the store the moment it arrives. A worker that dies (a crash in native code) costs
nothing but time: the files it may have been analysing are retried once, each alone in a fresh
process (a file that crashes that one too is reported as a crash), and the rest of the batch goes on
in a new pool.

>>> track_id("ab" * 32)
'audio:abababababababab'
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from ..errors import SourceError
from .decode import AUDIO_SUFFIXES
from .pool import crash_hook, mp_context, run_alone, stop_pool, worker_init

#: Bump when extraction output changes: cache keys carry it, so old entries are ignored.
EXTRACTOR_VERSION = "4"  # 4: tempo and key from rhythm.estimate_tempo and key.py
CACHE_NAMESPACE = "audio"
#: Files longer than this (seconds) are refused unless ``max_duration`` says otherwise (4 h).
MAX_DURATION = 4 * 3600.0
#: From this many files on, scipy.signal and scipy.sparse are loaded up front (faster per file).
BATCH = 4
#: Test hook: a worker analysing a file whose name contains this text dies (``os._exit``, or a
#: real SIGSEGV with the ``segv:`` prefix); with a ``:once=MARKER`` suffix only the first time.
CRASH_HOOK = "TRACKMOOD_TEST_CRASH"


def file_hash(path: str | Path, *, chunk: int = 1 << 20) -> str:
    """SHA-256 of the file's bytes, hex."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            block = f.read(chunk)
            if not block:
                break
            h.update(block)
    return h.hexdigest()


def track_id(sha: str) -> str:
    """The store id of an audio file: ``audio:`` + the first 16 hex digits of its SHA-256."""
    return f"audio:{sha[:16]}"


def cache_key(sha: str, window: float | None = None) -> str:
    key = f"v{EXTRACTOR_VERSION}:{sha}"
    return key if not window else f"{key}:w{window:g}"


def find_audio(paths: Iterable[str | Path]) -> list[Path]:
    """Files named directly (any suffix: a bad one gets its own error later) plus the audio files
    under named folders (recursive, sorted). Raises :class:`SourceError` for a missing path.
    """
    out: list[Path] = []
    seen: set[Path] = set()
    for raw in paths:
        p = Path(raw).expanduser()
        if p.is_dir():
            found = sorted(
                q
                for q in p.rglob("*")
                if q.is_file() and q.suffix.lower() in AUDIO_SUFFIXES and not q.name.startswith(".")
            )
        elif p.exists():
            found = [p]
        else:
            raise SourceError(f"{raw}: no such file or folder")
        for q in found:
            r = q.resolve()
            if r not in seen:
                seen.add(r)
                out.append(q)
    return out


def extract_one(
    path: str, *, window: float | None = None, max_duration: float | None = MAX_DURATION
) -> dict:
    """Decode and analyse one file as a stream (:func:`trackmood.audio.extract.extract_file`).
    Never raises for a bad file.

    Returns
    -------
    dict
        ``{"path", "features": {column: value}, "decoder"}`` plus ``"windows"`` (a list of
        ``{"start", "end", descriptor columns...}``) when ``window`` is given; or
        ``{"path", "error": "<one line>"}``, with ``"skip"`` (``"too short"``, ``"silent"``,
        ``"noise"``) when the file decoded but has no mood to find.
    """
    from .extract import extract_file

    if os.environ.get(CRASH_HOOK):
        crash_hook(path, os.environ[CRASH_HOOK])
    try:
        return extract_file(path, window=window, max_duration=max_duration)
    except SourceError as e:
        return {"path": str(path), "error": str(e)}
    except MemoryError:
        return {"path": str(path), "error": f"{path}: out of memory while analysing it"}
    except Exception as e:  # noqa: BLE001 - a bad file must not stop the batch
        return {
            "path": str(path),
            "error": f"{path}: analysis failed ({type(e).__name__}: "
            f"{str(e).splitlines()[0] if str(e) else ''})",
        }


def _to_json(d: dict) -> str:
    return json.dumps(d, default=float, allow_nan=True, separators=(",", ":"))


class _Job:
    __slots__ = ("crashes", "path", "sha", "size")

    def __init__(self, path: Path, sha: str):
        self.path, self.sha, self.crashes = path, sha, 0
        self.size = path.stat().st_size


def extract_many(
    paths: Iterable[str | Path],
    *,
    workers: int | None = None,
    scheduler=None,
    store=None,
    window: float | None = None,
    progress: Callable[[int, int], None] | None = None,
    notify: Callable[[str], None] | None = None,
    max_duration: float | None = MAX_DURATION,
) -> Iterator[dict]:
    """Extract every audio file in ``paths``; yield one result per file as it finishes.

    Parameters
    ----------
    paths : iterable of str or Path
        Files and folders (recursive).
    workers : int, optional
        Local worker processes; default all cores (``os.cpu_count()``). ``1`` works in-process.
    scheduler : str or distributed.Client, optional
        A Dask scheduler address (``tcp://host:8786``) or a ``Client``: run there instead. Workers
        must see the same paths (a shared file system) and have trackmood installed.
    store : trackmood.store.Store, optional
        Cache and library. Finished results are committed one by one (interrupt-safe).
    window : float, optional
        Also compute the descriptor vector of each ``window``-second slice (a mood timeline).
    progress : callable(done, total), optional
        Called after each file.
    notify : callable(str), optional
        Told about restarts after a worker crash.

    Yields
    ------
    dict
        ``path``, ``name``, ``sha``, ``id``, ``cached`` and either ``features`` (and ``windows``)
        or ``error``.
    """
    files = find_audio(paths)
    total = len(files)
    done = 0
    todo: list[_Job] = []
    twins: dict[str, list[Path]] = {}  # same content under several names: extract once
    for p in files:
        try:
            sha = file_hash(p)
        except OSError as e:
            done += 1
            yield _result(p, None, {"error": f"{p}: cannot read ({e.strerror or e})"}, cached=False)
            if progress:
                progress(done, total)
            continue
        hit = _cache_get(store, sha, window)
        if hit is not None:
            done += 1
            res = _result(p, sha, hit, cached=True)
            _record(store, res)
            yield res
            if progress:
                progress(done, total)
        elif sha in twins:
            twins[sha].append(p)
        else:
            twins[sha] = []
            todo.append(_Job(p, sha))
    if not todo:
        return
    # Largest files first: the batch ends with small ones, which keeps all workers busy.
    todo.sort(key=lambda j: -j.size)
    if len(todo) >= BATCH and scheduler is None:
        # a batch: load scipy once, before the workers fork: the recursive loudness filter, sparse
        # filter banks, scipy's FFT (a single song skips this second of imports)
        import scipy.signal  # noqa: F401
        import scipy.sparse  # noqa: F401  (sparse filter banks, see .dsp.filter_banks)
    if scheduler is not None:
        runner = _run_dask(todo, scheduler, window, max_duration)
    else:
        n = workers if workers and workers > 0 else (os.cpu_count() or 1)
        runner = (
            _run_local(todo, min(n, len(todo)), window, notify, max_duration)
            if n > 1 and len(todo) > 1
            else (
                (j, extract_one(str(j.path), window=window, max_duration=max_duration))
                for j in todo
            )
        )
    for job, out in runner:
        done += 1
        res = _result(job.path, job.sha, out, cached=False)
        if "error" not in out or "skip" in out:  # a skip is as final as features
            _cache_put(store, job.sha, window, out, path=job.path)
        _record(store, res)
        yield res
        if progress:
            progress(done, total)
        for twin in twins.get(job.sha, []):
            done += 1
            res = _result(twin, job.sha, _renamed(out, job.path, twin), cached="error" not in out)
            _record(store, res)
            yield res
            if progress:
                progress(done, total)


def _result(path: Path, sha: str | None, out: dict, *, cached: bool) -> dict:
    res = {
        "path": str(path),
        "name": Path(path).stem,
        "sha": sha,
        "id": track_id(sha) if sha else None,
        "cached": cached,
    }
    for k in ("features", "windows", "error", "skip", "crash", "decoder"):
        if k in out:
            res[k] = out[k]
    if "reason" in out and "error" not in out:  # a cached skip: its reason, for this path
        res["error"] = f"{path}: {out['reason']}"
    return res


def _renamed(out: dict, old: Path, new: Path) -> dict:
    """``out`` with its error message naming ``new`` instead of ``old`` (same content)."""
    prefix = f"{old}: "
    if "error" in out and out["error"].startswith(prefix):
        return {**out, "error": f"{new}: {out['error'][len(prefix) :]}"}
    return out


def _cache_get(store, sha: str, window: float | None) -> dict | None:
    if store is None:
        return None
    base = store.kv_get(CACHE_NAMESPACE, cache_key(sha))
    if base is None:
        return None
    out = json.loads(base)
    if window and "skip" not in out:
        wins = store.kv_get(CACHE_NAMESPACE, cache_key(sha, window))
        if wins is None:
            return None
        out["windows"] = json.loads(wins)
    return out


def _cache_put(store, sha: str, window: float | None, out: dict, *, path: Path) -> None:
    if store is None:
        return
    if "skip" in out:
        reason = out["error"].removeprefix(f"{path}: ")
        store.kv_put(
            CACHE_NAMESPACE,
            cache_key(sha),
            _to_json({"skip": out["skip"], "reason": reason, "decoder": out.get("decoder")}),
        )
        return
    with store.transaction():
        store.kv_put(
            CACHE_NAMESPACE,
            cache_key(sha),
            _to_json({"features": out["features"], "decoder": out.get("decoder")}),
        )
        if window and "windows" in out:
            store.kv_put(CACHE_NAMESPACE, cache_key(sha, window), _to_json(out["windows"]))


def _record(store, res: dict) -> None:
    """Track and its Spotify-style columns into the library tables."""
    if store is None or not res.get("id") or "features" not in res:
        return
    from .extract import ESTIMATE_SOURCE, ESTIMATED, MEASURED, MEASURED_SOURCE

    f = res["features"]
    values, sources = {}, {}
    for k in MEASURED + ESTIMATED:
        v = f.get(k)
        values[k] = None if v is None or (isinstance(v, float) and math.isnan(v)) else v
        sources[k] = ESTIMATE_SOURCE if k in ESTIMATED else MEASURED_SOURCE
    with store.transaction():
        store.upsert_tracks([{"id": res["id"], "name": res["name"], "path": res["path"]}])
        store.put_features(res["id"], values, source=sources)


def _run_local(
    todo: list[_Job], n: int, window, notify, max_duration
) -> Iterator[tuple[_Job, dict]]:
    """Run ``todo`` on a pool of ``n`` processes. When a worker dies, the pool is broken and
    every file then in flight is a suspect: each is retried once, alone, in a fresh process, which
    finds the culprit; the rest of the batch goes on in a new pool.
    """
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    ctx = mp_context()
    queue = list(todo)
    suspects: list[_Job] = []
    while queue or suspects:
        while suspects:
            job = suspects.pop(0)
            out, how = run_alone(ctx, extract_one, str(job.path), window, max_duration)
            if how is not None:
                out = {
                    "error": f"{job.path}: the analysis crashed its worker process ({how}), "
                    "again when retried alone in a fresh process",
                    "crash": how,
                }
            yield job, out
        if not queue:
            break
        pool = ProcessPoolExecutor(max_workers=n, mp_context=ctx, initializer=worker_init)
        futures = {}
        try:
            # keep at most 2 tasks per worker in flight, so a crash loses little and Ctrl-C is quick
            rest = list(queue)
            queue = []
            while rest and len(futures) < 2 * n:
                job = rest.pop(0)
                futures[_submit(pool, job, window, max_duration)] = job
            broken = False
            while futures:
                finished, _ = wait(list(futures), return_when=FIRST_COMPLETED)
                for fut in finished:
                    job = futures.pop(fut)
                    try:
                        out = fut.result()
                    except BrokenProcessPool:
                        broken = True
                        job.crashes += 1
                        suspects.append(job)
                        continue
                    yield job, out
                    if rest and not broken:
                        nxt = rest.pop(0)
                        futures[_submit(pool, nxt, window, max_duration)] = nxt
            queue = rest
            if broken and notify:
                notify(
                    f"a worker process died; retrying the {len(suspects)} file(s) it may have "
                    "been analysing one at a time in fresh processes"
                )
        finally:
            stop_pool(pool)


def _submit(pool, job: _Job, window, max_duration):
    return pool.submit(extract_one, str(job.path), window=window, max_duration=max_duration)


def _run_dask(todo: list[_Job], scheduler, window, max_duration) -> Iterator[tuple[_Job, dict]]:
    try:
        from distributed import Client, as_completed
    except ImportError:  # pragma: no cover - distributed is a dependency
        raise SourceError(
            "--scheduler needs the 'distributed' package: pip install distributed"
        ) from None
    own = not isinstance(scheduler, Client)
    if own:
        try:
            client = Client(scheduler, timeout="5s")
        except (OSError, TimeoutError, ValueError) as e:
            raise SourceError(
                f"cannot reach the Dask scheduler at {scheduler!r} ({e}); start one "
                "with 'dask scheduler' or drop --scheduler"
            ) from None
    else:
        client = scheduler
    futures = []
    try:
        jobs = {}
        for job in todo:
            fut = client.submit(
                extract_one,
                str(job.path.resolve()),
                window=window,
                max_duration=max_duration,
                key=f"trackmood-extract-{EXTRACTOR_VERSION}-{job.sha}-{window or 0}",
                pure=False,
            )
            futures.append(fut)
            jobs[fut.key] = job
        for fut in as_completed(futures):
            job = jobs[fut.key]
            try:
                out = fut.result()
            except Exception as e:  # noqa: BLE001 - a lost worker must not stop the batch
                out = {"error": f"{job.path}: failed on the Dask cluster ({type(e).__name__}: {e})"}
            fut.release()
            yield job, out
    finally:
        if futures:
            client.cancel(futures)
        if own:
            client.close()
