"""Spotify as a source of track lists (playlists, albums, artists, search) on the 2026 Web API.

Everything goes through the real spotipy client, given a plain :class:`requests.Session` so it
never sleeps silently; :mod:`trackmood.sources.http` does the waiting and retrying. Pages that were
fetched are kept in the library store (kv namespace ``spotify-page``), so a command that is killed
and run again continues without asking Spotify for a page it already has.

Configuration (argument, then environment, then default; secrets only from the environment or a
``.env`` file in the working folder):

========================================  =====================================================
``SPOTIPY_CLIENT_ID``                     the app's client id (required)
``SPOTIPY_CLIENT_SECRET``                 the app's secret (client-credentials flow)
``SPOTIPY_REDIRECT_URI``                  ``http://127.0.0.1:PORT/callback`` (user flow, PKCE)
``TRACKMOOD_SPOTIFY_API_URL``             default ``https://api.spotify.com/v1``
``TRACKMOOD_SPOTIFY_ACCOUNTS_URL``        default ``https://accounts.spotify.com``
``TRACKMOOD_RECCOBEATS_URL``              default ``https://api.reccobeats.com/v1``
``TRACKMOOD_MAX_RETRY_AFTER``             longest Retry-After waited out, seconds (default 60)
``TRACKMOOD_HTTP_TIMEOUT``                seconds to wait for one answer (default 10)
========================================  =====================================================

>>> parse_ref("https://open.spotify.com/intl-de/playlist/37i9dQZF1DX3rxVfibe1L0?si=x")
('playlist', '37i9dQZF1DX3rxVfibe1L0')
>>> parse_ref("spotify:track:4uLU6hMCjMI75M1A2tKUQC")
('track', '4uLU6hMCjMI75M1A2tKUQC')
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

from ..errors import DataError, SourceError
from .http import HTTPFailure, RetryPolicy, env_float, with_retries

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

#: How long a cached page of a playlist/album/search stays valid (a rerun within it resumes).
PAGE_TTL = 24 * 3600.0

TERMS_NOTICE = (
    "notice: Spotify Developer Terms §IV.2.a.i forbid using the Spotify Platform or Spotify Content "
    '"to train a machine learning or AI model or otherwise ingesting Spotify Content into a machine '
    'learning or AI model". The README section "Data and Spotify\'s terms" explains what that means '
    "for trackmood and how to use it within them. (Shown once.)"
)

_REF_RE = re.compile(
    r"^(?:spotify:(?P<ukind>track|playlist|album|artist):(?P<uid>[0-9A-Za-z]{22})"
    r"|(?:https?://)?open\.spotify\.com/(?:intl-[a-zA-Z-]+/)?(?:embed/)?"
    r"(?P<lkind>track|playlist|album|artist)/(?P<lid>[0-9A-Za-z]{22})(?:[/?#].*)?"
    r"|(?P<bare>[0-9A-Za-z]{22}))$"
)


def parse_ref(ref: str, *, default_kind: str = "track") -> tuple[str, str]:
    """``(kind, id)`` from a ``spotify:KIND:ID`` URI, an open.spotify.com URL or a bare id.

    Raises :class:`DataError` for anything else.
    """
    m = _REF_RE.match(str(ref).strip())
    if not m:
        raise DataError(
            "not a Spotify id, spotify: URI or open.spotify.com URL "
            "(ids are 22 letters and digits)",
            value=ref,
        )
    if m.group("bare"):
        return default_kind, m.group("bare")
    return (m.group("ukind") or m.group("lkind")), (m.group("uid") or m.group("lid"))


# -- configuration and credentials ---------------------------------------------------------------
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
        return cls(
            api_url=(env.get("TRACKMOOD_SPOTIFY_API_URL") or DEFAULT_API_URL).rstrip("/"),
            accounts_url=(env.get("TRACKMOOD_SPOTIFY_ACCOUNTS_URL") or DEFAULT_ACCOUNTS_URL).rstrip(
                "/"
            ),
            reccobeats_url=(env.get("TRACKMOOD_RECCOBEATS_URL") or DEFAULT_RECCOBEATS_URL).rstrip(
                "/"
            ),
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


def credentials(*, user: bool) -> dict[str, str]:
    """The app's credentials from the environment (or ``.env``); one-line error naming what is unset.

    ``user=True`` (PKCE) needs the client id and redirect URI; ``user=False`` (client credentials)
    needs the client id and secret. The redirect URI must be ``http://127.0.0.1:PORT/...``.
    """
    load_dotenv_once()
    need = ["SPOTIPY_CLIENT_ID"] + (["SPOTIPY_REDIRECT_URI"] if user else ["SPOTIPY_CLIENT_SECRET"])
    values = {
        k: (os.environ.get(k) or "").strip()
        for k in ("SPOTIPY_CLIENT_ID", "SPOTIPY_CLIENT_SECRET", "SPOTIPY_REDIRECT_URI")
    }
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


def token_cache_path(kind: str) -> Path:
    """Where the token of ``kind`` (``'app'`` or ``'user'``) is cached: beside the library."""
    from ..store import default_path

    return default_path().parent / f"spotify-token-{kind}.json"


def _secure_cache_handler(path: Path):
    from spotipy.cache_handler import CacheHandler

    class SecureCacheFileHandler(CacheHandler):
        """A token cache written atomically with mode 0600 from the first byte."""

        def __init__(self, cache_path: Path):
            self.cache_path = Path(cache_path)

        def get_cached_token(self):
            try:
                return json.loads(self.cache_path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                return None

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

    return SecureCacheFileHandler(path)


def auth_manager(
    *,
    user: bool,
    config: Config | None = None,
    open_browser: bool = True,
    cache_path: str | Path | None = None,
):
    """A spotipy auth manager pointed at ``config.accounts_url``, caching its token with mode 0600.

    ``user=False``: client credentials (catalogue: albums, artists, search, single tracks).
    ``user=True``: authorization code with PKCE (your playlists; creating mood playlists).
    """
    import requests
    from spotipy.oauth2 import SpotifyClientCredentials, SpotifyPKCE

    config = config or Config.from_env()
    creds = credentials(user=user)
    cache = _secure_cache_handler(
        Path(cache_path) if cache_path else token_cache_path("user" if user else "app")
    )
    if user:
        manager = SpotifyPKCE(
            client_id=creds["SPOTIPY_CLIENT_ID"],
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
            client_id=creds["SPOTIPY_CLIENT_ID"],
            client_secret=creds["SPOTIPY_CLIENT_SECRET"],
            cache_handler=cache,
            requests_session=requests.Session(),
            requests_timeout=config.timeout,
        )
    manager.OAUTH_TOKEN_URL = f"{config.accounts_url}/api/token"
    return manager


def client(*, user: bool = False, config: Config | None = None, manager=None):
    """A real :class:`spotipy.Spotify` on ``config.api_url`` that never retries or sleeps by itself."""
    import logging

    import requests
    import spotipy

    # spotipy logs every HTTP error at ERROR level; without a handler Python would print them.
    # trackmood explains errors itself, so they stay in the log for those who configure one.
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


# -- calls with retries and clear errors ---------------------------------------------------------
class SpotifyHTTPError(SourceError):
    """Spotify answered with an error that waiting will not fix (400, 401, 403, 404 ...)."""

    def __init__(self, message: str, *, status, api_message: str = "", path: str = ""):
        self.status, self.api_message, self.path = status, api_message, path
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

    sp: object
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
            return self.sp._post(path, payload=payload)

        try:
            result = with_retries(once, what=what, policy=self.policy)
        except SpotifyOauthError as e:
            error = getattr(e, "error", None) or "error"
            desc = getattr(e, "error_description", None) or ""
            raise SourceError(
                f"the Spotify accounts service refused the app's credentials ({error}"
                f"{': ' + desc if desc else ''}); check SPOTIPY_CLIENT_ID and "
                "SPOTIPY_CLIENT_SECRET (or log in again)"
            ) from None
        except HTTPFailure as f:
            short = _short_path(path, self.prefix)
            hint = ""
            if f.status == 401:
                hint = (
                    "; the login is no longer valid: delete "
                    f"{token_cache_path('user')} (or -app) and run the command again"
                )
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


def page_key(url: str, prefix: str) -> str:
    """A stable cache key for one page: the path under the API base and its sorted query."""
    parts = urlsplit(url if "://" in url else prefix + url)
    path = parts.path
    base_path = urlsplit(prefix).path
    path = path.removeprefix(base_path)
    path = re.sub(r"^/?(v1/)?", "", path).rstrip("/")
    query = urlencode(sorted(parse_qsl(parts.query)))
    return f"{path}?{query}" if query else path


# -- tracks from items ---------------------------------------------------------------------------
def slim_track(obj: dict | None, *, album: str | None = None) -> dict | None:
    """The fields trackmood keeps of a Spotify Track/Episode object (``None`` stays ``None``)."""
    if obj is None:
        return None
    artists = [a.get("name") for a in (obj.get("artists") or []) if a and a.get("name")]
    return {
        "id": obj.get("id"),
        "uri": obj.get("uri"),
        "type": obj.get("type", "track"),
        "name": obj.get("name"),
        "artist": ", ".join(artists) or None,
        "album": album or ((obj.get("album") or {}).get("name")),
        "duration_ms": obj.get("duration_ms"),
        "is_local": bool(obj.get("is_local")),
    }


def skip_reason(item: dict | None) -> str | None:
    """Why a playlist entry cannot be a labeled track (``None`` when it can)."""
    if item is None:
        return "empty item (removed or unavailable)"
    if item.get("type") == "episode":
        return "podcast episode"
    if item.get("is_local") or not item.get("id"):
        return "local file"
    return None


def _slim_page(page: dict, kind: str, *, album: str | None = None) -> dict:
    out = {"next": page.get("next"), "total": page.get("total"), "offset": page.get("offset")}
    items = page.get("items") or []
    if kind == "playlist":
        out["items"] = [slim_track(e.get("item", e.get("track")) if e else None) for e in items]
    elif kind == "albums":
        out["items"] = [{"id": a.get("id"), "name": a.get("name")} for a in items if a]
    else:
        out["items"] = [slim_track(t, album=album) for t in items]
    return out


@dataclass
class Reader:
    """Reads track lists page by page, caching each page in the store (resumable).

    Parameters
    ----------
    api : SpotifyAPI
    store : trackmood.store.Store
    refresh : bool
        Ignore cached pages (ask Spotify again).
    ttl : float
        Seconds a cached page stays valid.
    """

    api: SpotifyAPI
    store: object
    refresh: bool = False
    ttl: float = PAGE_TTL
    pages_from_cache: int = 0

    def page(
        self, url: str, kind: str, *, what: str, album: str | None = None, unwrap: str | None = None
    ) -> dict:
        key = page_key(url, self.api.prefix)
        if not self.refresh:
            raw = self.store.kv_get("spotify-page", key)
            if raw:
                cached = json.loads(raw)
                if time.time() - cached.get("at", 0) < self.ttl:
                    self.pages_from_cache += 1
                    return cached["page"]
        page = self.api.get(url, what=what)
        if unwrap:
            page = page.get(unwrap) or {}
        slim = _slim_page(page, kind, album=album)
        if kind == "album":
            slim["album"] = album
        self.store.kv_put("spotify-page", key, json.dumps({"at": time.time(), "page": slim}))
        return slim

    def pages(
        self,
        first: str,
        kind: str,
        *,
        what: str,
        album: str | None = None,
        unwrap: str | None = None,
        max_items: int | None = None,
    ) -> Iterator[dict]:
        url, seen = first, 0
        while url:
            page = self.page(url, kind, what=what, album=album, unwrap=unwrap)
            yield page
            seen += len(page["items"])
            if max_items is not None and seen >= max_items:
                return
            url = page.get("next")

    # -- the sources --------------------------------------------------------------------------
    def playlist(self, playlist_id: str) -> Iterator[dict]:
        """Pages of a playlist's items (``GET /playlists/{id}/items``, 50 a page)."""
        first = f"playlists/{playlist_id}/items?" + urlencode(
            {"limit": LIMITS["playlist_items"], "offset": 0, "additional_types": "track,episode"}
        )
        try:
            yield from self.pages(first, "playlist", what=f"reading playlist {playlist_id}")
        except SpotifyHTTPError as e:
            raise explain_playlist_error(e, playlist_id) from None

    def album(self, album_id: str) -> Iterator[dict]:
        """Pages of an album's tracks: ``GET /albums/{id}`` then its ``tracks.next`` pages."""
        key = page_key(f"albums/{album_id}", self.api.prefix)
        raw = None if self.refresh else self.store.kv_get("spotify-page", key)
        if raw and time.time() - json.loads(raw).get("at", 0) < self.ttl:
            self.pages_from_cache += 1
            first = json.loads(raw)["page"]
        else:
            try:
                obj = self.api.get(f"albums/{album_id}", what=f"reading album {album_id}")
            except SpotifyHTTPError as e:
                if e.status in (400, 404):
                    raise SourceError(
                        f"Spotify has no album {album_id!r} ({e.status}); check the "
                        "id (the part after open.spotify.com/album/)"
                    ) from None
                raise
            name = obj.get("name")
            first = _slim_page(obj.get("tracks") or {}, "tracks", album=name)
            first["album"] = name
            self.store.kv_put("spotify-page", key, json.dumps({"at": time.time(), "page": first}))
        yield first
        if first.get("next"):
            yield from self.pages(
                first["next"], "tracks", what=f"reading album {album_id}", album=first.get("album")
            )

    def artist(self, artist_id: str) -> Iterator[dict]:
        """Pages of tracks of an artist's albums and singles (albums 10 a page, the 2026 maximum)."""
        first = f"artists/{artist_id}/albums?" + urlencode(
            {"include_groups": "album,single", "limit": LIMITS["artist_albums"], "offset": 0}
        )
        try:
            album_pages = list(self.pages(first, "albums", what=f"reading artist {artist_id}"))
        except SpotifyHTTPError as e:
            if e.status in (400, 404) and "limit" not in e.api_message.lower():
                raise SourceError(
                    f"Spotify has no artist {artist_id!r} ({e.status}); check the "
                    "id (the part after open.spotify.com/artist/)"
                ) from None
            raise
        for page in album_pages:
            for a in page["items"]:
                if a.get("id"):
                    yield from self.album(a["id"])

    def search(self, query: str, *, limit: int = 50) -> Iterator[dict]:
        """Pages of tracks matching ``query`` (10 a page, the 2026 maximum), at most ``limit``."""
        first = "search?" + urlencode(
            {"q": query, "type": "track", "limit": LIMITS["search"], "offset": 0}
        )
        yield from self.pages(
            first, "tracks", what=f"searching {query!r}", unwrap="tracks", max_items=limit
        )

    def track(self, track_id: str) -> dict | None:
        """One track (``GET /tracks/{id}``, cached); ``None`` if Spotify does not know it."""
        key = page_key(f"tracks/{track_id}", self.api.prefix)
        raw = None if self.refresh else self.store.kv_get("spotify-page", key)
        if raw:
            self.pages_from_cache += 1
            return json.loads(raw)["page"]
        try:
            obj = self.api.get(f"tracks/{track_id}", what=f"reading track {track_id}")
        except SpotifyHTTPError as e:
            if e.status in (400, 404):
                return None
            raise
        slim = slim_track(obj)
        self.store.kv_put("spotify-page", key, json.dumps({"at": time.time(), "page": slim}))
        return slim


