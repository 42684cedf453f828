"""Audio model accuracy on audio_4q: nested, artist-grouped CV of the musicnn-embedding model
(every choice -- patch budget, blocks, C -- made by an inner grouped CV), with an artist-level
bootstrap interval and the valence/energy heads' ROC AUC, beside the published references, the
previous descriptor model and a majority-class baseline. For information only (NOT a model
choice), the grouped-CV accuracy of every fixed configuration is printed below it.

Run: ``nice python benchmarks/bench_audio_model.py [REPEATS] [FOLDS] [CACHE]``. Per-patch
embeddings are cached in ``CACHE`` (default ``artifacts/audio_4q_musicnn.npz``, gitignored).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "audio_4q"
CACHE = ROOT / "artifacts" / "audio_4q_musicnn.npz"


def main(repeats: int = 5, folds: int = 5, cache: str | Path = CACHE) -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedGroupKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from trackmood.model.audio_train import C_GRID, PUBLISHED, cross_validate, load_embeddings
    from trackmood.moods import LabelMap

    t = time.time()
    data = load_embeddings(
        DATA, label_map=LabelMap({}), cache=cache, notify=lambda m: print(m, file=sys.stderr)
    )
    y, g = data["mood"], data["group"]
    print(f"{len(y)} clips, {len(set(g))} artists (embeddings loaded in {time.time() - t:.0f} s)")
    t = time.time()
    m = cross_validate(data["X"], y, g, repeats=repeats, folds=folds, seed=0)
    print(f"{m['cv']} ({time.time() - t:.0f} s)\n")
    lo, hi = m["accuracy_ci95"]
    print(
        f"  {'musicnn model, accuracy (mean ± sd over folds)':52s} "
        f"{m['accuracy_mean']:.3f} ± {m['accuracy_std']:.3f}  pooled {m['accuracy_pooled']:.3f}, "
        f"95% CI {lo:.3f}-{hi:.3f} (bootstrap over artists)"
    )
    print(f"  {'musicnn model, macro-F1':52s} {m['macro_f1_mean']:.3f} ± {m['macro_f1_std']:.3f}")
    for name, h in m["heads_roc_auc"].items():
        print(
            f"  {name + ' head ROC AUC (outer folds)':52s} {h['mean']:.3f} ± {h['std']:.3f}"
            f"  pooled {h['pooled']:.3f}"
        )
    print(f"  {'previous descriptor model (its grouped CV)':52s} 0.71; ≈ 0.65 on unseen artists")
    counts = np.unique(y, return_counts=True)[1]
    print(f"  {'majority class':52s} {counts.max() / len(y):.3f}")
    for k, v in PUBLISHED.items():
        print(f"  {k:52s} {v:.3f}")
    print("  goal (issue 10)                                      0.750 on unseen artists")
    print("\nper-class F1:", ", ".join(f"{k} {v:.2f}" for k, v in m["f1_per_class"].items()))
    print(
        "confusion (rows true, cols predicted, summed over repeats):",
        [str(c) for c in m["confusion"]["labels"]],
    )
    for row in m["confusion"]["matrix"]:
        print("   ", row)
    print("choices of the inner CV:", m["choices"])
    print("\nfixed configurations, 5-fold grouped CV (information only, not used to choose):")
    cv = StratifiedGroupKFold(n_splits=5, shuffle=True, random_state=0)
    for key in sorted(data["X"]):
        accs = [
            cross_val_score(
                make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=3000)),
                data["X"][key],
                y,
                groups=g,
                cv=cv,
            ).mean()
            for C in C_GRID
        ]
        print(
            f"  {key[0]} patches, {key[1]:9s}",
            "  ".join(f"C={c:g}: {a:.3f}" for c, a in zip(C_GRID, accs, strict=True)),
        )


if __name__ == "__main__":
    args = sys.argv[1:]
    main(
        *(int(a) for a in args[:2]),
        **({"cache": args[2]} if len(args) > 2 else {}),
    )
