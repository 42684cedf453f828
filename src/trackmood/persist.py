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

    def records(df, names):
        cols = {c: df[c].to_numpy(dtype=object)[idx].tolist() for c in names if c in df.columns}
        return [{c: v[k] for c, v in cols.items()} for k in range(len(idx))]

    named = [*ID_COLUMNS, "provenance", *SCHEMA]
    kept = ["id", "mood", *PROBA_COLUMNS] + (["_timeline"] if window else [])
    store_records(store, model, records(frame, named), records(pred, kept), window=window)


def store_records(store, model, rows: list[dict], preds: list[dict], *, window=None) -> None:
    """:func:`store_predictions` for rows as dicts (input row, its prediction): those scored
    ``ok`` with an ``id`` are kept.
    """
    if store is None:
        return
    batches: dict[tuple, list] = {}
    tracks, out = [], []
    for row, pred in zip(rows, preds, strict=True):
        tid = pred.get("id")
        if pred.get("status", OK) != OK or tid is None or (isinstance(tid, float) and tid != tid):
            continue
        tracks.append({c: row[c] for c in ID_COLUMNS if c in row})
        prov = row.get("provenance") or {}
        keys = tuple(f for f in prov if f in SCHEMA and f in row)
        if keys:
            values = {f: _float(row[f]) for f in keys}
            batches.setdefault(tuple((f, prov[f]) for f in keys), []).append((tid, values))
        timeline = window and "_timeline" in pred
        extra = {"timeline": pred["_timeline"], "window": window} if timeline else None
        probs = {c: float(pred[c]) for c in PROBA_COLUMNS}
        out.append({"id": tid, "mood": pred["mood"], **probs, "extra": extra})
    if not out:
        return
    with store.transaction():
        for key, batch in batches.items():
            store.put_features_many(batch, source=dict(key))
        store.upsert_tracks(tracks)
        store.put_predictions(model.name, out)


def _float(v):
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def store_measured(store, res: dict) -> None:
    """A track and its measured Spotify-style columns (one audio engine result) into the library:
    what ``extract`` keeps (no model runs), written as each file finishes.
    """
    if store is None or not res.get("id") or "features" not in res:
        return
    from .audio.extract import ESTIMATE_SOURCE, ESTIMATED, MEASURED, MEASURED_SOURCE

    f = res["features"]
    values, sources = {}, {}
    for k in MEASURED + ESTIMATED:
        v = f.get(k)
        values[k] = None if v is None or (isinstance(v, float) and math.isnan(v)) else v
        sources[k] = ESTIMATE_SOURCE if k in ESTIMATED else MEASURED_SOURCE
    with store.transaction():
        store.upsert_tracks([{"id": res["id"], "name": res["name"], "path": res["path"]}])
        store.put_features(res["id"], values, source=sources)
