"""How much do a listener's own labels teach the personal model? Gain per number of labels
(10/20/40/80), labels picked by ``label --suggest`` vs at random, on a listener panel whose idea
of the moods differs from the training data.

Usage (from the project root)::

    python benchmarks/bench_personal.py [../shared/data/audio_4q] [--panel split|genre] [--splits 6] [--draws 3]

The panel, made from the 500 ``audio_4q`` clips (no other data exists here):

* **the listener's moods** (``--panel``), two listeners:

  - ``split`` (default): another split of the quadrants into moods. The listener agrees on the
    lively quadrants (Q1 Happy, Q2 Energetic) but hears slow, gloomy music (Q3) as *Calm* and
    delicate, wistful ballads (Q4) as *Sad* — the training data says the opposite. Half the clips
    change mood; what the listener means is audible, so labels can teach it.
  - ``genre``: a rule by each clip's AllMusic genres (``metadata.csv``): upbeat Pop/Rock and
    Electronic (Q1) is *Energetic* to them, slow Jazz and Blues (Q3) *Calm*, quiet Country, Folk
    and Vocal ballads (Q4) *Sad*; the rest keeps its quadrant's mood. 27 % of the clips change
    mood, but even a model trained on this listener's labels of every other clip agrees with
    them only ~65 % of the time: the rule is hardly audible, and labels barely help.
* **artist groups**: per split, the artists are shuffled; half of them are the *training data*
  (the base model is fitted on their clips with the usual quadrant moods, as the bundled model
  was — the bundled model itself saw every clip, so it is not used), the other half are the
  *listener's library*: half of those artists' clips are the pool the labels come from, the
  other half (other artists again) are scored. Nothing scored was labelled or trained on.
* **before**: the base model's agreement with the listener on the scored clips; **after**: the
  personal model (``trackmood.library.personal``'s recipe: the base model followed by a
  translation of its moods learnt from the labels, :mod:`trackmood.library.translate`) on the
  same clips.
* **suggested**: :func:`trackmood.library.suggest.suggest_indices` on the pool (base model's
  probabilities, the embedding space); **random**: ``--draws`` random picks per split.

Embeddings: the musicnn penultimate layer, mean of 9 patches (the bundled audio model's input),
cached in ``artifacts/base-emb.npz`` (git-ignored; ~0.5 CPU-s per clip the first time).
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from trackmood.library.personal import _fit, _predict, fit_base  # noqa: E402
from trackmood.library.suggest import space, suggest_indices  # noqa: E402

QUADRANT = {"Q1": "Happy", "Q2": "Energetic", "Q3": "Sad", "Q4": "Calm"}
#: Panel "genre", by the clip's AllMusic genres (``metadata.csv``): upbeat rock and dance music is
#: Energetic to them, slow jazz and blues relax them, quiet country/folk/vocal ballads are sad.
RULES = (
    ("Q1", {"Pop/Rock", "Electronic"}, "Energetic"),
    ("Q3", {"Jazz", "Blues"}, "Calm"),
    ("Q4", {"Country", "Folk", "Vocal"}, "Sad"),
)
BUDGETS = (10, 20, 40, 80)


#: Panel "split": another split of the quadrants into moods. The listener agrees on the lively
#: quadrants but hears slow, gloomy music (Q3) as Calm and delicate, wistful ballads (Q4) as Sad.
SPLIT = {"Q1": "Happy", "Q2": "Energetic", "Q3": "Calm", "Q4": "Sad"}


def listener_mood(quadrant: str, genres: set[str], panel: str = "genre") -> str:
    """The panel's mood for one clip: see :data:`RULES`, :data:`SPLIT` and the module docstring."""
    if panel == "split":
        return SPLIT[quadrant]
    for q, which, mood in RULES:
        if quadrant == q and genres & which:
            return mood
    return QUADRANT[quadrant]


