"""The FastAPI app: a REST API and one page, a thin layer over the Python API.

``create_app`` only wires things together: settings, the lifespan (which loads the model once,
opens the library and owns the audio worker pool), the guard in front, the error handlers and
the routers (:mod:`.routes`). Every error a request can cause comes back as JSON
``{"error": "<one line>", ...}`` with a 4xx status.

Security: the app answers only to the Host names it was started for (DNS rebinding) and
state-changing requests (POST, PUT, PATCH, DELETE) need its token (see :mod:`.access`); no part
of a request ever names a file on the server (uploads are written to fixed names in a fresh
temporary folder, removed after the request); request bodies, upload sizes, table shapes, cells,
rows and files per request are limited before anything is allocated; state-changing requests
from another origin are refused; a broken library answers 503 with the reason.

Examples
--------
>>> from fastapi.testclient import TestClient
>>> app = create_app(store_path=":memory:")  # a fresh token: app.state.token
>>> with TestClient(app, base_url="http://127.0.0.1",
...                 headers={"X-Trackmood-Token": app.state.token}) as client:
...     r = client.post("/predict", json=[{"duration_ms": 200000, "danceability": 0.3,
...         "acousticness": 0.9, "energy": 0.1, "instrumentalness": 0.9, "liveness": 0.1,
...         "valence": 0.2, "loudness": -22, "speechiness": 0.04, "tempo": 80}])
>>> r.status_code, r.json()["model"], sorted(r.json()["predictions"][0])[:3]
(200, 'default', ['album', 'artist', 'confidence'])
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import asynccontextmanager

from fastapi import FastAPI

from .. import __version__
from . import access
from .deps import Settings, WebState
from .errors import install_handlers
from .guard import Guard
from .routes import download as download_routes
from .routes import library as library_routes
from .routes import model as model_routes
from .routes import pages
from .routes import personal as personal_routes
from .routes import predict as predict_routes
from .routes import similar as similar_routes
from .routes import tracks as track_routes
from .schemas import ErrorBody
from .util import MiB


def create_app(
    *,
    model=None,
    store_path=None,
    max_upload_mb: float = 50,
    max_request_mb: float = 256,
    max_rows: int = 100_000,
    max_files: int = 20,
    allowed_hosts: Iterable[str] | None = None,
    any_ip: bool = False,
    token: str | None = None,
    audio_workers: int = 1,
    audio_analyser: Callable | None = None,
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
    max_request_mb : float, default 256
        Largest audio upload request (all its files) in MB.
    max_rows : int, default 100000
        Most rows (tracks) predicted in one request.
    max_files : int, default 20
        Most files in one upload request.
    allowed_hosts : list of str, optional
        Host names the app answers to (``Host`` header, port ignored); any other is refused
        with 421 (DNS rebinding). Default: loopback (127.0.0.1, localhost, ::1); see
        :func:`trackmood.web.access.served_names` for a server off loopback.
    any_ip : bool, default False
        Also answer to any IP address in ``Host`` (for a server listening on every address: an
        address cannot be rebound to another machine).
    token : str, optional
        What POST, PUT, PATCH and DELETE requests must send (``X-Trackmood-Token`` header or
        ``Authorization: Bearer``); 16-256 URL-safe characters. Default: a fresh random one.
        There is no way to turn it off; the app's page carries it, and it is
        ``app.state.token``.
    audio_workers : int, default 1
        Processes of the audio analysis pool (started with the first audio upload).
    audio_analyser : callable(path, window=None) -> dict, optional
        Replaces a worker's descriptor analysis of a file (default: the audio engine's); a
        module-level function (it is sent to the worker by reference).

    Returns
    -------
    FastAPI
    """
    if max_upload_mb <= 0 or max_request_mb <= 0 or max_rows < 1 or max_files < 1:
        raise ValueError("max_upload_mb, max_request_mb, max_rows and max_files must be positive")
    if audio_workers < 1:
        raise ValueError("audio_workers must be at least 1")
    token = access.check_token(token) if token is not None else access.new_token()
    hosts = frozenset(
        access.host_of(h)
        for h in (access.LOOPBACK_NAMES if allowed_hosts is None else allowed_hosts)
    ) - {""}
    settings = Settings(
        model=model,
        store_path=store_path,
        max_upload_bytes=int(max_upload_mb * MiB),
        max_request_bytes=int(max_request_mb * MiB),
        max_rows=int(max_rows),
        max_files=int(max_files),
        audio_workers=int(audio_workers),
        audio_analyser=audio_analyser,
    )
    state = WebState(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        state.open()  # the model (once), the library, the audio worker pool
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
            403: {"model": ErrorBody, "description": "missing or wrong token (writes)"},
            421: {"model": ErrorBody, "description": "Host is not a name this server serves"},
            503: {"model": ErrorBody, "description": "the library (or a source) is unavailable"},
            413: {"model": ErrorBody, "description": "too large"},
            422: {"model": ErrorBody, "description": "bad input"},
        },
    )
    app.state.trackmood = state
    app.state.token = token

    def write_ok() -> None:  # a write went through: the library works again
        if state.library is not None:
            state.library.recovered()

    app.add_middleware(
        Guard,
        limits=settings.body_limit,
        allowed_hosts=hosts,
        token=token,
        any_ip=any_ip,
        on_write_ok=write_ok,
    )
    install_handlers(app)
    app.include_router(model_routes.router)
    app.include_router(predict_routes.measured)
    app.include_router(predict_routes.router)
    app.include_router(library_routes.router)
    app.include_router(personal_routes.router)
    app.include_router(track_routes.router)
    app.include_router(download_routes.router)
    app.include_router(similar_routes.router)
    pages.mount(app)
    _declare_token(app)
    return app


def _declare_token(app: FastAPI) -> None:
    """Say in the OpenAPI schema (and so on /docs, "Authorize") that writes need the token."""
    build = app.openapi

    def openapi():
        if app.openapi_schema is None:
            spec = build()
            spec.setdefault("components", {}).setdefault("securitySchemes", {})["token"] = {
                "type": "apiKey",
                "in": "header",
                "name": "X-Trackmood-Token",
                "description": "printed on stderr when 'trackmood serve' starts",
            }
            for ops in spec.get("paths", {}).values():
                for method, op in ops.items():
                    if method.upper() in Guard.UNSAFE:
                        op["security"] = [{"token": []}]
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to extend the schema
