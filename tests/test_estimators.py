"""Estimators follow the scikit-learn contract; export to the numpy runtime is exact."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone, is_classifier
from sklearn.ensemble import VotingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold, check_cv, cross_val_score
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from trackmood.errors import ModelError
from trackmood.model.estimators import LogTransform, OriginalNet, make_default, make_original
from trackmood.model.export import to_runtime
from trackmood.model.runtime import NetRuntime

FEATURES = ["duration_ms", "energy", "valence"]


@pytest.fixture(scope="module")
def toy():
    """Four separable moods in (energy, valence) with a duration column; seeded."""
    rng = np.random.default_rng(0)
    centers = {"Calm": (0.2, 0.7), "Energetic": (0.8, 0.3), "Happy": (0.8, 0.8), "Sad": (0.2, 0.2)}
    X, y = [], []
    for mood, (e, v) in centers.items():
        n = 40
        X.append(
            np.column_stack(
                [
                    rng.uniform(1.2e5, 3.6e5, n),
                    rng.normal(e, 0.08, n).clip(0, 1),
                    rng.normal(v, 0.08, n).clip(0, 1),
                ]
            )
        )
        y += [mood] * n
    return np.vstack(X), np.array(y)


@parametrize_with_checks(
    [LogTransform(), OriginalNet(epochs=20, batch_size=32, learning_rate=0.05)]
)
def test_sklearn_contract(estimator, check):
    check(estimator)


def test_is_classifier_so_cv_stratifies():
    net = make_original()
    assert is_classifier(net) and is_classifier(OriginalNet()) and is_classifier(make_default())
    assert isinstance(
        check_cv(5, np.array(["a", "b"] * 5), classifier=is_classifier(net)), StratifiedKFold
    )


def test_original_net_is_deterministic_and_exports_exactly(toy):
    X, y = toy
    a = make_original(seed=3, epochs=20).fit(X, y)
    b = clone(a).fit(X, y)
    assert list(a.classes_) == ["Calm", "Energetic", "Happy", "Sad"]
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    rt = to_runtime(a, features=FEATURES)
    assert np.abs(rt.predict_proba(X) - a.predict_proba(X)).max() <= 1e-6
    shapes = [w.shape for w in a.named_steps["net"].weights_]
    assert shapes == [(3, 8), (8,), (8, 4), (4,)]


def test_original_net_matches_keras_forward_pass(toy):
    import keras

    X, y = toy
    net = OriginalNet(epochs=5).fit(X / X.max(axis=0), y)
    model = keras.Sequential(
        [
            keras.Input((3,)),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dense(4, activation="softmax"),
        ]
    )
    model.set_weights([w.astype("float32") for w in net.weights_])
    keras_p = model.predict(X / X.max(axis=0), verbose=0)
    assert np.abs(keras_p - net.predict_proba(X / X.max(axis=0))).max() <= 1e-6


def test_default_pipeline_exports_exactly_and_is_deterministic(toy):
    X, y = toy
    a = make_default(seed=1).fit(X, y)
    b = make_default(seed=1).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    rt = to_runtime(a, features=FEATURES)
    assert rt.log_mask.tolist() == [True, False, False]
    assert np.abs(rt.predict_proba(X) - a.predict_proba(X)).max() <= 1e-6
    assert (rt.predict(X) == a.predict(X)).all()
    assert (a.predict(X) == y).mean() > 0.9


@pytest.mark.parametrize(
    "pipe",
    [
        lambda: Pipeline([("mm", MinMaxScaler()), ("lr", LogisticRegression())]),
        lambda: Pipeline(
            [
                ("mm", MinMaxScaler(clip=True)),
                ("mlp", MLPClassifier((5,), max_iter=300, random_state=0)),
            ]
        ),
        lambda: Pipeline(
            [
                ("log", LogTransform()),
                ("mm", MinMaxScaler()),
                ("ss", StandardScaler()),
                ("mlp", MLPClassifier((4, 3), activation="tanh", max_iter=300, random_state=0)),
            ]
        ),
        lambda: Pipeline(
            [
                ("ss", StandardScaler()),
                (
                    "v",
                    VotingClassifier(
                        [
                            ("a", LogisticRegression()),
                            ("b", MLPClassifier((4,), max_iter=200, random_state=0)),
                        ],
                        voting="soft",
                        weights=[1, 3],
                    ),
                ),
            ]
        ),
        lambda: LogisticRegression(max_iter=1000),
    ],
)
def test_export_matches_sklearn(toy, pipe):
    X, y = toy
    est = pipe().fit(X, y)
    rt = to_runtime(est, features=FEATURES)
    X_new = X * np.array([1.1, 1.2, 0.9])  # includes values outside the training range
    assert np.abs(rt.predict_proba(X_new) - est.predict_proba(X_new)).max() <= 1e-6
    spec, arrays = rt.to_spec()
    again = NetRuntime.from_spec(spec, arrays)
    assert np.abs(again.predict_proba(X) - est.predict_proba(X)).max() <= 1e-6


def test_export_binary_logistic(toy):
    X, y = toy
    keep = np.isin(y, ["Calm", "Sad"])
    est = Pipeline([("ss", StandardScaler()), ("lr", LogisticRegression())]).fit(X[keep], y[keep])
    rt = to_runtime(est, features=FEATURES)
    assert np.abs(rt.predict_proba(X) - est.predict_proba(X)).max() <= 1e-6


def test_export_rejects_unsupported(toy):
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.preprocessing import PolynomialFeatures

    X, y = toy
    with pytest.raises(ModelError, match="RandomForestClassifier"):
        to_runtime(RandomForestClassifier(n_estimators=3).fit(X, y), features=FEATURES)
    with pytest.raises(ModelError, match="PolynomialFeatures"):
        to_runtime(
            Pipeline([("p", PolynomialFeatures()), ("lr", LogisticRegression())]).fit(X, y),
            features=FEATURES,
        )
    with pytest.raises(ModelError, match="soft"):
        to_runtime(
            VotingClassifier([("a", LogisticRegression())], voting="hard").fit(X, y),
            features=FEATURES,
        )
    with pytest.raises(ModelError, match="first"):
        to_runtime(
            Pipeline(
                [("s", StandardScaler()), ("l", LogTransform()), ("lr", LogisticRegression())]
            ).fit(X, y),
            features=FEATURES,
        )


def test_works_in_grid_search_and_cross_val_score(toy):
    X, y = toy
    grid = GridSearchCV(
        make_default(members=1, max_iter=50), {"vote__lr__C": [0.1, 1.0]}, cv=3
    ).fit(X, y)
    assert grid.best_params_["vote__lr__C"] in (0.1, 1.0)
    s = cross_val_score(make_original(epochs=10), X, y, cv=3)
    assert s.shape == (3,)


def test_log_transform_rejects_bad_columns():
    with pytest.raises(ValueError, match="outside"):
        LogTransform(columns=(5,)).fit(np.ones((3, 2)))
    df = pd.DataFrame({"a": [np.e - 1.0]})
    assert LogTransform().fit_transform(df)[0, 0] == pytest.approx(1.0)
