"""Spotify credentials, token caches and the user login (authorization code with PKCE).

Configuration (argument, then environment, then default; secrets only from the environment or a
``.env`` file in the working folder):

========================================  =====================================================
``SPOTIPY_CLIENT_ID``                     the app's client id (playlists, writes, track names)
``SPOTIPY_CLIENT_SECRET``                 the app's secret (client-credentials flow)
``SPOTIPY_REDIRECT_URI``                  ``http://127.0.0.1:PORT/callback`` (user flow, PKCE)
``TRACKMOOD_SPOTIFY_API_URL``             default ``https://api.spotify.com/v1``
``TRACKMOOD_SPOTIFY_ACCOUNTS_URL``        default ``https://accounts.spotify.com``
``TRACKMOOD_RECCOBEATS_URL``              default ``https://api.reccobeats.com/v1``
``TRACKMOOD_MAX_RETRY_AFTER``             longest Retry-After waited out, seconds (default 60)
``TRACKMOOD_HTTP_TIMEOUT``                seconds to wait for one answer (default 10)
========================================  =====================================================

Tokens are cached beside the library, one file per app (client id) and kind, mode 0600. The user
flow is never started implicitly: without a cached login, :class:`LoginRequired` says to log in
(``trackmood login``), which runs :func:`login` — it prints the authorization URL, opens a browser
when one can be opened, and otherwise reads the URL the browser was redirected to.

>>> parse_redirect("http://127.0.0.1:8888/callback?code=abc&state=s1", state="s1")
'abc'
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from ..errors import SourceError
from .http import env_float

DEFAULT_API_URL = "https://api.spotify.com/v1"
DEFAULT_ACCOUNTS_URL = "https://accounts.spotify.com"
DEFAULT_RECCOBEATS_URL = "https://api.reccobeats.com/v1"

#: Scopes the user flow asks for: read own/collaborative playlists, write the mood playlists.
USER_SCOPES = (
    "playlist-read-private",
    "playlist-read-collaborative",
    "playlist-modify-private",
    "playlist-modify-public",
)
#: Seconds ``login`` waits for the redirected URL (typed/pasted, or caught on the redirect port).
LOGIN_TIMEOUT = 300.0


class LoginRequired(SourceError):
    """No usable user login for this app; the message says to run ``trackmood login``."""


@dataclass(frozen=True)
class Config:
    """Endpoints and timeouts; :meth:`from_env` reads the ``TRACKMOOD_*`` variables."""

    api_url: str = DEFAULT_API_URL
    accounts_url: str = DEFAULT_ACCOUNTS_URL
    reccobeats_url: str = DEFAULT_RECCOBEATS_URL
    timeout: float = 10.0

    @classmethod
    def from_env(cls) -> Config:
        env = os.environ

        def url(name, default):
            return (env.get(name) or default).rstrip("/")

        return cls(
            api_url=url("TRACKMOOD_SPOTIFY_API_URL", DEFAULT_API_URL),
            accounts_url=url("TRACKMOOD_SPOTIFY_ACCOUNTS_URL", DEFAULT_ACCOUNTS_URL),
            reccobeats_url=url("TRACKMOOD_RECCOBEATS_URL", DEFAULT_RECCOBEATS_URL),
            timeout=env_float("TRACKMOOD_HTTP_TIMEOUT", 10.0),
        )


def load_dotenv_once() -> None:
    """Read a ``.env`` in the working folder (or above) without overriding the environment."""
    try:
        from dotenv import find_dotenv, load_dotenv
    except ImportError:  # pragma: no cover - python-dotenv is a dependency
        return
    path = find_dotenv(usecwd=True)
    if path:
        load_dotenv(path, override=False)


def _env_values() -> dict[str, str]:
    load_dotenv_once()
    return {
        k: (os.environ.get(k) or "").strip()
        for k in ("SPOTIPY_CLIENT_ID", "SPOTIPY_CLIENT_SECRET", "SPOTIPY_REDIRECT_URI")
    }


def has_app_credentials() -> bool:
    """Whether a client id and secret are set (catalogue reads: track names, albums)."""
    v = _env_values()
    return bool(v["SPOTIPY_CLIENT_ID"] and v["SPOTIPY_CLIENT_SECRET"])


def credentials(*, user: bool) -> dict[str, str]:
    """The app's credentials from the environment (or ``.env``); one-line error naming what is unset.

    ``user=True`` (PKCE) needs the client id and redirect URI; ``user=False`` (client credentials)
    needs the client id and secret. The redirect URI must be ``http://127.0.0.1:PORT/...``.
    """
    values = _env_values()
    need = ["SPOTIPY_CLIENT_ID"] + (["SPOTIPY_REDIRECT_URI"] if user else ["SPOTIPY_CLIENT_SECRET"])
    missing = [k for k in need if not values[k]]
    if missing:
        what = " and ".join(missing)
        hint = (
            " (e.g. http://127.0.0.1:8888/callback, registered in your app's settings)"
            if "SPOTIPY_REDIRECT_URI" in missing
            else ""
        )
        raise SourceError(
            f"Spotify credentials missing: set {what}{hint} in the environment or in "
            "a .env file (create an app at https://developer.spotify.com/dashboard)"
        )
    if user:
        check_redirect_uri(values["SPOTIPY_REDIRECT_URI"])
    return values


def check_redirect_uri(uri: str) -> None:
    """Spotify accepts loopback redirects only as ``http://127.0.0.1:PORT/...`` since 2025."""
    parts = urlsplit(uri)
    if parts.hostname == "localhost":
        raise SourceError(
            f"SPOTIPY_REDIRECT_URI={uri!r} uses 'localhost', which Spotify rejects "
            "since 2025; use http://127.0.0.1:PORT/callback (and register it)"
        )
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SourceError(
            f"SPOTIPY_REDIRECT_URI={uri!r} is not a URL; use http://127.0.0.1:PORT/callback"
        )
    if parts.scheme == "http" and parts.hostname != "127.0.0.1":
        raise SourceError(
            f"SPOTIPY_REDIRECT_URI={uri!r}: plain http is allowed only for "
            "127.0.0.1; use http://127.0.0.1:PORT/callback or an https URL"
        )


