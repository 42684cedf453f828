"""Similar tracks and mood playlists: ``GET /tracks/{id}/similar`` and ``GET /playlists/{mood}.m3u8``."""

from __future__ import annotations

from typing import Annotated, overload

from fastapi import APIRouter, Query
from fastapi.responses import Response

from ...errors import DataError
from ..deps import State
from ..errors import ApiError
from ..schemas import ErrorBody, TrackId
from ..util import json_response

router = APIRouter(tags=["library"])


@overload
def _mood(mood: str) -> str: ...
@overload
def _mood(mood: None) -> None: ...
@overload
def _mood(mood: str | None) -> str | None: ...
def _mood(mood: str | None) -> str | None:
    from ...library.similar import check_mood

    try:
        return check_mood(mood)
    except DataError:
        raise ApiError(
            422, f"mood {str(mood)[:60]!r} is not one of Calm, Energetic, Happy, Sad"
        ) from None


def _index(state):
    """The library's similar-tracks index, kept between requests while the library's files,
    predictions and embeddings are unchanged (call with ``state.lock`` held).
    """
    from ...library import similar

    store = state.locked_store()
    key = (store.searchable_signature(), tuple(sorted(store.embedding_models().items())))
    cached = getattr(state, "similar_index", None)
    if cached is None or cached[0] != key:
        index = similar.load(store)
        key = (store.searchable_signature(), tuple(sorted(store.embedding_models().items())))
        state.similar_index = cached = (key, index)
    return cached[1]


@router.get(
    "/tracks/{track_id}/similar",
    responses={404: {"model": ErrorBody}, 422: {"model": ErrorBody}},
)
def similar_tracks(
    state: State,
    track_id: TrackId,
    limit: Annotated[int, Query(ge=1, le=500)] = 20,
    mood: Annotated[
        str | None, Query(max_length=40, description="only tracks of this mood")
    ] = None,
):
    """The tracks of the library that sound most like this one, most similar first:
    ``{"seed": id, "tracks": [{"id", "name", "artist", "path", "mood", "confidence",
    "similarity"}]}``.
    """
    from ...library import similar

    mood = _mood(mood)
    with state.lock:
        index = _index(state)
    if track_id not in index.ids:
        if track_id in index.unindexed:
            raise ApiError(404, f"track {track_id!r} has no musicnn embedding: scan it again")
        raise ApiError(404, f"no track {track_id!r} in the library")
    found = index.similar(index.ids.index(track_id), limit=limit, mood=mood)
    return json_response(
        {"seed": track_id, "tracks": [similar.display_row(r, s) for r, s in found]}
    )


@router.get(
    "/playlists/{mood}.m3u8",
    response_class=Response,
    responses={
        200: {"content": {"audio/x-mpegurl": {}}, "description": "an M3U8 playlist"},
        422: {"model": ErrorBody},
    },
)
def mood_playlist(state: State, mood: str):
    """The library's playlist of one mood as an M3U8 file (as ``trackmood playlists export``
    writes it; paths relative to the library's top folder).
    """
    from ...library.journeys import mood_playlist as render

    mood = _mood(mood)
    with state.lock:
        name, text = render(state.store, mood)
    return Response(
        text,
        media_type="audio/x-mpegurl; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
