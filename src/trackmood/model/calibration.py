"""Calibration on held-out data: temperature scaling, expected calibration error, and the
confidence below which a prediction is marked *uncertain*.

Both the temperature and the threshold are chosen on out-of-fold probabilities only (out-of-fold
CV rows or leave-one-table-out rows). Their reported effect is nested: each held-out table is
scored with a temperature and threshold chosen on the *other* tables' out-of-fold rows.

>>> import numpy as np
>>> p = np.array([[0.9, 0.1], [0.6, 0.4]])
>>> bool(np.allclose(apply_temperature(p, 1.0), p))
True
>>> round(ece(p, np.array([0, 1])), 3)
0.35
"""

from __future__ import annotations

import numpy as np

#: Accuracy under which the low-confidence part counts as uncertain: below the chosen threshold the
#: mood is more often wrong than right.
UNCERTAIN_ACCURACY = 0.5
#: Confidence thresholds tried.
THRESHOLDS = np.round(np.arange(0.30, 0.91, 0.01), 2)


def apply_temperature(proba: np.ndarray, temperature: float) -> np.ndarray:
    """``softmax(log(p) / T)`` row-wise: T > 1 softens, T < 1 sharpens, argmax unchanged."""
    z = np.log(np.clip(np.asarray(proba, dtype=float), 1e-12, 1.0)) / float(temperature)
    z -= z.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    return z / z.sum(axis=1, keepdims=True)


def fit_temperature(proba: np.ndarray, y_idx: np.ndarray, weights=None) -> float:
    """The temperature minimising the (``weights``-weighted) negative log-likelihood of ``proba``
    for true classes ``y_idx`` (searched on log T in [1/10, 10]).
    """
    from scipy.optimize import minimize_scalar

    logp = np.log(np.clip(np.asarray(proba, dtype=float), 1e-12, 1.0))
    rows = np.arange(len(y_idx))
    w = np.ones(len(y_idx)) if weights is None else np.asarray(weights, dtype=float)

    def nll(log_t):
        z = logp / np.exp(log_t)
        z = z - z.max(axis=1, keepdims=True)
        return float(-((z[rows, y_idx] - np.log(np.exp(z).sum(axis=1))) * w).sum() / w.sum())

    res = minimize_scalar(nll, bounds=(np.log(0.1), np.log(10.0)), method="bounded")
    return float(np.exp(res.x))


def ece(proba: np.ndarray, y_idx: np.ndarray, *, bins: int = 15) -> float:
    """Expected calibration error: confidence vs accuracy in ``bins`` equal-width bins."""
    conf = proba.max(axis=1)
    right = proba.argmax(axis=1) == y_idx
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        m = which == b
        if m.any():
            total += m.mean() * abs(right[m].mean() - conf[m].mean())
    return float(total)


def choose_threshold(proba: np.ndarray, y_idx: np.ndarray, *, level=UNCERTAIN_ACCURACY) -> float:
    """The largest confidence ``t`` for which predictions below ``t`` are right less than
    ``level`` of the time (at least 10 of them); the smallest threshold tried if none is.
    """
    conf = proba.max(axis=1)
    right = proba.argmax(axis=1) == y_idx
    best = float(THRESHOLDS[0])
    for t in THRESHOLDS:
        below = conf < t
        if below.sum() >= 10 and right[below].mean() < level:
            best = float(t)
    return best


def split_accuracy(proba: np.ndarray, y_idx: np.ndarray, threshold: float) -> dict:
    """How accurate the confident (>= threshold) and the uncertain parts are, and their shares."""
    conf = proba.max(axis=1)
    right = proba.argmax(axis=1) == y_idx
    sure = conf >= threshold
    return {
        "confident_share": float(sure.mean()),
        "confident_accuracy": float(right[sure].mean()) if sure.any() else None,
        "uncertain_accuracy": float(right[~sure].mean()) if (~sure).any() else None,
    }


def _pooled(parts) -> tuple[np.ndarray, np.ndarray]:
    return np.vstack([p for p, _ in parts]), np.concatenate([y for _, y in parts])


