"""The scanned music library on the page: ``GET /library/tracks`` (paged, filtered, with true
totals), ``GET /library/map`` (every track's valence/energy, compact), ``GET /library/suggest``
(the tracks worth labelling first) and ``GET /tracks/{id}/audio`` (the file, streamed).

Streaming serves **only files recorded in the library** (``lib_files``), found by track id (no
part of the request is ever a path): the recorded path must still be a regular file; when a
symbolic link is on the way (a linked music folder), the file it reaches must be the one the
scan saw (same size and modification time), so a link swapped in after the scan, or a folder on
the way that became one, answers 404. Checks are made on the open descriptor. Range
requests (``bytes=a-b``, ``a-``, ``-n``) answer 206 with ``Content-Range``; an unsatisfiable or
malformed range answers 416 with ``Content-Range: bytes */size``.
"""

from __future__ import annotations

import os
import re
import stat
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response, StreamingResponse

from ...moods import MOODS, PROBA_COLUMNS, normalize_label
from ...store.listing import UNCERTAIN_MARGIN
from ..deps import State
from ..errors import ApiError
from ..schemas import ErrorBody, LibraryMap, LibraryPage, TrackId
from ..util import display_name, json_response

router = APIRouter(tags=["library"])

#: Content types of the audio files the library scans (by suffix).
AUDIO_TYPES = {
    ".mp3": "audio/mpeg",
    ".flac": "audio/flac",
    ".wav": "audio/wav",
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
    ".opus": "audio/ogg",
    ".m4a": "audio/mp4",
    ".mp4": "audio/mp4",
    ".aac": "audio/aac",
    ".aif": "audio/aiff",
    ".aiff": "audio/aiff",
    ".wma": "audio/x-ms-wma",
    ".ape": "audio/x-ape",
    ".wv": "audio/x-wavpack",
}
CHUNK = 256 * 1024
_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)


def library_row(r: dict) -> dict:
    """One library file as the page shows it (no server path: the file's name only)."""
    tid = r["track_id"]
    return {
        "id": tid,
        "name": r.get("title") or display_name(r["path"]),
        "artist": r.get("artist"),
        "file": display_name(r["path"]),
        "model": r.get("model"),
        "mood": r.get("mood"),
        **{c: r.get(c) for c in PROBA_COLUMNS},
        "confidence": r.get("confidence"),
        "margin": r.get("margin"),
        "uncertain": bool(r.get("uncertain")),
        "valence": r.get("valence"),
        "energy": r.get("energy"),
        "label": r.get("label"),
        "audio": f"/tracks/{tid}/audio",
    }


def _flag(value: str | None, name: str) -> bool | None:
    if value in (None, "", "any"):
        return None
    if value.lower() in ("1", "true", "yes"):
        return True
    if value.lower() in ("0", "false", "no"):
        return False
    raise ApiError(422, f"{name} must be true, false or any, not {value[:20]!r}")


@router.get("/library/tracks", response_model=LibraryPage)
def library_tracks(
    state: State,
    mood: Annotated[str | None, Query(max_length=40)] = None,
    uncertain: Annotated[str | None, Query(max_length=10, description="true/false/any")] = None,
    labelled: Annotated[str | None, Query(max_length=10, description="true/false/any")] = None,
    order: Annotated[str, Query(pattern="^(path|confidence|margin|mood)$")] = "path",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
):
    """The scanned library's analysed files, filtered and paged; ``total`` counts every match,
    ``all`` every analysed file.
    """
    mood_name = normalize_label(mood) if mood else None
    u, lab = _flag(uncertain, "uncertain"), _flag(labelled, "labelled")
    with state.lock:
        store = state.store
        rows, total = store.library_tracks(
            mood=mood_name, uncertain=u, labelled=lab, limit=limit, offset=offset, order=order
        )
        size = store.library_size()
    return json_response(
        {
            "total": total,
            "all": size,
            "limit": limit,
            "offset": offset,
            "tracks": [library_row(r) for r in rows],
        }
    )


@router.get("/library/map", response_model=LibraryMap)
def library_map(state: State):
    """Every analysed track's valence, energy and mood, as parallel arrays (one per track)."""
    with state.lock:
        points = state.store.library_points()
    code = {m: i for i, m in enumerate(MOODS)}
    return json_response(
        {
            "count": len(points),
            "moods": list(MOODS),
            "ids": [p[0] for p in points],
            "valence": [None if p[1] is None else round(p[1], 4) for p in points],
            "energy": [None if p[2] is None else round(p[2], 4) for p in points],
            "mood": [code.get(p[3], -1) for p in points],
            "label": [code.get(p[4], -1) for p in points],
            "uncertain": [int(p[5] is not None and p[5] < UNCERTAIN_MARGIN) for p in points],
        }
    )


