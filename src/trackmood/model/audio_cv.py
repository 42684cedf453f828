"""Nested, artist-grouped cross-validation of the embedding audio model (see
:mod:`trackmood.model.audio_train`): every choice -- patch budget, input blocks, ``C`` -- is made by an
inner grouped CV inside each outer training part.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import DataError

#: Choices made by the inner CV: patch budgets (nested grids on 30-s clips), blocks, and C.
BUDGETS = (2, 3, 5, 9)
BLOCKS = ("pen", "pen+tags")
C_GRID = (0.003, 0.01, 0.03, 0.1)
#: Russell's axes as mood sets: the positive side of each head.
AXES = {"energy": ("Energetic", "Happy"), "valence": ("Calm", "Happy")}


def fit_logistic(X, y, *, C: float):
    """Standardise then fit a logistic regression: ``(mu, 1/sd, coef, intercept, classes)``."""
    from sklearn.linear_model import LogisticRegression

    mu = X.mean(axis=0)
    sd = X.std(axis=0)
    sd[sd < 1e-9] = 1.0
    m = LogisticRegression(C=C, max_iter=3000).fit((X - mu) / sd, y)
    return mu, 1.0 / sd, m.coef_, m.intercept_, m.classes_


def _max_folds(y, groups, folds: int) -> int:
    counts = pd.Series(y).value_counts()
    return int(max(0, min(folds, counts.min(), len(set(groups)))))


def _inner(y, groups, idx, *, seed: int, folds: int):
    from sklearn.model_selection import StratifiedGroupKFold

    folds = _max_folds(y[idx], groups[idx], folds)
    if folds < 2:
        return []
    cv = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    return [(idx[a], idx[b]) for a, b in cv.split(idx, y[idx], groups[idx])]


def _score(model, Z, y, binary: bool) -> float:
    if binary:
        from sklearn.metrics import roc_auc_score

        if len(set(y)) < 2:
            return 0.5
        return float(roc_auc_score(y, model.decision_function(Z)))
    return float((model.predict(Z) == y).mean())


def _grid_scores(Xs: dict, y, splits, keys, grid, binary: bool) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression

    scores = np.zeros((len(keys), len(grid)))
    for tr, te in splits:
        for i, key in enumerate(keys):
            X = Xs[key]
            mu, sd = X[tr].mean(axis=0), X[tr].std(axis=0)
            sd[sd < 1e-9] = 1.0
            Zt, Ze = (X[tr] - mu) / sd, (X[te] - mu) / sd
            for j, C in enumerate(grid):
                m = LogisticRegression(C=C, max_iter=3000).fit(Zt, y[tr])
                scores[i, j] += _score(m, Ze, y[te], binary)
    return scores


def choose(Xs: dict, y, groups, idx, *, seed: int, folds: int = 5, grid=C_GRID):
    """``(budget, block, C)`` with the best inner grouped-CV accuracy over the clips ``idx``."""
    keys = sorted(Xs)
    splits = _inner(y, groups, np.asarray(idx), seed=seed, folds=folds)
    if not splits:
        k = max(b for b, _ in keys)
        return k, BLOCKS[0], grid[len(grid) // 2]
    scores = _grid_scores(Xs, y, splits, keys, grid, binary=False)
    i, j = np.unravel_index(int(scores.argmax()), scores.shape)
    return int(keys[i][0]), keys[i][1], float(grid[j])


def choose_head_C(X, yb, groups, idx, *, seed: int, folds: int = 5, grid=C_GRID) -> float:
    """``C`` of a binary head with the best inner grouped-CV ROC AUC over the clips ``idx``."""
    splits = _inner(yb, groups, np.asarray(idx), seed=seed, folds=folds)
    if not splits:
        return float(grid[len(grid) // 2])
    scores = _grid_scores({0: X}, yb, splits, [0], grid, binary=True)
    return float(grid[int(scores[0].argmax())])


def _outer_fold(Xs, y, groups, tr, te, *, seed: int):
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    k, block, C = choose(Xs, y, groups, tr, seed=seed)
    X = Xs[(k, block)]
    mu, sd = X[tr].mean(axis=0), X[tr].std(axis=0)
    sd[sd < 1e-9] = 1.0
    Zt, Ze = (X[tr] - mu) / sd, (X[te] - mu) / sd
    pred = LogisticRegression(C=C, max_iter=3000).fit(Zt, y[tr]).predict(Ze)
    heads = {}
    for name, pos in AXES.items():
        yb = np.isin(y, pos).astype(int)
        hc = choose_head_C(X, yb, groups, tr, seed=seed + 7)
        h = LogisticRegression(C=hc, max_iter=3000).fit(Zt, yb[tr])
        score = h.decision_function(Ze)
        auc = roc_auc_score(yb[te], score) if len(set(yb[te])) == 2 else np.nan
        heads[name] = (score, float(auc))
    return te, pred, (k, block, C), heads


def cross_validate(
    Xs: dict,
    y,
    groups,
    *,
    repeats: int = 5,
    folds: int = 5,
    seed: int = 0,
    n_jobs: int = 2,
    keep_predictions: bool = False,
) -> dict:
    """Nested CV: outer ``repeats x folds`` stratified K-fold grouped by ``groups``.

    Returns accuracy and macro-F1 (mean ± sd over the outer folds), an artist-level bootstrap
    95 % interval of the accuracy, the confusion matrix summed over repeats, the choices the
    inner loops made, and the valence/energy heads' ROC AUC on the same outer folds. With
    ``keep_predictions``, also ``per_clip_correct``: each clip's share of the repeats in which
    its outer fold classified it correctly (for paired comparisons on the same folds).
    """
    from joblib import Parallel, delayed
    from sklearn.metrics import confusion_matrix, f1_score, roc_auc_score
    from sklearn.model_selection import StratifiedGroupKFold

    folds = _max_folds(y, groups, folds)
    if folds < 2:
        raise DataError(
            f"too little labeled audio to cross-validate ({len(y)} files, "
            f"{len(set(groups))} artist groups); need at least 2 per label"
        )
    classes = sorted(set(y))
    splits = [
        (r, tr, te)
        for r in range(repeats)
        for tr, te in StratifiedGroupKFold(
            n_splits=folds, shuffle=True, random_state=seed + r
        ).split(y, y, groups)
    ]
    jobs = (
        delayed(_outer_fold)(Xs, y, groups, tr, te, seed=seed + 100 * r + i)
        for i, (r, tr, te) in enumerate(splits)
    )
    results = Parallel(n_jobs=n_jobs)(jobs) if n_jobs > 1 else [f(*a, **kw) for f, a, kw in jobs]
    fold_acc, fold_f1, choices = [], [], []
    correct = np.zeros((repeats, len(y)))
    cm = np.zeros((len(classes), len(classes)), int)
    head_auc: dict[str, list[float]] = {n: [] for n in AXES}
    head_pooled: dict[str, list[float]] = {n: [] for n in AXES}
    per_rep: list[list[tuple]] = [[] for _ in range(repeats)]
    for (r, _tr, _te), res in zip(splits, results, strict=True):
        per_rep[r].append(res)
    for r, reps in enumerate(per_rep):
        pred = np.empty(len(y), dtype=object)
        scores = {n: np.zeros(len(y)) for n in AXES}
        for te, p, choice, heads in reps:
            pred[te] = p
            fold_acc.append(float((p == y[te]).mean()))
            fold_f1.append(f1_score(y[te], p, average="macro", labels=classes, zero_division=0))
            choices.append(choice)
            for n, (s, auc) in heads.items():
                head_auc[n].append(auc)
                scores[n][te] = s
        correct[r] = pred == y
        cm += confusion_matrix(y, pred, labels=classes)
        for n, pos in AXES.items():
            head_pooled[n].append(roc_auc_score(np.isin(y, pos), scores[n]))
    rng = np.random.default_rng(seed)
    per_clip = correct.mean(axis=0)
    uniq, inv = np.unique(groups, return_inverse=True)
    g_sum = np.bincount(inv, per_clip)
    g_n = np.bincount(inv)
    boot = []
    for _ in range(2000):
        pick = rng.integers(0, len(uniq), len(uniq))
        boot.append(g_sum[pick].sum() / g_n[pick].sum())
    per_class = np.diag(cm) * 2 / (cm.sum(axis=0) + cm.sum(axis=1))
    tally = pd.Series([f"{k} patches, {b}, C={c:g}" for k, b, c in choices]).value_counts()
    out = {
        "cv": f"nested {repeats}x{folds}-fold stratified, grouped by artist; inner 5-fold grouped "
        "CV chooses patch budget, blocks and C",
        "n": len(y),
        "groups": len(uniq),
        "accuracy_mean": float(np.mean(fold_acc)),
        "accuracy_std": float(np.std(fold_acc)),
        "accuracy_pooled": float(correct.mean()),
        "accuracy_ci95": [float(np.percentile(boot, 2.5)), float(np.percentile(boot, 97.5))],
        "ci_method": "bootstrap over artists (2000 resamples) of the out-of-fold accuracy",
        "macro_f1_mean": float(np.mean(fold_f1)),
        "macro_f1_std": float(np.std(fold_f1)),
        "f1_per_class": {c: float(v) for c, v in zip(classes, per_class, strict=True)},
        "confusion": {"labels": classes, "matrix": cm.tolist()},
        "choices": {str(k): int(v) for k, v in tally.items()},
        "heads_roc_auc": {
            n: {
                "mean": float(np.nanmean(v)),
                "std": float(np.nanstd(v)),
                "pooled": float(np.mean(head_pooled[n])),
            }
            for n, v in head_auc.items()
        },
    }
    if keep_predictions:
        out["per_clip_correct"] = per_clip.tolist()
    return out
