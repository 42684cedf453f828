"""Rebuild the bundled feature models: ``python -m trackmood.model.bundled ../shared/data``.

Trains, from the labelled tables in the given folder, with seed 0:

- ``default``: the default recipe on the 10 original features, on the POOLED tables
  data_moods + jdruii + bettinasosa (bdizon has no duration column);
- ``default-noduration``: the same recipe without ``duration_ms``, on the pooled tables plus
  bdizon's happy and sad lists;
- ``original``: the seed network (Keras, 300 epochs) on data_moods.csv alone, as in the seed
  project (about 3 minutes with its CV).

Label maps (rows they drop are counted in each card): jdruii Melancholic→Sad, Relaxing→Calm,
Happy, Energetic, Anger and Romantic dropped (no clean match); bettinasosa chill→Calm, happy,
energetic, "study" dropped (it mixes calm and sad tracks); bdizon happy, sad; bdizon's *angry* list
is left out: anger is not one of the four moods, and calling it Energetic would be a modelling
choice made by looking at the results. Tables are de-duplicated by track id, conflicting ids dropped.

Each card carries 5×10 stratified CV scored on data_moods.csv (the other tables join every
training fold, minus ids shared with data_moods), leave-one-table-out accuracy per table, the
temperature calibrated on the held-out tables and the ``uncertain_below`` threshold chosen on
them. Writes into ``src/trackmood/models/`` (or ``--out DIR``); ``--only NAME`` rebuilds one.
Each model folder also gets ``training_ids.txt``, hashes of its training track ids (``trackmood
evaluate --model`` leaves those rows out); ``--ids-only`` adds them to built models without
retraining.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ..datasets import LabeledSource
from ..features import MODEL_FEATURE_NAMES
from ..moods import LabelMap
from .estimators import single_threaded

SEED = 0
PRIMARY = "data_moods.csv"

#: file -> (table name, label map)
TABLES = {
    PRIMARY: ("data_moods", {}),
    "jdruii_all_playlists_mood_combined.csv": (
        "jdruii",
        {"melancholic": "Sad", "relaxing": "Calm", "anger": None, "romantic": None},
    ),
    "bettinasosa_moods1.csv": ("bettinasosa", {"chill": "Calm", "study": None}),
    "bdizon_happy_songs.csv": ("bdizon", {}),
    "bdizon_sad_songs.csv": ("bdizon", {}),
}
_POOLED = [PRIMARY, "jdruii_all_playlists_mood_combined.csv", "bettinasosa_moods1.csv"]
_NODUR = [f for f in MODEL_FEATURE_NAMES if f != "duration_ms"]

#: name -> (recipe, features, training files)
RECIPES = {
    "default": ("default", list(MODEL_FEATURE_NAMES), _POOLED),
    "default-noduration": (
        "default",
        _NODUR,
        [*_POOLED, "bdizon_happy_songs.csv", "bdizon_sad_songs.csv"],
    ),
    "original": ("original", list(MODEL_FEATURE_NAMES), [PRIMARY]),
}

COMMAND = "python -m trackmood.model.bundled ../shared/data"


def sources(data_dir: str | Path, files) -> list[LabeledSource]:
    """The labelled sources of ``files`` in ``data_dir``, with their label maps and table names."""
    out = []
    for f in files:
        table, mapping = TABLES[f]
        out.append(LabeledSource(Path(data_dir) / f, LabelMap(dict(mapping)), table=table))
    return out


def build(name: str, data_dir: str | Path, *, cv: bool = True, seed: int = SEED, notify=None):
    """Train bundled model ``name`` from ``data_dir`` (returns the unsaved TrainedModel)."""
    from .train import train_model

    kind, features, files = RECIPES[name]
    return train_model(
        sources(data_dir, files),
        kind=kind,
        features=features,
        seed=seed,
        cv=cv,
        cv_table="data_moods",
        name=name,
        bundled=True,
        command=COMMAND,
        notify=notify,
    )


def record_ids(name: str, data_dir: str | Path, folder: Path) -> int:
    """Add ``training_ids.txt`` (hashes of the training ids) to an already built model ``folder``
    without retraining: the rows are pooled exactly as :func:`build` pools them. Returns the count.
    """
    from ..datasets import pool
    from .persistence import load_model, save_model
    from .train import ID_FILE, training_id_hashes

    _, features, files = RECIPES[name]
    df, _ = pool(sources(data_dir, files), features=features)
    model = load_model(folder)
    model.id_hashes = training_id_hashes(df)
    model.card["training_ids"] = {
        "count": len(model.id_hashes),
        "rows_without_id": int(len(df) - len(model.id_hashes)),
        "stored": f"{ID_FILE}: sha1(track id)[:12] of each (the ids themselves are not shipped)",
    }
    save_model(model, folder)
    return len(model.id_hashes)


def main(argv: list[str] | None = None) -> int:
    single_threaded()
    from .persistence import bundled_dir, save_model

    parser = argparse.ArgumentParser(
        prog="python -m trackmood.model.bundled",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "data_dir", type=Path, help="folder holding data_moods.csv and the other tables"
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
    parser.add_argument(
        "--ids-only",
        action="store_true",
        help="do not retrain: add the training-id hashes to the models already in the folder",
    )
    args = parser.parse_args(argv)
    for f in TABLES:
        if not (args.data_dir / f).exists():
            print(f"trackmood: error: {args.data_dir / f}: no such file", file=sys.stderr)
            return 2
    out = args.out or bundled_dir()
    if args.ids_only:
        for name in args.only or list(RECIPES):
            n = record_ids(name, args.data_dir, out / name)
            print(f"{name}: {n} training-id hashes -> {out / name}", file=sys.stderr)
        return 0
    for name in args.only or list(RECIPES):
        start = time.perf_counter()
        model = build(
            name, args.data_dir, cv=not args.no_cv, notify=lambda m: print(m, file=sys.stderr)
        )
        save_model(model, out / name)
        metrics = model.card.get("metrics", {})
        cv, loto = metrics.get("cv"), metrics.get("leave_one_table_out")
        fig = (
            f"data_moods CV {cv['accuracy_mean']:.4f} ± {cv['accuracy_std']:.4f}" if cv else "no CV"
        )
        if loto:
            fig += (
                f"; leave-one-table-out {loto['accuracy_mean']:.4f} ("
                + ", ".join(f"{t['table']} {t['accuracy']:.3f}" for t in loto["tables"])
                + ")"
            )
        print(
            f"{name}: {fig}; {time.perf_counter() - start:.1f} s -> {out / name}", file=sys.stderr
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
