"""Rebuild the bundled feature models: ``python -m trackmood.model.bundled ../shared/data``.

Trains, from ``data_moods.csv`` in the given folder, with seed 0 and 5x10 stratified CV in each card:

- ``default``: the default recipe on the 10 original features;
- ``default-noduration``: the same recipe without ``duration_ms`` (for tables that lack it);
- ``original``: the seed network (Keras, 300 epochs; about 3 minutes with its CV).

and writes them into ``src/trackmood/models/`` (or ``--out DIR``). Pass ``--only default`` to
rebuild one. Extra pooled datasets are not used: in honest CV they lowered accuracy on
data_moods.csv (their playlists label moods differently; see ``benchmarks/README.md``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ..features import MODEL_FEATURE_NAMES
from .estimators import single_threaded

SEED = 0
PRIMARY = "data_moods.csv"

#: name -> (recipe kind, features)
RECIPES = {
    "default": ("default", list(MODEL_FEATURE_NAMES)),
    "default-noduration": ("default", [f for f in MODEL_FEATURE_NAMES if f != "duration_ms"]),
    "original": ("original", list(MODEL_FEATURE_NAMES)),
}

COMMAND = "python -m trackmood.model.bundled ../shared/data"


def build(name: str, data_dir: str | Path, *, cv: bool = True, seed: int = SEED):
    """Train bundled model ``name`` from ``data_dir`` (returns the unsaved TrainedModel)."""
    from .train import train_model

    kind, features = RECIPES[name]
    return train_model(
        [Path(data_dir) / PRIMARY],
        kind=kind,
        features=features,
        seed=seed,
        cv=cv,
        name=name,
        command=COMMAND,
    )


def main(argv: list[str] | None = None) -> int:
    single_threaded()
    from .persistence import bundled_dir, save_model

    parser = argparse.ArgumentParser(
        prog="python -m trackmood.model.bundled",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "data_dir", type=Path, help="folder holding data_moods.csv (../shared/data)"
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="models folder (default: the package's)"
    )
    parser.add_argument(
        "--only", action="append", choices=sorted(RECIPES), help="rebuild only these"
    )
    parser.add_argument(
        "--no-cv", action="store_true", help="skip CV (cards then carry no metrics)"
    )
    args = parser.parse_args(argv)
    if not (args.data_dir / PRIMARY).exists():
        print(f"trackmood: error: {args.data_dir / PRIMARY}: no such file", file=sys.stderr)
        return 2
    out = args.out or bundled_dir()
    for name in args.only or list(RECIPES):
        start = time.perf_counter()
        model = build(name, args.data_dir, cv=not args.no_cv)
        save_model(model, out / name)
        cv = model.card.get("metrics", {}).get("cv")
        fig = f"CV accuracy {cv['accuracy_mean']:.4f} ± {cv['accuracy_std']:.4f}" if cv else "no CV"
        print(
            f"{name}: {fig}; {time.perf_counter() - start:.1f} s -> {out / name}", file=sys.stderr
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
