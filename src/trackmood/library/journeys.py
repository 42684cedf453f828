"""Playlists from the similar-tracks index: a radio around a seed, a path from A to B, a mood arc.

* **radio** (:func:`radio`): the seed, then tracks near it chosen greedily by maximal marginal
  relevance (similar to the seed, not too similar to the tracks already chosen), with at most
  ``per_artist`` tracks of any artist (the seed's included).
* **path** (:func:`path`): from track A to track B in ``length`` steps: each step aims at the
  point ``(1 - t) a + t b`` of the representation space (``t`` from 0 to 1) and takes the nearest
  track not used yet, so the journey moves smoothly from A's sound to B's.
* **mood arc** (:func:`arc`): from one mood to another through the valence/energy plane: the
  targets move in a straight line from the first mood's centre to the second's (the mean valence
  and energy of the library's tracks of that mood); each step takes, among the tracks nearest the
  target, the one most similar to the previous step.

Each returns track rows (as :meth:`trackmood.library.similar.Index.row`); :func:`write` makes
them an M3U8 with :mod:`trackmood.library.m3u`'s writer.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import DataError
from .similar import Index, check_mood

#: Default share of relevance (similarity to the seed) against variety in :func:`radio`.
RADIO_LAMBDA = 0.7
#: Tracks near each arc target among which the smoothest step is taken.
ARC_CANDIDATES = 8


def _length(length: int) -> int:
    if length < 2:
        raise DataError("a playlist needs at least 2 tracks", value=length)
    return length


def _artist_key(index: Index, i: int):
    a = index.artists[i]
    return " ".join(str(a).casefold().split()) if a else ("track", i)


def radio(
    index: Index, seed: int, *, length: int = 30, per_artist: int = 2, lam: float = RADIO_LAMBDA
) -> list[dict]:
    """The seed and up to ``length - 1`` tracks near it, at most ``per_artist`` per artist."""
    _length(length)
    if per_artist < 1:
        raise DataError("tracks per artist must be at least 1", value=per_artist)
    s = index.scores(seed).astype(np.float64)
    pool = min(len(index), max(200, 20 * length))
    near = np.argpartition(-s, pool - 1)[:pool] if pool < len(index) else np.arange(len(index))
    cand = [int(j) for j in near[np.argsort(-s[near], kind="stable")] if j != seed]
    chosen = [seed]
    counts = {_artist_key(index, seed): 1}
    closest = index.V[cand] @ index.V[seed]  # max similarity to the chosen tracks so far
    alive = np.ones(len(cand), bool)
    while len(chosen) < length and alive.any():
        score = lam * s[cand] - (1 - lam) * closest
        score[~alive] = -np.inf
        k = int(np.argmax(score))
        alive[k] = False
        j = cand[k]
        key = _artist_key(index, j)
        if counts.get(key, 0) >= per_artist:
            continue
        counts[key] = counts.get(key, 0) + 1
        chosen.append(j)
        closest = np.maximum(closest, index.V[cand] @ index.V[j])
    return [index.row(i) for i in chosen]


def path(index: Index, a: int, b: int, *, length: int = 15) -> list[dict]:
    """``length`` tracks from ``a`` to ``b`` (both included), each the nearest unused track to
    its point on the line from ``a``'s vector to ``b``'s.
    """
    _length(length)
    if a == b:
        raise DataError("the journey's start and end are the same track; give two tracks")
    used = np.zeros(len(index), bool)
    used[[a, b]] = True
    steps = [a]
    for t in np.linspace(0.0, 1.0, length)[1:-1]:
        if used.all():
            break
        target = (1 - t) * index.V[a].astype(np.float64) + t * index.V[b]
        s = index.V @ target.astype(np.float32)
        s[used] = -np.inf
        j = int(np.argmax(s))
        used[j] = True
        steps.append(j)
    steps.append(b)
    return [index.row(i) for i in steps]


def mood_centre(index: Index, mood: str) -> np.ndarray:
    """The mean valence and energy of the library's tracks of ``mood``."""
    mine = index.moods == mood
    if not mine.any():
        raise DataError(f"no track of the library has the mood {mood}; scan more music first")
    return index.ve[mine].mean(axis=0)


def arc(index: Index, start: str, end: str, *, length: int = 15) -> list[dict]:
    """``length`` tracks moving from mood ``start`` to mood ``end`` through valence/energy: the
    first is a track of ``start`` nearest its centre, the last one of ``end`` nearest its centre.
    """
    _length(length)
    start, end = check_mood(start), check_mood(end)
    if start == end:
        raise DataError(f"the arc starts and ends at {start}; give two different moods")
    c0, c1 = mood_centre(index, start), mood_centre(index, end)
    used = np.zeros(len(index), bool)
    steps: list[int] = []

    def nearest(target, mood=None) -> np.ndarray:
        d = ((index.ve - target) ** 2).sum(axis=1)
        d[used] = np.inf
        if mood is not None:
            d[index.moods != mood] = np.inf
        k = min(ARC_CANDIDATES, int(np.isfinite(d).sum()))
        return np.argsort(d, kind="stable")[:k] if k else np.array([], int)

    first = nearest(c0, start)[:1]
    last = nearest(c1, end)[:1]
    if not len(first) or not len(last):
        return []
    used[[first[0], last[0]]] = True
    steps.append(int(first[0]))
    for t in np.linspace(0.0, 1.0, length)[1:-1]:
        cand = nearest((1 - t) * c0 + t * c1)
        if not len(cand):
            break
        j = int(cand[np.argmax(index.V[cand] @ index.V[steps[-1]])])
        used[j] = True
        steps.append(j)
    steps.append(int(last[0]))
    return [index.row(i) for i in steps]


def write(rows: list[dict], out: str | Path | None) -> str:
    """The M3U8 text of ``rows`` (paths relative to ``out``'s folder, or to the working folder
    when ``out`` is ``None``); written atomically to ``out`` if given.
    """
    from . import m3u

    if out is None:
        return m3u.render(rows, Path(os.getcwd()))
    out = Path(out)
    if out.is_dir():
        raise DataError(f"{out}: a folder; give the playlist's file name, e.g. radio.m3u8")
    folder = Path(os.path.abspath(out)).parent
    if not folder.is_dir():
        raise DataError(f"{out}: its folder does not exist")
    text = m3u.render(rows, folder)
    try:
        m3u._atomic_write(out, text)
    except OSError as e:
        raise DataError(f"{out}: cannot write the playlist ({e.strerror or e})") from None
    return text


def mood_playlist(store, mood: str) -> tuple[str, str]:
    """``(file name, M3U8 text)`` of the library's playlist of ``mood``, as ``playlists export``
    writes it (its analysed files that still exist, most confident first), with paths relative to
    the folder holding all of them (the library's top folder: save the playlist there).
    """
    from . import catalog, m3u

    mood = check_mood(mood)
    rows = [r for r in catalog.analysed(store) if r["mood"] == mood and os.path.exists(r["path"])]
    rows.sort(key=lambda r: (-(r.get("confidence") or 0.0), r["path"]))
    folder = Path(os.path.commonpath([os.path.dirname(r["path"]) for r in rows])) if rows else None
    return f"{mood}.m3u8", m3u.render(rows, folder or Path(os.getcwd()))
