"""``POST /predict`` (JSON tracks), ``/predict/file`` (a table), ``/predict/audio`` (audio files)
and ``/predict/spotify`` (Spotify references). Each answers the predictions of one model, named
in ``model``; rows that could not be predicted carry a ``reason``.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Body, File, Form, Query, Request, UploadFile
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from ...errors import ModelError, RateLimitError, SourceError
from .. import limits, service
from ..deps import State
from ..errors import ApiError
from ..schemas import ErrorBody, PredictResponse, SpotifyRequest, TrackIn
from ..uploads import (
    check_audio_upload,
    check_table_upload,
    looks_like_audio,
    read_table_upload,
    save,
)
from ..util import display_name, json_response

INLINE_BYTES = 64 * 1024


def _measured_json(body: bytes):
    """The parsed body once its nesting and size are measured; ``None`` if it is not JSON."""
    limits.scan_json(body, name="request body", max_string=limits.MAX_CELL_BYTES)
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return None


class MeasuredJSONRoute(APIRoute):
    """A route whose JSON body is measured (nesting depth, number of values) before it is
    parsed, and parsed off the event loop.
    """

    def get_route_handler(self):
        handler = super().get_route_handler()

        async def measured(request: Request):
            body = await request.body()
            if body:
                if len(body) <= INLINE_BYTES:  # cheap: no thread hop
                    request._json = _measured_json(body)
                else:  # keep the event loop (and /health) free meanwhile
                    request._json = await run_in_threadpool(_measured_json, body)
                if request._json is None:
                    del request._json  # FastAPI parses again and reports the position
            return await handler(request)

        return measured


router = APIRouter(tags=["predict"])
measured = APIRouter(tags=["predict"], route_class=MeasuredJSONRoute)


@measured.post("/predict", response_model=PredictResponse)
def predict(
    state: State,
    tracks: Annotated[
        list[TrackIn],
        Body(
            description="Tracks with their audio features (schema names; aliases such as "
            "'length' or 'bpm' are accepted as extra keys)."
        ),
    ],
    store: Annotated[bool, Query(description="keep tracks and predictions in the library")] = True,
):
    """Predict a JSON list of tracks: mood, the four probabilities and the quadrant.

    Tracks that lack a feature the model needs, or hold a bad value, get a ``reason`` and
    no prediction; the others are predicted.
    """
    if not tracks:
        raise ApiError(422, "no tracks given: send a JSON list of track objects")
    if len(tracks) > state.max_rows:
        raise ApiError(
            413, f"{len(tracks)} tracks is more than the limit of {state.max_rows} per request"
        )
    return json_response(service.predict_tracks(state, tracks, source="web:api", store=store))


@router.post("/predict/file", response_model=PredictResponse, responses={415: {"model": ErrorBody}})
def predict_file(
    state: State,
    file: Annotated[
        UploadFile,
        File(description="a CSV, TSV, Parquet or JSON table of tracks with features"),
    ],
    store: Annotated[bool, Query()] = True,
):
    """Predict every row of an uploaded table; bad rows get a reason naming row, column
    and value, good rows get their mood.
    """
    name = display_name(file.filename)
    suffix = check_table_upload(file, name)
    with tempfile.TemporaryDirectory(prefix="trackmood-web-") as tmp:
        dest = Path(tmp) / f"upload{suffix}"
        save(file, dest, limit=state.settings.max_upload_bytes, name=name)
        df = read_table_upload(dest, name=name, max_rows=state.max_rows)
    return json_response(
        service.predict_rows(state, df, file=name, source=f"file:{name}", store=store)
    )


@router.post(
    "/predict/audio",
    response_model=PredictResponse,
    responses={415: {"model": ErrorBody}, 503: {"model": ErrorBody}},
)
def predict_audio(
    state: State,
    files: Annotated[
        list[UploadFile], File(description="audio files (wav, flac, mp3, ogg, opus, m4a, aiff)")
    ],
    timeline: Annotated[
        float | None, Form(gt=0, le=600, description="seconds per window of the mood timeline")
    ] = None,
):
    """Predict the mood of uploaded audio files (features measured from the audio in a worker
    process), optionally with a mood timeline per window of ``timeline`` seconds.
    """
    if not files:
        raise ApiError(422, "no files given")
    if len(files) > state.settings.max_files:
        raise ApiError(
            413,
            f"{len(files)} files is more than the limit of {state.settings.max_files} per request",
        )
    named = [(up, display_name(up.filename)) for up in files]
    checked = [(up, name, check_audio_upload(up, name)) for up, name in named]
    messages: list[str] = []
    with tempfile.TemporaryDirectory(prefix="trackmood-web-") as tmp:
        saved = []
        for i, (up, name, suffix) in enumerate(checked):
            dest = Path(tmp) / f"upload-{i:03d}{suffix}"
            save(up, dest, limit=state.settings.max_upload_bytes, name=name)
            if not looks_like_audio(dest):
                raise ApiError(415, f"{name}: not a recognised audio file")
            saved.append((str(dest), name))
        try:
            result = service.predict_audio(state, saved, timeline=timeline, notify=messages.append)
        except (ImportError, ModelError) as e:
            raise ApiError(
                503, f"audio prediction is not available in this installation ({e})"
            ) from None
    result["messages"] = [m.replace(tmp + "/", "").replace(tmp, "upload") for m in messages]
    return json_response(result)


@measured.post(
    "/predict/spotify",
    response_model=PredictResponse,
    responses={429: {"model": ErrorBody}, 503: {"model": ErrorBody}},
)
def predict_spotify(state: State, body: SpotifyRequest):
    """Predict Spotify tracks, albums or playlists (ids, URIs or URLs). Single tracks need no
    credentials (features from ReccoBeats); albums need the app's and playlists a user login on
    the server (credentials stay on the server).
    """
    try:
        from ...sources import spotify as S
    except ImportError:
        raise ApiError(503, "Spotify support is not available in this installation") from None
    refs = list(body.refs)
    kinds = [S.parse_ref(r)[0] for r in refs]  # DataError (422) for what is not a reference
    for ref, kind in zip(refs, kinds, strict=True):
        if kind not in ("track", "playlist", "album"):
            raise ApiError(
                422, f"{ref}: a Spotify {kind} is not a track list; give its albums or tracks"
            )
    if "playlist" in kinds and not S.token_cache_path("user").exists():
        # a first login is interactive (browser + redirect); a request must not wait on it
        raise ApiError(
            503,
            "reading playlists needs a Spotify login, which the web page "
            "cannot do: run 'trackmood predict <playlist link>' once in a "
            "terminal, then try again (single tracks work without it)",
        )
    messages: list[str] = []
    try:
        result = service.predict_spotify(state, refs, notify=messages.append)
    except ImportError:
        raise ApiError(503, "Spotify support is not available in this installation") from None
    except RateLimitError:
        raise
    except SourceError as e:
        raise ApiError(503, f"Spotify is not available: {e}") from None
    result["messages"] = messages
    return json_response(result)
