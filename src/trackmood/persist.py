"""Where the pipeline writes the library: tracks, features with their provenance, and predictions
(one transaction per call). Only the pipeline (:mod:`trackmood.pipeline` and its audio branch,
:mod:`trackmood.pipeline_audio`) calls it.
"""

from __future__ import annotations

import math

import numpy as np

from .features import ID_COLUMNS, SCHEMA
from .moods import PROBA_COLUMNS
from .sources.base import OK


def store_predictions(store, model, frame, pred, *, window=None) -> None:
    """Tracks, features (with their provenance) and the predictions of scored rows with an id.

    One transaction; the features of rows with the same provenance go in one batch.
    """
    if store is None or "id" not in pred.columns:
        return
    ok = (pred["status"].to_numpy(dtype=object) == OK) & pred["id"].notna().to_numpy()
    idx = np.flatnonzero(ok)
    if not len(idx):
        return

    def column(df, c):
        return df[c].to_numpy(dtype=object)[idx].tolist()

    ids = column(pred, "id")
    ident = {c: column(frame, c) for c in ID_COLUMNS if c in frame.columns}
    provs = column(frame, "provenance") if "provenance" in frame.columns else [{}] * len(idx)
    named = sorted({k for prov in provs for k in prov if k in SCHEMA and k in frame.columns})
    values_of = {k: column(frame, k) for k in named}
    probs = {c: pred[c].to_numpy(dtype=float)[idx].tolist() for c in PROBA_COLUMNS}
    moods = column(pred, "mood")
    timelines = column(pred, "_timeline") if window and "_timeline" in pred.columns else None
    batches: dict[tuple, list] = {}
    tracks, rows = [], []
    for k, tid in enumerate(ids):
        tracks.append({c: ident[c][k] for c in ident})
        keys = tuple(f for f in provs[k] if f in values_of)
        if keys:
            values = {f: _float(values_of[f][k]) for f in keys}
            batches.setdefault(tuple((f, provs[k][f]) for f in keys), []).append((tid, values))
        extra = {"timeline": timelines[k], "window": window} if timelines is not None else None
        rows.append(
            {"id": tid, "mood": moods[k], **{c: probs[c][k] for c in PROBA_COLUMNS}, "extra": extra}
        )
    with store.transaction():
        for key, batch in batches.items():
            store.put_features_many(batch, source=dict(key))
        store.upsert_tracks(tracks)
        store.put_predictions(model.name, rows)


def _float(v):
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f
