"""Similar tracks from the library's musicnn embeddings: the representation, its index, the search.

**The representation** (:class:`Space`) is built from the bundled ``audio`` model and the 200-d
musicnn embedding (the mean penultimate layer of the track's patches) the library keeps for every
analysed file: the embedding standardised as the model standardises it, concatenated with the
model's own mood projection (its four class scores, centred) and its valence/energy heads
(decision values), each block scaled to unit expected length and weighted by :data:`WEIGHTS`; the
whole vector has unit length, so similarity is a cosine. The weights were chosen by
``benchmarks/bench_similar.py`` on the labelled ``audio_4q`` clips, by artist groups, nested (the
figure it reports was never used to choose).

**The index** is one float32 row per audio content in the store's ``embeddings`` table (model
``similar-<fingerprint of the representation>``): the unit vector, then the valence and energy
estimates (0-1). It is built once from the musicnn embeddings (every version the library holds,
the most common first), extended by ``scan`` and before every search with the contents embedded
since (new rows only); a changed representation is a new fingerprint, so a new index. A search is
one matrix-vector product and an ``argpartition``: milliseconds for 100,000 tracks.

>>> import numpy as np
>>> from trackmood.store import Store
>>> s = Store(":memory:")
>>> rng = np.random.default_rng(0)
>>> for i in range(3):
...     s.upsert_files([{"path": f"/m/{i}.mp3", "sha": f"{i}" * 64, "track_id": f"t{i}",
...                      "status": "ok", "model": "audio", "mood": "Calm", "p_calm": 1.0}])
>>> s.put_embeddings("musicnn:1:9", [(f"{i}" * 64, rng.normal(size=250)) for i in range(3)])
>>> index = load(s)
>>> [r["id"] for r, _ in index.similar(index.find("t0"), limit=5)]
['t2', 't1']
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import overload

import numpy as np

from ..errors import DataError
from ..moods import MOODS
from ..paths import display
from ..store.files import LibraryFiles

#: Weight of each block of the representation (see :class:`Space`), chosen by
#: ``benchmarks/bench_similar.py``.
WEIGHTS = {"emb": 1.0, "mood": 1.0, "va": 1.0}
#: Width of the penultimate-layer part of a stored musicnn vector (``mn_pen000..199`` first).
PEN = 200
INDEX_PREFIX = "similar-"
#: Contents embedded per batch while an index is extended.
_BATCH = 2000


# -- the representation -------------------------------------------------------------------------
@dataclass
class Space:
    """A linear map of the musicnn embedding into the search space, and the valence/energy axes.

    ``shift``/``scale`` standardise the 200-d embedding; ``W``, ``b`` are the mood model's class
    scores and ``H``, ``h`` its valence and energy heads on the standardised embedding.
    """

    shift: np.ndarray
    scale: np.ndarray
    W: np.ndarray  # (200, 4)
    b: np.ndarray  # (4,)
    H: np.ndarray  # (200, 2): valence, energy
    h: np.ndarray  # (2,)
    weights: dict = field(default_factory=lambda: dict(WEIGHTS))

    @classmethod
    def from_model(cls, model=None, weights: dict | None = None) -> Space:
        """The space of an audio model reading the 200-d embedding (default: the bundled one)."""
        from ..model.persistence import load_model

        m = load_model(model or "audio")
        rt = m.runtime
        pen = [i for i, f in enumerate(rt.features) if f.startswith("mn_pen")]
        heads = rt.meta.get("heads") or {}
        if len(pen) != PEN or pen != list(range(PEN)) or set(heads) != {"valence", "energy"}:
            raise DataError(f"model {m.name!r} does not read the 200-d musicnn embedding")
        out = rt.members[0][-1]
        return cls(
            shift=np.asarray(rt.shift, float)[:PEN],
            scale=np.asarray(rt.scale, float)[:PEN],
            W=np.asarray(out.W, float)[:PEN],
            b=np.asarray(out.b, float),
            H=np.array([heads[k]["coef"][:PEN] for k in ("valence", "energy")], float).T,
            h=np.array([heads[k]["intercept"] for k in ("valence", "energy")], float),
            weights=dict(weights or WEIGHTS),
        )

    @classmethod
    def fit(cls, pen, moods, *, weights: dict, C: float = 0.01, head_C=(0.01, 0.01)) -> Space:
        """The bundled model's recipe refitted on ``pen`` (n, 200) and its ``moods`` (scikit-learn;
        used to measure the representation without the clips the bundled model saw).
        """
        from ..model.audio_cv import AXES, fit_logistic

        mu, inv, coef, icpt, _ = fit_logistic(pen, moods, C=C)
        hs = []
        for name, c in zip(("valence", "energy"), head_C, strict=True):
            _, _, hc, hi, _ = fit_logistic(pen, np.isin(moods, AXES[name]).astype(int), C=c)
            hs.append((hc.ravel(), float(hi.ravel()[0])))
        return cls(
            shift=mu,
            scale=inv,
            W=coef.T,
            b=icpt,
            H=np.array([c for c, _ in hs]).T,
            h=np.array([i for _, i in hs]),
            weights=dict(weights),
        )

    def blocks(self, pen) -> dict[str, np.ndarray]:
        """Each block, scaled to unit expected length for a standardised (white) embedding."""
        z = (np.asarray(pen, float)[:, :PEN] - self.shift) * self.scale
        Wc = self.W - self.W.mean(axis=1, keepdims=True)
        bc = self.b - self.b.mean()
        return {
            "emb": z / np.sqrt(PEN),
            "mood": (z @ Wc + bc) / np.sqrt((Wc**2).sum() + (bc**2).sum()),
            "va": (z @ self.H + self.h) / np.sqrt((self.H**2).sum() + (self.h**2).sum()),
        }

    def vectors(self, pen) -> np.ndarray:
        """Unit-length float32 rows of the search space."""
        parts = [w * blk for k, blk in self.blocks(pen).items() if (w := self.weights.get(k, 0))]
        V = np.hstack(parts)
        V /= np.maximum(np.linalg.norm(V, axis=1, keepdims=True), 1e-12)
        return V.astype(np.float32)

    def axes(self, pen) -> np.ndarray:
        """``(n, 2)``: the valence and energy estimates (0-1) of the heads."""
        z = (np.asarray(pen, float)[:, :PEN] - self.shift) * self.scale
        return 1.0 / (1.0 + np.exp(-(z @ self.H + self.h)))

    def fingerprint(self, source: str) -> str:
        h = hashlib.sha256(source.encode())
        for a in (self.shift, self.scale, self.W, self.b, self.H, self.h):
            h.update(np.ascontiguousarray(a, dtype="<f8").tobytes())
        h.update(json.dumps(self.weights, sort_keys=True).encode())
        return h.hexdigest()[:16]


# -- the index ----------------------------------------------------------------------------------
def sources(store, models: dict | None = None) -> list[str]:
    """The musicnn embeddings the library keeps (any version with the 200-d penultimate layer
    first), the one with most vectors first.
    """
    models = store.embedding_models() if models is None else models
    found = [
        (n, name) for name, (n, dim) in models.items() if name.startswith("musicnn") and dim >= PEN
    ]
    return [name for _, name in sorted(found, reverse=True)]


def index_name(space: Space) -> str:
    return f"{INDEX_PREFIX}{space.fingerprint('musicnn')}"


def update(store, space: Space | None = None, *, models: dict | None = None) -> int:
    """Add the contents embedded since the index was last extended; how many were added.

    The index only ever gains rows of the musicnn embeddings, so a count equal to theirs means it
    is complete (one cheap query); otherwise only the missing contents are read and mapped, each
    from the embedding with most vectors that has it (a library scanned before and after an
    embedding version change has both).
    """
    models = store.embedding_models() if models is None else models
    srcs = sources(store, models)
    if not srcs:
        return 0
    space = space or Space.from_model()
    name = index_name(space)
    have = models.get(name, (0, 0))[0]
    if len(srcs) == 1 and have >= models[srcs[0]][0]:
        return 0
    done = store.embedding_shas(name)
    added = 0
    for source in srcs:
        todo = sorted(store.embedding_shas(source) - done)
        for i in range(0, len(todo), _BATCH):
            got = store.get_embeddings(source, todo[i : i + _BATCH])
            shas = [s for s in todo[i : i + _BATCH] if s in got and len(got[s]) >= PEN]
            if not shas:
                continue
            pen = np.vstack([got[s][:PEN] for s in shas])
            rows = np.hstack([space.vectors(pen), space.axes(pen).astype(np.float32)])
            store.put_embeddings(name, zip(shas, rows, strict=True))
            done.update(shas)
            added += len(shas)
    return added


class Index:
    """The library's analysed tracks that have an embedding, one row per track (by path).

    ``row(i)`` is the track's file row as a dict (``id``, ``path``, ``artist``, ``title``,
    ``mood``, ``confidence``, ``duration`` …), ``V[i]`` its unit vector, ``ve[i]`` its valence
    and energy; ``ids``, ``paths``, ``artists`` and ``moods`` are per-track columns.
    """

    def __init__(self, tuples: list[tuple], V, ve, unindexed=None, aliases=None):
        self._tuples = tuples
        self.V = V
        self.ve = ve
        self.unindexed = unindexed or {}  # analysed tracks without a vector, by path and id
        self.aliases = aliases or {}  # {path: track id} of the other files of a track
        c = {name: k for k, name in enumerate(COLUMNS)}
        self.ids = [t[c["id"]] for t in tuples]
        self.paths = [t[c["path"]] for t in tuples]
        self.artists = [t[c["artist"]] for t in tuples]
        self.moods = np.array([t[c["mood"]] or "" for t in tuples], dtype=object)

    def __len__(self) -> int:
        return len(self._tuples)

    def row(self, i: int) -> dict:
        return dict(zip(COLUMNS, self._tuples[i], strict=True))

    def find(self, ref: str) -> int:
        """The row of a track given by a library path or a track id; :class:`DataError` else."""
        ref = str(ref)
        absolute = os.path.abspath(os.path.expanduser(ref))
        for key, within in ((ref, self.paths), (absolute, self.paths), (ref, self.ids)):
            try:
                return within.index(key)
            except ValueError:
                pass
        tid = self.aliases.get(ref) or self.aliases.get(absolute)
        if tid is not None and tid in self.ids:
            return self.ids.index(tid)
        known = self.unindexed.get(ref) or self.unindexed.get(absolute)
        if known is not None:
            raise DataError(
                f"{display(ref)}: this track has no musicnn embedding (analysed by "
                f"{known.get('model')!r}); scan it with the audio model to find similar tracks"
            )
        raise DataError(
            f"{display(ref)}: not a track of the library (give a scanned file's path or a track "
            "id); scan its folder first (trackmood scan DIR)"
        )

    def scores(self, i: int) -> np.ndarray:
        """Cosine similarity of every track to track ``i`` (float32)."""
        return self.V @ self.V[i]

    def similar(
        self, i: int, *, limit: int = 20, mood: str | None = None
    ) -> list[tuple[dict, float]]:
        """The ``limit`` tracks nearest to track ``i`` (itself left out), most similar first,
        only tracks of ``mood`` if given: ``[(row, cosine similarity)]``.
        """
        if limit < 1:
            raise DataError("the number of similar tracks must be at least 1", value=limit)
        s = self.scores(i)
        s[i] = -np.inf
        if mood is not None:
            s[self.moods != mood] = -np.inf
        k = min(limit, int(np.isfinite(s).sum()))
        if k <= 0:
            return []
        top = np.argpartition(-s, k - 1)[:k]
        top = top[np.lexsort((top, -s[top]))]
        return [(self.row(j), float(s[j])) for j in top]


#: The columns of an index row (the store's searchable file columns and the track ``id``).
COLUMNS = (*LibraryFiles.SEARCHABLE_COLUMNS, "id")


def load(store, *, space: Space | None = None, extend: bool = True) -> Index:
    """The search index of the library (extended first with contents embedded since)."""
    space = space or Space.from_model()
    models = store.embedding_models()
    shas, M = [], np.zeros((0, 3), np.float32)
    if sources(store, models):
        if extend:
            update(store, space, models=models)
        shas, M = store.embedding_matrix(index_name(space))
        if not shas:
            M = np.zeros((0, 3), np.float32)
    pos = {s: i for i, s in enumerate(shas)}
    n = len(store.SEARCHABLE_COLUMNS)
    tuples, take, unindexed, aliases = [], [], {}, {}
    seen: dict = {}
    for t in store.searchable_files():  # by path: one file per track, the first
        tid = t[2] or t[0]
        if tid in seen:
            aliases[t[0]] = tid  # another file of the same track
            continue
        seen[tid] = t[0]
        j = pos.get(t[1])
        if j is None:
            unindexed[t[0]] = unindexed[tid] = dict(zip(COLUMNS, (*t[:n], tid), strict=True))
        else:
            tuples.append((*t[:n], tid))
            take.append(j)
    rows = np.array(take, dtype=np.intp)
    return Index(
        tuples,
        M[:, :-2][rows],  # one copy, contiguous
        M[rows, -2:].astype(np.float64),
        unindexed,
        aliases,
    )


# -- what commands show --------------------------------------------------------------------------
RESULT_COLUMNS = ("id", "name", "artist", "path", "mood", "confidence", "similarity")


def display_row(row: dict, similarity: float | None = None) -> dict:
    """A track as ``similar`` prints it and ``GET /tracks/{id}/similar`` returns it."""
    return {
        "id": row["id"],
        "name": row.get("title") or Path(row["path"]).stem,
        "artist": row.get("artist"),
        "path": row["path"],
        "mood": row.get("mood"),
        "confidence": row.get("confidence"),
        "similarity": None if similarity is None else round(float(similarity), 6),
    }


@overload
def check_mood(mood: str) -> str: ...
@overload
def check_mood(mood: None) -> None: ...
@overload
def check_mood(mood: str | None) -> str | None: ...
def check_mood(mood: str | None) -> str | None:
    """``mood`` as one of :data:`~trackmood.moods.MOODS` (any case); :class:`DataError` else."""
    if mood is None:
        return None
    for m in MOODS:
        if m.lower() == str(mood).strip().lower():
            return m
    raise DataError(f"mood {str(mood)[:60]!r} is not one of {', '.join(MOODS)}", value=mood)


def similar(store, ref: str, *, limit: int = 20, mood: str | None = None) -> list[dict]:
    """The tracks of the library nearest to ``ref`` (a path or a track id), most similar first."""
    mood = check_mood(mood)
    index = load(store)
    i = index.find(ref)
    return [display_row(r, s) for r, s in index.similar(i, limit=limit, mood=mood)]
