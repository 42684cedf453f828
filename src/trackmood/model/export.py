"""Export a fitted scikit-learn pipeline to the numpy :class:`~trackmood.model.runtime.NetRuntime`.

Supported steps: :class:`~trackmood.model.estimators.LogTransform` (first), ``MinMaxScaler`` and
``StandardScaler`` (any number, composed into one affine map), then one classifier:
``LogisticRegression``, ``MLPClassifier``, :class:`~trackmood.model.estimators.OriginalNet`, or a
soft ``VotingClassifier`` of those.

>>> import numpy as np
>>> from sklearn.linear_model import LogisticRegression
>>> X = np.array([[0.0, 1.0], [1.0, 0.0], [0.2, 0.9], [0.9, 0.1]]); y = np.array(["Calm", "Sad"] * 2)
>>> rt = to_runtime(LogisticRegression().fit(X, y), features=["energy", "valence"])
>>> bool(np.allclose(rt.predict_proba(X), LogisticRegression().fit(X, y).predict_proba(X)))
True
"""

from __future__ import annotations

import numpy as np
from sklearn.ensemble import VotingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from ..errors import ModelError
from .estimators import LogTransform, OriginalNet
from .runtime import Dense, NetRuntime


def _member(est) -> list[Dense]:
    if isinstance(est, LogisticRegression):
        return [
            Dense(est.coef_.T.astype(float).copy(), est.intercept_.astype(float).copy(), "identity")
        ]
    if isinstance(est, MLPClassifier):
        act = est.activation
        layers = [
            Dense(W.astype(float), b.astype(float), act)
            for W, b in zip(est.coefs_[:-1], est.intercepts_[:-1], strict=False)
        ]
        layers.append(
            Dense(est.coefs_[-1].astype(float), est.intercepts_[-1].astype(float), "identity")
        )
        return layers
    if isinstance(est, OriginalNet):
        W0, b0, W1, b1 = est.weights_
        return [Dense(W0, b0, "relu"), Dense(W1, b1, "identity")]
    raise ModelError(
        f"cannot export {type(est).__name__} to the numpy runtime; use "
        "LogisticRegression, MLPClassifier, OriginalNet or a soft VotingClassifier of them"
    )


def to_runtime(estimator, *, features, meta: dict | None = None) -> NetRuntime:
    """The numpy runtime equivalent of a fitted ``estimator`` (a Pipeline or a bare classifier).

    Raises :class:`~trackmood.errors.ModelError` for steps it cannot express.
    """
    steps = list(estimator.steps) if isinstance(estimator, Pipeline) else [("clf", estimator)]
    *pre, (_, clf) = steps
    n = len(features)
    log_mask = np.zeros(n, dtype=bool)
    log_offset = 1.0
    shift = np.zeros(n)
    scale = np.ones(n)
    clip: tuple[float, float] | None = None
    for i, (name, step) in enumerate(pre):
        if step is None or step == "passthrough":
            continue
        if isinstance(step, LogTransform):
            if i != 0:
                raise ModelError(f"step {name!r}: the log transform must come first to export")
            log_mask = step.mask_.copy()
            log_offset = float(step.offset)
        elif isinstance(step, (MinMaxScaler, StandardScaler)):
            if clip is not None:
                raise ModelError(f"step {name!r}: no scaler may follow a clipping MinMaxScaler")
            if isinstance(step, MinMaxScaler):
                s_shift, s_scale = -step.min_ / step.scale_, step.scale_
                if step.clip:
                    lo, hi = step.feature_range
                    clip = (float(lo), float(hi))
            else:
                s_shift = step.mean_ if step.mean_ is not None else np.zeros(n)
                s_scale = 1.0 / step.scale_ if step.scale_ is not None else np.ones(n)
            # (x - a) * k, then (. - c) * m  ==  (x - (a + c / k)) * (k * m)
            shift = shift + s_shift / scale
            scale = scale * s_scale
        else:
            raise ModelError(
                f"step {name!r}: cannot export {type(step).__name__} to the numpy runtime"
            )
    weights = None
    if isinstance(clf, VotingClassifier):
        if clf.voting != "soft":
            raise ModelError("only a soft-voting VotingClassifier can be exported")
        members = [_member(e) for e in clf.estimators_]
        w = np.ones(len(members)) if clf.weights is None else np.asarray(clf.weights, dtype=float)
        weights = w / w.sum()
    else:
        members = [_member(clf)]
    classes = [str(c) for c in clf.classes_]
    return NetRuntime(
        features=list(features),
        classes=classes,
        log_mask=log_mask,
        shift=np.asarray(shift, dtype=float),
        scale=np.asarray(scale, dtype=float),
        members=members,
        clip=clip,
        log_offset=log_offset,
        weights=weights,
        meta=dict(meta or {}),
    )
