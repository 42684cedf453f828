"""Audio uploads between the worker pool and the library: the feature cache (by content hash)
and the writes to the library (the audio model itself is applied in :mod:`.service`).

The library lock is taken only for the cache lookups and the final writes; the analysis itself
runs in :class:`~.workers.AudioPool` with no lock held.
"""

from __future__ import annotations

import json
import math

SOURCE = "audio:librosa"


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


def remember(state, model_name: str, rows: list[dict], results, *, timeline) -> None:
    """The tracks (named by the client's file name), their measured features and predictions."""
    from ..audio.extract import ESTIMATE_SOURCE, ESTIMATED, MEASURED, MEASURED_SOURCE

    tracks, feats, preds = [], [], []
    for r, res in zip(rows, results, strict=True):
        if not r["mood"]:
            continue
        tracks.append({"id": r["id"], "name": r["name"], "path": r["name"]})
        f = res["features"]
        values = {}
        for k in MEASURED + ESTIMATED:
            v = f.get(k)
            values[k] = None if v is None or (isinstance(v, float) and math.isnan(v)) else v
        feats.append((r["id"], values))
        extra = {"timeline": r.get("timeline"), "window": timeline} if timeline else None
        preds.append({**r, "extra": extra})
    if not tracks:
        return
    sources = {
        k: ESTIMATE_SOURCE if k in ESTIMATED else MEASURED_SOURCE for k in MEASURED + ESTIMATED
    }
    with state.lock, state.store.transaction():
        state.store.upsert_tracks(tracks)
        state.store.put_features_many(feats, source=sources)
        state.store.put_predictions(model_name, preds)