def token_cache_path(kind: str, client_id: str | None = None) -> Path:
    """Where the token of ``kind`` (``'app'`` or ``'user'``) of one app is cached (beside the library).

    Keyed by the client id (hashed), so switching apps (e.g. after ``QUOTA_EXCEEDED``) never reuses
    another app's token. ``client_id`` defaults to ``SPOTIPY_CLIENT_ID``.
    """
    from ..store import default_path

    cid = client_id if client_id is not None else _env_values()["SPOTIPY_CLIENT_ID"]
    tag = hashlib.sha256(cid.encode()).hexdigest()[:12] if cid else "none"
    return default_path().parent / f"spotify-token-{kind}-{tag}.json"


class SecureCacheFileHandler:
    """A spotipy cache handler whose file is written atomically with mode 0600 from the first byte."""

    def __init__(self, cache_path: Path):
        self.cache_path = Path(cache_path)

    def get_cached_token(self):
        try:
            token = json.loads(self.cache_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return token if isinstance(token, dict) else None

    def save_token_to_cache(self, token_info):
        self.cache_path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".token-", dir=self.cache_path.parent)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(token_info, fh)
            os.replace(tmp, self.cache_path)
            os.chmod(self.cache_path, 0o600)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def cache_handler(path: Path):
    """A :class:`SecureCacheFileHandler` that spotipy accepts (a ``CacheHandler`` subclass)."""
    from spotipy.cache_handler import CacheHandler

    class Handler(SecureCacheFileHandler, CacheHandler):
        pass

    return Handler(path)


def _pkce_class():
    from spotipy.oauth2 import SpotifyPKCE

    class QuietPKCE(SpotifyPKCE):
        """SpotifyPKCE that never starts a login on its own (it would wait on a port forever)."""

        def get_authorization_code(self, response=None):
            if response:
                return self.parse_response_code(response)
            raise LoginRequired(
                "no Spotify login for this app yet (or it lacks the playlist scopes): "
                "run `trackmood login`"
            )

    return QuietPKCE


