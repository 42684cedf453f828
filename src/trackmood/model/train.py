"""Train a feature model from labeled tables and wrap it with its model card.

>>> from trackmood.model.train import train_model  # doctest: +SKIP
>>> model = train_model(["../shared/data/data_moods.csv"], kind="default", seed=0)  # doctest: +SKIP
>>> model.card["kind"], model.classes_.tolist()  # doctest: +SKIP
('features', ['Calm', 'Energetic', 'Happy', 'Sad'])
"""

from __future__ import annotations

import platform
import shlex
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from ..datasets import LabeledSource, PoolReport, class_counts, pool
from ..errors import DataError
from ..features import MODEL_FEATURE_NAMES, SCHEMA
from .persistence import TERMS_NOTE, TrainedModel

DESCRIPTIONS = {
    "default": (
        "Default feature model: log(duration) and standardisation, then a soft vote of three "
        "small MLPs (16 ReLU units, L2 alpha=3, L-BFGS, 200 iterations) and a logistic "
        "regression; "
        "exported to a numpy runtime."
    ),
    "original": (
        "The seed project's network: MinMaxScaler -> Dense(8, relu) -> Dense(4, softmax), "
        "Adam, categorical cross-entropy, 300 epochs, batch 200 (Keras 3 on TensorFlow); "
        "weights exported to a numpy runtime."
    ),
}


def library_versions() -> dict[str, str]:
    """Versions of the libraries a model depends on (for the card)."""
    out = {"python": platform.python_version()}
    for name in ("trackmood", "numpy", "scikit-learn", "pandas", "tensorflow-cpu", "keras"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def parse_sources(sources: Sequence[LabeledSource | str | Path]) -> list[LabeledSource]:
    """``LabeledSource`` objects from sources or ``"PATH[:Old=New,...]"`` strings."""
    out = [s if isinstance(s, LabeledSource) else LabeledSource.parse(str(s)) for s in sources]
    if not out:
        raise DataError("no training data given: pass at least one labeled table")
    return out


def check_features(features) -> list[str]:
    """Validate a user's feature list against the schema."""
    features = list(features) if features else list(MODEL_FEATURE_NAMES)
    unknown = [f for f in features if f not in SCHEMA]
    if unknown:
        raise DataError(
            f"unknown feature(s) {', '.join(unknown)}; choose from {', '.join(MODEL_FEATURE_NAMES)}"
        )
    if len(set(features)) != len(features):
        raise DataError(f"feature list has duplicates: {', '.join(features)}")
    if "duration_ms" in features and features[0] != "duration_ms":
        features.remove("duration_ms")
        features.insert(0, "duration_ms")  # the log step works on column 0
    return features


def _pool_card(report: PoolReport) -> dict:
    return {
        "rows_in": report.rows_in,
        "duplicates_merged": report.duplicates_merged,
        "conflicting_ids_dropped": len(report.conflicts),
        "rows_out": report.rows_out,
        "incomplete_rows_skipped": {k: len(v) for k, v in report.incomplete.items()},
        "summary": report.summary(),
    }


def train_model(
    sources: Sequence[LabeledSource | str | Path],
    *,
    kind: str = "default",
    features: Sequence[str] | None = None,
    seed: int = 0,
    cv: bool = False,
    folds: int = 10,
    repeats: int = 5,
    name: str | None = None,
    command: str | None = None,
    epochs: int | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    notify: Callable[[str], None] | None = None,
) -> TrainedModel:
    """Pool ``sources``, fit a ``kind`` pipeline on all rows, export it to the numpy runtime.

    Parameters
    ----------
    sources : sequence of LabeledSource or str
        Labeled tables; strings may carry a label map, ``"PATH:Melancholic=Sad,Romantic="``.
    kind : {'default', 'original'}
        The recipe (see :mod:`trackmood.model.estimators`).
    features : sequence of str, optional
        Model features (default: the 10 original ones).
    seed : int
        Makes training (and the CV folds) deterministic.
    cv : bool
        Also run ``repeats`` x ``folds`` stratified CV on the pooled rows and put it in the card.
    progress : callable, optional
        ``progress(stage, done, total)``.
    notify : callable, optional
        Told what pooling did: duplicates merged, ids with conflicting moods dropped.

    Returns
    -------
    TrainedModel
        The runtime plus its card (not yet saved; use :func:`~trackmood.model.persistence.save_model`).
    """
    from .evaluate import KINDS, cross_validate, make_estimator
    from .export import to_runtime

    if kind not in KINDS:
        raise DataError(f"unknown model kind {kind!r}; use one of {', '.join(KINDS)}")
    features = check_features(features)
    srcs = parse_sources(sources)
    df, report = pool(srcs, features=features)
    report.tell(notify)
    counts = class_counts(df)
    if sum(1 for v in counts.values() if v) < 2:
        raise DataError(f"need at least two moods to train; got {counts}")
    metrics = {}
    start = time.perf_counter()
    if cv:
        cvr = cross_validate(
            df,
            kind=kind,
            features=features,
            folds=folds,
            repeats=repeats,
            seed=seed,
            epochs=epochs,
            progress=(lambda d, t: progress("cv", d, t)) if progress else None,
        )
        metrics["cv"] = {
            **cvr.summary,
            "confusion": cvr.confusion.tolist(),
            "confusion_labels": cvr.classes,
        }
    if progress:
        progress("fit", 0, 1)
    est = make_estimator(kind, features=features, seed=seed, epochs=epochs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(df[features].to_numpy(dtype=float), df["mood"].to_numpy().astype(str))
    if progress:
        progress("fit", 1, 1)
    seconds = time.perf_counter() - start
    runtime = to_runtime(est, features=features, meta={"kind": kind, "seed": seed})
    files = []
    for s in srcs:
        sub = df[df["_file"] == str(s.path)]
        files.append(
            {
                "file": Path(s.path).name,
                "sha256": sub["_sha256"].iloc[0] if len(sub) else None,
                "rows": len(sub),
                "label_map": s.label_map.to_dict(),
            }
        )
    card = {
        "name": name or kind,
        "kind": "features",
        "recipe": kind,
        "description": DESCRIPTIONS[kind],
        "features": features,
        "classes": list(runtime.classes),
        "class_counts": counts,
        "training_files": files,
        "pool": _pool_card(report),
        "metrics": metrics,
        "seed": seed,
        "train_seconds": round(seconds, 2),
        "versions": library_versions(),
        "trained_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": command or "trackmood " + " ".join(shlex.quote(a) for a in sys.argv[1:]),
        "terms": TERMS_NOTE,
    }
    if kind == "original" and epochs:
        card["epochs"] = epochs
    return TrainedModel(runtime, card)
