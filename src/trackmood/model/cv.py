"""One cross-validation for every recipe: repeated stratified (or stratified-group) k-fold, the
original's 80/20 split, and leave-one-table-out.

Every fold fits a fresh pipeline (scaler inside); extra rows join the training part only and
never share a track id with the scored rows; the recipe is fixed before the folds are drawn.
Out-of-fold probabilities are kept, so calibration and the uncertainty threshold can be chosen on
them (:mod:`trackmood.model.calibration`).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, log_loss, recall_score
from sklearn.model_selection import RepeatedStratifiedKFold, StratifiedGroupKFold, train_test_split

from ..errors import DataError
from ..features import MODEL_FEATURE_NAMES
from ..moods import MOODS
from .recipes import make_estimator


def scores(y_true, proba: np.ndarray, classes) -> dict:
    """Accuracy, macro-F1, log-loss and per-class recall (only for classes present in ``y_true``)."""
    classes = list(classes)
    y_pred = np.asarray(classes)[proba.argmax(axis=1)]
    present = [c for c in classes if c in set(y_true)]
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(
            f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0)
        ),
        "log_loss": float(log_loss(y_true, np.clip(proba, 1e-15, 1), labels=classes)),
        "recall": {
            c: float(r)
            for c, r in zip(
                present,
                recall_score(y_true, y_pred, labels=present, average=None, zero_division=0),
                strict=True,
            )
        },
    }


def _mean_present(folds: list[dict], mood: str) -> float | None:
    """Mean recall of ``mood`` over the folds that hold it; ``None`` (n/a) if none does."""
    values = [f["recall"][mood] for f in folds if mood in f["recall"]]
    return float(np.mean(values)) if values else None


@dataclass
class CVResult:
    """Per-fold scores, summary, pooled out-of-fold confusion matrix, out-of-fold probabilities.

    ``oof`` has shape ``(repeats, rows, classes)``: every row's probabilities from the fold that
    held it out, once per repeat.
    """

    kind: str
    folds: list[dict]
    confusion: np.ndarray
    classes: list[str]
    n_splits: int
    n_repeats: int
    seconds: float
    extra_rows: int = 0
    oof: np.ndarray | None = None
    grouped: bool = False
    summary: dict = field(default_factory=dict)

    def __post_init__(self):
        acc = np.array([f["accuracy"] for f in self.folds])
        self.summary = {
            "accuracy_mean": float(acc.mean()),
            "accuracy_std": float(acc.std()),
            "macro_f1_mean": float(np.mean([f["macro_f1"] for f in self.folds])),
            "log_loss_mean": float(np.mean([f["log_loss"] for f in self.folds])),
            "recall_mean": {c: _mean_present(self.folds, c) for c in self.classes},
            "folds": self.n_splits,
            "repeats": self.n_repeats,
            "fits": len(self.folds),
            "grouped": self.grouped,
            "seconds": round(self.seconds, 2),
            "extra_training_rows_max": self.extra_rows,
            "std_means": "standard deviation of single-fold accuracies (fold-to-fold spread)",
        }


def fit_predict(kind, features, seed, epochs, X_tr, y_tr, X_te, classes) -> np.ndarray:
    """Fit a fresh ``kind`` estimator on the training part; probabilities for ``X_te`` in
    ``classes`` order (0 for a class the training part lacks).
    """
    from .estimators import single_threaded

    single_threaded()
    est = make_estimator(kind, features=features, seed=seed, epochs=epochs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X_tr, y_tr)
    proba = est.predict_proba(X_te)
    out = np.zeros((len(X_te), len(classes)))
    for j, c in enumerate(est.classes_):
        if c in classes:
            out[:, classes.index(c)] = proba[:, j]
    return out


def mood_order(labels) -> list[str]:
    """``labels`` in :data:`MOODS` order, unknown ones after."""
    labels = set(labels)
    return [m for m in MOODS if m in labels] + sorted(labels - set(MOODS))


def _run(jobs, n_jobs: int, progress):
    results = []
    if n_jobs == 1:
        for i, job in enumerate(jobs):
            results.append(job())
            if progress:
                progress(i + 1, len(jobs))
        return results
    from joblib import Parallel, delayed

    par = Parallel(n_jobs=n_jobs, return_as="generator")
    for i, r in enumerate(par(delayed(job)() for job in jobs)):
        results.append(r)
        if progress:
            progress(i + 1, len(jobs))
    return results


def splits(y, *, folds: int, repeats: int, seed: int, groups=None) -> list[tuple]:
    """``repeats × folds`` (train, test) index pairs: stratified, and grouped when ``groups`` is
    given (no group on both sides; a new shuffle per repeat).
    """
    if groups is None:
        cv = RepeatedStratifiedKFold(n_splits=folds, n_repeats=repeats, random_state=seed)
        return list(cv.split(np.zeros(len(y)), y))
    out = []
    for r in range(repeats):
        cv = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed + r)
        out += list(cv.split(np.zeros(len(y)), y, groups))
    return out


def cross_validate(
    df: pd.DataFrame,
    *,
    kind: str = "default",
    features=MODEL_FEATURE_NAMES,
    folds: int = 10,
    repeats: int = 5,
    seed: int = 0,
    groups=None,
    extra: pd.DataFrame | None = None,
    n_jobs: int | None = None,
    epochs: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> CVResult:
    """Repeated stratified k-fold CV of a fresh ``kind`` pipeline on ``df`` (with a ``mood`` column).

    ``groups`` (one value per row, e.g. the artist) makes the folds stratified-group folds.
    ``extra`` rows (other labeled tables) join every training part; any extra row whose track id
    is in ``df`` is removed first, so no test track (nor a duplicate of a training track) leaks.
    ``n_jobs`` defaults to 2 for the scikit-learn models and 1 for the Keras network.
    ``progress(done, total)`` is called after each fold.
    """
    features = list(features)
    X = df[features].to_numpy(dtype=float)
    y = df["mood"].to_numpy().astype(str)
    counts = pd.Series(y).value_counts()
    if counts.min() < folds:
        raise DataError(
            f"too few rows for {folds}-fold CV: mood {counts.idxmin()!r} has only "
            f"{int(counts.min())} rows; use fewer folds"
        )
    X_ex = y_ex = None
    if extra is not None and len(extra):
        keep = extra
        if "id" in df.columns and "id" in extra.columns:
            keep = extra[~extra["id"].isin(set(df["id"].dropna()))]
        X_ex = keep[features].to_numpy(dtype=float)
        y_ex = keep["mood"].to_numpy().astype(str)
    # every mood the model can answer (extra rows may bring one the scored table lacks)
    classes = mood_order(set(y) | (set() if y_ex is None else set(y_ex)))
    pairs = splits(
        y,
        folds=folds,
        repeats=repeats,
        seed=seed,
        groups=None if groups is None else np.asarray(groups),
    )
    if n_jobs is None:
        n_jobs = 1 if kind == "original" else 2
    start = time.perf_counter()

    def job(tr, te):
        def run():
            X_tr, y_tr = X[tr], y[tr]
            if X_ex is not None:
                X_tr, y_tr = np.vstack([X_tr, X_ex]), np.concatenate([y_tr, y_ex])
            proba = fit_predict(kind, features, seed, epochs, X_tr, y_tr, X[te], classes)
            return scores(y[te], proba, classes), proba

        return run

    results = _run([job(tr, te) for tr, te in pairs], n_jobs, progress)
    seconds = time.perf_counter() - start
    cm = np.zeros((len(classes), len(classes)), dtype=int)
    oof = np.zeros((repeats, len(y), len(classes)))
    for i, ((_tr, te), (_, proba)) in enumerate(zip(pairs, results, strict=True)):
        pred = np.asarray(classes)[proba.argmax(axis=1)]
        cm += confusion_matrix(y[te], pred, labels=classes)
        oof[i * repeats // len(pairs), te] = proba
    return CVResult(
        kind,
        [r[0] for r in results],
        cm,
        classes,
        folds,
        repeats,
        seconds,
        extra_rows=0 if X_ex is None else len(X_ex),
        oof=oof,
        grouped=groups is not None,
    )


def holdout(
    df: pd.DataFrame,
    *,
    kind: str = "default",
    features=MODEL_FEATURE_NAMES,
    seed: int = 0,
    test_size: float = 0.2,
    epochs: int | None = None,
) -> dict:
    """The original's protocol: one shuffled 80/20 split (not stratified), fit on 80 %, score 20 %."""
    features = list(features)
    X = df[features].to_numpy(dtype=float)
    y = df["mood"].to_numpy().astype(str)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=test_size, random_state=seed)
    classes = mood_order(y)
    proba = fit_predict(kind, features, seed, epochs, X_tr, y_tr, X_te, classes)
    s = scores(y_te, proba, classes)
    pred = np.asarray(classes)[proba.argmax(axis=1)]
    s["confusion"] = confusion_matrix(y_te, pred, labels=classes).tolist()
    s["test_rows"] = len(y_te)
    return s


