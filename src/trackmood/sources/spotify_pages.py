"""Spotify references and track lists read page by page, every page cached in the library store.

One cache path (:meth:`Reader._cached`) serves every kind of page. A cached page is valid while
its *validator* holds: for a playlist, the playlist's ``snapshot_id`` (checked with one small
``GET /playlists/{id}?fields=snapshot_id`` per run; pages are refetched only when it changed);
for albums, artists, searches and single tracks, an age (:data:`PAGE_TTL`). Pages are stored as
they arrive, so a killed run continues without asking for a page it already has.

>>> parse_ref("https://open.spotify.com/intl-de/playlist/37i9dQZF1DX3rxVfibe1L0?si=x")
('playlist', '37i9dQZF1DX3rxVfibe1L0')
>>> parse_ref("spotify:track:4uLU6hMCjMI75M1A2tKUQC")
('track', '4uLU6hMCjMI75M1A2tKUQC')
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urlsplit

from ..errors import DataError, SourceError
from .spotify_api import LIMITS, SpotifyAPI, SpotifyHTTPError, explain_playlist_error

if TYPE_CHECKING:
    from ..store import Store

#: How long a cached album/artist/search/track page stays valid (a rerun within it resumes).
PAGE_TTL = 24 * 3600.0
#: The kv namespace of cached pages.
NAMESPACE = "spotify-page"

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


def page_key(url: str, prefix: str) -> str:
    """A stable cache key for one page: the path under the API base and its sorted query."""
    parts = urlsplit(url if "://" in url else prefix + url)
    path = parts.path.removeprefix(urlsplit(prefix).path)
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
    if album is not None:
        out["album"] = album
    return out


def _not_found(kind: str, sid: str, e: SpotifyHTTPError) -> SourceError:
    return SourceError(
        f"Spotify has no {kind} {sid!r} ({e.status}); check the id "
        f"(the part after open.spotify.com/{kind}/)"
    )


@dataclass
class Reader:
    """Reads track lists page by page through one cache (see the module's doc).

    Parameters
    ----------
    api : SpotifyAPI
    store : trackmood.store.Store
    refresh : bool
        Ignore cached pages (ask Spotify again), but still store what is fetched.
    ttl : float
        Seconds a cached album/artist/search/track page stays valid.
    """

    api: SpotifyAPI
    store: Store
    refresh: bool = False
    ttl: float = PAGE_TTL
    pages_from_cache: int = 0

    # -- the one cache path -------------------------------------------------------------------
    def _cached(self, key: str, fetch: Callable[[], dict], *, snapshot: str | None = None):
        """The page under ``key`` if still valid, else ``fetch()`` stored under ``key``.

        Valid means: same ``snapshot`` when one is given (playlists), else younger than ``ttl``.
        """
        if not self.refresh:
            raw = self.store.kv_get(NAMESPACE, key)
            if raw:
                cached = json.loads(raw)
                if (
                    cached.get("snapshot") == snapshot
                    if snapshot is not None
                    else time.time() - cached.get("at", 0) < self.ttl
                ):
                    self.pages_from_cache += 1
                    return cached["page"]
        page = fetch()
        entry = {"at": time.time(), "snapshot": snapshot, "page": page}
        self.store.kv_put(NAMESPACE, key, json.dumps(entry))
        return page

    def pages(
        self,
        first: str,
        kind: str,
        *,
        what: str,
        album: str | None = None,
        unwrap: str | None = None,
        max_items: int | None = None,
        snapshot: str | None = None,
    ) -> Iterator[dict]:
        """Pages from ``first`` following ``next``, each through :meth:`_cached`."""
        url, seen = first, 0
        while url:

            def fetch(url=url):
                page = self.api.get(url, what=what)
                return _slim_page(page.get(unwrap) or {} if unwrap else page, kind, album=album)

            page = self._cached(page_key(url, self.api.prefix), fetch, snapshot=snapshot)
            yield page
            seen += len(page["items"])
            if max_items is not None and seen >= max_items:
                return
            url = page.get("next")

    # -- the sources --------------------------------------------------------------------------
    def snapshot(self, playlist_id: str) -> str:
        """The playlist's current ``snapshot_id`` (one small request, never cached)."""
        try:
            meta = self.api.get(
                f"playlists/{playlist_id}",
                fields="snapshot_id",
                what=f"checking playlist {playlist_id} for changes",
            )
        except SpotifyHTTPError as e:
            raise explain_playlist_error(e, playlist_id) from None
        return str(meta.get("snapshot_id") or "")

    def playlist(self, playlist_id: str) -> Iterator[dict]:
        """Pages of a playlist's items (``GET /playlists/{id}/items``, 50 a page).

        Cached pages are used only while the playlist's ``snapshot_id`` is unchanged.
        """
        snap = self.snapshot(playlist_id)
        first = f"playlists/{playlist_id}/items?" + urlencode(
            {"limit": LIMITS["playlist_items"], "offset": 0, "additional_types": "track,episode"}
        )
        try:
            yield from self.pages(
                first, "playlist", what=f"reading playlist {playlist_id}", snapshot=snap or None
            )
        except SpotifyHTTPError as e:
            raise explain_playlist_error(e, playlist_id) from None

    def album(self, album_id: str) -> Iterator[dict]:
        """Pages of an album's tracks: ``GET /albums/{id}`` then its ``tracks.next`` pages."""

        def fetch():
            try:
                obj = self.api.get(f"albums/{album_id}", what=f"reading album {album_id}")
            except SpotifyHTTPError as e:
                if e.status in (400, 404):
                    raise _not_found("album", album_id, e) from None
                raise
            return _slim_page(obj.get("tracks") or {}, "tracks", album=obj.get("name"))

        first = self._cached(page_key(f"albums/{album_id}", self.api.prefix), fetch)
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
                raise _not_found("artist", artist_id, e) from None
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

        def fetch():
            try:
                obj = self.api.get(f"tracks/{track_id}", what=f"reading track {track_id}")
            except SpotifyHTTPError as e:
                if e.status in (400, 404):
                    return {"track": None}
                raise
            return {"track": slim_track(obj)}

        got = self._cached(page_key(f"tracks/{track_id}", self.api.prefix), fetch)
        return got["track"] if "track" in got else got  # (caches of before 2026-12 hold the track)
