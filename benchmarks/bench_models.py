"""Model figures on data_moods.csv: default vs original (5x10 stratified CV), timings, scoring speed.

Usage (from the project root)::

    python benchmarks/bench_models.py [../shared/data] [--quick] [--select] [--extra]

``--quick`` skips the 300-epoch original (about 3 minutes); ``--select`` re-runs the
hyper-parameter selection of the default recipe on jdruii rows that share no id with
data_moods.csv (a split the reported folds never see); ``--extra`` measures the default recipe
with jdruii + bettinasosa rows added to every training fold (de-duplicated by id).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

for _k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_k, "1")

import numpy as np

from trackmood.datasets import LabeledSource, pool
from trackmood.features import MODEL_FEATURE_NAMES as F
from trackmood.model.evaluate import PUBLISHED, cross_validate

EXTRA = [
    "jdruii_all_playlists_mood_combined.csv:Melancholic=Sad,Relaxing=Calm,Anger=,Romantic=",
    "bettinasosa_moods1.csv:chill=Calm,study=",
]


def row(name, s):
    return (
        f"| {name} | {100 * s['accuracy_mean']:.1f} ± {100 * s['accuracy_std']:.1f} | "
        f"{s['macro_f1_mean']:.3f} | {s['log_loss_mean']:.3f} | {s['recall_mean']['Happy']:.2f} | "
        f"{s['seconds']:.1f} s |"
    )


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    data = Path(args[0] if args else Path(__file__).resolve().parents[2] / "shared" / "data")
    df, _ = pool([data / "data_moods.csv"])
    print(
        f"data_moods.csv: {len(df)} rows; 5x10 RepeatedStratifiedKFold(random_state=0); 2 cores\n"
    )
    print("| model | accuracy % | macro-F1 | log-loss | Happy recall | CV wall time |")
    print("|---|---|---|---|---|---|")
    t = time.perf_counter()
    from trackmood.model.train import train_model

    model = train_model([data / "data_moods.csv"], cv=True, seed=0, command="bench")
    total = time.perf_counter() - t
    d = model.card["metrics"]["cv"]
    print(row("default (3 MLP + LR soft vote)", d))
    if "--extra" in sys.argv:
        extra, _ = pool([LabeledSource.parse(str(data / e)) for e in EXTRA])
        print(
            row(
                "default + jdruii/bettinasosa in training folds",
                cross_validate(df, extra=extra, seed=0).summary,
            )
        )
    if "--quick" not in sys.argv:
        print(
            row("original (Keras, 300 epochs)", cross_validate(df, kind="original", seed=0).summary)
        )
    print(
        f"| seed project, published (older leaky file) | {100 * PUBLISHED['cv_accuracy']:.2f} CV / "
        f"{100 * PUBLISHED['test_accuracy']:.0f} test | – | – | – | – |"
    )
    print(
        "| reference baselines (ml-baselines.md, 10x3 CV): original / LR / XGB / soft vote | "
        "80.0 / 81.3 / 82.6 / 82.7 | | | 0.54 (orig) / 0.62 (best) | |"
    )
    print(f"\ndefault model: training + its full 5x10 CV: {total:.1f} s wall (target < 30 s)")

    rt = model.runtime
    X = df[list(F)].to_numpy(dtype=float)
    big = X[np.random.default_rng(0).integers(0, len(X), 1_000_000)]
    best = 0.0
    for _ in range(3):
        t = time.perf_counter()
        for s in range(0, len(big), 20_000):
            rt.predict_proba(big[s : s + 20_000])
        best = max(best, len(big) / (time.perf_counter() - t))
    t = time.perf_counter()
    rt.predict_proba(big)
    whole = len(big) / (time.perf_counter() - t)
    print(
        f"runtime batch scoring, 1 M rows: {best / 1e6:.2f} M rows/s in 20k-row chunks, "
        f"{whole / 1e6:.2f} M rows/s as one array (target >= 1 M rows/s; "
        f"XGBoost predict_proba ~0.1-0.17 M rows/s)"
    )

    if "--select" in sys.argv:
        select(data, df)


def select(data: Path, df) -> None:
    """Choose hidden units and alpha on jdruii rows never in data_moods.csv (620-row subsamples)."""
    import itertools

    from sklearn.model_selection import StratifiedKFold, cross_val_score

    from trackmood.model.estimators import make_default

    jd, _ = pool([LabeledSource.parse(str(data / EXTRA[0]))])
    jd = jd[~jd["id"].isin(set(df["id"]))]
    rng = np.random.default_rng(0)
    subs = [jd.iloc[rng.choice(len(jd), 620, replace=False)] for _ in range(4)]
    print("\nselection on jdruii (4 subsamples of 620 rows, 5-fold CV each):")
    for hidden, alpha in itertools.product([8, 16, 32], [1.0, 3.0, 10.0]):
        s = [
            v
            for d in subs
            for v in cross_val_score(
                make_default(seed=0, hidden=hidden, alpha=alpha),
                d[list(F)].to_numpy(float),
                d["mood"].to_numpy(),
                cv=StratifiedKFold(5, shuffle=True, random_state=0),
                n_jobs=2,
            )
        ]
        print(f"  hidden={hidden:2d} alpha={alpha:4.1f}: {np.mean(s):.4f}")


if __name__ == "__main__":
    main()
