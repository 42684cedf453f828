"""Spotify/ReccoBeats as a source: track, playlist and album references in, feature frames out.

:class:`SpotifySource` follows the contract of :mod:`trackmood.sources.base`: one row per
requested track, in input order (a playlist or album gives one row per item, repeats within it
merged), with ``id, name, artist, album, uri``, the audio features, ``provenance``
(``{column: provider}``, e.g. ``duration_ms`` from ``'spotify'``, the rest from ``'reccobeats'``),
``status`` and ``reason``. It never predicts.

What needs what:

* single tracks need **no Spotify credentials**: their features come from ReccoBeats by id. With
  ``SPOTIPY_CLIENT_ID`` and ``SPOTIPY_CLIENT_SECRET`` set, names and durations come from Spotify
  (``GET /tracks/{id}``); without them ``duration_ms`` stays empty and ``notify`` says so;
* albums need the app's credentials; playlists (and writes) need a user login (``trackmood login``).

The pieces live in :mod:`.spotify_auth` (credentials, tokens, login), :mod:`.spotify_api` (the
API wrapper), :mod:`.spotify_pages` (references, the page cache) and :mod:`.provider` (features);
their public names are re-exported here.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from typing import ClassVar

from ..errors import DataError, SourceError
from ..features import MODEL_FEATURE_NAMES
from .base import FAILED, OK, Notify, Progress
from .http import HTTPFailure, RetryPolicy
from .spotify_api import (
    LIMITS,
    SpotifyAPI,
    SpotifyHTTPError,
    UncertainWrite,
    client,
    explain_playlist_error,
)
from .spotify_auth import (
    USER_SCOPES,
    Config,
    LoginRequired,
    auth_manager,
    check_redirect_uri,
    credentials,
    has_app_credentials,
    has_user_login,
    load_dotenv_once,
    token_cache_path,
)
from .spotify_pages import PAGE_TTL, Reader, page_key, parse_ref, skip_reason, slim_track

__all__ = [
    "FEATURE_COLUMNS",
    "LIMITS",
    "PAGE_TTL",
    "TERMS_NOTICE",
    "USER_SCOPES",
    "Config",
    "HTTPFailure",
    "LoginRequired",
    "Reader",
    "SourceError",
    "SpotifyAPI",
    "SpotifyHTTPError",
    "SpotifySource",
    "UncertainWrite",
    "auth_manager",
    "check_redirect_uri",
    "client",
    "credentials",
    "explain_playlist_error",
    "has_app_credentials",
    "has_user_login",
    "load_dotenv_once",
    "page_key",
    "parse_ref",
    "skip_reason",
    "slim_track",
    "terms_notice",
    "token_cache_path",
]

#: Feature columns of a Spotify feature frame (NaN where unknown).
FEATURE_COLUMNS: tuple[str, ...] = (*MODEL_FEATURE_NAMES, "key", "mode", "time_signature")
IDENTITY_COLUMNS = ("id", "name", "artist", "album", "uri")

_TERMS = (
    'That is what Spotify Developer Terms §IV.2.a.i forbid: "using the Spotify Platform or any '
    "Spotify Content to train a machine learning or AI model or otherwise ingesting Spotify Content "
    'into a machine learning or AI model". Go on only if your own agreement with Spotify allows it; '
    'the README section "Data and Spotify\'s terms" explains more.'
)
_USES = {
    "predict": "this command feeds Spotify's data (track ids and their audio features, from "
    "Spotify or ReccoBeats) into trackmood's mood model to predict moods.",
    "collect": "this command collects Spotify's data (tracks and their audio features, from "
    "Spotify or ReccoBeats) into a dataset for training a mood model.",
    "login": "the commands that use this login feed Spotify's data into trackmood's mood model "
    "(predict, playlists split) or collect it to train one (collect).",
}
#: The notice for ``predict`` (see :func:`terms_notice` for the others).
TERMS_NOTICE = f"notice: {_USES['predict']} {_TERMS}"


def terms_notice(
    store, notify: Callable[[str], None] | None = None, *, use: str = "predict", force=False
) -> bool:
    """Say plainly what this command does with Spotify's data and what the terms say about it.

    Shown once per library and ``use`` (``'predict'``, ``'collect'``, ``'login'``), always with
    ``force``; ``True`` if it was shown now.
    """
    key = f"spotify-terms:{use}"
    if not force and store.kv_get("notice", key):
        return False
    say = notify or (lambda m: print(f"trackmood: {m}", file=sys.stderr))
    say(f"notice: {_USES[use]} {_TERMS} (Shown once.)")
    store.kv_put("notice", key, json.dumps({"shown": time.time()}))
    return True


class SpotifySource:
    """Spotify track/playlist/album references → feature frames (see the module's doc).

    Parameters
    ----------
    store : trackmood.store.Store, optional
        The library (page and feature caches). Default ``Store()``.
    config : Config, optional
        Endpoints and timeout; default from the environment.
    api : SpotifyAPI, optional
        A ready client used for every Spotify call (default: client credentials for tracks and
        albums when set, the cached user login for playlists).
    refresh : bool
        Ask Spotify again for cached pages (playlists are revalidated by ``snapshot_id`` anyway).
    max_retry_after : float, optional
        Longest ``Retry-After`` waited out (default ``TRACKMOOD_MAX_RETRY_AFTER`` or 60 s).
    """

    kind: ClassVar[str] = "spotify"

    def __init__(
        self,
        store=None,
        config: Config | None = None,
        *,
        api: SpotifyAPI | None = None,
        refresh: bool = False,
        max_retry_after: float | None = None,
    ):
        if store is None:
            from ..store import Store

            store = Store()
        self.store, self.config, self.api = store, config, api
        self.refresh, self.max_retry_after = refresh, max_retry_after
        self._catalogue: SpotifyAPI | None = None
        self._user: SpotifyAPI | None = None
        self._pol: RetryPolicy | None = None
        #: Requests made by the last :meth:`frames` call, by service.
        self.requests: dict[str, int] = {}

    # -- clients ------------------------------------------------------------------------------
    def _policy(self, notify):
        """One retry policy for every call of this source (Spotify and ReccoBeats)."""
        if self.api is not None:
            return self.api.policy
        if self._pol is None:
            self._pol = RetryPolicy(max_retry_after=self.max_retry_after, notify=notify)
        return self._pol

    def catalogue_api(self, notify=None) -> SpotifyAPI | None:
        """Client-credentials API, or ``None`` when no app credentials are set (key-free)."""
        if self.api is not None:
            return self.api
        if self._catalogue is None and has_app_credentials():
            self._catalogue = SpotifyAPI(
                client(user=False, config=self.config), policy=self._policy(notify)
            )
        return self._catalogue

    def track_api(self, notify=None) -> SpotifyAPI | None:
        """For single tracks: the app's credentials, else a cached login, else ``None`` (key-free)."""
        api = self.catalogue_api(notify)
        if api is None and self._user is None:
            try:
                if has_user_login() and credentials(user=True):
                    return self.user_api(notify)
            except SourceError:
                return None
        return api or self._user

    def user_api(self, notify=None) -> SpotifyAPI:
        """The logged-in user's API; :class:`LoginRequired` when nobody logged in."""
        if self.api is not None:
            return self.api
        if self._user is None:
            manager = auth_manager(user=True, config=self.config)
            if not manager.cache_handler.get_cached_token():
                raise LoginRequired(
                    "reading a playlist needs a Spotify login and there is none for this app "
                    "yet: run `trackmood login`"
                )
            self._user = SpotifyAPI(
                client(user=True, config=self.config, manager=manager), policy=self._policy(notify)
            )
        return self._user

    # -- the contract -------------------------------------------------------------------------
    def frames(
        self,
        refs: Sequence[str],
        *,
        progress: Progress | None = None,
        notify: Notify | None = None,
    ) -> Iterator:
        """One feature frame for ``refs`` (tracks, playlists, albums; ids, URIs or URLs)."""
        yield self.frame(refs, progress=progress, notify=notify)

    def frame(self, refs: Sequence[str], *, progress=None, notify=None):
        import pandas as pd

        from .provider import default_chain

        say = notify or (lambda m: None)
        entries = self._entries(list(refs), progress=progress, notify=say)
        wanted = [e for e in entries if e.get("reason") is None]
        unique = list(dict.fromkeys(e["id"] for e in wanted))
        durations = {e["id"]: e.get("duration_ms") for e in wanted}
        known = [e for e in wanted if e.get("name") is not None]
        if known:
            self.store.upsert_tracks(
                [
                    {k: e.get(k) for k in ("id", "name", "artist", "album", "duration_ms", "uri")}
                    for e in {e["id"]: e for e in known}.values()
                ]
            )
        chain = default_chain(
            self._feature_api(),
            store=self.store,
            notify=say,
            progress=progress,
            config=self.config,
            policy=self._policy(say),
        )
        results = chain.fetch(unique, durations=durations) if unique else {}
        rows = []
        no_duration = 0
        for e in entries:
            row = {k: e.get(k) for k in IDENTITY_COLUMNS}
            row.update({c: float("nan") for c in FEATURE_COLUMNS})
            r = results.get(e["id"]) if e.get("reason") is None else None
            if r is not None and r.ok:
                values = {
                    k: v for k, v in r.values.items() if k in FEATURE_COLUMNS and v is not None
                }
                row.update({k: float(v) for k, v in values.items()})
                row["provenance"] = {k: r.sources.get(k, "?") for k in values}
                row["status"], row["reason"] = OK, None
                no_duration += "duration_ms" not in values and e.get("name") is not None
            else:
                row["provenance"] = {}
                row["status"] = FAILED
                row["reason"] = e.get("reason") or (r.reason if r is not None else "no features")
            rows.append(row)
        if no_duration:
            say(
                f"{no_duration} track(s) have no duration (Spotify gave none): duration_ms is empty"
            )
        if progress:
            progress("features", len(unique), len(unique))
        self.requests = self._count(chain)
        columns = [*IDENTITY_COLUMNS, *FEATURE_COLUMNS, "provenance", "status", "reason"]
        return pd.DataFrame(
            {c: pd.Series([r.get(c) for r in rows], dtype=_dtype(c)) for c in columns}
        )

    def _feature_api(self):
        """The API asked for Spotify's own audio-features (``None``: ReccoBeats only)."""
        if self.api is not None:
            return self.api
        return self._user or self._catalogue

    def _count(self, chain) -> dict[str, int]:
        spotify = sum(
            a.requests_made
            for a in {
                id(a): a for a in (self.api, self._user, self._catalogue) if a is not None
            }.values()
        )
        rb = sum(getattr(getattr(p, "client", None), "requests_made", 0) for p in chain.providers)
        return {"spotify": spotify, "reccobeats": rb}

    def _entries(self, refs: list[str], *, progress, notify) -> list[dict]:
        """One dict per requested track in input order; ``reason`` set for those that fail."""
        parsed: list[tuple[str, str, str]] = []
        for ref in refs:
            try:
                kind, sid = parse_ref(ref)
            except DataError as e:
                parsed.append(("bad", str(ref), str(e)))
                continue
            parsed.append((kind, sid, ref))
        if any(k in ("track", "playlist", "album") for k, _, _ in parsed):
            terms_notice(self.store, notify, use="predict")
        tracks = [sid for k, sid, _ in parsed if k == "track"]
        catalogue = self.track_api(notify) if tracks else None
        if tracks and catalogue is None:
            notify(
                "no Spotify app credentials (SPOTIPY_CLIENT_ID and SPOTIPY_CLIENT_SECRET) and no login: the "
                f"features of {len(tracks)} track(s) come from ReccoBeats by id, without names, "
                "and duration_ms is left empty"
            )
        out: list[dict] = []
        done = 0
        for kind, sid, ref in parsed:
            if kind == "bad":
                out.append({"id": sid, "reason": ref})
            elif kind == "track":
                out.append(self._track(sid, catalogue))
                done += 1
                if progress:
                    progress("reading tracks", done, len(tracks))
            elif kind in ("playlist", "album"):
                out.extend(self._container(kind, sid, progress=progress, notify=notify))
            else:
                out.append(
                    {
                        "id": sid,
                        "uri": f"spotify:{kind}:{sid}",
                        "reason": f"a Spotify {kind} is not a track list; give its albums or tracks",
                    }
                )
        return out

    def _track(self, sid: str, catalogue) -> dict:
        if catalogue is None:
            return {"id": sid, "uri": f"spotify:track:{sid}"}
        reader = Reader(catalogue, self.store, refresh=self.refresh)
        t = reader.track(sid)
        if t is None:
            return {
                "id": sid,
                "uri": f"spotify:track:{sid}",
                "reason": "Spotify does not know this track id",
            }
        return t

    def _container(self, kind: str, sid: str, *, progress, notify) -> list[dict]:
        api: SpotifyAPI | None
        if kind == "playlist":
            api = self.user_api(notify)
        else:
            api = self.catalogue_api(notify)
            if api is None:
                raise SourceError(
                    "reading an album needs the app's credentials: set SPOTIPY_CLIENT_ID and "
                    "SPOTIPY_CLIENT_SECRET (single tracks work without them)"
                )
        reader = Reader(api, self.store, refresh=self.refresh)
        pages = reader.playlist(sid) if kind == "playlist" else reader.album(sid)
        out, seen, read, merged = [], set(), 0, 0
        for page in pages:
            for pos, t in enumerate(page["items"], start=read):
                why = skip_reason(t)
                if why is not None:
                    t = t or {}
                    out.append(
                        {
                            "id": t.get("uri") or t.get("id") or f"spotify:{kind}:{sid}#{pos}",
                            **{k: t.get(k) for k in ("name", "artist", "album", "uri")},
                            "reason": f"skipped: {why}",
                        }
                    )
                elif t["id"] in seen:
                    merged += 1
                else:
                    seen.add(t["id"])
                    out.append(t)
            read += len(page["items"])
            if progress:
                progress(f"reading {kind} {sid}", read, page.get("total"))
        if merged:
            notify(f"{kind} {sid}: {merged} repeated track(s) merged")
        return out


def _dtype(column: str) -> str:
    """Features are floats (NaN when unknown); everything else keeps ``None`` as ``None``."""
    return "float64" if column in FEATURE_COLUMNS else "object"
