"""Train any registered recipe and wrap it with its model card.

Feature recipes: pool the labelled tables (each with its label map; de-duplicated by id, conflicting
ids dropped), optionally cross-validate, score leave-one-table-out when several tables are given,
calibrate on the held-out predictions, fit on all rows and export to the numpy runtime. Audio
recipes hand the folder to their trainer (see :mod:`trackmood.model.recipes`).

>>> from trackmood.model.train import train_model  # doctest: +SKIP
>>> model = train_model(["../shared/data/data_moods.csv"], kind="default", seed=0)  # doctest: +SKIP
>>> model.card["kind"], model.classes_.tolist()  # doctest: +SKIP
('features', ['Calm', 'Energetic', 'Happy', 'Sad'])
"""

from __future__ import annotations

import inspect
import shlex
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from ..datasets import LabeledSource, class_counts, deduplicate, pool
from ..errors import DataError
from .cards import TERMS_NOTE, USER_TERMS_NOTE, library_versions, mood_definitions, pool_card
from .persistence import ID_FILE, TrainedModel, id_hash
from .recipes import check_features, get_recipe, make_estimator, parse_sources

__all__ = ["check_features", "library_versions", "parse_sources", "train_model"]


def _audio(recipe, sources, *, seed, notify, progress, command, name) -> TrainedModel:
    from ..moods import LabelMap
    from .recipes import audio_source

    src = sources[0] if sources else None
    directory = audio_source(sources)
    trainer = recipe.builder()
    accepted = inspect.signature(trainer).parameters
    kwargs = {
        "label_map": getattr(src, "label_map", None) or LabelMap({}),
        "seed": seed,
        "notify": notify,
        "progress": (lambda d, t: progress("extract", d, t)) if progress else None,
    }
    if not any(p.kind is p.VAR_KEYWORD for p in accepted.values()):
        kwargs = {k: v for k, v in kwargs.items() if k in accepted}
    model = trainer(directory, **kwargs)
    model.card.setdefault("recipe", recipe.name)
    if name:
        model.card["name"] = name
    if command:
        model.card["command"] = command
    return model


def _cv_metrics(cvr) -> dict:
    return {**cvr.summary, "confusion": cvr.confusion.tolist(), "confusion_labels": cvr.classes}


def loto_summary(classes, results) -> dict:
    """The card's ``leave_one_table_out`` block from :func:`~trackmood.model.cv.leave_one_table_out`."""
    tables = [
        {
            "table": r.table,
            "rows": len(r.y),
            "train_rows": r.train_rows,
            "overlap_removed": r.overlap_removed,
            "accuracy": r.scores["accuracy"],
            "macro_f1": r.scores["macro_f1"],
            "recall": {c: r.scores["recall"].get(c) for c in classes},
        }
        for r in results
    ]
    return {
        "protocol": "train on all tables but one (ids of the held-out table removed from the "
        "training side), score the held-out table; once per table",
        "tables": tables,
        "accuracy_mean": float(np.mean([t["accuracy"] for t in tables])),
        "macro_f1_mean": float(np.mean([t["macro_f1"] for t in tables])),
    }


def table_frames(srcs, features) -> dict:
    """Each table's own rows (its files pooled, de-duplicated within the table only)."""
    by_table: dict[str, list] = {}
    for s in srcs:
        by_table.setdefault(s.table_name, []).append(s)
    return {name: pool(group, features=features)[0] for name, group in by_table.items()}