def _table_weights(parts) -> np.ndarray:
    """Each table counts the same, whatever its size."""
    return np.concatenate([np.full(len(y), 1.0 / len(y)) for _, y in parts])


def fit_tables(parts: list) -> float:
    """Temperature for a new table: fitted with every table weighted equally, and kept only if
    an inner leave-one-table-out over ``parts`` shows it lowers the mean per-table ECE (else 1).
    """
    if len(parts) < 2:
        return 1.0
    fitted, plain = [], []
    for j, (p, y) in enumerate(parts):
        rest = [v for i, v in enumerate(parts) if i != j]
        T = fit_temperature(*_pooled(rest), weights=_table_weights(rest))
        fitted.append(ece(apply_temperature(p, T), y))
        plain.append(ece(p, y))
    if np.mean(fitted) >= np.mean(plain):
        return 1.0
    return fit_temperature(*_pooled(parts), weights=_table_weights(parts))


def calibrate_tables(parts: dict[str, tuple[np.ndarray, np.ndarray]], *, in_domain=None) -> dict:
    """Temperature and uncertainty threshold from leave-one-table-out probabilities, and their
    nested effect.

    Parameters
    ----------
    parts : dict
        Table name -> ``(proba, y_idx)``: that table scored by a model that never saw it.
    in_domain : tuple, optional
        ``(proba, y_idx)`` out-of-fold CV rows, to report in-domain ECE before and after.

    Returns
    -------
    dict
        ``temperature`` and ``uncertain_below`` (fit on all held-out tables: what the shipped
        model uses), ECE before/after, and per table the nested figures (temperature and
        threshold fit on the other tables only).
    """
    P, Y = _pooled(parts.values())
    T = fit_tables(list(parts.values()))
    t = choose_threshold(apply_temperature(P, T), Y)
    per_table, nested = {}, []
    for name, (p, y) in parts.items():
        rest = [v for n, v in parts.items() if n != name]
        Tn = fit_tables(rest)
        Pr, Yr = _pooled(rest) if rest else (p, y)
        tn = choose_threshold(apply_temperature(Pr, Tn), Yr)
        pc = apply_temperature(p, Tn)
        nested.append((pc, y, tn))
        per_table[name] = {
            "rows": len(y),
            "ece_raw": ece(p, y),
            "ece_calibrated": ece(pc, y),
            "temperature_from_other_tables": Tn,
            "uncertain_below_from_other_tables": tn,
            **split_accuracy(pc, y, tn),
        }
    Pn = np.vstack([p for p, _, _ in nested])
    Yn = np.concatenate([y for _, y, _ in nested])
    sure = np.concatenate([p.max(axis=1) >= t_ for p, _, t_ in nested])
    right = Pn.argmax(axis=1) == Yn
    out = {
        "method": "temperature scaling fitted on leave-one-table-out probabilities (tables "
        "weighted equally; kept only if an inner leave-one-table-out shows it lowers the mean "
        "per-table ECE, else T = 1); "
        f"uncertain_below = largest confidence under which out-of-fold accuracy < "
        f"{UNCERTAIN_ACCURACY:.0%}",
        "temperature": T,
        "uncertain_below": t,
        "loto": {
            "ece_raw": float(np.mean([v["ece_raw"] for v in per_table.values()])),
            "ece_calibrated_nested": float(
                np.mean([v["ece_calibrated"] for v in per_table.values()])
            ),
            "ece_means": "mean over held-out tables of each table's ECE",
            "confident_share_nested": float(sure.mean()),
            "confident_accuracy_nested": float(right[sure].mean()) if sure.any() else None,
            "uncertain_accuracy_nested": float(right[~sure].mean()) if (~sure).any() else None,
            "per_table": per_table,
        },
    }
    if in_domain is not None:
        p, y = in_domain
        pc = apply_temperature(p, T)
        out["in_domain"] = {
            "ece_raw": ece(p, y),
            "ece_calibrated": ece(pc, y),
            **split_accuracy(pc, y, t),
        }
    return out
