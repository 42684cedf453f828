"""Request and response models of the API (they are also its OpenAPI schema).

Prediction rows use the names of the predictions schema (see ARCHITECTURE.md): ``mood``, the four
``p_*``, ``confidence``, ``uncertain``, ``valence``, ``energy``, ``quadrant``, ``model``,
``status`` (``ok``, ``invalid`` or ``failed``) and ``reason`` (why a row has no mood).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field, StrictFloat, create_model

from ..features import MODEL_FEATURES

#: Feature values held fixed when drawing the decision regions over valence x energy
#: (about the medians of the original project's tracks).
TYPICAL = {
    "duration_ms": 213000.0,
    "danceability": 0.5,
    "acousticness": 0.36,
    "energy": 0.5,
    "instrumentalness": 0.03,
    "liveness": 0.11,
    "valence": 0.5,
    "loudness": -9.4,
    "speechiness": 0.04,
    "tempo": 120.0,
}


class Prediction(BaseModel):
    """One track's prediction; rows that could not be predicted carry a ``reason`` instead."""

    row: int | None = Field(None, description="1-based row (or list position) in the input")
    id: str | None = None
    name: str | None = None
    artist: str | None = None
    album: str | None = None
    mood: str | None = Field(None, description="Calm, Energetic, Happy or Sad")
    p_calm: float | None = None
    p_energetic: float | None = None
    p_happy: float | None = None
    p_sad: float | None = None
    confidence: float | None = Field(None, description="the probability of the predicted mood")
    uncertain: bool | None = Field(None, description="confidence below the model's threshold")
    valence: float | None = None
    energy: float | None = None
    quadrant: str | None = Field(
        None, description="from the track's valence and energy, e.g. 'positive valence, low energy'"
    )
    model: str | None = Field(
        None, description="the model that predicted this row (or whose input check it failed)"
    )
    status: str | None = Field(None, description="ok, invalid (bad input) or failed")
    reason: str | None = Field(None, description="why this row has no prediction")
    source: str | None = None
    timeline: list[dict[str, Any]] | None = Field(
        None, description="audio only: [{start, end, mood, p_*}] per window of seconds"
    )


class PredictResponse(BaseModel):
    model: str | None = Field(None, description="name of the model that predicted")
    count: int
    errors: int = Field(description="rows that could not be predicted")
    messages: list[str] = Field(default_factory=list)
    predictions: list[Prediction]


class TrackRow(Prediction):
    pass


class TrackPage(BaseModel):
    total: int
    limit: int
    offset: int
    tracks: list[TrackRow]


class TrackDetail(BaseModel):
    track: dict[str, Any]
    features: dict[str, dict[str, Any]]
    predictions: list[dict[str, Any]]


class Regions(BaseModel):
    valence: list[float]
    energy: list[float]
    moods: list[list[str]] = Field(description="moods[i][j]: energy[i], valence[j]")
    confidence: list[list[float]]
    held: dict[str, float]
    model: str


class Health(BaseModel):
    status: str = Field(description="ok, starting, or degraded (the library is unavailable)")
    version: str
    model: str | None
    library: str | None = Field(None, description="ok, or unavailable: <reason>")


class SpotifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    refs: list[Annotated[str, Field(min_length=1, max_length=300)]] = Field(
        min_length=1,
        max_length=500,
        description="Spotify track/playlist ids, spotify: URIs or open.spotify.com URLs",
    )


class ErrorBody(BaseModel):
    error: str


def _track_in_model() -> type[BaseModel]:
    fields: dict[str, Any] = {
        "id": (str | None, Field(None, max_length=300, description="track id (kept as given)")),
        "name": (str | None, Field(None, max_length=1000)),
        "artist": (str | None, Field(None, max_length=1000)),
        "album": (str | None, Field(None, max_length=1000)),
    }
    for f in MODEL_FEATURES:
        fields[f.name] = (
            StrictFloat | None,
            Field(None, ge=f.low, le=f.high, description=f"{f.description} ({f.unit})"),
        )
    config = ConfigDict(
        extra="allow",
        allow_inf_nan=False,
        json_schema_extra={
            "example": {
                "name": "quiet piano",
                **TYPICAL,
                "energy": 0.1,
                "valence": 0.2,
                "acousticness": 0.95,
            }
        },
    )
    return create_model("TrackIn", __config__=config, **fields)


if TYPE_CHECKING:  # built at run time from the schema; a plain model to the type checker

    class TrackIn(BaseModel): ...

else:
    TrackIn = _track_in_model()
TrackId = Annotated[str, PathParam(min_length=1, max_length=300, description="the track's id")]


# -- the scanned library on the page (issue 18) -----------------------------------------------
class LibraryRow(BaseModel):
    """One analysed library file: its track's mood, how sure the model is, the user's label."""

    id: str
    name: str | None = None
    artist: str | None = None
    file: str | None = Field(None, description="the file's name (never its folder)")
    model: str | None = None
    mood: str | None = None
    p_calm: float | None = None
    p_energetic: float | None = None
    p_happy: float | None = None
    p_sad: float | None = None
    confidence: float | None = None
    margin: float | None = Field(None, description="gap between the two most likely moods")
    uncertain: bool = False
    valence: float | None = None
    energy: float | None = None
    label: str | None = Field(None, description="the user's own mood")
    audio: str = Field(description="where the page plays it: /tracks/{id}/audio")
    why: str | None = Field(None, description="suggestions only: what the model hesitates on")


class LibraryPage(BaseModel):
    total: int = Field(description="files matching the filters")
    all: int = Field(description="analysed files in the library")
    limit: int
    offset: int
    tracks: list[LibraryRow]


class LibraryMap(BaseModel):
    count: int
    moods: list[str]
    ids: list[str]
    valence: list[float | None]
    energy: list[float | None]
    mood: list[int] = Field(description="index into moods (-1: none)")
    label: list[int] = Field(description="the user's mood, index into moods (-1: none)")
    uncertain: list[int] = Field(description="1: the two most likely moods are close")