def train_model(
    sources: Sequence[LabeledSource | str | Path],
    *,
    kind: str = "default",
    features: Sequence[str] | None = None,
    seed: int = 0,
    cv: bool = False,
    folds: int = 10,
    repeats: int = 5,
    cv_table: str | None = None,
    name: str | None = None,
    bundled: bool = False,
    command: str | None = None,
    epochs: int | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    notify: Callable[[str], None] | None = None,
) -> TrainedModel:
    """Train recipe ``kind`` on ``sources`` and return it with its card (not yet saved).

    Parameters
    ----------
    sources : sequence of LabeledSource or str
        Labeled tables; strings may carry a label map, ``"PATH:Melancholic=Sad,Romantic="``.
        For an audio recipe: one folder of labelled audio.
    kind : str
        A recipe of :data:`trackmood.model.recipes.RECIPES`.
    features : sequence of str, optional
        Model features (default: the recipe's list).
    seed : int
        Makes training (and the CV folds) deterministic.
    cv : bool
        Run ``repeats`` x ``folds`` stratified CV; with two or more tables also leave-one-table-out.
        Calibration (temperature, ``uncertain_below``) is chosen on these out-of-fold rows.
    cv_table : str, optional
        Score CV folds on this table's rows only, the other tables joining every training fold
        (ids shared with it removed); default: CV on all pooled rows.
    name : str, optional
        The model's title (default ``custom-KIND``; bundled models pass their own name).
    bundled : bool
        The card carries the bundled models' data-and-terms paragraph.
    progress : callable, optional
        ``progress(stage, done, total)``.
    notify : callable, optional
        Told what pooling did: rows each label map dropped, duplicates merged, conflicts dropped.
    """
    recipe = get_recipe(kind)
    srcs = parse_sources(sources)
    if recipe.kind == "audio":
        return _audio(
            recipe, srcs, seed=seed, notify=notify, progress=progress, command=command, name=name
        )
    features = check_features(features, kind)
    df, report = pool(srcs, features=features)
    report.tell(notify)
    missing = [f for f in features if f not in df.columns or df[f].isna().any()]
    if missing:
        raise DataError(
            f"feature(s) {', '.join(missing)} missing from some training table; "
            "train without them or leave those tables out"
        )
    counts = class_counts(df)
    if sum(1 for v in counts.values() if v) < 2:
        raise DataError(f"need at least two moods to train; got {counts}")
    metrics: dict = {}
    card_extra: dict = {}
    start = time.perf_counter()
    if cv:
        card_extra = _evaluate(
            df, srcs, kind, features, seed, folds, repeats, cv_table, epochs, progress, metrics
        )
    if progress:
        progress("fit", 0, 1)
    est = make_estimator(kind, features=features, seed=seed, epochs=epochs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(df[features].to_numpy(dtype=float), df["mood"].to_numpy().astype(str))
    if progress:
        progress("fit", 1, 1)
    seconds = time.perf_counter() - start
    from .export import to_runtime

    runtime = to_runtime(est, features=features, meta={"kind": kind, "seed": seed})
    if "calibration" in card_extra:
        runtime.temperature = card_extra["calibration"]["temperature"]
    files = []
    for s in srcs:
        sub = df[df["_file"] == str(s.path)]
        files.append(
            {
                "file": Path(s.path).name,
                "table": s.table_name,
                "sha256": sub["_sha256"].iloc[0] if len(sub) else None,
                "rows": len(sub),
                "label_map": s.label_map.to_dict(),
                "label_map_dropped": report.label_dropped.get(str(s.path), {}),
            }
        )
    card = {
        "name": name or f"custom-{kind}",
        "kind": "features",
        "recipe": kind,
        "bundled": bundled,
        "description": recipe.description,
        "features": features,
        "classes": list(runtime.classes),
        "class_counts": counts,
        "mood_definitions": mood_definitions(df, features),
        "training_files": files,
        "pool": pool_card(report),
        "metrics": metrics,
        **card_extra,
        "seed": seed,
        "train_seconds": round(seconds, 2),
        "versions": library_versions(),
        "trained_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": command or "trackmood " + " ".join(shlex.quote(a) for a in sys.argv[1:]),
        "terms": TERMS_NOTE if bundled else USER_TERMS_NOTE,
    }
    if kind == "original" and epochs:
        card["epochs"] = epochs
    hashes = training_id_hashes(df)
    card["training_ids"] = {
        "count": len(hashes),
        "rows_without_id": int(len(df) - len(hashes)),
        "stored": f"{ID_FILE}: sha1(track id)[:12] of each (the ids themselves are not shipped)",
    }
    return TrainedModel(runtime, card, id_hashes=hashes)


def training_id_hashes(df: pd.DataFrame) -> list[str]:
    """:func:`~trackmood.model.persistence.id_hash` of every distinct non-empty id in ``df``."""
    if "id" not in df.columns:
        return []
    ids = df["id"].dropna().astype(str)
    return sorted({id_hash(i) for i in ids if i.strip()})


def _evaluate(df, srcs, kind, features, seed, folds, repeats, cv_table, epochs, progress, metrics):
    """Fill ``metrics`` with CV (and leave-one-table-out); return the calibration card keys."""
    from .calibration import calibrate_tables
    from .cv import cross_validate, leave_one_table_out

    tables = table_frames(srcs, features)
    cv_progress = (lambda d, t: progress("cv", d, t)) if progress else None
    if cv_table is not None and len(tables) > 1:
        if cv_table not in tables:
            raise DataError(f"no table {cv_table!r} among {', '.join(tables)}")
        scored = tables[cv_table]
        extra = deduplicate(
            pd.concat([t for n, t in tables.items() if n != cv_table], ignore_index=True)
        )[0]
        cvr = cross_validate(
            scored,
            kind=kind,
            features=features,
            folds=folds,
            repeats=repeats,
            seed=seed,
            extra=extra,
            epochs=epochs,
            progress=cv_progress,
        )
        protocol = f"{repeats}×{folds} stratified CV scored on {cv_table} (other tables in every training fold)"
    else:
        scored = df
        cvr = cross_validate(
            df,
            kind=kind,
            features=features,
            folds=folds,
            repeats=repeats,
            seed=seed,
            epochs=epochs,
            progress=cv_progress,
        )
        protocol = f"{repeats}×{folds} stratified CV on the pooled rows"
    metrics["cv"] = {**_cv_metrics(cvr), "protocol": protocol}
    if len(tables) < 2:
        y_idx = np.array([cvr.classes.index(m) for m in scored["mood"].astype(str)])
        in_domain = (cvr.oof[0], y_idx)
        from .calibration import apply_temperature, choose_threshold, ece, fit_temperature
        from .calibration import split_accuracy as split

        T = fit_temperature(*in_domain)
        pc = apply_temperature(in_domain[0], T)
        t = choose_threshold(pc, y_idx)
        cal = {
            "method": "temperature scaling fitted on out-of-fold CV probabilities (one table: "
            "no held-out table to calibrate on; the calibrated ECE is measured on the same rows)",
            "temperature": T,
            "uncertain_below": t,
            "in_domain": {
                "ece_raw": ece(*in_domain),
                "ece_calibrated": ece(pc, y_idx),
                **split(pc, y_idx, t),
            },
        }
        return {"calibration": cal, "uncertain_below": t}
    classes, results = leave_one_table_out(
        tables,
        kind=kind,
        features=features,
        seed=seed,
        epochs=epochs,
        progress=(lambda d, t: progress("loto", d, t)) if progress else None,
    )
    metrics["leave_one_table_out"] = loto_summary(classes, results)
    oof = np.zeros((len(scored), len(classes)))
    for j, c in enumerate(cvr.classes):
        oof[:, classes.index(c)] = cvr.oof[0][:, j]
    in_domain = (oof, np.array([classes.index(m) for m in scored["mood"].astype(str)]))
    parts = {r.table: (r.proba, np.array([classes.index(m) for m in r.y])) for r in results}
    cal = calibrate_tables(parts, in_domain=in_domain)
    return {"calibration": cal, "uncertain_below": cal["uncertain_below"]}
