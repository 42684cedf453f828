"""The library: ``GET /tracks`` (paged, filtered), ``GET`` and ``DELETE /tracks/{id}``."""

from __future__ import annotations

from typing import Annotated

import numpy as np
from fastapi import APIRouter, Query
from fastapi.responses import Response

from ...errors import DataError
from ...moods import MOODS, PROBA_COLUMNS, normalize_label
from ..deps import State
from ..errors import ApiError
from ..schemas import ErrorBody, TrackDetail, TrackId, TrackPage
from ..util import display_name, json_response

router = APIRouter(tags=["library"])


def _quadrant(feats: dict) -> str | None:
    """The quadrant of a track's stored valence and energy, as the predictions schema has it."""
    from ...moods import quadrants

    v, e = (feats.get(k, (None, None))[0] for k in ("valence", "energy"))
    if v is None or e is None:
        return None
    return quadrants(np.array([v], dtype=float), np.array([e], dtype=float))[0] or None


@router.get("/tracks", response_model=TrackPage)
def tracks(
    state: State,
    mood: Annotated[
        str | None, Query(max_length=40, description="Calm, Energetic, Happy or Sad")
    ] = None,
    source: Annotated[
        str | None,
        Query(
            max_length=200,
            description="feature source prefix, e.g. file:, audio, spotify, web:api",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
):
    """Tracks in the library with their latest prediction, paged and filtered."""
    mood_name = normalize_label(mood) if mood else None
    with state.lock:
        items, total = state.store.list_tracks(
            mood=mood_name,
            source=source or None,
            limit=limit,
            offset=offset,
        )
        feats = state.store.get_features([t["id"] for t in items])
    out = []
    for t in items:
        f = feats.get(t["id"], {})
        extra = t.get("extra")
        timeline = (
            extra
            if isinstance(extra, list)
            else (extra.get("timeline") if isinstance(extra, dict) else None)
        )
        src = (
            f.get("valence", f.get("energy", next(iter(f.values()), (None, None))))[1]
            if f
            else None
        )
        probs = {c: t.get(c) for c in PROBA_COLUMNS}
        has_mood = t.get("mood") in MOODS
        out.append(
            {
                "id": t["id"],
                "name": t.get("name") or (display_name(t["path"]) if t.get("path") else None),
                "artist": t.get("artist"),
                "album": t.get("album"),
                "model": t.get("model"),
                "mood": t.get("mood"),
                **probs,
                "confidence": max(v for v in probs.values() if v is not None)
                if has_mood and any(v is not None for v in probs.values())
                else None,
                "quadrant": _quadrant(f),
                "valence": f["valence"][0] if "valence" in f else None,
                "energy": f["energy"][0] if "energy" in f else None,
                "status": "ok" if has_mood else None,
                "source": src,
                "timeline": timeline if isinstance(timeline, list) else None,
            }
        )
    return json_response({"total": total, "limit": limit, "offset": offset, "tracks": out})


@router.get("/tracks/{track_id}", response_model=TrackDetail, responses={404: {"model": ErrorBody}})
def track(state: State, track_id: TrackId):
    """One track: its details, features (with their sources) and predictions."""
    with state.lock:
        t = state.store.get_track(track_id)
        if t is None:
            raise ApiError(404, f"no track {track_id!r} in the library")
        feats = state.store.get_features([track_id]).get(track_id, {})
        preds = state.store.get_predictions(track_id)
    t = {k: v for k, v in t.items() if k != "path"} | {
        "file": display_name(t["path"]) if t.get("path") else None
    }
    return json_response(
        {
            "track": t,
            "features": {k: {"value": v, "source": s} for k, (v, s) in feats.items()},
            "predictions": preds,
        }
    )


@router.delete("/tracks/{track_id}", status_code=204, responses={404: {"model": ErrorBody}})
def delete_track(state: State, track_id: TrackId):
    """Remove a track, its features and predictions from the library."""
    with state.lock:
        found = state.store.delete_track(track_id)
    if not found:
        raise ApiError(404, f"no track {track_id!r} in the library")
    return Response(status_code=204)


@router.put(
    "/tracks/{track_id}/label", responses={404: {"model": ErrorBody}, 422: {"model": ErrorBody}}
)
def put_label(state: State, track_id: TrackId, body: dict):
    """Store the user's own mood (``{"mood": "Calm"}``) for a track of the library."""
    from ...library.labels import set_label

    mood = body.get("mood") if isinstance(body, dict) else None
    try:
        mood = normalize_label(str(mood))
    except DataError:
        raise ApiError(
            422, f"mood {str(mood)[:60]!r} is not one of Calm, Energetic, Happy, Sad"
        ) from None
    with state.lock:
        if state.store.get_track(track_id) is None:
            raise ApiError(404, f"no track {track_id!r} in the library")
        out = set_label(state.locked_store(), track_id, mood)
    return json_response({"id": out["track_id"], "label": out["mood"]})
