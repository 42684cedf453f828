"""The FastAPI app: a REST API and one page, a thin layer over the Python API.

``create_app`` builds the app; nothing heavy happens until it starts: the lifespan loads the
model once and opens the library (:class:`trackmood.store.Store`). Every error a request can
cause comes back as JSON ``{"error": "<one line>", ...}`` with a 4xx status.

Security: no part of a request ever names a file on the server (uploads are written to fixed
names in a fresh temporary folder, removed after the request); request bodies, upload sizes,
rows and files per request are limited; state-changing requests from another origin are refused.

Examples
--------
>>> from fastapi.testclient import TestClient
>>> with TestClient(create_app(store_path=":memory:")) as client:
...     r = client.post("/predict", json=[{"duration_ms": 200000, "danceability": 0.3,
...         "acousticness": 0.9, "energy": 0.1, "instrumentalness": 0.9, "liveness": 0.1,
...         "valence": 0.2, "loudness": -22, "speechiness": 0.04, "tempo": 80}])
>>> r.status_code, sorted(r.json()["predictions"][0])[:3]
(200, ['album', 'artist', 'energy'])
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
import math
import tempfile
import threading
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Annotated, Any
from urllib.parse import urlsplit

import numpy as np
import pandas as pd
from fastapi import Body, FastAPI, File, Form, Query, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field, StrictFloat, create_model
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__
from ..audio.decode import AUDIO_SUFFIXES as _DECODABLE
from ..errors import DataError, ModelError, RateLimitError, SourceError, TrackmoodError
from ..features import MODEL_FEATURES, invalid_rows, normalize_columns, validate
from ..moods import MOODS, PROBA_COLUMNS, normalize_label, quadrant

log = logging.getLogger("trackmood.web")

MiB = 1 << 20
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

TABLE_TYPES = {  # canonical suffix -> (read_table suffix, accepted content types)
    ".csv": {
        "text/csv",
        "application/csv",
        "text/plain",
        "application/vnd.ms-excel",
        "text/x-csv",
        "application/octet-stream",
        "",
    },
    ".tsv": {"text/tab-separated-values", "text/plain", "text/csv", "application/octet-stream", ""},
    ".parquet": {
        "application/vnd.apache.parquet",
        "application/x-parquet",
        "application/parquet",
        "application/octet-stream",
        "",
    },
    ".pq": {
        "application/vnd.apache.parquet",
        "application/x-parquet",
        "application/parquet",
        "application/octet-stream",
        "",
    },
    ".json": {"application/json", "text/json", "text/plain", "application/octet-stream", ""},
    ".jsonl": {
        "application/x-ndjson",
        "application/jsonl",
        "application/x-jsonlines",
        "application/json",
        "text/plain",
        "application/octet-stream",
        "",
    },
    ".ndjson": {
        "application/x-ndjson",
        "application/json",
        "text/plain",
        "application/octet-stream",
        "",
    },
}
AUDIO_SUFFIXES = tuple(sorted(_DECODABLE))  # whatever the decoder reads
AUDIO_OTHER_TYPES = {"application/ogg", "application/octet-stream", "video/mp4", "video/ogg", ""}


# --------------------------------------------------------------------------------- errors
class ApiError(Exception):
    """An error with an HTTP status and a one-line message for the client."""

    def __init__(self, status: int, message: str, *, headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers


def status_of(error: TrackmoodError) -> int:
    """The HTTP status for a library error: bad input 422, remote limits 429, sources 503."""
    if isinstance(error, DataError):  # includes LabelError
        return 422
    if isinstance(error, RateLimitError):
        return 429
    if isinstance(error, (SourceError, ModelError)):
        return 503
    return 400


def _error(status: int, message: str, *, headers: dict | None = None, **extra) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status, headers=headers)


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


# --------------------------------------------------------------------------------- models
class Prediction(BaseModel):
    """One track's prediction; rows that could not be predicted carry ``error`` instead."""

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
    quadrant: str | None = None
    valence: float | None = None
    energy: float | None = None
    source: str | None = None
    timeline: list[dict[str, Any]] | None = Field(
        None, description="audio only: [{start, end, mood, p_*}] per window of seconds"
    )
    error: str | None = Field(None, description="why this row has no prediction")


class PredictResponse(BaseModel):
    model: str | None = Field(None, description="name of the model that predicted")
    count: int
    errors: int = Field(description="rows that could not be predicted")
    messages: list[str] = Field(default_factory=list)
    predictions: list[Prediction]


class TrackRow(Prediction):
    model: str | None = None


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
    status: str
    version: str
    model: str | None


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


TrackIn = _track_in_model()
_QUADRANTS = {m: quadrant(m) for m in MOODS}
TrackId = Annotated[str, PathParam(min_length=1, max_length=300, description="the track's id")]