def auth_manager(
    *,
    user: bool,
    config: Config | None = None,
    open_browser: bool = False,
    cache_path: str | Path | None = None,
):
    """A spotipy auth manager pointed at ``config.accounts_url``, caching its token with mode 0600.

    ``user=False``: client credentials (catalogue: albums, artists, search, single tracks).
    ``user=True``: authorization code with PKCE (your playlists; creating mood playlists); it
    uses the cached login and raises :class:`LoginRequired` instead of starting a flow.
    """
    import requests
    from spotipy.oauth2 import SpotifyClientCredentials

    config = config or Config.from_env()
    creds = credentials(user=user)
    cid = creds["SPOTIPY_CLIENT_ID"]
    cache = cache_handler(
        Path(cache_path) if cache_path else token_cache_path("user" if user else "app", cid)
    )
    if user:
        manager = _pkce_class()(
            client_id=cid,
            redirect_uri=creds["SPOTIPY_REDIRECT_URI"],
            scope=list(USER_SCOPES),
            cache_handler=cache,
            open_browser=open_browser,
            requests_session=requests.Session(),
            requests_timeout=config.timeout,
        )
        manager.OAUTH_AUTHORIZE_URL = f"{config.accounts_url}/authorize"
    else:
        manager = SpotifyClientCredentials(
            client_id=cid,
            client_secret=creds["SPOTIPY_CLIENT_SECRET"],
            cache_handler=cache,
            requests_session=requests.Session(),
            requests_timeout=config.timeout,
        )
    manager.OAUTH_TOKEN_URL = f"{config.accounts_url}/api/token"
    return manager


def has_user_login(client_id: str | None = None) -> bool:
    """Whether a user token with a refresh token is cached for this app."""
    token = SecureCacheFileHandler(token_cache_path("user", client_id)).get_cached_token()
    return bool(token and token.get("refresh_token"))


def explain_oauth_error(e) -> SourceError:
    """A one-line error for spotipy's :class:`SpotifyOauthError` (refused credentials or login)."""
    if isinstance(e, SourceError):
        return e
    error = getattr(e, "error", None) or "error"
    desc = getattr(e, "error_description", None) or ""
    said = f"{error}{': ' + desc if desc else ''}"
    if error == "invalid_grant":
        return LoginRequired(
            f"Spotify refused the saved login ({said}): it expired or was revoked; "
            "run `trackmood login` to log in again"
        )
    return SourceError(
        f"the Spotify accounts service refused the app's credentials ({said}); check "
        "SPOTIPY_CLIENT_ID and SPOTIPY_CLIENT_SECRET"
    )


# -- the login flow ------------------------------------------------------------------------------
def parse_redirect(url: str, *, state: str | None) -> str:
    """The ``code`` of the URL the browser was redirected to; :class:`SourceError` otherwise."""
    text = (url or "").strip()
    if not text:
        raise SourceError("no redirected URL was given; nothing changed")
    q = {k: v[0] for k, v in parse_qs(urlsplit(text).query).items()}
    if "error" in q:
        raise SourceError(
            f"Spotify did not authorize the app ({q['error']}); nothing changed"
            + (" (you chose not to agree)" if q["error"] == "access_denied" else "")
        )
    if not q.get("code"):
        raise SourceError(
            f"no authorization code in {text[:80]!r}; paste the whole URL the browser was sent to"
        )
    if state is not None and q.get("state") != state:
        raise SourceError(
            "the redirected URL belongs to another login attempt (its state does not match); "
            "use the URL printed by this run"
        )
    return q["code"]


def browser_available() -> bool:
    """Whether a graphical browser can probably be opened here (not on SSH or headless Linux)."""
    import sys
    import webbrowser

    if os.environ.get("SSH_CONNECTION") or os.environ.get("SSH_TTY"):
        return False
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        return False
    try:
        webbrowser.get()
    except webbrowser.Error:
        return False
    return True