def explain_playlist_error(e: SpotifyHTTPError, playlist_id: str) -> SourceError:
    """A helpful message for 403/404 on a playlist."""
    if e.status == 403:
        return SourceError(
            f"Spotify answered 403 Forbidden for playlist {playlist_id}: apps in development mode "
            "may read only playlists you own or collaborate on. Copy its tracks into a playlist of "
            "your own (in Spotify: select all tracks, Add to playlist, New playlist) and pass that "
            "playlist's id instead"
        )
    if e.status in (400, 404):
        return SourceError(
            f"Spotify has no playlist {playlist_id!r} ({e.status}); check the id "
            "(the part after open.spotify.com/playlist/)"
        )
    return e


# -- the terms notice ----------------------------------------------------------------------------
def terms_notice(store, notify: Callable[[str], None] | None = None) -> bool:
    """Print the Developer Terms §IV.2.a.i notice once per library; ``True`` if it was shown now."""
    if store.kv_get("notice", "spotify-terms"):
        return False
    (notify or (lambda m: print(f"trackmood: {m}", file=sys.stderr)))(TERMS_NOTICE)
    store.kv_put("notice", "spotify-terms", json.dumps({"shown": time.time()}))
    return True


# -- predict -------------------------------------------------------------------------------------
def predict_refs(
    refs: list[str],
    *,
    model: str | Path | None = None,
    notify: Callable[[str], None] | None = None,
    store=None,
    api: SpotifyAPI | None = None,
    progress=None,
):
    """Predict the mood of Spotify tracks and playlists.

    Parameters
    ----------
    refs : list of str
        ``spotify:track:…``, ``spotify:playlist:…``, open.spotify.com URLs or bare (track) ids.
    model : str or Path, optional
        Bundled model name or saved model folder (default ``default``; tracks without a duration
        fall back to ``default-noduration``).
    notify : callable, optional
        Told one-line messages (model choice, waits, the terms notice).
    store : trackmood.store.Store, optional
        The library (default: ``Store()``, path from ``TRACKMOOD_DB``).
    api : SpotifyAPI, optional
        A ready client (default: built from the environment; user login if a playlist is given).
    progress : callable, optional
        ``progress(stage, done, total)``.

    Returns
    -------
    pandas.DataFrame
        One row per track: ``id, name, artist, album, mood, p_calm … p_sad, quadrant, source,
        reason``; tracks whose features could not be found have an empty mood and a reason.
    """
    import pandas as pd

    from ..moods import PROBA_COLUMNS
    from ..predict import choose_model, predict_frame
    from ..store import Store
    from .provider import default_chain

    parsed = [parse_ref(r) for r in refs]
    for (kind, _), ref in zip(parsed, refs, strict=False):
        if kind not in ("track", "playlist"):
            raise DataError(f"predict takes tracks and playlists, not a Spotify {kind}", value=ref)
    store = store if store is not None else Store()
    if api is None:
        api = SpotifyAPI(
            client(user=any(k == "playlist" for k, _ in parsed)), policy=RetryPolicy(notify=notify)
        )
    terms_notice(store, notify)
    reader = Reader(api, store)
    items: list[dict] = []
    skipped: list[dict] = []
    for kind, sid in parsed:
        if kind == "track":
            t = reader.track(sid)
            if t is None:
                skipped.append({"id": sid, "reason": "Spotify does not know this track id"})
            else:
                items.append(t)
        else:
            for page in reader.playlist(sid):
                for t in page["items"]:
                    why = skip_reason(t)
                    if why is None:
                        items.append(t)
                    else:
                        t = t or {}
                        skipped.append(
                            {
                                "id": t.get("id") or "",
                                "name": t.get("name"),
                                "artist": t.get("artist"),
                                "album": t.get("album"),
                                "reason": f"skipped: {why}",
                            }
                        )
    seen, unique = set(), []
    for t in items:
        if t["id"] not in seen:
            seen.add(t["id"])
            unique.append(t)
    store.upsert_tracks(
        [
            {
                "id": t["id"],
                "name": t["name"],
                "artist": t["artist"],
                "album": t["album"],
                "duration_ms": t.get("duration_ms"),
                "uri": t.get("uri"),
            }
            for t in unique
        ]
    )
    chain = default_chain(api, store=store, notify=notify, progress=progress)
    durations = {t["id"]: t.get("duration_ms") for t in unique}
    results = chain.fetch([t["id"] for t in unique], durations=durations)

    rows, missing = [], []
    for t in unique:
        r = results[t["id"]]
        base = {"id": t["id"], "name": t["name"], "artist": t["artist"], "album": t["album"]}
        if r.ok:
            rows.append({**base, **{k: v for k, v in r.values.items()}, "source": r.provider})
        else:
            missing.append({**base, "source": None, "reason": r.reason})
    frames = []
    if rows:
        df = pd.DataFrame(rows)
        has_dur = (
            df["duration_ms"].notna()
            if "duration_ms" in df.columns
            else pd.Series(False, index=df.index)
        )
        for mask in (has_dur, ~has_dur):
            part = df[mask]
            if part.empty:
                continue
            cols = [c for c in part.columns if part[c].notna().all()]
            chosen = choose_model(cols, model, notify=notify)
            out = predict_frame(chosen, part.reset_index(drop=True), file="spotify")
            out["source"] = part["source"].to_numpy()
            out["reason"] = None
            out["_order"] = part.index.to_numpy()
            store.put_predictions(chosen.name, out.to_dict("records"))
            frames.append(out)
    result = pd.concat(frames, ignore_index=True).sort_values("_order") if frames else None
    columns = [
        "id",
        "name",
        "artist",
        "album",
        "mood",
        *PROBA_COLUMNS,
        "quadrant",
        "source",
        "reason",
    ]
    extra = pd.DataFrame(
        missing + skipped, columns=["id", "name", "artist", "album", "source", "reason"]
    )
    parts = [
        p
        for p in (
            result.drop(columns="_order") if result is not None else None,
            extra if len(extra) else None,
        )
        if p is not None
    ]
    if not parts:
        return pd.DataFrame(columns=columns)
    full = pd.concat(parts, ignore_index=True)
    for c in columns:
        if c not in full.columns:
            full[c] = None
    return full[columns].reset_index(drop=True)
