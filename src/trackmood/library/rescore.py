"""New moods for the whole library from the embeddings it keeps, without reading any audio.

When a personal model is adopted, every analysed file whose content has a stored musicnn
embedding (of the patch budget the model reads) is scored again at once: its track gets the new
model's prediction (mood, probabilities, confidence), its valence/energy estimate, and the file
row names the new model, so ``library ls``, playlists, tags and the web page show the new moods
straight away. Files without a stored embedding keep their mood until they are scanned again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


def embedding_model(max_patches: int) -> str:
    """The store's name of the musicnn embedding with ``max_patches`` patches (``embeddings.model``),
    as the audio engine keeps it.
    """
    from ..engine.cache import embedding_model as name

    return name(max_patches)


@dataclass
class RescoreReport:
    rescored: int
    changed: int
    without_embedding: int

    def line(self) -> str:
        out = (
            f"library re-scored from stored embeddings: {self.rescored} file(s), "
            f"{self.changed} changed mood"
        )
        if self.without_embedding:
            out += (
                f"; {self.without_embedding} without a stored embedding keep theirs until a rescan"
            )
        return out


def rescore_library(store, model, *, notify: Callable[[str], None] | None = None) -> RescoreReport:
    """Score every analysed library file again with ``model`` (an audio model reading the musicnn
    embedding) from the store's embeddings; see the module docstring.
    """
    import pandas as pd

    from ..moods import PROBA_COLUMNS
    from ..pipeline import embed_patches
    from ..predictions import score

    k = embed_patches(model)
    if not k:
        raise ValueError(f"model {model.name!r} does not read the musicnn embedding")
    from ..engine import cache

    files = store.analysed(statuses=("ok",))
    found = cache.embeddings(store, {f["sha"] for f in files if f.get("sha")}, k)
    usable = [f for f in files if f.get("sha") in found]
    if not usable:
        return RescoreReport(0, 0, len(files))
    missing = [c for c in model.features if c not in found[usable[0]["sha"]]]
    if missing:
        raise ValueError(f"stored embeddings lack {missing[:3]}")
    X = np.array([[found[f["sha"]][c] for c in model.features] for f in usable], dtype=float)
    frame = pd.DataFrame(X, columns=list(model.features))
    frame["status"], frame["reason"] = "ok", None
    pred = score(frame, model)
    axes = model.runtime.axes(X) if model.runtime.meta.get("heads") else {}
    now = time.time()
    rows, feats, changed = [], {}, 0
    for i, f in enumerate(usable):
        mood = pred["mood"].iloc[i]
        if not isinstance(mood, str):
            continue
        probs = {c: float(pred[c].iloc[i]) for c in PROBA_COLUMNS}
        changed += mood != f.get("mood")
        rows.append(
            {
                "path": f["path"],
                "status": "ok",
                "error": None,
                "model": model.name,
                "analysed_at": now,
                "mood": mood,
                **probs,
                "confidence": max(probs.values()),
            }
        )
        if "valence" in axes and "energy" in axes and f.get("track_id"):
            feats[f["track_id"]] = {
                "valence": round(float(axes["valence"][i]), 4),
                "energy": round(float(axes["energy"][i]), 4),
            }
    provider = "estimate:" + str(model.runtime.meta.get("provider", model.name))
    with store.transaction():
        store.set_file_results(rows)
        if feats:
            store.put_features_many(list(feats.items()), source=provider)
    rep = RescoreReport(len(rows), changed, len(files) - len(usable))
    if notify:
        notify(rep.line())
    return rep
