"""The service and its model: ``GET /health``, ``/model`` (the card) and ``/model/regions``."""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
import pandas as pd
from fastapi import APIRouter, Query, Response

from ... import __version__
from ...features import MODEL_FEATURES
from ..deps import Model, State
from ..errors import ApiError
from ..schemas import TYPICAL, ErrorBody, Health, Regions
from ..util import json_response

router = APIRouter()
_HELD = {f.name for f in MODEL_FEATURES if f.name not in ("valence", "energy")}


@router.get(
    "/health",
    response_model=Health,
    tags=["service"],
    responses={503: {"model": Health, "description": "the library is unavailable"}},
)
async def health(state: State):
    """Liveness: ``ok`` once the model is loaded and the library is open and usable; 503
    ``degraded`` with the reason when the library is damaged, read-only or on a full disk.
    Answered on the event loop (no worker thread, never waiting for the library), so it
    answers while uploads are being read or refused.
    """
    body = {
        "status": "ok" if state.model is not None and state.library is not None else "starting",
        "version": __version__,
        "model": state.model.name if state.model else None,
        "library": None,
    }
    if state.library is None:
        return body
    problem = state.library.check(state._store)
    if problem is None:
        return body | {"library": "ok"}
    return json_response(
        body | {"status": "degraded", "library": f"unavailable: {problem}"}, status=503
    )


@router.get("/model", tags=["model"], response_model=dict[str, Any])
def model_card(model: Model) -> Response:
    """The model card: name, features, classes, training data, metrics, terms."""
    card = dict(model.card)
    card.setdefault("name", model.name)
    card.setdefault("features", model.features)
    card.setdefault("classes", list(model.classes_))
    return json_response(card)


@router.get(
    "/model/regions", response_model=Regions, tags=["model"], responses={409: {"model": ErrorBody}}
)
def regions(
    state: State,
    n: Annotated[int, Query(ge=2, le=100, description="grid cells per axis")] = 40,
    duration_ms: Annotated[float | None, Query(ge=1, le=4 * 3600 * 1000)] = None,
    danceability: Annotated[float | None, Query(ge=0, le=1)] = None,
    acousticness: Annotated[float | None, Query(ge=0, le=1)] = None,
    instrumentalness: Annotated[float | None, Query(ge=0, le=1)] = None,
    liveness: Annotated[float | None, Query(ge=0, le=1)] = None,
    loudness: Annotated[float | None, Query(ge=-70, le=10)] = None,
    speechiness: Annotated[float | None, Query(ge=0, le=1)] = None,
    tempo: Annotated[float | None, Query(ge=0, le=300)] = None,
):
    """The model's predicted mood over a valence x energy grid, other features held fixed
    (at typical values unless given): the decision regions behind the mood map.
    """
    given = {
        "duration_ms": duration_ms,
        "danceability": danceability,
        "acousticness": acousticness,
        "instrumentalness": instrumentalness,
        "liveness": liveness,
        "loudness": loudness,
        "speechiness": speechiness,
        "tempo": tempo,
    }
    m = state.model
    if m is None:
        raise ApiError(503, "the model is not loaded yet; try again")
    if "valence" not in m.features or "energy" not in m.features:
        raise ApiError(409, f"model {m.name!r} does not use valence and energy")
    held = {
        k: float(v if v is not None else TYPICAL[k])
        for k, v in given.items()
        if k in m.features and k in _HELD
    }
    key = (n, tuple(sorted(held.items())))
    cached = state.regions.get(key)
    if cached is None:
        centres = (np.arange(n) + 0.5) / n
        vv, ee = np.meshgrid(centres, centres)  # rows: energy, columns: valence
        grid = pd.DataFrame({"valence": vv.ravel(), "energy": ee.ravel()})
        for k in m.features:
            if k not in grid:
                grid[k] = held.get(k, TYPICAL.get(k, 0.0))
        proba = m.predict_proba(grid[m.features].to_numpy(dtype=float))
        labels = np.asarray(list(m.classes_))[proba.argmax(axis=1)].reshape(n, n)
        conf = proba.max(axis=1).reshape(n, n).round(4)
        cached = {
            "valence": centres.round(6).tolist(),
            "energy": centres.round(6).tolist(),
            "moods": labels.tolist(),
            "confidence": conf.tolist(),
            "held": held,
            "model": m.name,
        }
        if len(state.regions) > 64:
            state.regions.clear()
        state.regions[key] = cached
    return json_response(cached)