# --------------------------------------------------------------------------------- state
class WebState:
    """What the app holds while it runs: the model, the library and the limits."""

    def __init__(self, *, model, store_path, max_upload_bytes: int, max_rows: int, max_files: int):
        self.model_ref = model
        self.store_path = store_path
        self.max_upload_bytes = max_upload_bytes
        self.max_rows = max_rows
        self.max_files = max_files
        self.model = None
        self.store = None
        self.lock = threading.RLock()  # one SQLite connection, shared by the worker threads
        self._alternates: dict[tuple, Any] = {}
        self._regions: dict[tuple, dict] = {}

    def open(self) -> None:
        from ..model.persistence import TrainedModel, load_model
        from ..store import Store

        self.model = (
            self.model_ref
            if isinstance(self.model_ref, TrainedModel)
            else load_model(self.model_ref)
        )
        self.store = Store(self.store_path)

    def close(self) -> None:
        if self.store is not None:
            self.store.close()
            self.store = None

    def model_for(self, columns, *, file=None):
        """The loaded model, or a bundled one that does without features the input lacks."""
        from ..model.persistence import TrainedModel
        from ..predict import choose_model

        columns = set(columns)
        missing = tuple(f for f in self.model.features if f not in columns)
        if not missing:
            return self.model
        if missing not in self._alternates:
            if isinstance(self.model_ref, TrainedModel):
                raise DataError(
                    f"missing feature column(s) for model {self.model.name!r}: "
                    f"{', '.join(missing)}",
                    file=file,
                )
            self._alternates[missing] = choose_model(columns, self.model_ref, file=file)
        return self._alternates[missing]


def _state(request: Request) -> WebState:
    return request.app.state.trackmood


