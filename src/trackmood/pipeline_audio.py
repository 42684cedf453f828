"""The pipeline's audio branch: scoring the feature frames of the audio engine (through the audio
source) — predictions, valence/energy from the model's heads, timelines — and keeping them.
:mod:`trackmood.pipeline` re-exports these names; callers use them from there.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .moods import MOODS, PROBA_COLUMNS
from .persist import store_predictions as _store_predictions
from .predictions import TIMELINE_COLUMNS, _proba, load, quadrants, score
from .sources.base import OK


def timeline_frame(frame, per_track):
    """One row per window (:data:`TIMELINE_COLUMNS`) of the scored audio rows of ``frame``."""
    import pandas as pd

    rows = []
    for i, wins in enumerate(per_track):
        base = {c: frame[c].iloc[i] for c in ("id", "path", "name")}
        rows.extend({**base, **w} for w in wins or ())
    return pd.DataFrame(rows, columns=list(TIMELINE_COLUMNS))


def score_results(results: list[dict], model, *, store=None, notify=None):
    """The audio branch's scoring of engine results (:meth:`trackmood.engine.Engine.results`)
    that a caller got one by one (the library commits each file as it finishes): their feature
    frame, then :func:`score_audio`, which validates, predicts and writes ``store``.
    Returns ``(frame, predictions)``.
    """
    from .sources.audio import results_frame

    frame = results_frame(results, notify=notify)
    pred, _ = score_audio(frame, model, store=store)
    return frame, pred


def embed_patches(model) -> int | None:
    """The musicnn patch budget an audio model reads (``None``: it reads descriptors only)."""
    spec = model.card.get("embedding") or {}
    return int(spec["max_patches"]) if spec.get("max_patches") else None


def score_audio(frame, model, *, timeline=None, store=None, strict: bool = False):
    """Predictions for an audio feature frame, and with ``timeline`` each scored row's windows.

    An audio model with valence/energy heads also fills ``valence``, ``energy`` (kept in the
    library with provider ``estimate:<model provider>``) and so ``quadrant``. Timelines score each
    window's descriptors: with the model itself when it reads descriptors, else with the bundled
    ``audio-descriptors`` model.

    Returns ``(predictions, windows)``: ``windows[i]`` is the list of :func:`window_rows` of row
    ``i`` (``None`` when it was not scored or there is no timeline). With ``store``, the scored
    rows (and their timelines) are kept in the library.
    """
    frame = frame.reset_index(drop=True)
    absent = [f for f in model.features if f not in frame.columns]
    if absent:  # e.g. no file could be embedded: its rows failed already, or are invalid now
        import pandas as pd

        empty = pd.DataFrame(np.nan, index=frame.index, columns=absent)
        frame = pd.concat([frame, empty], axis=1)
    pred = score(frame, model, strict=strict)
    ok = np.flatnonzero(pred["status"].to_numpy(dtype=object) == OK)
    if len(ok) and model.runtime.meta.get("heads"):
        X = frame.loc[ok, list(model.features)].to_numpy(dtype=float)
        found = model.runtime.axes(X)
        if "valence" in found and "energy" in found:
            frame = _with_axes(frame, ok, found, model)
            pred["valence"] = frame["valence"].to_numpy(dtype=float)
            pred["energy"] = frame["energy"].to_numpy(dtype=float)
            pred["quadrant"] = quadrants(pred["valence"].to_numpy(), pred["energy"].to_numpy())
    per_track: list = [None] * len(pred)
    if timeline:
        wm = model if embed_patches(model) is None else load("audio-descriptors")
        for i in ok:
            per_track[i] = window_rows(frame["windows"].iloc[i] or [], wm)
        pred["_timeline"] = per_track
    _store_predictions(store, model, frame, pred, window=timeline)
    return pred.drop(columns=["_timeline"], errors="ignore"), per_track


def _with_axes(frame, rows, found: dict, model):
    """``frame`` with estimated ``valence``/``energy`` on ``rows`` and their provenance."""
    import pandas as pd

    frame = frame.copy()
    provider = "estimate:" + str(model.runtime.meta.get("provider", model.name))
    for name in ("valence", "energy"):
        col = np.full(len(frame), np.nan)
        if name in frame.columns:
            col = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float, copy=True)
        col[rows] = np.round(found[name], 4)
        frame[name] = col
    prov = frame["provenance"].to_list()
    for i in rows:
        prov[i] = {**prov[i], "valence": provider, "energy": provider}
    frame["provenance"] = prov
    return frame


def window_rows(windows: list[dict], model) -> list[dict]:
    """``[{start, end, mood, p_*, confidence}]`` for the descriptor windows of one file."""
    if not windows:
        return []
    X = np.array([[w.get(f, np.nan) for f in model.features] for w in windows], dtype=float)
    ok = np.isfinite(X).all(axis=1)
    proba = np.full((len(X), len(MOODS)), np.nan)
    if ok.any():
        proba[ok] = _proba(model, X[ok])
    rows = []
    for w, p, good in zip(windows, proba, ok, strict=True):
        row: dict[str, Any] = {"start": float(w["start"]), "end": float(w["end"])}
        row["mood"] = MOODS[int(p.argmax())] if good else None
        row.update({c: round(float(v), 4) for c, v in zip(PROBA_COLUMNS, p, strict=True)})
        row["confidence"] = round(float(p.max()), 4) if good else math.nan
        rows.append(row)
    return rows
