"""Similar tracks: how good the neighbours are (labelled clips) and how fast the index is.

**Quality** (``quality``): on the 500 clips of ``audio_4q`` (one subfolder per Russell quadrant,
artists in ``metadata.csv``), the share of a clip's 10 nearest neighbours *by other artists* that
share its quadrant (random: about 25 %). Candidates: the raw 200-d musicnn embedding (plain
cosine), standardised, PCA-whitened, with the 50 tag probabilities, the tags alone, and the audio
model's own projection (class scores, valence/energy heads, alone and concatenated with the
standardised embedding at several weights: :class:`trackmood.library.similar.Space`).

Nested and grouped by artist: outer 5-fold ``StratifiedGroupKFold`` (2 repeats); inside each
outer training part an inner 4-fold grouped CV chooses the candidate; the chosen one is refitted
on the whole training part and scored on the held-out artists. Neighbours are searched among the
held-out clips only (a library the representation never saw). The bundled audio model was trained
on these same clips, so its projection is never used here: the same recipe (standardise +
logistic regression, C from the bundled card) is refitted inside every fold. Per-candidate
figures on the outer folds are printed for information; the nested figure is the one to quote.

The musicnn embeddings of the clips come from the project's own embedding code
(:func:`trackmood.model.audio_train.load_embeddings`), cached in ``artifacts/audio_4q_musicnn.npz``
(gitignored; about 0.5 CPU-s per clip the first time).

**Speed** (``speed``): 100,000 generated 250-d vectors and file rows in a fresh library file:
index build (``similar.update``), index load (``similar.load``), query p50/p95 (one
``Index.similar``), the index's memory. CPU seconds (``time.process_time``) beside wall time,
since the machine is shared.

Run: ``python benchmarks/bench_similar.py [quality|speed|all] [--data ../shared/data/audio_4q]``
"""

from __future__ import annotations

import argparse
import hashlib
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from trackmood.library import similar  # noqa: E402

K = 10


# -- the figure ---------------------------------------------------------------------------------
def neighbour_share(V, y, groups, pool) -> tuple[float, float]:
    """``(share, random)``: mean share of each clip's K nearest other-artist neighbours in
    ``pool`` with its quadrant, and the same expected for K random other-artist clips.
    """
    pool = np.asarray(pool)
    P = V[pool] / np.maximum(np.linalg.norm(V[pool], axis=1, keepdims=True), 1e-12)
    S = P @ P.T
    g, q = groups[pool], y[pool]
    other = g[:, None] != g[None, :]
    S[~other] = -np.inf
    k = min(K, int(other.sum(axis=1).min()))
    top = np.argpartition(-S, k - 1, axis=1)[:, :k]
    share = (q[top] == q[:, None]).mean()
    same = (q[:, None] == q[None, :]) & other
    rand = (same.sum(axis=1) / other.sum(axis=1)).mean()
    return float(share), float(rand)


# -- candidates: fit on training clips, return vectors for all clips ----------------------------
def _std(X, tr):
    mu, sd = X[tr].mean(axis=0), X[tr].std(axis=0)
    sd[sd < 1e-9] = 1.0
    return (X - mu) / sd


def _whiten(X, tr, k):
    Z = _std(X, tr)
    _, s, vt = np.linalg.svd(Z[tr] - Z[tr].mean(axis=0), full_matrices=False)
    return Z @ vt[:k].T / (s[:k] / np.sqrt(len(tr)))


SPACES = {
    "projection: mood scores": {"mood": 1.0},
    "projection: valence/energy heads": {"va": 1.0},
    "projection: mood + valence/energy": {"mood": 1.0, "va": 1.0},
    **{f"std emb + {w:g} x mood": {"emb": 1.0, "mood": w} for w in (0.5, 1.0, 2.0, 4.0)},
    **{f"std emb + {w:g} x (mood + va)": {"emb": 1.0, "mood": w, "va": w} for w in (1.0, 2.0)},
}


