"""scikit-learn estimators: the seed Keras network, a log transform, and the default recipe.

All of them follow the scikit-learn contract (``__init__`` only stores parameters, ``fit`` returns
``self``, fitted attributes end in ``_``, inputs pass ``validate_data``), so they work in
``Pipeline``, ``GridSearchCV``, ``clone`` and stratified ``cross_val_score``. TensorFlow is
imported only inside :meth:`OriginalNet.fit`; prediction is a numpy forward pass.

>>> from trackmood.model.estimators import make_default
>>> make_default(seed=0).steps[-1][0]
'vote'
"""

from __future__ import annotations

import os

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.ensemble import VotingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from .runtime import softmax

#: Environment variables that keep BLAS/OpenMP/TensorFlow to one thread (tiny models on 2 cores
#: are 10-20x slower with more threads).
THREAD_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "TF_NUM_INTRAOP_THREADS": "1",
    "TF_NUM_INTEROP_THREADS": "1",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "TF_ENABLE_ONEDNN_OPTS": "0",
}


def single_threaded() -> None:
    """Set :data:`THREAD_ENV` where not already set (call before heavy imports)."""
    for key, value in THREAD_ENV.items():
        os.environ.setdefault(key, value)


class LogTransform(TransformerMixin, BaseEstimator):
    """``log(max(x, 0) + offset)`` on the chosen columns, identity on the others.

    Parameters
    ----------
    columns : tuple of int, default=(0,)
        Column positions to log (duration is column 0 of the model features).
    offset : float, default=1.0
        Added before the log.

    Examples
    --------
    >>> import numpy as np
    >>> LogTransform(columns=(0,)).fit_transform(np.array([[np.e - 1, 5.0]])).round(6).tolist()
    [[1.0, 5.0]]
    """

    def __init__(self, columns=(0,), offset=1.0):
        self.columns = columns
        self.offset = offset

    def fit(self, X, y=None):
        X = validate_data(self, X, reset=True)
        cols = np.asarray(self.columns if self.columns is not None else (), dtype=int)
        if cols.size and (cols.min() < -X.shape[1] or cols.max() >= X.shape[1]):
            raise ValueError(f"columns={self.columns} outside 0..{X.shape[1] - 1}")
        self.mask_ = np.zeros(X.shape[1], dtype=bool)
        self.mask_[cols] = True
        return self

    def transform(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, copy=True, dtype=np.float64)
        X[:, self.mask_] = np.log(np.maximum(X[:, self.mask_], 0.0) + self.offset)
        return X