# --------------------------------------------------------------------------------- middleware
class Guard:
    """Pure ASGI middleware: body-size limits, same-origin writes, security headers."""

    UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
    PAGE_CSP = (
        "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; "
        "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "form-action 'self'; object-src 'none'"
    )

    def __init__(self, app, *, limits, allowed_hosts=None):
        self.app = app
        self.limits = limits  # callable(path) -> max body bytes
        self.allowed_hosts = set(allowed_hosts) if allowed_hosts else None

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        path = scope.get("path", "")
        method = scope.get("method", "GET")
        if self.allowed_hosts is not None:  # DNS-rebinding guard for a server on loopback
            hostname = urlsplit("//" + headers.get("host", "")).hostname or ""
            if hostname not in self.allowed_hosts:
                return await self._reply(send, 400, f"host {hostname!r} is not served here")
        if method in self.UNSAFE and "origin" in headers:
            origin = urlsplit(headers["origin"]).netloc if headers["origin"] != "null" else "null"
            if origin != headers.get("host"):
                return await self._reply(
                    send,
                    403,
                    "cross-origin request refused: write requests must come from this page",
                )
        limit = self.limits(path)
        length = headers.get("content-length")
        if length is not None:
            try:
                n = int(length)
            except ValueError:
                return await self._reply(send, 400, "invalid Content-Length header")
            if n > limit:
                return await self._reply(
                    send,
                    413,
                    f"request body of {n} bytes is larger than the limit of {limit} bytes",
                )
        seen = 0
        too_large = False
        started = False

        async def receive_limited():
            nonlocal seen, too_large
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    too_large = True
                    raise ApiError(413, f"request body is larger than the limit of {limit} bytes")
            return message

        is_page = not path.startswith(("/docs", "/openapi.json"))

        async def send_with_headers(message):
            nonlocal started
            if message["type"] == "http.response.start":
                if too_large:  # the body parser turned our signal into a 400: report the 413
                    return await self._reply(
                        send, 413, f"request body is larger than the limit of {limit} bytes"
                    )
                started = True
                extra = [
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"x-frame-options", b"DENY"),
                ]
                if is_page:
                    extra.append((b"content-security-policy", self.PAGE_CSP.encode()))
                message = dict(message)
                message["headers"] = list(message.get("headers", [])) + extra
            elif too_large and not started:
                return None
            await send(message)

        try:
            await self.app(scope, receive_limited, send_with_headers)
        except ApiError as e:
            if not started:
                await self._reply(send, e.status, e.message)
            else:
                raise

    @staticmethod
    async def _reply(send, status: int, message: str):
        body = json.dumps({"error": message}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"x-content-type-options", b"nosniff"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


# --------------------------------------------------------------------------------- helpers
def _clean(value):
    """JSON-safe: numpy scalars to Python, NaN/inf to ``None``."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_clean(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is pd.NaT or value is pd.NA:
        return None
    return value


def _text(value) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    return str(value)


def _num(value) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def display_name(filename: str | None) -> str:
    """The last component of a client's file name, for display only (never used as a path)."""
    text = str(filename or "")
    text = PureWindowsPath(PurePosixPath(text).name).name
    text = "".join(ch for ch in text if ch.isprintable()).strip()[:200]
    return text or "upload"


def _suffix(name: str, allowed) -> str | None:
    suffix = PurePosixPath(name.lower()).suffix
    for s in allowed:  # return our own constant, not the client's string
        if s == suffix:
            return s
    return None


def _content_type(upload: UploadFile) -> str:
    return (upload.content_type or "").split(";")[0].strip().lower()


def _save(upload: UploadFile, dest: Path, *, limit: int, name: str) -> int:
    """Stream ``upload`` into ``dest``; 413 past ``limit`` bytes, 422 when empty."""
    n = 0
    with open(dest, "wb") as out:
        while True:
            chunk = upload.file.read(MiB)
            if not chunk:
                break
            n += len(chunk)
            if n > limit:
                raise ApiError(
                    413, f"{name}: file is larger than the limit of {limit / MiB:g} MB per file"
                )
            out.write(chunk)
    if n == 0:
        raise DataError("file is empty", file=name)
    return n


AUDIO_MAGIC = (
    b"RIFF",
    b"fLaC",
    b"OggS",
    b"ID3",
    b"FORM",
    b"\xff\xfb",
    b"\xff\xf3",
    b"\xff\xf2",
    b"\xff\xf1",
    b"\xff\xf9",
    b"\xff\xe3",
    b"\xff\xfa",
)


def _looks_like_audio(path: Path) -> bool:
    with open(path, "rb") as fh:
        head = fh.read(16)
    return head.startswith(AUDIO_MAGIC) or head[4:8] == b"ftyp"


def _synthetic_id(row: dict, features, values) -> str:
    """A stable id for a row without one: a hash of its name, artist and feature values."""
    key = json.dumps(
        [row.get("name"), row.get("artist"), list(features), [round(float(v), 9) for v in values]]
    )
    return "feat:" + hashlib.sha256(key.encode()).hexdigest()[:20]


def _row_error(row: pd.DataFrame, features, file) -> str | None:
    try:
        validate(row, features, file=file)
    except DataError as e:
        return str(e)
    except (TypeError, ValueError, OverflowError):
        r = int(row["_row"].iloc[0]) if "_row" in row.columns else None
        return str(DataError("not a number", file=file, row=r))
    return None


def predict_rows(
    state: WebState, df: pd.DataFrame, *, file: str, source: str, store: bool = True
) -> dict:
    """Predict every row of ``df`` that is valid; the others get a per-row ``error``."""
    from ..predict import predict_frame

    if len(df) > state.max_rows:
        raise ApiError(
            413,
            f"{file}: {len(df)} rows is more than the limit of {state.max_rows} rows per request",
        )
    df = df.reset_index(drop=True)
    if "_row" not in df.columns:
        df["_row"] = np.arange(1, len(df) + 1)
    model = state.model_for(df.columns, file=file)
    feats = model.features
    errors: dict[int, str] = {}
    for i in np.flatnonzero(invalid_rows(df, feats)):
        msg = _row_error(df.iloc[[i]], feats, file)
        if msg:
            errors[int(i)] = msg
    good = [i for i in range(len(df)) if i not in errors] if errors else list(range(len(df)))
    pred = None
    if good:
        try:
            pred = predict_frame(model, df.iloc[good] if errors else df, file=file)
        except DataError:  # our guess missed a bad cell: check every row exactly
            for i in good:
                msg = _row_error(df.iloc[[i]], feats, file)
                if msg:
                    errors[i] = msg
            good = [i for i in good if i not in errors]
            pred = predict_frame(model, df.iloc[good], file=file) if good else None
    n = len(df)

    def column(name, convert):
        return [convert(v) for v in df[name].tolist()] if name in df.columns else [None] * n

    ids, names = column("id", _text), column("name", _text)
    artists, albums = column("artist", _text), column("album", _text)
    valence, energy = column("valence", _num), column("energy", _num)
    row_numbers = df["_row"].tolist()
    rows: list[dict] = [
        {
            "row": int(row_numbers[i]),
            "id": ids[i],
            "name": names[i],
            "artist": artists[i],
            "album": albums[i],
            "mood": None,
            "p_calm": None,
            "p_energetic": None,
            "p_happy": None,
            "p_sad": None,
            "quadrant": None,
            "valence": valence[i],
            "energy": energy[i],
            "source": source,
            "error": errors.get(i),
        }
        for i in range(n)
    ]
    X = None
    if pred is not None:
        moods = pred["mood"].tolist()
        proba = pred[list(PROBA_COLUMNS)].to_numpy(dtype=float).tolist()
        quads = pred["quadrant"].tolist()
        X = df.iloc[good][feats].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
        for k, i in enumerate(good):
            r = rows[i]
            r["mood"] = moods[k]
            r["p_calm"], r["p_energetic"], r["p_happy"], r["p_sad"] = proba[k]
            r["quadrant"] = quads[k]
            if not r["id"]:
                r["id"] = _synthetic_id(r, feats, X[k])
    if store and pred is not None:
        extras = {
            c: [_num(v) for v in df[c].iloc[good].tolist()]
            for c in ("key", "mode", "time_signature", "popularity")
            if c in df.columns
        }
        _remember(state, rows, good, feats, X, model.name, source, extras)
    return {
        "model": model.name,
        "count": n,
        "errors": len(errors),
        "messages": [],
        "predictions": rows,
    }


def predict_tracks(state: WebState, tracks: list, *, source: str, store: bool = True) -> dict:
    """Predict validated :class:`TrackIn` objects; straight to the model when every track has
    every feature (types and ranges were checked by the request schema), else through
    :func:`predict_rows` with per-row errors.
    """
    model = state.model
    feats = model.features
    direct = all(f in TrackIn.model_fields for f in feats) and all(
        not t.model_extra and all(getattr(t, f) is not None for f in feats) for t in tracks
    )
    if not direct:
        records = [t.model_dump(exclude_none=True) for t in tracks]
        df = normalize_columns(pd.DataFrame.from_records(records))
        df["_row"] = np.arange(1, len(df) + 1)
        return predict_rows(state, df, file="request", source=source, store=store)
    X = np.array([[getattr(t, f) for f in feats] for t in tracks], dtype=float)
    classes = list(model.classes_)
    proba = model.predict_proba(X)[:, [classes.index(m) for m in MOODS]]
    best = proba.argmax(axis=1).tolist()
    proba = proba.tolist()
    rows = []
    for i, t in enumerate(tracks):
        mood = MOODS[best[i]]
        r = {
            "row": i + 1,
            "id": t.id,
            "name": t.name,
            "artist": t.artist,
            "album": t.album,
            "mood": mood,
            "p_calm": proba[i][0],
            "p_energetic": proba[i][1],
            "p_happy": proba[i][2],
            "p_sad": proba[i][3],
            "quadrant": _QUADRANTS[mood],
            "valence": t.valence,
            "energy": t.energy,
            "source": source,
            "error": None,
        }
        if not r["id"]:
            r["id"] = _synthetic_id(r, feats, X[i])
        rows.append(r)
    if store:
        _remember(state, rows, list(range(len(rows))), feats, X, model.name, source, {})
    return {
        "model": model.name,
        "count": len(rows),
        "errors": 0,
        "messages": [],
        "predictions": rows,
    }


def _remember(state: WebState, rows, good, feats, X, model_name, source, extras) -> None:
    """Keep the predicted rows, their features and predictions in the library (one commit)."""
    extra_cols = list(extras)
    with state.lock, state.store.transaction():
        state.store.upsert_tracks(
            [{k: rows[i][k] for k in ("id", "name", "artist", "album")} for i in good]
        )
        batch = []
        for k, i in enumerate(good):
            values = dict(zip(feats, X[k].tolist(), strict=False))
            for c in extra_cols:
                if extras[c][k] is not None:
                    values[c] = extras[c][k]
            batch.append((rows[i]["id"], values))
        state.store.put_features_many(batch, source=source)
        state.store.put_predictions(model_name, [rows[i] for i in good])


def _frame_rows(
    frame: pd.DataFrame, *, names: dict[str, str] | None = None, default_source: str
) -> list[dict]:
    """Rows of a source's prediction frame (audio, Spotify) as :class:`Prediction` dicts."""
    out = []
    for k, rec in enumerate(frame.to_dict(orient="records")):
        path = _text(rec.get("path"))
        name = _text(rec.get("name"))
        if names and path in names:
            name = names[path]
        elif name is None and path:
            name = display_name(path)
        row = {
            "row": k + 1,
            "id": _text(rec.get("id")),
            "name": name,
            "artist": _text(rec.get("artist")),
            "album": _text(rec.get("album")),
            "mood": _text(rec.get("mood")),
            "quadrant": _text(rec.get("quadrant")),
            "valence": _num(rec.get("valence")),
            "energy": _num(rec.get("energy")),
            "source": _text(rec.get("source")) or default_source,
            "error": _text(rec.get("error")) or _text(rec.get("reason")) or None,
        }
        for col in PROBA_COLUMNS:
            row[col] = _num(rec.get(col))
        if row["mood"] and not row["quadrant"] and row["mood"] in MOODS:
            row["quadrant"] = quadrant(row["mood"])
        timeline = rec.get("timeline")
        if isinstance(timeline, (list, tuple, np.ndarray)) and len(timeline):
            row["timeline"] = _clean([dict(t) for t in timeline if isinstance(t, dict)])
        out.append(row)
    return out


def _fill_map_features(state: WebState, rows: list[dict]) -> None:
    """Give rows without valence/energy the values the library holds for them, if any."""
    ids = [
        r["id"]
        for r in rows
        if r.get("id") and (r.get("valence") is None or r.get("energy") is None)
    ]
    if not ids:
        return
    with state.lock:
        feats = state.store.get_features(ids)
    for r in rows:
        f = feats.get(r.get("id") or "", {})
        for name in ("valence", "energy"):
            if r.get(name) is None and name in f:
                r[name] = _num(f[name][0])


def _unpath(text: str, names: dict[str, str], tmp: str) -> str:
    """A message with our temporary paths replaced by the client's file names."""
    for path, name in names.items():
        text = text.replace(path, name)
    return text.replace(tmp + "/", "").replace(tmp, "upload")


def _json(payload: dict, status: int = 200) -> Response:
    try:  # the common case: already plain, finite Python values
        body = json.dumps(payload, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError):
        body = json.dumps(_clean(payload), separators=(",", ":"), allow_nan=False)
    return Response(body, status_code=status, media_type="application/json")


# --------------------------------------------------------------------------------- app
def create_app(
    *,
    model=None,
    store_path=None,
    max_upload_mb: float = 50,
    max_rows: int = 100_000,
    max_files: int = 20,
    allowed_hosts=None,
) -> FastAPI:
    """Build the trackmood web app (REST API, OpenAPI docs and the page).

    Parameters
    ----------
    model : str, Path or TrainedModel, optional
        Bundled model name, saved model folder, or a loaded model (default: ``"default"``).
        Loaded once when the app starts.
    store_path : str or Path, optional
        The SQLite library; default ``$TRACKMOOD_DB`` or the user data folder; ``":memory:"`` works.
    max_upload_mb : float, default 50
        Largest uploaded file (and JSON body) in MB.
    max_rows : int, default 100000
        Most rows (tracks) predicted in one request.
    max_files : int, default 20
        Most files in one upload request.
    allowed_hosts : list of str, optional
        Host names the server answers to (``Host`` header), e.g. ``["127.0.0.1", "localhost"]``
        to refuse DNS-rebinding pages; default: any.

    Returns
    -------
    FastAPI
    """
    if max_upload_mb <= 0 or max_rows < 1 or max_files < 1:
        raise ValueError("max_upload_mb, max_rows and max_files must be positive")
    state = WebState(
        model=model,
        store_path=store_path,
        max_upload_bytes=int(max_upload_mb * MiB),
        max_rows=int(max_rows),
        max_files=int(max_files),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        state.open()
        try:
            yield
        finally:
            state.close()

    app = FastAPI(
        title="trackmood",
        version=__version__,
        lifespan=lifespan,
        description="Predict the mood of music tracks (Calm, Energetic, Happy, Sad) from audio "
        "features, audio files or Spotify references. Errors are JSON "
        '`{"error": "..."}` with a 4xx status.',
        docs_url=None,
        redoc_url=None,
        responses={
            400: {"model": ErrorBody, "description": "unreadable request"},
            413: {"model": ErrorBody, "description": "too large"},
            422: {"model": ErrorBody, "description": "bad input"},
        },
    )
    app.state.trackmood = state

    def body_limit(path: str) -> int:
        if path in ("/predict/file", "/predict/audio"):
            return state.max_upload_bytes * state.max_files + MiB
        return state.max_upload_bytes

    app.add_middleware(Guard, limits=body_limit, allowed_hosts=allowed_hosts)

    # -- error handlers ---------------------------------------------------------------------
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError):
        return _error(exc.status, exc.message, headers=exc.headers)

    @app.exception_handler(TrackmoodError)
    async def _tm_error(request: Request, exc: TrackmoodError):
        headers = None
        if isinstance(exc, RateLimitError) and exc.retry_after:
            headers = {"Retry-After": str(math.ceil(exc.retry_after))}
        return _error(status_of(exc), str(exc).replace("\n", " "), headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        errors = exc.errors()
        parts = []
        detail = []
        for e in errors[:20]:
            loc = ".".join(str(p) for p in e.get("loc", ()))
            msg = e.get("msg", "invalid")
            text = f"{loc}: {msg}" if loc else msg
            if "input" in e and e.get("type") not in ("missing", "json_invalid"):
                text += f" (value {_short(e['input'])})"
            parts.append(text)
            detail.append(
                {"loc": [str(p) for p in e.get("loc", ())], "msg": msg, "type": e.get("type")}
            )
        message = parts[0] if parts else "invalid request"
        if len(errors) > 1:
            message += f" (and {len(errors) - 1} more)"
        return _error(422, message, detail=detail)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        if exc.status_code == 400 and message == "There was an error parsing the body":
            message = "unreadable request body: expected UTF-8 JSON or multipart form data"
        if exc.status_code == 404 and message == "Not Found":
            message = f"no such page or endpoint: {request.url.path[:200]}"
        return _error(exc.status_code, message, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return _error(500, "internal error; the server log has the details")

    # -- health and model -------------------------------------------------------------------
    @app.get("/health", response_model=Health, tags=["service"])
    def health(request: Request):
        """Liveness: ``ok`` once the model is loaded and the library is open."""
        st = _state(request)
        return {
            "status": "ok" if st.model is not None and st.store is not None else "starting",
            "version": __version__,
            "model": st.model.name if st.model else None,
        }

    @app.get("/model", tags=["model"])
    def model_card(request: Request) -> dict[str, Any]:
        """The model card: name, features, classes, training data, metrics, terms."""
        st = _state(request)
        card = dict(st.model.card)
        card.setdefault("name", st.model.name)
        card.setdefault("features", st.model.features)
        card.setdefault("classes", list(st.model.classes_))
        return _json(card)

    held_params = {f.name: f for f in MODEL_FEATURES if f.name not in ("valence", "energy")}

    @app.get(
        "/model/regions",
        response_model=Regions,
        tags=["model"],
        responses={409: {"model": ErrorBody}},
    )
    def regions(
        request: Request,
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
        st = _state(request)
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
        m = st.model
        if "valence" not in m.features or "energy" not in m.features:
            raise ApiError(409, f"model {m.name!r} does not use valence and energy")
        held = {
            k: float(v if v is not None else TYPICAL[k])
            for k, v in given.items()
            if k in m.features and k in held_params
        }
        key = (n, tuple(sorted(held.items())))
        cached = st._regions.get(key)
        if cached is None:
            centres = (np.arange(n) + 0.5) / n
            vv, ee = np.meshgrid(centres, centres)  # rows: energy, columns: valence
            grid = pd.DataFrame({"valence": vv.ravel(), "energy": ee.ravel()})
            for k in m.features:
                if k not in grid:
                    grid[k] = held.get(k, TYPICAL.get(k, 0.0))
            proba = m.predict_proba(grid[m.features].to_numpy(dtype=float))
            classes = list(m.classes_)
            labels = np.asarray(classes)[proba.argmax(axis=1)].reshape(n, n)
            conf = proba.max(axis=1).reshape(n, n).round(4)
            cached = {
                "valence": centres.round(6).tolist(),
                "energy": centres.round(6).tolist(),
                "moods": labels.tolist(),
                "confidence": conf.tolist(),
                "held": held,
                "model": m.name,
            }
            if len(st._regions) > 64:
                st._regions.clear()
            st._regions[key] = cached
        return _json(cached)

    # -- predictions --------------------------------------------------------------------------
    @app.post("/predict", response_model=PredictResponse, tags=["predict"])
    def predict(
        request: Request,
        tracks: Annotated[
            list[TrackIn],
            Body(
                description="Tracks with their audio features (schema names; aliases such as "
                "'length' or 'bpm' are accepted as extra keys)."
            ),
        ],
        store: Annotated[
            bool, Query(description="keep tracks and predictions in the library")
        ] = True,
    ):
        """Predict a JSON list of tracks: mood, the four probabilities and the quadrant.

        Tracks that lack a feature the model needs, or hold a bad value, get an ``error`` and
        no prediction; the others are predicted.
        """
        st = _state(request)
        if not tracks:
            raise ApiError(422, "no tracks given: send a JSON list of track objects")
        if len(tracks) > st.max_rows:
            raise ApiError(
                413, f"{len(tracks)} tracks is more than the limit of {st.max_rows} per request"
            )
        return _json(predict_tracks(st, tracks, source="web:api", store=store))

    @app.post(
        "/predict/file",
        response_model=PredictResponse,
        tags=["predict"],
        responses={415: {"model": ErrorBody}},
    )
    def predict_file(
        request: Request,
        file: Annotated[
            UploadFile,
            File(description="a CSV, TSV, Parquet or JSON table of tracks with features"),
        ],
        store: Annotated[bool, Query()] = True,
    ):
        """Predict every row of an uploaded table; bad rows get an error naming row, column
        and value, good rows get their mood.
        """
        from ..datasets import read_table

        st = _state(request)
        name = display_name(file.filename)
        suffix = _suffix(name, TABLE_TYPES)
        if suffix is None:
            raise ApiError(
                415,
                f"{name}: unsupported table type; upload .csv, .tsv, .parquet, "
                ".json or .jsonl (audio goes to /predict/audio)",
            )
        ctype = _content_type(file)
        if ctype not in TABLE_TYPES[suffix]:
            raise ApiError(415, f"{name}: content type {ctype!r} does not fit a {suffix} table")
        with tempfile.TemporaryDirectory(prefix="trackmood-web-") as tmp:
            dest = Path(tmp) / f"upload{suffix}"
            _save(file, dest, limit=st.max_upload_bytes, name=name)
            try:
                df = read_table(dest)
            except DataError as e:  # re-word: the client knows the file by its own name
                raise DataError(str(e).replace(str(dest), name)) from None
        result = predict_rows(st, df, file=name, source=f"file:{name}", store=store)
        return _json(result)

    @app.post(
        "/predict/audio",
        response_model=PredictResponse,
        tags=["predict"],
        responses={415: {"model": ErrorBody}, 503: {"model": ErrorBody}},
    )
    def predict_audio_files(
        request: Request,
        files: Annotated[
            list[UploadFile], File(description="audio files (wav, flac, mp3, ogg, opus, m4a, aiff)")
        ],
        timeline: Annotated[
            float | None, Form(gt=0, le=600, description="seconds per window of the mood timeline")
        ] = None,
    ):
        """Predict the mood of uploaded audio files (features measured from the audio),
        optionally with a mood timeline per window of ``timeline`` seconds.
        """
        st = _state(request)
        if not files:
            raise ApiError(422, "no files given")
        if len(files) > st.max_files:
            raise ApiError(
                413, f"{len(files)} files is more than the limit of {st.max_files} per request"
            )
        checked = []
        for up in files:
            name = display_name(up.filename)
            suffix = _suffix(name, AUDIO_SUFFIXES)
            ctype = _content_type(up)
            if suffix is None:
                raise ApiError(
                    415, f"{name}: unsupported audio type; upload {', '.join(AUDIO_SUFFIXES)}"
                )
            if not (ctype.startswith("audio/") or ctype in AUDIO_OTHER_TYPES):
                raise ApiError(415, f"{name}: content type {ctype!r} is not audio")
            checked.append((up, name, suffix))
        try:
            from ..sources.audio import predict_audio
        except ImportError:
            raise ApiError(503, "audio prediction is not available in this installation") from None
        messages: list[str] = []
        with tempfile.TemporaryDirectory(prefix="trackmood-web-") as tmp:
            paths, names = [], {}
            for i, (up, name, suffix) in enumerate(checked):
                dest = Path(tmp) / f"upload-{i:03d}{suffix}"
                _save(up, dest, limit=st.max_upload_bytes, name=name)
                if not _looks_like_audio(dest):
                    raise ApiError(415, f"{name}: not a recognised audio file")
                paths.append(str(dest))
                names[str(dest)] = name
            kwargs = {}
            if "workers" in inspect.signature(predict_audio).parameters:
                kwargs["workers"] = 1  # in this thread: no forked workers inside a threaded server
            with st.lock:
                frame = predict_audio(
                    paths, timeline=timeline, notify=messages.append, store=st.store, **kwargs
                )
            rows = _frame_rows(frame, names=names, default_source="audio")
            for r in rows:
                if r["error"]:
                    r["error"] = _unpath(r["error"], names, tmp)
            # the library must not keep our temporary paths: name the tracks by their file name
            keep = [{"id": r["id"], "name": r["name"], "path": r["name"]} for r in rows if r["id"]]
            if keep:
                with st.lock:
                    st.store.upsert_tracks(keep)
        _fill_map_features(st, rows)
        messages = [_unpath(m, names, tmp) for m in messages]
        return _json(
            {
                "model": _text(frame.attrs.get("model")) if hasattr(frame, "attrs") else None,
                "count": len(rows),
                "errors": sum(1 for r in rows if r["error"]),
                "messages": messages,
                "predictions": rows,
            }
        )

    @app.post(
        "/predict/spotify",
        response_model=PredictResponse,
        tags=["predict"],
        responses={429: {"model": ErrorBody}, 503: {"model": ErrorBody}},
    )
    def predict_spotify(request: Request, body: SpotifyRequest):
        """Predict Spotify tracks or playlists (ids, URIs or URLs) where Spotify and ReccoBeats
        are configured on the server (credentials stay on the server).
        """
        st = _state(request)
        try:
            from ..sources.spotify import predict_refs
        except ImportError:
            raise ApiError(503, "Spotify support is not available in this installation") from None
        from ..model.persistence import TrainedModel
        from ..sources import spotify as S

        refs = list(body.refs)
        kinds = [S.parse_ref(r)[0] for r in refs]  # DataError (422) for what is not a reference
        if "playlist" in kinds and not S.token_cache_path("user").exists():
            # a first login is interactive (browser + redirect); a request must not wait on it
            raise ApiError(
                503,
                "reading playlists needs a Spotify login, which the web page "
                "cannot do: run 'trackmood predict <playlist link>' once in a "
                "terminal, then try again (single tracks work without it)",
            )
        messages: list[str] = []
        ref = None if isinstance(st.model_ref, TrainedModel) else st.model_ref
        try:
            with st.lock:
                frame = predict_refs(refs, model=ref, notify=messages.append, store=st.store)
        except RateLimitError:
            raise
        except SourceError as e:
            raise ApiError(503, f"Spotify is not available: {e}") from None
        rows = _frame_rows(frame, default_source="spotify")
        if len(rows) > st.max_rows:
            rows = rows[: st.max_rows]
            messages.append(f"only the first {st.max_rows} tracks are shown")
        _fill_map_features(st, rows)
        return _json(
            {
                "model": _text(frame.attrs.get("model")),
                "count": len(rows),
                "errors": sum(1 for r in rows if r["error"]),
                "messages": messages,
                "predictions": rows,
            }
        )

    # -- the library --------------------------------------------------------------------------
    @app.get("/tracks", response_model=TrackPage, tags=["library"])
    def tracks(
        request: Request,
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
        st = _state(request)
        mood_name = normalize_label(mood) if mood else None
        with st.lock:
            items, total = st.store.list_tracks(
                mood=mood_name, source=source or None, limit=limit, offset=offset
            )
            feats = st.store.get_features([t["id"] for t in items])
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
            out.append(
                {
                    "id": t["id"],
                    "name": t.get("name") or (display_name(t["path"]) if t.get("path") else None),
                    "artist": t.get("artist"),
                    "album": t.get("album"),
                    "model": t.get("model"),
                    "mood": t.get("mood"),
                    **{c: t.get(c) for c in PROBA_COLUMNS},
                    "quadrant": quadrant(t["mood"]) if t.get("mood") in MOODS else None,
                    "valence": f["valence"][0] if "valence" in f else None,
                    "energy": f["energy"][0] if "energy" in f else None,
                    "source": src,
                    "timeline": timeline if isinstance(timeline, list) else None,
                }
            )
        return _json({"total": total, "limit": limit, "offset": offset, "tracks": out})

    @app.get(
        "/tracks/{track_id}",
        response_model=TrackDetail,
        tags=["library"],
        responses={404: {"model": ErrorBody}},
    )
    def track(request: Request, track_id: TrackId):
        """One track: its details, features (with their sources) and predictions."""
        st = _state(request)
        with st.lock:
            t = st.store.get_track(track_id)
            if t is None:
                raise ApiError(404, f"no track {track_id!r} in the library")
            feats = st.store.get_features([track_id]).get(track_id, {})
            preds = st.store.get_predictions(track_id)
        t = {k: v for k, v in t.items() if k != "path"} | {
            "file": display_name(t["path"]) if t.get("path") else None
        }
        return _json(
            {
                "track": t,
                "features": {k: {"value": v, "source": s} for k, (v, s) in feats.items()},
                "predictions": preds,
            }
        )

    @app.delete(
        "/tracks/{track_id}",
        status_code=204,
        tags=["library"],
        responses={404: {"model": ErrorBody}},
    )
    def delete_track(request: Request, track_id: TrackId):
        """Remove a track, its features and predictions from the library."""
        st = _state(request)
        with st.lock:
            found = st.store.delete_track(track_id)
        if not found:
            raise ApiError(404, f"no track {track_id!r} in the library")
        return Response(status_code=204)

    # -- the page and the docs ----------------------------------------------------------------
    static_dir = Path(str(resources.files("trackmood") / "web" / "static"))
    app.mount("/static", StaticFiles(directory=static_dir), name="static")

    @app.get("/", include_in_schema=False)
    def index():
        return FileResponse(static_dir / "index.html", media_type="text/html")

    swagger_dir = _swagger_dir()
    if swagger_dir is not None:
        app.mount("/docs-assets", StaticFiles(directory=swagger_dir), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs():
        if swagger_dir is not None:
            from fastapi.openapi.docs import get_swagger_ui_html

            return get_swagger_ui_html(
                openapi_url="/openapi.json",
                title="trackmood API",
                swagger_js_url="/docs-assets/swagger-ui-bundle.js",
                swagger_css_url="/docs-assets/swagger-ui.css",
                swagger_favicon_url="/docs-assets/favicon-32x32.png",
            )
        return HTMLResponse(_plain_docs(app.openapi()))

    return app


def _swagger_dir() -> Path | None:
    """Swagger UI's files from the ``swagger-ui-bundle-v2`` package, if it is installed."""
    try:
        from swagger_ui_bundle import swagger_ui_path
    except ImportError:
        return None
    path = Path(str(swagger_ui_path))
    return path if (path / "swagger-ui-bundle.js").exists() else None


def _plain_docs(spec: dict) -> str:
    """A local, script-free list of the endpoints, for installs without Swagger UI."""
    from html import escape

    items = []
    for path, ops in spec.get("paths", {}).items():
        for method, op in ops.items():
            items.append(
                f"<li><code>{escape(method.upper())} {escape(path)}</code> — "
                f"{escape(op.get('summary', ''))}</li>"
            )
    return (
        "<!doctype html><html lang=en><meta charset=utf-8><title>trackmood API</title>"
        "<h1>trackmood API</h1><p>The full schema is at <a href='/openapi.json'>/openapi.json"
        "</a>.</p><ul>" + "".join(items) + "</ul></html>"
    )