class Candidates:
    """Every candidate's vectors for one training part (the projection fitted once per part)."""

    def __init__(self, data, heads_C, C):
        self.pen = data["X"][(9, "pen")]
        self.tags = data["X"][(9, "pen+tags")][:, similar.PEN :]
        self.y = data["mood"]
        self.C, self.heads_C = C, heads_C

    def names(self):
        return [
            "raw embedding (plain cosine)",
            "standardised embedding",
            "whitened embedding (PCA 32)",
            "whitened embedding (PCA 64)",
            "standardised embedding + tags",
            "musicnn tags (standardised)",
            *SPACES,
        ]

    def vectors(self, tr) -> dict[str, np.ndarray]:
        pen, out = self.pen, {}
        out["raw embedding (plain cosine)"] = pen
        out["standardised embedding"] = _std(pen, tr)
        out["whitened embedding (PCA 32)"] = _whiten(pen, tr, 32)
        out["whitened embedding (PCA 64)"] = _whiten(pen, tr, 64)
        out["standardised embedding + tags"] = _std(np.hstack([pen, self.tags]), tr)
        out["musicnn tags (standardised)"] = _std(self.tags, tr)
        space = similar.Space.fit(pen[tr], self.y[tr], weights={}, C=self.C, head_C=self.heads_C)
        for name, w in SPACES.items():
            space.weights = w
            out[name] = space.vectors(pen)
        return out


def _splits(y, groups, idx, folds, seed):
    from sklearn.model_selection import StratifiedGroupKFold

    cv = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    return [(idx[a], idx[b]) for a, b in cv.split(idx, y[idx], groups[idx])]


def quality(data_dir: Path, repeats: int = 2, folds: int = 5, inner: int = 4) -> dict:
    from trackmood.model.audio_train import load_embeddings
    from trackmood.model.persistence import load_model
    from trackmood.moods import LabelMap

    card = load_model("audio").card
    rt = load_model("audio").runtime
    C = float(card.get("hyperparameters", {}).get("C", 0.01))
    heads_C = tuple(float(rt.meta["heads"][k].get("C", 0.01)) for k in ("valence", "energy"))
    t = time.process_time()
    data = load_embeddings(
        data_dir,
        label_map=LabelMap({}),  # Q1..Q4 by the built-in aliases, as the audio model
        cache=ROOT / "artifacts" / "audio_4q_musicnn.npz",
        budgets=(9,),
        notify=lambda m: print(m, file=sys.stderr),
    )
    y, groups = data["mood"], data["group"]
    print(
        f"{len(y)} clips, {len(set(groups))} artists; embeddings in "
        f"{time.process_time() - t:.1f} CPU-s; mood C={C}, heads C={heads_C}"
    )
    cands = Candidates(data, heads_C, C)
    names = cands.names()
    idx = np.arange(len(y))
    outer_scores = {n: [] for n in names}
    nested, chosen, rand = [], [], []
    for r in range(repeats):
        for tr, te in _splits(y, groups, idx, folds, seed=r):
            inner_scores = {n: [] for n in names}
            for itr, ite in _splits(y, groups, tr, inner, seed=100 + r):
                vs = cands.vectors(itr)
                for n in names:
                    inner_scores[n].append(neighbour_share(vs[n], y, groups, ite)[0])
            best = max(names, key=lambda n: np.mean(inner_scores[n]))
            vs = cands.vectors(tr)
            for n in names:
                outer_scores[n].append(neighbour_share(vs[n], y, groups, te)[0])
            share, rnd = neighbour_share(vs[best], y, groups, te)
            nested.append(share)
            chosen.append(best)
            rand.append(rnd)
    print(f"\nshare of the {K} nearest other-artist neighbours in the same quadrant")
    print(f"(outer {repeats}x{folds}-fold by artist; neighbours among the held-out clips)\n")
    for n in names:
        s = np.array(outer_scores[n])
        print(f"  {n:<40} {100 * s.mean():5.1f} % ± {100 * s.std():.1f}   (not nested)")
    print(f"  {'random':<40} {100 * np.mean(rand):5.1f} %")
    counts = {n: chosen.count(n) for n in dict.fromkeys(chosen)}
    print(
        f"\nNESTED (chosen by inner CV in each outer fold): {100 * np.mean(nested):.1f} % "
        f"± {100 * np.std(nested):.1f} over {len(nested)} outer folds; random "
        f"{100 * np.mean(rand):.1f} %; chosen: {counts}"
    )
    # what ships: the candidate with the best grouped CV on all clips (the outer folds above)
    ship = max(names, key=lambda n: np.mean(outer_scores[n]))
    print(f"chosen on all clips (what ships): {ship!r} -> weights {SPACES.get(ship)}")
    if SPACES.get(ship) not in (None, similar.WEIGHTS):
        print(f"  NOTE: trackmood.library.similar.WEIGHTS is {similar.WEIGHTS}")
    return {"nested": float(np.mean(nested)), "random": float(np.mean(rand)), "ship": ship}


