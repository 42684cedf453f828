"""Errors as JSON: ``{"error": "<one line>", ...}`` with a 4xx status, for every failure a
request can cause; a library file that cannot be used is a 503 naming it and what to do (see
:mod:`.library`); an unexpected error is logged and answered with a plain 500.
"""

from __future__ import annotations

import logging
import math
import sqlite3

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import (
    DataError,
    LibraryError,
    ModelError,
    RateLimitError,
    SourceError,
    TrackmoodError,
)
from .util import short

log = logging.getLogger("trackmood.web")


class ApiError(Exception):
    """An error with an HTTP status and a one-line message for the client."""

    def __init__(self, status: int, message: str, *, headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers


def status_of(error: TrackmoodError) -> int:
    """The HTTP status for a library error: bad input 422, remote limits 429, sources and the
    library file 503.
    """
    if isinstance(error, LibraryError):
        return 503
    if isinstance(error, DataError):  # includes LabelError
        return 422
    if isinstance(error, RateLimitError):
        return 429
    if isinstance(error, (SourceError, ModelError)):
        return 503
    return 400


def error_response(status: int, message: str, *, headers: dict | None = None, **extra):
    """``{"error": message, **extra}`` with ``status``."""
    return JSONResponse({"error": message, **extra}, status_code=status, headers=headers)


def install_handlers(app: FastAPI) -> None:
    """Turn every kind of failure into a one-line JSON error."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError):
        return error_response(exc.status, exc.message, headers=exc.headers)

    @app.exception_handler(TrackmoodError)
    async def _tm_error(request: Request, exc: TrackmoodError):
        headers = None
        if isinstance(exc, RateLimitError) and exc.retry_after:
            headers = {"Retry-After": str(math.ceil(exc.retry_after))}
        return error_response(status_of(exc), str(exc).replace("\n", " "), headers=headers)

    def _library_unavailable(request: Request, exc: Exception):
        from .library import describe

        state = request.app.state.trackmood
        if state.library is not None:
            message = state.library.explain(exc)
        else:
            message = describe(exc, state.settings.store_path)
        log.warning("library unavailable on %s %s: %s", request.method, request.url.path, message)
        if state.library is not None:
            state.library.failed(message)
        return error_response(503, message)

    @app.exception_handler(LibraryError)
    async def _library(request: Request, exc: LibraryError):
        return _library_unavailable(request, exc)

    @app.exception_handler(sqlite3.DatabaseError)
    async def _sqlite(request: Request, exc: sqlite3.DatabaseError):
        from .library import is_library_error

        if is_library_error(exc):
            return _library_unavailable(request, exc)
        return await _unexpected(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        errors = exc.errors()
        parts = []
        detail = []
        for e in errors[:20]:
            loc = ".".join(str(p) for p in e.get("loc", ()))
            msg = e.get("msg", "invalid")
            line = f"{loc}: {msg}" if loc else msg
            if "input" in e and e.get("type") not in ("missing", "json_invalid"):
                line += f" (value {short(e['input'])})"
            parts.append(line)
            detail.append(
                {"loc": [str(p) for p in e.get("loc", ())], "msg": msg, "type": e.get("type")}
            )
        message = parts[0] if parts else "invalid request"
        if len(errors) > 1:
            message += f" (and {len(errors) - 1} more)"
        return error_response(422, message, detail=detail)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        if exc.status_code == 400 and message == "There was an error parsing the body":
            message = "unreadable request body: expected UTF-8 JSON or multipart form data"
        if exc.status_code == 404 and message == "Not Found":
            message = f"no such page or endpoint: {request.url.path[:200]}"
        return error_response(exc.status_code, message, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(500, "internal error; the server log has the details")