def _catch_redirect(redirect_uri: str, timeout: float, open_page: Callable[[], bool]) -> str | None:
    """Listen on the redirect port (127.0.0.1 only), call ``open_page()`` (the browser), and wait
    until ``timeout`` for the browser to come back; the URL, or ``None`` (no port, no browser).
    """
    from http.server import BaseHTTPRequestHandler, HTTPServer

    parts = urlsplit(redirect_uri)
    if parts.hostname != "127.0.0.1" or not parts.port:
        return None
    got: dict = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server API
            got["url"] = f"http://127.0.0.1:{parts.port}{self.path}"
            body = b"trackmood: login received; you can close this tab."
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    try:
        server = HTTPServer(("127.0.0.1", parts.port), Handler)
    except OSError:
        return None
    server.timeout = 0.2
    deadline = time.monotonic() + timeout
    stop = threading.Event()

    def serve():
        while "url" not in got and not stop.is_set() and time.monotonic() < deadline:
            server.handle_request()

    # serve before the browser opens: some "browsers" (BROWSER=cmd) block until they are done
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        if not open_page():
            stop.set()
        thread.join(max(0.0, deadline - time.monotonic()) + 1)
    finally:
        stop.set()
        thread.join(1)
        server.server_close()
    return got.get("url")


def read_line_with_timeout(read_line: Callable[[], str], timeout: float) -> str | None:
    """``read_line()`` in a daemon thread; ``None`` when nothing came within ``timeout`` seconds."""
    box: dict = {}

    def run():
        try:
            box["line"] = read_line()
        except (OSError, ValueError, EOFError):
            box["line"] = ""

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(timeout)
    return box.get("line")


def login(
    *,
    say: Callable[[str], None],
    read_line: Callable[[], str] | None,
    open_browser: bool = True,
    timeout: float = LOGIN_TIMEOUT,
    config: Config | None = None,
) -> dict:
    """Log the user in (PKCE) and cache the token; returns ``{'user': id, 'cache': path}``.

    The authorization URL is always given to ``say``. With ``open_browser`` and a browser at hand
    it is opened and the redirect is caught on the redirect port; otherwise (or if that gets
    nothing) the redirected URL is read with ``read_line`` (the page it leads to may fail to
    load: that is expected). Waits at most ``timeout`` seconds for it.
    """
    import webbrowser

    manager = auth_manager(user=True, config=config)
    state = secrets.token_urlsafe(12)
    url = manager.get_authorize_url(state=state)
    say(f"open this URL in a browser, log in to Spotify and agree:\n{url}")
    redirected = None
    if open_browser and browser_available():
        redirect = manager.redirect_uri

        def open_page() -> bool:
            try:
                opened = webbrowser.open(url)
            except webbrowser.Error:
                return False
            if opened:
                say(f"waiting up to {timeout:.0f} s for the browser to come back to {redirect}")
            return opened

        redirected = _catch_redirect(redirect, timeout, open_page)
    if redirected is None:
        if read_line is None:
            raise SourceError("no browser and no input to read the redirected URL from")
        say(
            "then paste here the whole URL your browser was sent to (it starts with "
            f"{manager.redirect_uri}; the page itself may fail to load, that is fine). "
            f"Waiting {timeout:.0f} s:"
        )
        redirected = read_line_with_timeout(read_line, timeout)
        if redirected is None:
            raise SourceError(
                f"no redirected URL within {timeout:.0f} s; nothing changed (run login again)"
            )
    code = parse_redirect(redirected, state=state)
    from spotipy.oauth2 import SpotifyOauthError

    try:
        manager.get_access_token(code, check_cache=False)
    except SpotifyOauthError as e:
        raise explain_oauth_error(e) from None
    return {"cache": manager.cache_handler.cache_path}


def logout(client_id: str | None = None) -> list[Path]:
    """Delete this app's cached tokens (user and app); returns the files removed."""
    removed = []
    for kind in ("user", "app"):
        path = token_cache_path(kind, client_id)
        if path.exists():
            path.unlink()
            removed.append(path)
    return removed
