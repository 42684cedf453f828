"""The engine's cache, keyed by content (SHA-256), kept in the library store. Only the engine
reads and writes it: descriptors (and skips) in the store's ``kv`` table (namespace
:data:`CACHE_NAMESPACE`, key :func:`cache_key`), the musicnn embedding as a float32 vector
(``Store.put_embeddings``, model :func:`embedding_model`: ``mn_pen*`` then ``mn_tag_*``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from .executors import EXTRACTOR_VERSION

CACHE_NAMESPACE = "audio"
#: Bumped when the embedding of a file would change (front end, patch placement, model file).
EMBEDDING_VERSION = 2


def cache_key(sha: str, window: float | None = None) -> str:
    key = f"v{EXTRACTOR_VERSION}:{sha}"
    return key if not window else f"{key}:w{window:g}"


def embedding_model(patches: int) -> str:
    """The store's model name of the musicnn embedding with a budget of ``patches``."""
    return f"musicnn-v{EMBEDDING_VERSION}-p{patches}"


def _to_json(d) -> str:
    return json.dumps(d, default=float, allow_nan=True, separators=(",", ":"))


def get(store, sha: str, *, window=None, patches=None) -> dict | None:
    """A finished analysis of this content (as :func:`.work.analyse_file` returns it, without
    ``path``), or ``None`` when any part asked for is missing.
    """
    if store is None:
        return None
    base = store.kv_get(CACHE_NAMESPACE, cache_key(sha))
    if base is None:
        return None
    out = json.loads(base)
    if "skip" in out:
        return out
    if window:
        wins = store.kv_get(CACHE_NAMESPACE, cache_key(sha, window))
        if wins is None:
            return None
        out["windows"] = json.loads(wins)
    if patches:
        emb = embeddings(store, [sha], patches).get(sha)
        if emb is None:
            return None
        out["features"].update(emb)
    return out


def embeddings(store, shas, patches: int) -> dict[str, dict[str, float]]:
    """``{sha: {mn_* column: value}}`` of the contents whose embedding is cached."""
    from ..audio.embedding import feature_names

    names = feature_names(tags=True)
    out = {}
    for sha, vec in store.get_embeddings(embedding_model(patches), shas).items():
        if len(vec) == len(names):
            out[sha] = dict(zip(names, map(float, vec), strict=True))
    return out


def put(store, sha: str, out: dict, *, path: str, window=None, patches=None) -> None:
    """Keep a finished analysis (features or a skip) of this content; one transaction."""
    if store is None:
        return
    if "skip" in out:
        reason = out["error"].removeprefix(f"{path}: ")
        value = {"skip": out["skip"], "reason": reason, "decoder": out.get("decoder")}
        store.kv_put(CACHE_NAMESPACE, cache_key(sha), _to_json(value))
        return
    feats = out["features"]
    base = {k: v for k, v in feats.items() if not k.startswith("mn_")}
    with store.transaction():
        store.kv_put(
            CACHE_NAMESPACE,
            cache_key(sha),
            _to_json({"features": base, "decoder": out.get("decoder")}),
        )
        if window and "windows" in out:
            store.kv_put(CACHE_NAMESPACE, cache_key(sha, window), _to_json(out["windows"]))
        if patches and "mn_pen000" in feats:
            from ..audio.embedding import feature_names

            vec = [feats[k] for k in feature_names(tags=True)]
            store.put_embeddings(embedding_model(patches), [(sha, vec)])


def put_embedding(store, sha: str, columns: dict[str, float], patches: int) -> None:
    """Keep the embedding columns of one content (columns not given are kept as NaN)."""
    from ..audio.embedding import feature_names

    vec = [columns.get(k, math.nan) for k in feature_names(tags=True)]
    store.put_embeddings(embedding_model(patches), [(sha, vec)])


def name_of(path: str) -> str:
    return Path(path).stem


def alias(store, old_sha: str, new_sha: str, *, patches=(9,)) -> None:
    """Answer ``new_sha`` with what is cached for ``old_sha`` (the same audio after only its tags
    were rewritten): its descriptors and its embeddings with these patch budgets.
    """
    if store is None or old_sha == new_sha:
        return
    with store.transaction():
        value = store.kv_get(CACHE_NAMESPACE, cache_key(old_sha))
        if value is not None:
            store.kv_put(CACHE_NAMESPACE, cache_key(new_sha), value)
        for k in patches:
            got = store.get_embeddings(embedding_model(k), [old_sha]).get(old_sha)
            if got is not None:
                store.put_embeddings(embedding_model(k), [(new_sha, got)])