def load(folder: Path, panel: str = "split"):
    from trackmood.model.audio_train import load_embeddings
    from trackmood.moods import LabelMap

    cache = ROOT / "artifacts" / "base-emb.npz"
    cache.parent.mkdir(exist_ok=True)
    t0 = time.process_time()
    data = load_embeddings(
        folder,
        label_map=LabelMap(),
        cache=cache,
        budgets=(9,),
        notify=lambda m: print(m, file=sys.stderr),
    )
    print(
        f"embeddings: {len(data['files'])} clips ({time.process_time() - t0:.1f} CPU-s)",
        file=sys.stderr,
    )
    meta = pd.read_csv(folder / "metadata.csv").set_index("Song")
    quadrant, listener = [], []
    for f in data["files"]:
        row = meta.loc[f.stem]
        genres = {t.strip() for t in str(row["GenresStr"]).split(";")}
        quadrant.append(QUADRANT[row["Quadrant"]])
        listener.append(listener_mood(row["Quadrant"], genres, panel))
    return (
        data["X"][(9, "pen")],
        np.array(quadrant, dtype=object),
        np.array(listener, dtype=object),
        np.asarray(data["group"]),
    )


def one_split(X, quad, panel, groups, seed, draws):
    rng = np.random.default_rng(seed)
    artists = rng.permutation(np.unique(groups))
    half = len(artists) // 2
    base_a = set(artists[:half])
    lib = artists[half:]
    pool_a = set(lib[: len(lib) // 2])
    base = np.isin(groups, list(base_a))
    pool = np.isin(groups, list(pool_a))
    test = ~base & ~pool
    features = [f"f{i}" for i in range(X.shape[1])]
    empty = np.empty((0, X.shape[1]))
    fitted = fit_base(X[base], quad[base])
    model = _fit(X[base], quad[base], empty, np.array([], dtype=object), features, base=fitted)
    before = float((_predict(model, X[test]) == panel[test]).mean())
    Xp, yp = X[pool], panel[pool]
    proba = model.predict_proba(Xp)
    S = space(Xp)
    out = {"before": before}
    for n in BUDGETS:
        if n > len(yp):
            continue
        pick = suggest_indices(S, proba, n)
        m = _fit(X[base], quad[base], Xp[pick], yp[pick], features, base=fitted)
        out[("suggested", n)] = float((_predict(m, X[test]) == panel[test]).mean())
        accs = []
        for d in range(draws):
            pick = np.random.default_rng(1000 * seed + d).choice(len(yp), n, replace=False)
            m = _fit(X[base], quad[base], Xp[pick], yp[pick], features, base=fitted)
            accs.append(float((_predict(m, X[test]) == panel[test]).mean()))
        out[("random", n)] = float(np.mean(accs))
    return out, int(test.sum()), int(pool.sum())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("folder", nargs="?", default=str(ROOT.parent / "shared" / "data" / "audio_4q"))
    ap.add_argument("--splits", type=int, default=6)
    ap.add_argument("--draws", type=int, default=3)
    ap.add_argument("--panel", choices=("split", "genre"), default="split")
    args = ap.parse_args()
    X, quad, panel, groups = load(Path(args.folder), args.panel)
    changed = float((quad != panel).mean())
    print(
        f"panel {args.panel!r}: {len(panel)} clips, {changed:.0%} with a mood other than their quadrant's; "
        f"listener's moods: {pd.Series(panel).value_counts().to_dict()}"
    )
    t0 = time.process_time()
    results, sizes = [], []
    for seed in range(args.splits):
        res, n_test, n_pool = one_split(X, quad, panel, groups, seed, args.draws)
        results.append(res)
        sizes.append((n_pool, n_test))
    before = np.array([r["before"] for r in results])
    print(
        f"{args.splits} artist splits; pool/scored clips per split: "
        f"{np.mean([s[0] for s in sizes]):.0f}/{np.mean([s[1] for s in sizes]):.0f}"
    )
    print(
        f"before (base model, no labels): {100 * before.mean():.1f} % "
        f"(± {100 * before.std():.1f} between splits)"
    )
    print(f"{'labels':>6}  {'strategy':<9}  {'after':>7}  {'gain':>6}  {'gain range':>13}")
    for n in BUDGETS:
        for strategy in ("suggested", "random"):
            vals = np.array([r[(strategy, n)] for r in results if (strategy, n) in r])
            if not len(vals):
                continue
            gain = 100 * (vals - before[: len(vals)])
            print(
                f"{n:>6}  {strategy:<9}  {100 * vals.mean():6.1f}%  {gain.mean():+5.1f}  "
                f"{gain.min():+5.1f} … {gain.max():+5.1f}"
            )
    used = resource.getrusage(resource.RUSAGE_SELF)
    print(
        f"({time.process_time() - t0:.0f} CPU-s for the fits; max RSS {used.ru_maxrss // 1024} MB)",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
