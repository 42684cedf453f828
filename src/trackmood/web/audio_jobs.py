"""Audio uploads between the worker pool and the library's feature cache (by content hash); the
pipeline scores and keeps the results (see :func:`.service.predict_audio`).

The library lock is taken only for the cache lookups and writes; the analysis itself runs in
:class:`~.workers.AudioPool` with no lock held.
"""

from __future__ import annotations

import json


def features(state, paths: list[str], *, window: float | None) -> list[dict]:
    """One result per path: ``{"id", "sha", "features", "windows"?}`` or ``{"id", "error"}``."""
    from ..audio.parallel import CACHE_NAMESPACE, cache_key, file_hash, track_id

    shas = [file_hash(p) for p in paths]
    results: list[dict | None] = [None] * len(paths)
    with state.lock:  # cache lookups only
        for i, sha in enumerate(shas):
            base = state.store.kv_get(CACHE_NAMESPACE, cache_key(sha))
            if base is None:
                continue
            hit = json.loads(base)
            if window:
                wins = state.store.kv_get(CACHE_NAMESPACE, cache_key(sha, window))
                if wins is None:
                    continue
                hit["windows"] = json.loads(wins)
            results[i] = hit
    first: dict[str, int] = {}
    todo = []
    for i, sha in enumerate(shas):  # same bytes uploaded twice: analysed once
        if results[i] is None and sha not in first:
            first[sha] = i
            todo.append(i)
    fresh = state.pool.analyse([paths[i] for i in todo], window=window) if todo else []
    done = dict(zip(todo, fresh, strict=True))
    puts = []
    for i, out in done.items():
        if "features" in out:
            puts.append(
                (cache_key(shas[i]), {"features": out["features"], "decoder": out.get("decoder")})
            )
            if window and "windows" in out:
                puts.append((cache_key(shas[i], window), out["windows"]))
    if puts:
        with state.lock, state.store.transaction():
            for key, value in puts:
                state.store.kv_put(
                    CACHE_NAMESPACE,
                    key,
                    json.dumps(value, default=float, allow_nan=True, separators=(",", ":")),
                )
    for i, sha in enumerate(shas):
        if results[i] is None:
            results[i] = dict(done.get(i) or done[first[sha]])
        results[i]["sha"] = sha
        results[i]["id"] = track_id(sha)
    return results  # type: ignore[return-value]
