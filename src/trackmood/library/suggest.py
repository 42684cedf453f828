"""Which tracks to label next: the ones whose labels would teach a personal model most.

The personal model learns a translation of the base model's moods into yours (see
:mod:`.translate`); what teaches it most, measured by ``benchmarks/bench_personal.py``:

* **diverse**: the picks are spread over the embedding space (greedy k-center: each next pick is
  the track farthest from everything already picked or labelled), so the labels cover the whole
  library rather than one corner;
* **every mood**: the picks go round the predicted moods in turn, so no mood is left untaught;
* **uncertain first**: the first pick is the track the model hesitates on most (the smallest
  gap between its two most likely moods). Weighting *every* pick by that hesitation
  (:data:`UNCERTAINTY_WEIGHT` > 0) or drawing the picks only from the uncertain half of the library
  (:data:`POOL_SHARE` 0.5) lowered the gain on the benchmark's listener panel (with 40 labels
  +11.5 and +12.5 points instead of +14.8), so both are off: uncertain tracks sit on the
  boundaries, and a translation learns more from tracks typical of each mood.

The space is the musicnn embedding the audio model reads (standardised, projected on its first
principal components), or the mood probabilities and valence/energy when the library has no
stored embeddings.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(200, 5))
>>> proba = rng.dirichlet(np.ones(4), size=200)
>>> picks = suggest_indices(X, proba, 8)
>>> len(picks), len(set(picks)), sorted({int(proba[i].argmax()) for i in picks})
(8, 8, [0, 1, 2, 3])
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: Candidates: this share of the unlabelled tracks, the least certain first …
POOL_SHARE = 1.0
#: … but at least this many per suggestion.
POOL_MIN_PER_PICK = 4
#: How much uncertainty weighs against distance: a pick's score is its distance to the nearest
#: chosen or labelled track times ``1 - UNCERTAINTY_WEIGHT * margin``.
UNCERTAINTY_WEIGHT = 0.0
#: Dimensions of the space distances are measured in.
COMPONENTS = 16


def margins(proba: np.ndarray) -> np.ndarray:
    """The gap between each row's two largest probabilities (0: a tie, 1: certain)."""
    p = np.sort(np.asarray(proba, dtype=float), axis=1)
    return p[:, -1] - p[:, -2]


