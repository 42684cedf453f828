"""The Spotify Web API through spotipy: one retry loop, clear errors, and writes that are never blind.

spotipy gets a plain :class:`requests.Session` (no retry adapter) so it never sleeps silently;
:mod:`trackmood.sources.http` does the waiting. Reads (``GET``) are retried on 5xx and timeouts.
Writes (creating a playlist, adding items) are **not**: a write that timed out or got a 5xx may
have happened anyway, so :meth:`SpotifyAPI.post` raises :class:`UncertainWrite` and the caller
looks at the current state before writing again (see :mod:`trackmood.playlists`). A 429 is
retried for writes too: Spotify refuses those before doing anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlsplit

from ..errors import SourceError
from .http import RETRY_STATUSES, HTTPFailure, RetryPolicy, with_retries
from .spotify_auth import Config, auth_manager, explain_oauth_error

if TYPE_CHECKING:
    from spotipy import Spotify

#: Page sizes of the 2026 development-mode API (above them Spotify answers 400 "Invalid limit").
LIMITS = {
    "playlist_items": 50,
    "album_tracks": 50,
    "artist_albums": 10,
    "search": 10,
    "add_items": 100,
    "me_playlists": 50,
    "audio_features": 100,
}


def client(*, user: bool = False, config: Config | None = None, manager=None):
    """A real :class:`spotipy.Spotify` on ``config.api_url`` that never retries or sleeps by itself."""
    import logging

    import requests
    import spotipy

    # spotipy logs every HTTP error at ERROR level; without a handler Python would print them.
    spotipy_log = logging.getLogger("spotipy")
    if not spotipy_log.handlers:
        spotipy_log.addHandler(logging.NullHandler())
    config = config or Config.from_env()
    manager = manager or auth_manager(user=user, config=config)
    sp = spotipy.Spotify(
        auth_manager=manager,
        requests_session=requests.Session(),
        requests_timeout=config.timeout,
        retries=0,
        status_retries=0,
    )
    sp.prefix = config.api_url.rstrip("/") + "/"
    return sp


class SpotifyHTTPError(SourceError):
    """Spotify answered with an error that waiting will not fix (400, 401, 403, 404 ...)."""

    def __init__(self, message: str, *, status, api_message: str = "", path: str = ""):
        self.status, self.api_message, self.path = status, api_message, path
        super().__init__(message)


class UncertainWrite(SourceError):
    """A write timed out, lost its connection or got a 5xx: it may or may not have happened."""

    def __init__(self, message: str, *, status):
        self.status = status
        super().__init__(message)


@dataclass
class SpotifyAPI:
    """spotipy plus the retry loop, error messages and a request counter.

    Parameters
    ----------
    sp : spotipy.Spotify
        A client from :func:`client` (or any spotipy client with a plain session).
    policy : RetryPolicy, optional
        Waiting and retrying; default from the environment.
    """

    sp: Spotify
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    requests_made: int = 0
    _me: dict | None = None

    @property
    def prefix(self) -> str:
        return self.sp.prefix

    def _call(self, method: str, path: str, payload=None, *, what: str) -> dict:
        from spotipy.oauth2 import SpotifyOauthError

        def once():
            self.requests_made += 1
            if method == "GET":
                return self.sp._get(path)
            try:
                return self.sp._post(path, payload=payload)
            except Exception as exc:  # a write is retried only when Spotify refused it (429)
                from .http import normalize

                f = normalize(exc)
                if f is not None and (f.status in RETRY_STATUSES or isinstance(f.status, str)):
                    label = f"HTTP {f.status}" if isinstance(f.status, int) else f.status
                    raise UncertainWrite(
                        f"Spotify gave no clear answer ({label}) while {what}; it may have "
                        "been done anyway",
                        status=f.status,
                    ) from None
                raise

        try:
            result = with_retries(once, what=what, policy=self.policy)
        except SpotifyOauthError as e:
            raise explain_oauth_error(e) from None
        except HTTPFailure as f:
            short = _short_path(path, self.prefix)
            hint = ""
            if f.status == 401:
                hint = "; the login is no longer valid: run `trackmood login` (or check the app)"
            raise SpotifyHTTPError(
                f"Spotify answered {f.status} to {method} {short}"
                f"{': ' + f.message if f.message else ''}{hint}",
                status=f.status,
                api_message=f.message,
                path=short,
            ) from None
        return result if result is not None else {}

    def get(self, path: str, *, what: str | None = None, **params) -> dict:
        """GET ``path`` (relative to the API base, or an absolute ``next`` URL) with ``params``."""
        if params:
            sep = "&" if "?" in path else "?"
            path = path + sep + urlencode({k: v for k, v in params.items() if v is not None})
        return self._call("GET", path, what=what or f"reading {_short_path(path, self.prefix)}")

    def post(self, path: str, payload: dict, *, what: str | None = None) -> dict:
        """POST once (429 waited out); :class:`UncertainWrite` when the outcome is unknown."""
        return self._call("POST", path, payload, what=what or f"writing {path}")

    def me(self) -> dict:
        if self._me is None:
            self._me = self.get("me", what="reading your profile")
        return self._me


def _short_path(url: str, prefix: str) -> str:
    if url.startswith(prefix):
        return url[len(prefix) :]
    parts = urlsplit(url)
    path = re.sub(r"^/v1/", "", parts.path)
    return path + (f"?{parts.query}" if parts.query else "")


def explain_playlist_error(e: SpotifyHTTPError, playlist_id: str) -> SourceError:
    """A helpful message for 403/404 on a playlist (every reason a 2026 app gets a 403)."""
    if e.status == 403:
        return SourceError(
            f"Spotify answered 403 Forbidden for playlist {playlist_id}. In development mode "
            "this means one of: the playlist is not yours and you do not collaborate on it "
            "(development-mode apps may read only playlists you own or collaborate on; copy its "
            "tracks into a playlist of your own and pass that one); the logged-in user is not on "
            "the app's user list (developer.spotify.com/dashboard, User Management, at most 5 "
            "users); or the app's owner has no Spotify Premium (needed for development-mode apps "
            "since February 2026)"
        )
    if e.status in (400, 404):
        return SourceError(
            f"Spotify has no playlist {playlist_id!r} ({e.status}); check the id "
            "(the part after open.spotify.com/playlist/)"
        )
    return e
