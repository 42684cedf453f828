"""A real HTTP server on 127.0.0.1 that behaves like Spotify (2026 development mode) and ReccoBeats.

Shaped after the public documentation (Web API reference, the February 2026 migration guide,
the accounts service's token and authorize endpoints, ReccoBeats' request/response docs), not after
trackmood's code:

* accounts: ``POST /api/token`` (client credentials with Basic auth; authorization code + PKCE
  with S256; refresh token), ``GET /authorize`` (rejects ``localhost`` redirects);
* API under ``/v1``: ``/playlists/{id}/items`` (limit ≤ 50, absolute ``next``; 403 unless the
  user owns or collaborates), ``/playlists/{id}``, ``/playlists/{id}/tracks`` (removed: 403),
  ``/tracks?ids=`` (removed: 403), ``/tracks/{id}``, ``/audio-features`` (bare 403 unless
  :attr:`FakeSpotify.audio_features_access`), ``/albums/{id}``, ``/albums/{id}/tracks``,
  ``/artists/{id}/albums`` (limit ≤ 10), ``/search`` (limit ≤ 10), ``/me``, ``/me/playlists``
  (GET, POST → 201), ``POST /users/{id}/playlists`` (403), ``POST /playlists/{id}/items`` (body
  ``{"uris": [...]}``, ≤ 100 → 201); trailing slashes accepted;
* ReccoBeats under ``/reccobeats/v1``: ``/audio-features?ids=`` (unknown ids omitted, ids beyond
  40 dropped silently, items named by UUID with the Spotify id in ``href``).

``GET /playlists/{id}`` and ``/playlists/{id}/items`` honour ``fields=`` (e.g. ``snapshot_id``,
``items(item(uri)),next``); a playlist's ``snapshot_id`` changes whenever its items change. The
authorize endpoint answers like a user who agreed (302 to the redirect URI with ``code`` and
``state``), or who refused (:attr:`FakeSpotify.deny_authorization`: ``error=access_denied``); the
token endpoint checks the PKCE ``code_verifier`` against the S256 ``code_challenge``.

Faults are scripted with :meth:`FakeSpotify.fail` (status, headers, body, delay, how many times;
``apply=True`` does the work first and then answers badly or late, like a write whose answer got
lost);
every request is logged in :attr:`FakeSpotify.log`; :meth:`FakeSpotify.hold_after` makes requests
beyond a count hang until released and then drops them (for kill-and-resume tests).
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

NULL = object()  # a playlist entry whose item is null
LOCAL = object()  # a local file in a playlist
EPISODE = object()  # a podcast episode in a playlist

_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def make_id(kind: str, n: object) -> str:
    """A deterministic 22-character base-62 id."""
    digest = int.from_bytes(hashlib.sha256(f"{kind}:{n}".encode()).digest(), "big")
    out = []
    for _ in range(22):
        digest, r = divmod(digest, 62)
        out.append(_B62[r])
    return "".join(out)


@dataclass
class Fault:
    pattern: re.Pattern
    status: int | None
    times: int
    headers: dict = field(default_factory=dict)
    body: object = None
    delay: float = 0.0
    method: str | None = None
    apply: bool = False


def parse_fields(spec: str) -> dict:
    """``'items(item(uri)),next'`` → ``{'items': {'item': {'uri': {}}}, 'next': {}}``."""
    tree: dict = {}
    stack = [tree]
    name = ""
    for ch in spec + ",":
        if ch in ",()":
            if name.strip():
                stack[-1][name.strip()] = stack[-1].get(name.strip(), {})
            if ch == "(":
                stack.append(stack[-1][name.strip()])
            elif ch == ")":
                stack.pop()
            name = ""
        else:
            name += ch
    return tree


def apply_fields(obj, tree: dict):
    """Keep only the fields named in ``tree`` (lists are filtered item by item)."""
    if not tree:
        return obj
    if isinstance(obj, list):
        return [apply_fields(o, tree) for o in obj]
    if isinstance(obj, dict):
        return {k: apply_fields(v, tree[k]) for k, v in obj.items() if k in tree}
    return obj


class FakeSpotify:
    """The fake services; use as a context manager or call :meth:`start`/:meth:`stop`.

    Parameters
    ----------
    latency : float
        Seconds every request waits before it is answered (0 in tests; 0.05 in the benchmark).
    audio_features_access : bool
        ``True`` imitates an old app that still may call ``/audio-features``.
    """

    def __init__(
        self,
        *,
        latency: float = 0.0,
        audio_features_access: bool = False,
        client_id: str = "fake-client-id-0123",
        client_secret: str = "fake-secret-s3cr3t-9876",
        user_id: str = "fakeuser",
        redirect_uri: str = "http://127.0.0.1:8765/callback",
        reccobeats_max_ids: int = 40,
        seed: int = 0,
    ):
        self.latency = latency
        self.audio_features_access = audio_features_access
        self.client_id, self.client_secret = client_id, client_secret
        self.user_id = user_id
        self.redirect_uris = {redirect_uri}
        self.redirect_uri = redirect_uri
        self.reccobeats_max_ids = reccobeats_max_ids
        self.rng = random.Random(seed)
        self.tracks: dict[str, dict] = {}
        self.features: dict[str, dict] = {}  # Spotify audio features by track id
        self.rb: dict[str, dict] = {}  # ReccoBeats features by Spotify id
        self.rb_uuid: dict[str, str] = {}
        self.episodes: dict[str, dict] = {}
        self.playlists: dict[str, dict] = {}
        self.albums: dict[str, dict] = {}
        self.artists: dict[str, dict] = {}
        self.tokens: dict[str, dict] = {}
        self.codes: dict[str, dict] = {}
        self.refresh_tokens: dict[str, dict] = {}
        self.log: list[dict] = []
        self.faults: list[Fault] = []
        self.lock = threading.Lock()
        self._hold_after: int | None = None
        self._held = threading.Event()
        self._release = threading.Event()
        self._n = 0
        #: ``True``: the user refuses on the authorize page (redirect with error=access_denied).
        self.deny_authorization = False
        self.server: ThreadingHTTPServer | None = None

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> FakeSpotify:
        fake = self

        class Handler(_Handler):
            pass

        Handler.fake = fake
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def api_url(self) -> str:
        return self.base + "/v1"

    @property
    def accounts_url(self) -> str:
        return self.base

    @property
    def reccobeats_url(self) -> str:
        return self.base + "/reccobeats/v1"

    def env(self) -> dict[str, str]:
        """Environment variables that point trackmood at this fake with valid credentials."""
        return {
            "SPOTIPY_CLIENT_ID": self.client_id,
            "SPOTIPY_CLIENT_SECRET": self.client_secret,
            "SPOTIPY_REDIRECT_URI": self.redirect_uri,
            "TRACKMOOD_SPOTIFY_API_URL": self.api_url,
            "TRACKMOOD_SPOTIFY_ACCOUNTS_URL": self.accounts_url,
            "TRACKMOOD_RECCOBEATS_URL": self.reccobeats_url,
        }

    # -- catalogue ----------------------------------------------------------------------------
    def add_track(
        self,
        *,
        name: str | None = None,
        artist: str = "Fake Artist",
        album: str = "Fake Album",
        duration_ms: int | None = None,
        spotify_features: bool = True,
        reccobeats: bool = True,
        features: dict | None = None,
    ) -> str:
        n = len(self.tracks)
        tid = make_id("track", n)
        aid = make_id("album", album)
        rid = make_id("artist", artist)
        duration_ms = duration_ms or self.rng.randint(120_000, 360_000)
        artist_obj = {
            "external_urls": {"spotify": f"https://open.spotify.com/artist/{rid}"},
            "href": f"{self.api_url}/artists/{rid}",
            "id": rid,
            "name": artist,
            "type": "artist",
            "uri": f"spotify:artist:{rid}",
        }
        self.tracks[tid] = {
            "album": {
                "album_type": "album",
                "artists": [artist_obj],
                "external_urls": {"spotify": f"https://open.spotify.com/album/{aid}"},
                "href": f"{self.api_url}/albums/{aid}",
                "id": aid,
                "images": [],
                "name": album,
                "release_date": "2020-01-01",
                "release_date_precision": "day",
                "total_tracks": 10,
                "type": "album",
                "uri": f"spotify:album:{aid}",
            },
            "artists": [artist_obj],
            "disc_number": 1,
            "duration_ms": duration_ms,
            "explicit": False,
            "external_ids": {"isrc": f"QZFAKE{n:06d}"},
            "external_urls": {"spotify": f"https://open.spotify.com/track/{tid}"},
            "href": f"{self.api_url}/tracks/{tid}",
            "id": tid,
            "is_local": False,
            "is_playable": True,
            "name": name or f"Song {n}",
            "preview_url": None,
            "track_number": 1,
            "type": "track",
            "uri": f"spotify:track:{tid}",
        }
        r = self.rng
        values = {
            "danceability": r.random(),
            "energy": r.random(),
            "key": r.randint(-1, 11),
            "loudness": -r.uniform(2, 30),
            "mode": r.randint(0, 1),
            "speechiness": r.uniform(0, 0.3),
            "acousticness": r.random(),
            "instrumentalness": r.random(),
            "liveness": r.uniform(0, 0.5),
            "valence": r.random(),
            "tempo": r.uniform(60, 180),
        }
        values.update(features or {})
        if spotify_features:
            self.features[tid] = {
                **values,
                "type": "audio_features",
                "id": tid,
                "uri": f"spotify:track:{tid}",
                "track_href": f"{self.api_url}/tracks/{tid}",
                "analysis_url": f"{self.api_url}/audio-analysis/{tid}",
                "duration_ms": duration_ms,
                "time_signature": 4,
            }
        if reccobeats:
            self.rb[tid] = dict(values)
            self.rb_uuid[tid] = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        return tid

    def add_tracks(self, n: int, **kw) -> list[str]:
        return [self.add_track(**kw) for _ in range(n)]

    def add_playlist(
        self,
        entries: list,
        *,
        name: str = "Fake playlist",
        owner: str | None = None,
        collaborative: bool = False,
        followed: bool = False,
    ) -> str:
        """A playlist of track ids and the sentinels :data:`NULL`, :data:`LOCAL`, :data:`EPISODE`."""
        pid = make_id("playlist", len(self.playlists) + 1000)
        self.playlists[pid] = {
            "id": pid,
            "name": name,
            "owner": owner or self.user_id,
            "collaborative": collaborative,
            "followed": followed,
            "public": False,
            "entries": list(entries),
            "description": "",
        }
        return pid

    def add_album(self, name: str, track_ids: list[str]) -> str:
        aid = make_id("album-x", len(self.albums))
        self.albums[aid] = {"id": aid, "name": name, "tracks": list(track_ids)}
        return aid

    def add_artist(self, name: str, album_ids: list[str]) -> str:
        rid = make_id("artist-x", len(self.artists))
        self.artists[rid] = {"id": rid, "name": name, "albums": list(album_ids)}
        return rid

    def playlist_uris(self, pid: str) -> list[str]:
        return [
            self.tracks[e]["uri"]
            for e in self.playlists[pid]["entries"]
            if isinstance(e, str) and e in self.tracks
        ]

    def my_playlists(self) -> list[dict]:
        return [p for p in self.playlists.values() if p["owner"] == self.user_id]

    # -- faults and the log -------------------------------------------------------------------
    def fail(
        self,
        pattern: str,
        status: int | None = 500,
        *,
        times: int = 1,
        headers: dict | None = None,
        body: object = None,
        delay: float = 0.0,
        method: str | None = None,
        apply: bool = False,
    ) -> None:
        """The next ``times`` requests whose path+query matches ``pattern`` get this answer.

        ``status=None`` with ``delay`` makes a slow but otherwise normal answer. ``apply=True``
        does the request's work first (e.g. creates the playlist), then waits ``delay`` and
        answers with ``status`` (or normally, late): a write that happened though its answer
        was lost.
        """
        with self.lock:
            self.faults.append(
                Fault(re.compile(pattern), status, times, headers or {}, body, delay, method, apply)
            )

    def snapshot_id(self, pid: str) -> str:
        """The playlist's version: changes whenever its items (or name) change."""
        pl = self.playlists[pid]
        names = [
            e if isinstance(e, str) else {NULL: "null", LOCAL: "local"}.get(e, "ep")
            for e in pl["entries"]
        ]
        digest = hashlib.sha256(json.dumps([pl["name"], names]).encode()).hexdigest()
        return "AAAA" + digest[:28]

    def revoke_refresh_tokens(self) -> None:
        """Every refresh token stops working (expired after six months, or access revoked)."""
        self.refresh_tokens.clear()

    def hold_after(self, n: int) -> None:
        """API requests after the ``n``-th hang until :meth:`release`, then are dropped unanswered."""
        self._hold_after = n

    def wait_held(self, timeout: float = 30) -> bool:
        return self._held.wait(timeout)

    def release(self) -> None:
        self._hold_after = None
        self._release.set()

    def requests(
        self, pattern: str | None = None, *, status: int | None = None, method: str | None = None
    ) -> list[dict]:
        with self.lock:
            entries = list(self.log)
        return [
            e
            for e in entries
            if (pattern is None or re.search(pattern, e["path"]))
            and (status is None or e["status"] == status)
            and (method is None or e["method"] == method)
        ]

    def clear_log(self) -> None:
        with self.lock:
            self.log.clear()

    # -- auth helpers for tests -------------------------------------------------------------------
    def authorize(self, authorize_url: str) -> str:
        """Act as the user who clicks "Agree" on ``authorize_url``; returns the code."""
        q = parse_qs(urlsplit(self.redirect_for(authorize_url)).query)
        return q["code"][0]

    def redirect_for(self, authorize_url: str) -> str:
        """The URL the browser is sent to after the user answers on ``authorize_url``."""
        import requests

        r = requests.get(authorize_url, allow_redirects=False, timeout=5)
        if r.status_code != 302:
            raise AssertionError(f"authorize failed: {r.status_code} {r.text}")
        return r.headers["Location"]