def space(X: np.ndarray, components: int = COMPONENTS) -> np.ndarray:
    """``X`` standardised and projected on its first principal components."""
    X = np.asarray(X, dtype=float)
    X = np.nan_to_num(X)
    sd = X.std(axis=0)
    Z = (X - X.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    k = min(components, Z.shape[1], max(1, Z.shape[0] - 1))
    if Z.shape[0] < 2:
        return Z[:, :k]
    _, _, vt = np.linalg.svd(Z, full_matrices=False)
    return Z @ vt[:k].T


def suggest_indices(
    X: np.ndarray,
    proba: np.ndarray,
    n: int,
    *,
    labelled: np.ndarray | None = None,
    moods: Sequence[int] | None = None,
) -> list[int]:
    """Indices of ``n`` rows of ``X`` (candidates) to label, best first.

    Parameters
    ----------
    X : array (n_candidates, d)
        The candidates in the space distances are measured in (see :func:`space`).
    proba : array (n_candidates, n_moods)
        The model's mood probabilities for them.
    labelled : array (m, d), optional
        Tracks labelled already, in the same space: picks keep away from them.
    moods : sequence of int, optional
        The predicted mood index of each candidate (default: ``proba.argmax(1)``).
    """
    X = np.asarray(X, dtype=float)
    proba = np.asarray(proba, dtype=float)
    total = len(X)
    n = min(int(n), total)
    if n <= 0:
        return []
    margin = margins(proba)
    pred = np.asarray(moods) if moods is not None else proba.argmax(axis=1)
    size = min(total, max(int(np.ceil(POOL_SHARE * total)), POOL_MIN_PER_PICK * n))
    pool = np.argsort(margin, kind="stable")[:size]
    weight = 1.0 - UNCERTAINTY_WEIGHT * margin[pool]  # uncertain counts more
    P = X[pool]
    dist = np.full(len(pool), np.inf)
    if labelled is not None and len(labelled):
        for row in np.asarray(labelled, dtype=float):
            dist = np.minimum(dist, np.linalg.norm(P - row, axis=1))
    order = [m for m in range(proba.shape[1]) if (pred[pool] == m).any()]
    picks: list[int] = []
    taken = np.zeros(len(pool), dtype=bool)
    turn = 0
    while len(picks) < n:
        mood = order[turn % len(order)] if order else None
        turn += 1
        ok = ~taken & ((pred[pool] == mood) if mood is not None else True)
        if not ok.any():
            ok = ~taken
            if not ok.any():
                break
            if order and mood is not None:
                order.remove(mood)  # this mood has no candidate left
                turn -= 1
        # farthest from everything chosen (before the first pick: the most uncertain)
        score = np.where(np.isinf(dist), 1e9, dist) * weight
        score[~ok] = -np.inf
        j = int(np.argmax(score))
        taken[j] = True
        picks.append(int(pool[j]))
        dist = np.minimum(dist, np.linalg.norm(P - P[j], axis=1))
    return picks


def _embedding_space(store, rows: list[dict], labelled_rows: list[dict]):
    """``(candidates, labelled)`` in the embedding space, or ``None`` without embeddings."""
    from ..pipeline import embed_patches
    from ..predictions import audio_model
    from .rescore import embedding_model

    try:
        k = embed_patches(audio_model("audio"))
    except Exception:  # noqa: BLE001 - no bundled audio model: use the fallback space
        return None
    if not k:
        return None
    model = embedding_model(k)
    shas = [r["sha"] for r in rows + labelled_rows if r.get("sha")]
    found = store.get_embeddings(model, shas)
    everyone = rows + labelled_rows
    if not found or sum(r.get("sha") in found for r in everyone) < 0.9 * len(everyone):
        return None
    dim = len(next(iter(found.values())))
    M = np.array([found.get(r.get("sha"), np.zeros(dim)) for r in everyone], dtype=float)
    Z = space(M)
    return Z[: len(rows)], Z[len(rows) :]


def suggest(store, n: int = 20) -> list[dict]:
    """The ``n`` library tracks (one file each) whose labels would teach a personal model most:
    library rows (as :meth:`~trackmood.store.Store.library_tracks`) best first, each with
    ``why`` (a short reason).
    """
    from ..moods import MOODS, PROBA_COLUMNS

    rows, _ = store.library_tracks(labelled=False)
    labelled_rows, _ = store.library_tracks(labelled=True)
    unique: dict = {}
    for r in rows:  # one file a track (the first)
        unique.setdefault(r["track_id"], r)
    rows = list(unique.values())
    if not rows:
        return []
    proba = np.array([[r.get(c) or 0.0 for c in PROBA_COLUMNS] for r in rows], dtype=float)
    spaces = _embedding_space(store, rows, labelled_rows)
    if spaces is None:

        def plain(rs):
            return np.array(
                [
                    [
                        *(r.get(c) or 0.0 for c in PROBA_COLUMNS),
                        r["valence"] or 0.5,
                        r["energy"] or 0.5,
                    ]
                    for r in rs
                ],
                dtype=float,
            ).reshape(len(rs), len(PROBA_COLUMNS) + 2)

        X, L = plain(rows), plain(labelled_rows)
    else:
        X, L = spaces
    moods = [MOODS.index(r["mood"]) if r["mood"] in MOODS else 0 for r in rows]
    picks = suggest_indices(X, proba, n, labelled=L, moods=moods)
    out = []
    for i in picks:
        r = dict(rows[i])
        p = sorted(((r.get(c) or 0.0, m) for c, m in zip(PROBA_COLUMNS, MOODS, strict=True)))
        r["why"] = f"{p[-1][1]} {p[-1][0]:.0%} or {p[-2][1]} {p[-2][0]:.0%}"
        out.append(r)
    return out
