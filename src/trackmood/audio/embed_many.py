"""The musicnn embedding of many files at once: cached by content hash, several files in parallel.

:func:`embed_results` adds the embedding columns (``mn_pen000..199`` and the 50 ``mn_tag_*``) to
the ``features`` of extraction results (:func:`trackmood.audio.parallel.extract_many`) that have
features. Threads suffice: onnxruntime, the FFTs and the decoders release the GIL. Each finished
embedding is kept in the library (``kv`` namespace ``musicnn``, keyed by content hash and patch
budget), so a rerun, a rename or a rescan costs nothing. A file whose embedding fails loses its
features and gets a one-line ``error``, like any other file the analysis could not read.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

#: Bumped when the embedding of a file would change (front end, patch placement, model file).
VERSION = 1
NAMESPACE = "musicnn"


def _key(sha: str, max_patches: int) -> str:
    return f"{VERSION}:{max_patches}:{sha}"


def _columns(res: dict) -> dict[str, float]:
    from .embedding import feature_names

    values = np.concatenate([res["embedding"], res["tags"]]).astype(float).tolist()
    return dict(zip(feature_names(tags=True), values, strict=True))


def _embed(path: str, max_patches: int) -> dict[str, float] | str:
    from ..errors import SourceError
    from .embedding import embed_file

    try:
        return _columns(embed_file(path, max_patches=max_patches))
    except SourceError as e:
        return str(e)
    except Exception as e:  # noqa: BLE001 - one bad file must not stop the batch
        return f"{path}: embedding failed ({type(e).__name__}: {str(e)[:120]})"


def embed_results(
    results: list[dict],
    *,
    max_patches: int,
    store=None,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[dict]:
    """Add the embedding columns to every result with ``features`` (in place; returns ``results``)."""
    todo: dict[str, list[dict]] = {}
    for r in results:
        if "features" not in r:
            continue
        cached = (
            store.kv_get(NAMESPACE, _key(r["sha"], max_patches)) if store and r.get("sha") else None
        )
        if cached is not None:
            r["features"].update(json.loads(cached))
        else:
            todo.setdefault(r.get("sha") or r["path"], []).append(r)
    if not todo:
        return results
    n = max(1, min(workers or os.cpu_count() or 1, len(todo)))
    groups = list(todo.values())
    done = 0
    with ThreadPoolExecutor(n) as pool:
        for group, out in zip(
            groups,
            pool.map(lambda g: _embed(g[0]["path"], max_patches), groups),
            strict=True,
        ):
            done += 1
            if progress:
                progress(done, len(groups))
            if isinstance(out, str):
                for r in group:
                    r.pop("features", None)
                    r["error"] = out
                continue
            for r in group:
                r["features"].update(out)
            if store is not None and group[0].get("sha"):
                store.kv_put(NAMESPACE, _key(group[0]["sha"], max_patches), json.dumps(out))
    return results