class OriginalNet(ClassifierMixin, BaseEstimator):
    """The seed project's network: Dense(hidden, relu) -> Dense(n_classes, softmax), Keras 3.

    Adam, categorical cross-entropy, ``epochs`` passes in batches of ``batch_size``, fed as one
    ``tf.data`` pipeline. Deterministic for a given ``random_state``. After ``fit`` the weights are
    kept as numpy arrays (``weights_``) and predictions never touch TensorFlow. Use it after a
    scaler inside a ``Pipeline`` (see :func:`make_original`).

    Parameters
    ----------
    hidden : int, default=8
        Units of the hidden ReLU layer.
    epochs : int, default=300
    batch_size : int, default=200
    learning_rate : float, default=0.001
        Adam's learning rate (Keras default).
    random_state : int, default=0
    """

    def __init__(self, hidden=8, epochs=300, batch_size=200, learning_rate=0.001, random_state=0):
        self.hidden = hidden
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.random_state = random_state

    def fit(self, X, y):
        X, y = validate_data(self, X, y, reset=True, dtype=np.float32)
        check_classification_targets(y)
        self.classes_, codes = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError("Classifier can't train when only one class is present.")
        single_threaded()
        import keras
        import tensorflow as tf  # heavy: only when training

        try:
            tf.config.threading.set_intra_op_parallelism_threads(1)
            tf.config.threading.set_inter_op_parallelism_threads(1)
        except RuntimeError:  # already initialised in this process
            pass
        seed = int(self.random_state or 0)
        keras.utils.set_random_seed(seed)
        tf.config.experimental.enable_op_determinism()
        n_classes = len(self.classes_)
        Y = np.eye(n_classes, dtype=np.float32)[codes]
        model = keras.Sequential(
            [
                keras.Input(shape=(X.shape[1],)),
                keras.layers.Dense(int(self.hidden), activation="relu"),
                keras.layers.Dense(n_classes, activation="softmax"),
            ]
        )
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate=self.learning_rate),
            loss="categorical_crossentropy",
        )
        batch = max(1, min(int(self.batch_size), len(X)))
        steps = int(np.ceil(len(X) / batch))
        ds = (
            tf.data.Dataset.from_tensor_slices((X, Y))
            .shuffle(len(X), seed=seed, reshuffle_each_iteration=True)
            .batch(batch)
            .repeat(int(self.epochs))
        )
        # one Keras "epoch" of epochs*steps batches: the same updates without per-epoch overhead
        model.fit(ds, epochs=1, steps_per_epoch=steps * int(self.epochs), shuffle=False, verbose=0)
        self.weights_ = [np.asarray(w, dtype=np.float64) for w in model.get_weights()]
        keras.backend.clear_session()
        return self

    def predict_proba(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        W0, b0, W1, b1 = self.weights_
        return softmax(np.maximum(X @ W0 + b0, 0.0) @ W1 + b1)

    def predict(self, X):
        check_is_fitted(self)
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.estimator_type = "classifier"
        tags.non_deterministic = False
        return tags


def make_original(*, seed: int = 0, epochs: int = 300, batch_size: int = 200) -> Pipeline:
    """The seed pipeline: ``MinMaxScaler`` -> :class:`OriginalNet` (the scaler is fit per fold)."""
    return Pipeline(
        [
            ("scale", MinMaxScaler()),
            ("net", OriginalNet(epochs=epochs, batch_size=batch_size, random_state=seed)),
        ]
    )


#: The default recipe's fixed hyper-parameters (chosen on data the reported folds never see; see
#: ``benchmarks/bench_models.py --select``).
DEFAULT_PARAMS = {"hidden": 16, "alpha": 3.0, "members": 3, "C": 1.0, "max_iter": 200}


def make_default(
    *,
    seed: int = 0,
    log_duration: bool = True,
    hidden: int | None = None,
    alpha: float | None = None,
    members: int | None = None,
    C: float | None = None,
    max_iter: int | None = None,
) -> Pipeline:
    """The default model: log(duration) -> StandardScaler -> soft vote of small MLPs + a logistic regression.

    Every member is a dense softmax network, so the fitted pipeline exports exactly to the numpy
    runtime. ``log_duration`` logs column 0 (set it ``False`` when duration is not a feature).
    The MLPs use the L-BFGS solver (fast and deterministic on a few hundred rows) with seeds
    ``seed, seed+1, ...``.
    """
    p = dict(DEFAULT_PARAMS)
    for key, value in {
        "hidden": hidden,
        "alpha": alpha,
        "members": members,
        "C": C,
        "max_iter": max_iter,
    }.items():
        if value is not None:
            p[key] = value
    voters = [
        (
            f"mlp{i}",
            MLPClassifier(
                (int(p["hidden"]),),
                alpha=float(p["alpha"]),
                solver="lbfgs",
                max_iter=int(p["max_iter"]),
                random_state=seed + i,
            ),
        )
        for i in range(int(p["members"]))
    ]
    voters.append(("lr", LogisticRegression(C=float(p["C"]), max_iter=2000)))
    steps = [
        ("log", LogTransform(columns=(0,) if log_duration else ())),
        ("scale", StandardScaler()),
        ("vote", VotingClassifier(voters, voting="soft")),
    ]
    return Pipeline(steps)