@dataclass
class TableResult:
    """One held-out table of a leave-one-table-out run."""

    table: str
    y: np.ndarray
    proba: np.ndarray
    train_rows: int
    overlap_removed: int
    scores: dict


def leave_one_table_out(
    tables: dict[str, pd.DataFrame],
    *,
    kind: str = "default",
    features=MODEL_FEATURE_NAMES,
    seed: int = 0,
    epochs: int | None = None,
    n_jobs: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[list[str], list[TableResult]]:
    """Train on every table but one, score the one left out; once per table.

    ``tables`` maps a name to that table's labelled rows (de-duplicated within the table). The
    training side is the other tables pooled (:func:`~trackmood.datasets.deduplicate`: conflicting
    ids dropped), minus every track id of the held-out table, so no table is scored on a track the
    model trained on. Returns ``(classes, results)``.
    """
    from ..datasets import deduplicate

    if len(tables) < 2:
        raise DataError("leave-one-table-out needs at least two labelled tables")
    features = list(features)
    classes = mood_order(set().union(*(set(t["mood"]) for t in tables.values())))

    def job(name):
        def run():
            test = tables[name]
            others = pd.concat([t for n, t in tables.items() if n != name], ignore_index=True)
            train, _, _ = deduplicate(others)
            removed = 0
            if "id" in test.columns and "id" in train.columns:
                overlap = train["id"].isin(set(test["id"].dropna()))
                removed = int(overlap.sum())
                train = train[~overlap]
            y = test["mood"].to_numpy().astype(str)
            proba = fit_predict(
                kind,
                features,
                seed,
                epochs,
                train[features].to_numpy(dtype=float),
                train["mood"].to_numpy().astype(str),
                test[features].to_numpy(dtype=float),
                classes,
            )
            return TableResult(name, y, proba, len(train), removed, scores(y, proba, classes))

        return run

    if n_jobs is None:
        n_jobs = 1 if kind == "original" else 2
    return classes, _run([job(n) for n in tables], n_jobs, progress)
