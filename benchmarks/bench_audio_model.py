"""Audio model accuracy on audio_4q: 5 x 10-fold stratified CV grouped by artist, nested choice
of C, training parts augmented with each training clip's 15 s slices (test folds score whole
clips), beside the published references, the previous model and a majority-class baseline.

Run: ``python benchmarks/bench_audio_model.py [REPEATS] [FOLDS]``. Descriptors are cached in
``artifacts/audio_4q_descriptors.parquet`` (gitignored), so reruns skip extraction.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "audio_4q"
CACHE = ROOT / "artifacts" / "audio_4q_descriptors.parquet"


def main(repeats: int = 5, folds: int = 10) -> None:
    from trackmood.audio.extract import DESCRIPTORS
    from trackmood.audio.model import PUBLISHED, cross_validate, load_descriptors, split_rows
    from trackmood.moods import LabelMap

    t = time.time()
    df = load_descriptors(
        DATA, label_map=LabelMap({}), cache=CACHE, notify=lambda m: print(m, file=sys.stderr)
    )
    X, y, g, crops = split_rows(df)
    print(
        f"{len(y)} clips (+{0 if crops is None else len(crops[1])} training crops), "
        f"{len(set(g))} artists, {len(DESCRIPTORS)} descriptors (loaded in {time.time() - t:.0f} s)"
    )
    t = time.time()
    m = cross_validate(X, y, g, crops=crops, repeats=repeats, folds=folds, seed=0)
    print(f"{m['cv']} ({time.time() - t:.0f} s)\n")
    print(
        f"  {'trackmood audio model: accuracy':52s} {m['accuracy_mean']:.3f} ± {m['accuracy_std']:.3f}"
        f"  (per fold; pooled per repeat {m['accuracy_pooled_mean']:.3f} ± {m['accuracy_pooled_std']:.3f})"
    )
    print(
        f"  {'trackmood audio model: macro-F1':52s} {m['macro_f1_mean']:.3f} ± {m['macro_f1_std']:.3f}"
        f"  (pooled {m['macro_f1_pooled_mean']:.3f} ± {m['macro_f1_pooled_std']:.3f})"
    )
    print(
        f"  {'previous model (247 descriptors, LR, no crops)':52s} 0.680 ± 0.063  (macro-F1 0.675)"
    )
    print(
        f"  {'majority class':52s} {np.bincount(np.unique(y, return_inverse=True)[1]).max() / len(y):.3f}"
    )
    for k, v in PUBLISHED.items():
        print(f"  {k:52s} {v:.3f}")
    print("  target (issue 4)                                     0.700 accuracy")
    print("\nper-class F1:", ", ".join(f"{k} {v:.2f}" for k, v in m["f1_per_class"].items()))
    print("confusion (rows true, cols predicted, summed over repeats):", m["confusion"]["labels"])
    for row in m["confusion"]["matrix"]:
        print("   ", row)
    print("C chosen by the inner CV:", m["C_chosen"])


if __name__ == "__main__":
    a = [int(x) for x in sys.argv[1:3]]
    main(*a)