@router.get("/library/suggest", response_model=LibraryPage)
def library_suggest(state: State, n: Annotated[int, Query(ge=1, le=200)] = 20):
    """The tracks whose labels would teach a personal model most (see ``label --suggest``)."""
    from ...library.suggest import suggest

    with state.lock:
        rows = suggest(state.store, n)
        size = state.store.library_size()
    out = [library_row(r) | {"why": r.get("why")} for r in rows]
    return json_response({"total": len(out), "all": size, "limit": n, "offset": 0, "tracks": out})


def _open_library_file(files: list[tuple]):
    """``(fd, size, path)`` of the first recorded file that can be served; ``None`` if none.

    A path without symbolic links is served while it is a regular file. A path with a link on
    the way (a music folder that is a link, a linked file) is served only while the file it
    reaches is the one the scan saw (same size and modification time): a link swapped in after
    the scan, pointing anywhere else, is refused.
    """
    flags = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)
    for p, size, mtime_ns in files:
        if not os.path.isabs(p):
            continue
        linked = os.path.realpath(p) != os.path.normpath(p)
        try:
            fd = os.open(p, flags | (0 if linked else getattr(os, "O_NOFOLLOW", 0)))
        except OSError:
            continue
        st = os.fstat(fd)
        same = st.st_size == size and st.st_mtime_ns == mtime_ns
        if not stat.S_ISREG(st.st_mode) or (linked and not same):
            os.close(fd)
            continue
        return fd, st.st_size, p
    return None


def parse_range(header: str | None, size: int) -> tuple[int, int] | None | str:
    """``(start, end)`` (inclusive) of a single-range ``Range`` header; ``None`` without one (or
    with several ranges: the whole file is sent); ``"bad"`` when it cannot be satisfied.

    >>> parse_range("bytes=0-99", 1000), parse_range("bytes=900-", 1000), parse_range("bytes=-10", 1000)
    ((0, 99), (900, 999), (990, 999))
    >>> parse_range("bytes=1000-", 1000), parse_range("bytes=5-2", 1000), parse_range("items=0-1", 1000)
    ('bad', 'bad', 'bad')
    >>> parse_range("bytes=0-1,5-6", 1000) is None, parse_range("bytes=0-5000", 1000)
    (True, (0, 999))
    """
    if header is None:
        return None
    if "," in header and header.strip().lower().startswith("bytes"):
        return None
    m = _RANGE.match(header)
    if not m or (m.group(1) == "" and m.group(2) == ""):
        return "bad"
    a, b = m.group(1), m.group(2)
    if a == "":
        n = int(b)
        if n == 0 or size == 0:
            return "bad"
        return max(0, size - n), size - 1
    start = int(a)
    end = size - 1 if b == "" else min(int(b), size - 1)
    if start >= size or end < start:
        return "bad"
    return start, end


def _chunks(fd: int, start: int, length: int):
    try:
        pos, left = start, length
        while left > 0:
            data = os.pread(fd, min(CHUNK, left), pos)
            if not data:
                break
            pos += len(data)
            left -= len(data)
            yield data
    finally:
        os.close(fd)


@router.api_route(
    "/tracks/{track_id}/audio",
    methods=["GET", "HEAD"],
    responses={
        200: {"content": {"audio/mpeg": {}}, "description": "the file"},
        206: {"description": "the requested byte range"},
        404: {"model": ErrorBody},
        416: {"model": ErrorBody},
    },
)
def track_audio(state: State, track_id: TrackId, request: Request):
    """The track's audio file from the library, for the page's player (Range requests work).

    Only files the library recorded when it scanned them are served.
    """
    with state.lock:
        files = state.store.library_file_paths(track_id)
    opened = _open_library_file(files)
    if opened is None:
        raise ApiError(404, f"no playable library file for track {track_id[:80]!r}")
    fd, size, path = opened
    ctype = AUDIO_TYPES.get(os.path.splitext(path)[1].lower(), "application/octet-stream")
    headers = {"Accept-Ranges": "bytes", "Cache-Control": "private, max-age=0"}
    rng = parse_range(request.headers.get("range"), size)
    if rng == "bad":
        os.close(fd)
        return Response(
            content=b'{"error":"the requested range is outside the file"}',
            status_code=416,
            media_type="application/json",
            headers={**headers, "Content-Range": f"bytes */{size}"},
        )
    start, end, status = 0, size - 1, 200
    if isinstance(rng, tuple):
        start, end = rng
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    length = max(0, end - start + 1)
    headers["Content-Length"] = str(length)
    if request.method == "HEAD":
        os.close(fd)
        return Response(status_code=status, headers=headers, media_type=ctype)
    return StreamingResponse(
        _chunks(fd, start, length), status_code=status, headers=headers, media_type=ctype
    )