# -- speed --------------------------------------------------------------------------------------
def speed(n: int = 100_000, queries: int = 200) -> None:
    from trackmood.store import Store

    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "library.sqlite")
        shas = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(n)]
        moods = rng.choice(["Calm", "Energetic", "Happy", "Sad"], n)
        store.upsert_files(
            {
                "path": f"/music/artist{i // 12:05d}/{i:06d}.mp3",
                "sha": shas[i],
                "track_id": f"audio:{shas[i][:16]}",
                "status": "ok",
                "model": "audio",
                "artist": f"artist {i // 12}",
                "mood": moods[i],
                "p_calm": 0.7,
            }
            for i in range(n)
        )
        X = rng.normal(size=(n, 250)).astype(np.float32)
        store.put_embeddings("musicnn:1:9", zip(shas, X, strict=True))
        store.close()
        store = Store(Path(tmp) / "library.sqlite")
        space = similar.Space.from_model()
        c, w = time.process_time(), time.perf_counter()
        added = similar.update(store, space)
        print(
            f"index build, {added} tracks: {time.process_time() - c:.2f} CPU-s "
            f"({time.perf_counter() - w:.2f} s wall)"
        )
        c, w = time.process_time(), time.perf_counter()
        assert similar.update(store, space) == 0
        print(f"index check, nothing new: {time.process_time() - c:.3f} CPU-s")
        c, w = time.process_time(), time.perf_counter()
        index = similar.load(store, space=space)
        print(
            f"index load ({len(index)} tracks, with their file rows): "
            f"{time.process_time() - c:.2f} CPU-s ({time.perf_counter() - w:.2f} s wall)"
        )
        print(f"index memory: {index.V.nbytes / 2**20:.1f} MiB ({index.V.shape[1]}-d float32)")
        c = time.process_time()
        store.searchable_signature(), store.embedding_models()
        print(
            f"web: is the kept index still current? {time.process_time() - c:.3f} CPU-s "
            "(a request on an unchanged library reads nothing else)"
        )
        times = []
        for q in rng.integers(0, n, queries):
            c = time.process_time()
            index.similar(int(q), limit=20)
            times.append(time.process_time() - c)
        times = np.array(times) * 1000
        print(
            f"query (top 20 of {n}): p50 {np.percentile(times, 50):.1f} ms, "
            f"p95 {np.percentile(times, 95):.1f} ms CPU"
        )
        times = []
        for q in rng.integers(0, n, queries // 4):
            c = time.process_time()
            index.similar(int(q), limit=20, mood="Calm")
            times.append(time.process_time() - c)
        print(f"query with --mood: p50 {np.percentile(np.array(times) * 1000, 50):.1f} ms CPU")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS of this process: {peak:.0f} MiB")
        store.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", nargs="?", default="all", choices=("quality", "speed", "all"))
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "audio_4q"))
    ap.add_argument("--n", type=int, default=100_000)
    args = ap.parse_args()
    if args.what in ("speed", "all"):
        speed(args.n)
    if args.what in ("quality", "all"):
        quality(Path(args.data))


if __name__ == "__main__":
    main()
