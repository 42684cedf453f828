"""A pure ASGI middleware in front of the app: allowed hosts, the token for writes, same-origin
writes, body limits and security headers (see :mod:`.access` for hosts and the token).

Every check runs before any route: a request for another Host is answered 421, a write without
the right token 403, before a byte of its body is read.

Body limits are streamed: a ``Content-Length`` over the limit is refused before a byte of the
body is read, and a body without one (chunked) is counted while it arrives and refused the
moment it passes the limit, so nothing past the limit is ever buffered or spooled to disk.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import urlsplit

from . import access
from .errors import ApiError


class Guard:
    """Pure ASGI middleware: Host names, the token for writes, same-origin writes, body-size
    limits, security headers.

    Parameters
    ----------
    app : ASGI app
    limits : callable(path) -> int
        The largest request body (bytes) for a path.
    allowed_hosts : set of str
        Host names served (normalised, see :func:`.access.served_names`); any other is refused.
    token : str
        What POST, PUT, PATCH and DELETE requests must carry.
    any_ip : bool
        Also answer to any IP address (a server listening on every address).
    on_write_ok : callable, optional
        Called when a state-changing request succeeds (2xx): the library works again.
    """

    UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
    PAGE_CSP = (
        "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; "
        "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "form-action 'self'; object-src 'none'"
    )

    def __init__(
        self,
        app,
        *,
        limits: Callable[[str], int],
        allowed_hosts: frozenset[str],
        token: str,
        any_ip: bool = False,
        on_write_ok: Callable[[], None] | None = None,
    ):
        self.app = app
        self.limits = limits
        self.allowed_hosts = frozenset(allowed_hosts)
        self.token = access.check_token(token)
        self.any_ip = any_ip
        self.on_write_ok = on_write_ok

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        path = scope.get("path", "")
        method = scope.get("method", "GET")
        host = headers.get("host", "")
        if not access.allowed(host, self.allowed_hosts, any_ip=self.any_ip):
            shown = access.host_of(host)[:100]
            return await self._reply(
                send,
                421,
                f"host {shown!r} is not a name this server was started for; to serve it, "
                "start 'trackmood serve' with --allow-host NAME"
                if shown
                else "missing Host header",
            )
        if method in self.UNSAFE:
            given = access.token_of(headers)
            if not access.same_token(given, self.token):
                return await self._reply(
                    send,
                    403,
                    (
                        "missing token: requests that change something need the server's token "
                        "in the X-Trackmood-Token header (printed when 'trackmood serve' started; "
                        "the page sends it by itself)"
                    )
                    if given is None
                    else "wrong token: use the one printed when "
                    "'trackmood serve' started (or reload the page)",
                )
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
            if n > limit:  # refused before reading a byte of the body
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
            if too_large:  # the app asks again after we refused: end it
                return {"type": "http.disconnect"}
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
                    started = True
                    return await self._reply(
                        send, 413, f"request body is larger than the limit of {limit} bytes"
                    )
                started = True
                if self.on_write_ok and method in self.UNSAFE and message["status"] < 300:
                    self.on_write_ok()
                extra = [
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"x-frame-options", b"DENY"),
                ]
                if is_page:
                    extra.append((b"content-security-policy", self.PAGE_CSP.encode()))
                message = dict(message)
                message["headers"] = list(message.get("headers", [])) + extra
            elif too_large:
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
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