def _err(status: int, message: str | None = None, reason: str | None = None) -> dict:
    e: dict = {"status": status}
    if message is not None:
        e["message"] = message
    if reason is not None:
        e["reason"] = reason
    return {"error": e}


class _Handler(BaseHTTPRequestHandler):
    fake: FakeSpotify
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet
        pass

    def setup(self):
        super().setup()
        import socket

        # one segment per answer: without this, headers and body go out in two writes and
        # Nagle + delayed ACK add ~40 ms to every keep-alive request
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    # plumbing ------------------------------------------------------------------------------
    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    def do_PUT(self):
        self._handle("PUT")

    def do_DELETE(self):
        self._handle("DELETE")

    def _send(self, status: int, body=None, headers: dict | None = None) -> None:
        data = (
            b""
            if body is None
            else (body if isinstance(body, bytes) else json.dumps(body).encode())
        )
        try:
            self.send_response(status)
            if body is not None:
                self.send_header("Content-Type", "application/json; charset=utf-8")
            for k, v in (headers or {}).items():
                self.send_header(k, str(v))
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if data:
                self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _handle(self, method: str) -> None:
        fake = self.fake
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        path = parts.path.rstrip("/") or "/"
        query = {k: v for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        entry = {"method": method, "path": self.path, "status": None, "t": time.time()}
        is_token = path in ("/api/token", "/authorize")
        with fake.lock:
            fake._n += 0 if is_token else 1
            n = fake._n
            hold = fake._hold_after is not None and not is_token and n > fake._hold_after
            fault = None
            for f in fake.faults:
                if f.times > 0 and f.pattern.search(self.path) and (f.method in (None, method)):
                    f.times -= 1
                    fault = f
                    break
            fake.log.append(entry)
        if hold:
            fake._held.set()
            fake._release.wait(60)
            entry["status"] = 0  # dropped: the client never gets an answer
            self.close_connection = True
            return
        if fake.latency:
            time.sleep(fake.latency)
        if fault is not None and fault.apply:
            try:
                status, body, headers = self._route(method, path, query, raw)
            except Exception as e:  # noqa: BLE001
                status, body, headers = 500, _err(500, f"fake error: {e!r}"), {}
            if fault.delay:
                time.sleep(fault.delay)
            if fault.status is not None:
                status, headers = fault.status, fault.headers
                body = fault.body if fault.body is not None else _err(fault.status, "fault")
            entry["status"] = status
            self._send(status, body, headers)
            return
        if fault is not None:
            if fault.delay:
                time.sleep(fault.delay)
            if fault.status is not None:
                entry["status"] = fault.status
                body = fault.body if fault.body is not None else _err(fault.status, "fault")
                self._send(fault.status, body, fault.headers)
                return
        try:
            status, body, headers = self._route(method, path, query, raw)
        except Exception as e:  # noqa: BLE001 - a bug in the fake must show as a 500 with the reason
            status, body, headers = 500, _err(500, f"fake error: {e!r}"), {}
        entry["status"] = status
        self._send(status, body, headers)

    # routing -------------------------------------------------------------------------------
    def _route(self, method, path, q, raw):
        fake = self.fake
        if path == "/api/token" and method == "POST":
            return self._token(raw)
        if path == "/authorize" and method == "GET":
            return self._authorize(q)
        if path.startswith("/reccobeats/v1"):
            return self._reccobeats(method, path[len("/reccobeats/v1") :], q)
        if not path.startswith("/v1/"):
            return 404, _err(404, "Service not found"), {}
        auth = self.headers.get("Authorization", "")
        token = fake.tokens.get(auth[7:]) if auth.startswith("Bearer ") else None
        if token is None:
            if not auth:
                return 401, _err(401, "No token provided"), {}
            return 401, _err(401, "Invalid access token"), {}
        if token["expires_at"] < time.time():
            return 401, _err(401, "The access token expired"), {}
        user = token.get("user")
        p = path[len("/v1") :]

        def one(name):
            return int(q.get(name, [""])[0]) if q.get(name, [""])[0].lstrip("-").isdigit() else None

        def limit(default, maximum):
            raw_limit = q.get("limit", [None])[0]
            if raw_limit is None:
                return default
            v = one("limit")
            if v is None or v < 0 or v > maximum:
                raise _Answer(400, _err(400, "Invalid limit"))
            return v

        def offset():
            v = one("offset")
            if q.get("offset") and (v is None or v < 0):
                raise _Answer(400, _err(400, "Invalid offset"))
            return v or 0

        try:
            m = re.fullmatch(r"/playlists/([^/]+)/items", p)
            if m and method == "GET":
                pl = self._playlist_for(m.group(1), user)
                page = self._page(
                    f"/v1/playlists/{pl['id']}/items", self._entries(pl), limit(20, 50), offset(), q
                )
                return 200, apply_fields(page, parse_fields(q.get("fields", [""])[0])), {}
            if m and method == "POST":
                pl = self._playlist_for(m.group(1), user, write=True)
                try:
                    body = json.loads(raw or b"null")
                except ValueError:
                    return 400, _err(400, "Error parsing JSON."), {}
                uris = body.get("uris") if isinstance(body, dict) else None
                if not uris:
                    return 400, _err(400, "No uris provided"), {}
                if len(uris) > 100:
                    return 400, _err(400, "Invalid limit"), {}
                for u in uris:
                    mm = re.fullmatch(r"spotify:track:([0-9A-Za-z]{22})", str(u))
                    if not mm or mm.group(1) not in fake.tracks:
                        return 400, _err(400, f"Invalid base62 id or unknown track: {u}"), {}
                    pl["entries"].append(mm.group(1))
                return 201, {"snapshot_id": secrets.token_urlsafe(16)}, {}
            if re.fullmatch(r"/playlists/([^/]+)/tracks", p):
                return 403, _err(403, "Forbidden"), {}
            m = re.fullmatch(r"/playlists/([^/]+)", p)
            if m and method == "GET":
                pl = fake.playlists.get(m.group(1))
                if pl is None:
                    return 404, _err(404, "Resource not found"), {}
                out = self._playlist_obj(pl)
                if user and (pl["owner"] == user or pl["collaborative"]):
                    out["items"] = self._page(
                        f"/v1/playlists/{pl['id']}/items", self._entries(pl), 50, 0, {}
                    )
                return 200, apply_fields(out, parse_fields(q.get("fields", [""])[0])), {}
            if p == "/tracks" and method == "GET":
                return 403, _err(403, "Forbidden"), {}
            m = re.fullmatch(r"/tracks/([^/]+)", p)
            if m and method == "GET":
                t = fake.tracks.get(m.group(1))
                if t is None:
                    return (
                        (404, _err(404, "Resource not found"), {})
                        if re.fullmatch(r"[0-9A-Za-z]{22}", m.group(1))
                        else (400, _err(400, "Invalid base62 id"), {})
                    )
                return 200, t, {}
            if p == "/audio-features" and method == "GET":
                if not fake.audio_features_access:
                    return 403, {"error": {"status": 403}}, {}
                ids = [i for i in ",".join(q.get("ids", [""])).split(",") if i]
                if not ids:
                    return 400, _err(400, "invalid request"), {}
                if len(ids) > 100:
                    return 400, _err(400, "Too many ids requested"), {}
                return 200, {"audio_features": [fake.features.get(i) for i in ids]}, {}
            m = re.fullmatch(r"/albums/([^/]+)", p)
            if m and method == "GET":
                al = fake.albums.get(m.group(1))
                if al is None:
                    return 404, _err(404, "Resource not found"), {}
                return 200, self._album_obj(al), {}
            m = re.fullmatch(r"/albums/([^/]+)/tracks", p)
            if m and method == "GET":
                al = fake.albums.get(m.group(1))
                if al is None:
                    return 404, _err(404, "Resource not found"), {}
                return (
                    200,
                    self._page(
                        f"/v1/albums/{al['id']}/tracks",
                        self._album_tracks(al),
                        limit(20, 50),
                        offset(),
                        q,
                    ),
                    {},
                )
            m = re.fullmatch(r"/artists/([^/]+)/albums", p)
            if m and method == "GET":
                ar = fake.artists.get(m.group(1))
                if ar is None:
                    return 404, _err(404, "Resource not found"), {}
                albums = [self._simple_album(fake.albums[a]) for a in ar["albums"]]
                return (
                    200,
                    self._page(f"/v1/artists/{ar['id']}/albums", albums, limit(5, 10), offset(), q),
                    {},
                )
            if p == "/search" and method == "GET":
                text = q.get("q", [""])[0].lower()
                if not text or not q.get("type"):
                    return (
                        400,
                        _err(400, "No search query" if not text else "Missing parameter type"),
                        {},
                    )
                lim, off = limit(5, 10), offset()
                if off > 1000:
                    return 400, _err(400, "Invalid offset"), {}
                found = [
                    t
                    for t in fake.tracks.values()
                    if text in t["name"].lower() or text in t["artists"][0]["name"].lower()
                ]
                return 200, {"tracks": self._page("/v1/search", found, lim, off, q)}, {}
            if p == "/me" and method == "GET":
                if not user:
                    return 401, _err(401, "Valid user authentication required"), {}
                return 200, self._user_obj(user), {}
            if p == "/me/playlists" and method == "GET":
                if not user:
                    return 401, _err(401, "Valid user authentication required"), {}
                mine = [
                    self._playlist_obj(pl, simplified=True)
                    for pl in fake.playlists.values()
                    if pl["owner"] == user or pl["followed"] or pl["collaborative"]
                ]
                return 200, self._page("/v1/me/playlists", mine, limit(20, 50), offset(), q), {}
            if p == "/me/playlists" and method == "POST":
                if not user:
                    return 401, _err(401, "Valid user authentication required"), {}
                body = json.loads(raw or b"{}")
                if not body.get("name"):
                    return 400, _err(400, "Missing required field: name"), {}
                pid = fake.add_playlist(
                    [], name=body["name"], owner=user, collaborative=bool(body.get("collaborative"))
                )
                fake.playlists[pid]["public"] = bool(body.get("public", True))
                fake.playlists[pid]["description"] = body.get("description") or ""
                return 201, self._playlist_obj(fake.playlists[pid]), {}
            if re.fullmatch(r"/users/([^/]+)/playlists", p) and method == "POST":
                return 403, _err(403, "You cannot create a playlist for another user"), {}
            return 404, _err(404, "Service not found"), {}
        except _Answer as a:
            return a.status, a.body, {}

    # accounts --------------------------------------------------------------------------------
    def _token(self, raw: bytes):
        fake = self.fake
        form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
        grant = form.get("grant_type")
        bad_client = (400, {"error": "invalid_client", "error_description": "Invalid client"}, {})
        if grant == "client_credentials":
            auth = self.headers.get("Authorization", "")
            try:
                cid, secret = base64.b64decode(auth[6:]).decode().split(":", 1)
            except (ValueError, UnicodeDecodeError):
                return bad_client
            if (
                not auth.startswith("Basic ")
                or cid != fake.client_id
                or secret != fake.client_secret
            ):
                return bad_client
            tok = secrets.token_urlsafe(24)
            fake.tokens[tok] = {"user": None, "scope": "", "expires_at": time.time() + 3600}
            return 200, {"access_token": tok, "token_type": "Bearer", "expires_in": 3600}, {}
        if grant == "authorization_code":
            if form.get("client_id") != fake.client_id:
                return bad_client
            code = fake.codes.pop(form.get("code", ""), None)
            if code is None:
                return (
                    400,
                    {"error": "invalid_grant", "error_description": "Invalid authorization code"},
                    {},
                )
            if form.get("redirect_uri") != code["redirect_uri"]:
                return (
                    400,
                    {"error": "invalid_grant", "error_description": "Invalid redirect URI"},
                    {},
                )
            verifier = form.get("code_verifier", "")
            if not re.fullmatch(r"[A-Za-z0-9._~-]{43,128}", verifier):
                return (
                    400,
                    {"error": "invalid_request", "error_description": "code_verifier is invalid"},
                    {},
                )
            challenge = (
                base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
                .decode()
                .rstrip("=")
            )
            if challenge != code["challenge"]:
                return (
                    400,
                    {"error": "invalid_grant", "error_description": "code_verifier was incorrect"},
                    {},
                )
            return 200, self._user_token(code["scope"]), {}
        if grant == "refresh_token":
            info = fake.refresh_tokens.get(form.get("refresh_token", ""))
            if info is None or form.get("client_id") != fake.client_id:
                return (
                    400,
                    {"error": "invalid_grant", "error_description": "Invalid refresh token"},
                    {},
                )
            return 200, self._user_token(info["scope"], refresh=form["refresh_token"]), {}
        return (
            400,
            {
                "error": "unsupported_grant_type",
                "error_description": f"grant_type parameter is invalid: {grant}",
            },
            {},
        )

    def _user_token(self, scope: str, refresh: str | None = None) -> dict:
        fake = self.fake
        tok = secrets.token_urlsafe(24)
        fake.tokens[tok] = {"user": fake.user_id, "scope": scope, "expires_at": time.time() + 3600}
        out = {"access_token": tok, "token_type": "Bearer", "scope": scope, "expires_in": 3600}
        if refresh is None:
            refresh = secrets.token_urlsafe(24)
            fake.refresh_tokens[refresh] = {"scope": scope}
            out["refresh_token"] = refresh
        return out

    def _authorize(self, q):
        fake = self.fake

        def get(k):
            return q.get(k, [None])[0]

        redirect = get("redirect_uri") or ""
        if get("client_id") != fake.client_id:
            return 400, b"INVALID_CLIENT: Invalid client", {}
        if urlsplit(redirect).hostname == "localhost":
            return 400, b"INVALID_CLIENT: Insecure redirect URI", {}
        if redirect not in fake.redirect_uris:
            return 400, b"INVALID_CLIENT: Invalid redirect URI", {}
        if (
            get("response_type") != "code"
            or get("code_challenge_method") != "S256"
            or not get("code_challenge")
        ):
            return 400, b"INVALID_REQUEST: code_challenge required", {}
        code = secrets.token_urlsafe(16)
        fake.codes[code] = {
            "challenge": get("code_challenge"),
            "redirect_uri": redirect,
            "scope": get("scope") or "",
        }
        params = {"code": code}
        if fake.deny_authorization:
            fake.codes.pop(code)
            params = {"error": "access_denied"}
        if get("state") is not None:
            params["state"] = get("state")
        return 302, None, {"Location": f"{redirect}?{urlencode(params)}"}

    # ReccoBeats --------------------------------------------------------------------------------
    def _reccobeats(self, method, path, q):
        fake = self.fake
        if path == "/audio-features" and method == "GET":
            ids = [i for v in q.get("ids", []) for i in v.split(",") if i]
            if not ids:
                return 400, {"error": "ids is required"}, {}
            content = []
            for sid in ids[: fake.reccobeats_max_ids]:
                if sid in fake.rb:
                    content.append(
                        {
                            "id": fake.rb_uuid[sid],
                            "href": f"https://open.spotify.com/track/{sid}",
                            **fake.rb[sid],
                        }
                    )
            return 200, {"content": content}, {}
        return 404, {"error": "Not Found"}, {}

    # objects -----------------------------------------------------------------------------------
    def _page(self, path: str, items: list, lim: int, off: int, q: dict) -> dict:
        base = self.fake.base + path
        extra = {k: v[0] for k, v in q.items() if k not in ("limit", "offset")}

        def url(o):
            return f"{base}?{urlencode({**extra, 'offset': o, 'limit': lim})}"

        total = len(items)
        return {
            "href": url(off),
            "items": items[off : off + lim],
            "limit": lim,
            "next": url(off + lim) if off + lim < total else None,
            "offset": off,
            "previous": url(max(0, off - lim)) if off > 0 else None,
            "total": total,
        }

    def _playlist_for(self, pid: str, user: str | None, *, write: bool = False) -> dict:
        pl = self.fake.playlists.get(pid)
        if pl is None:
            raise _Answer(404, _err(404, "Resource not found"))
        if not user or not (pl["owner"] == user or pl["collaborative"]):
            raise _Answer(403, _err(403, "Forbidden"))
        return pl

    def _entries(self, pl: dict) -> list:
        fake = self.fake
        out = []
        adder = self._user_obj(pl["owner"], public=True)
        for i, e in enumerate(pl["entries"]):
            entry = {
                "added_at": "2026-03-01T12:00:00Z",
                "added_by": adder,
                "is_local": False,
                "primary_color": None,
                "video_thumbnail": {"url": None},
            }
            if e is NULL:
                item = None
            elif e is LOCAL:
                entry["is_local"] = True
                item = {
                    "album": {
                        "album_type": None,
                        "artists": [],
                        "available_markets": [],
                        "external_urls": {},
                        "href": None,
                        "id": None,
                        "images": [],
                        "name": "My Demos",
                        "release_date": None,
                        "type": "album",
                        "uri": None,
                    },
                    "artists": [
                        {
                            "external_urls": {},
                            "href": None,
                            "id": None,
                            "name": "Me",
                            "type": "artist",
                            "uri": None,
                        }
                    ],
                    "disc_number": 0,
                    "duration_ms": 180000,
                    "explicit": False,
                    "external_ids": {},
                    "external_urls": {},
                    "href": None,
                    "id": None,
                    "is_local": True,
                    "name": f"demo {i}",
                    "preview_url": None,
                    "track_number": 0,
                    "type": "track",
                    "uri": f"spotify:local:Me:My+Demos:demo+{i}:180",
                }
            elif e is EPISODE:
                eid = make_id("episode", i)
                item = {
                    "audio_preview_url": None,
                    "description": "talk",
                    "duration_ms": 1800000,
                    "explicit": False,
                    "external_urls": {"spotify": f"https://open.spotify.com/episode/{eid}"},
                    "href": f"{fake.api_url}/episodes/{eid}",
                    "id": eid,
                    "images": [],
                    "is_externally_hosted": False,
                    "languages": ["en"],
                    "name": f"Episode {i}",
                    "release_date": "2026-01-01",
                    "release_date_precision": "day",
                    "show": {"id": make_id("show", 1), "name": "A Show", "type": "show"},
                    "type": "episode",
                    "uri": f"spotify:episode:{eid}",
                }
            else:
                item = fake.tracks[e]
            entry["item"] = item
            entry["track"] = item  # deprecated alias, still sent
            out.append(entry)
        return out

    def _user_obj(self, uid: str, public: bool = False) -> dict:
        out = {
            "external_urls": {"spotify": f"https://open.spotify.com/user/{uid}"},
            "href": f"{self.fake.api_url}/users/{uid}",
            "id": uid,
            "type": "user",
            "uri": f"spotify:user:{uid}",
            "display_name": uid.title(),
        }
        if not public:
            out["images"] = []
        return out

    def _playlist_obj(self, pl: dict, *, simplified: bool = False) -> dict:
        api = self.fake.api_url
        return {
            "collaborative": pl["collaborative"],
            "description": pl["description"],
            "external_urls": {"spotify": f"https://open.spotify.com/playlist/{pl['id']}"},
            "href": f"{api}/playlists/{pl['id']}",
            "id": pl["id"],
            "images": [],
            "name": pl["name"],
            "owner": self._user_obj(pl["owner"], public=True),
            "public": pl["public"],
            "snapshot_id": self.fake.snapshot_id(pl["id"]),
            "items": {"href": f"{api}/playlists/{pl['id']}/items", "total": len(pl["entries"])},
            "tracks": None,
            "type": "playlist",
            "uri": f"spotify:playlist:{pl['id']}",
        }

    def _simple_track(self, t: dict) -> dict:
        return {k: v for k, v in t.items() if k not in ("album", "external_ids")}

    def _album_tracks(self, al: dict) -> list:
        return [self._simple_track(self.fake.tracks[t]) for t in al["tracks"]]

    def _simple_album(self, al: dict) -> dict:
        api = self.fake.api_url
        return {
            "album_type": "album",
            "album_group": "album",
            "artists": [],
            "external_urls": {},
            "href": f"{api}/albums/{al['id']}",
            "id": al["id"],
            "images": [],
            "name": al["name"],
            "release_date": "2020-01-01",
            "release_date_precision": "day",
            "total_tracks": len(al["tracks"]),
            "type": "album",
            "uri": f"spotify:album:{al['id']}",
        }

    def _album_obj(self, al: dict) -> dict:
        out = self._simple_album(al)
        out["tracks"] = self._page(
            f"/v1/albums/{al['id']}/tracks", self._album_tracks(al), 50, 0, {}
        )
        out.update({"copyrights": [], "external_ids": {}, "label": "Fake Records"})
        return out


class _Answer(Exception):
    def __init__(self, status, body):
        self.status, self.body = status, body
