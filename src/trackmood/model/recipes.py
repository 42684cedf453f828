"""The one registry of model recipes: name -> how to build it, what kind it is, what it reads.

A **features** recipe builds a fresh, unfitted scikit-learn estimator from the feature list
(``build(features=..., seed=..., epochs=...)``); :func:`trackmood.model.train.train_model` fits it,
exports it to the numpy runtime and writes its card. An **audio** recipe names, by a dotted path
``"module:function"`` resolved only when it is used, a trainer that turns a folder of labelled
audio into a :class:`~trackmood.model.persistence.TrainedModel`::

    trainer(directory, *, label_map, seed, notify=None, progress=None) -> TrainedModel

so ``trackmood train --recipe audio DIR`` (or ``--audio DIR``) goes through the same
``train_model`` as the feature models. To add a recipe, add one :class:`Recipe` to
:data:`RECIPES`.

>>> get_recipe("default").kind, get_recipe("audio").kind
('features', 'audio')
>>> type(make_estimator("default", features=["energy", "valence"])).__name__
'Pipeline'
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import DataError
from ..features import MODEL_FEATURE_NAMES, SCHEMA


@dataclass(frozen=True)
class Recipe:
    """One way to build a model.

    Attributes
    ----------
    name : str
        What ``--recipe`` and cards call it.
    kind : {'features', 'audio'}
        What the model reads: a feature table or audio files.
    build : callable or str
        Features: ``build(features=, seed=, epochs=) -> estimator``. Audio: a trainer, or
        ``"module:function"`` resolved lazily (see the module docstring).
    features : tuple of str or None
        The default feature list (``None``: the audio trainer decides).
    description : str
        One paragraph for the card.
    fallback : str or None
        Dotted path tried when ``build`` cannot be imported (older audio trainers).
    """

    name: str
    kind: str
    build: Callable | str
    features: tuple[str, ...] | None = None
    description: str = ""
    fallback: str | None = None

    def builder(self) -> Callable:
        """The build function (importing a dotted path on first use)."""
        if callable(self.build):
            return self.build
        try:
            return resolve(self.build)
        except (ImportError, AttributeError):
            if self.fallback is None:
                raise
            return resolve(self.fallback)


def resolve(path: str) -> Callable:
    """The object at ``"package.module:attribute"``."""
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)


def _default(*, features, seed: int = 0, epochs: int | None = None):
    from .estimators import make_default

    return make_default(seed=seed, log_duration=bool(features) and features[0] == "duration_ms")


def _original(*, features, seed: int = 0, epochs: int | None = None):
    from .estimators import make_original

    return make_original(seed=seed, **({"epochs": epochs} if epochs else {}))


RECIPES: dict[str, Recipe] = {
    r.name: r
    for r in (
        Recipe(
            "default",
            "features",
            _default,
            tuple(MODEL_FEATURE_NAMES),
            "Default feature model: log(duration) and standardisation, then a soft vote of three "
            "small MLPs (16 ReLU units, L2 alpha=3, L-BFGS, 200 iterations) and a logistic "
            "regression; exported to a numpy runtime.",
        ),
        Recipe(
            "original",
            "features",
            _original,
            tuple(MODEL_FEATURE_NAMES),
            "The seed project's network: MinMaxScaler -> Dense(8, relu) -> Dense(4, softmax), "
            "Adam, categorical cross-entropy, 300 epochs, batch 200 (Keras 3 on TensorFlow); "
            "weights exported to a numpy runtime.",
        ),
        Recipe(
            "audio",
            "audio",
            "trackmood.model.audio_train:recipe",
            None,
            "Mood from the audio itself (see trackmood.model.audio_train).",
            fallback="trackmood.model.audio_train:train_from_folder",
        ),
    )
}

#: Recipes that read feature tables (``trackmood train --recipe``/``evaluate --kind``).
KINDS = tuple(n for n, r in RECIPES.items() if r.kind == "features")


def get_recipe(name: str) -> Recipe:
    """The registered recipe ``name``; :class:`DataError` naming the known ones otherwise."""
    try:
        return RECIPES[name]
    except KeyError:
        raise DataError(f"unknown model kind {name!r}; use one of {', '.join(RECIPES)}") from None


def make_estimator(
    name: str, *, features=MODEL_FEATURE_NAMES, seed: int = 0, epochs: int | None = None
):
    """A fresh, unfitted estimator of the features recipe ``name``."""
    recipe = get_recipe(name)
    if recipe.kind != "features":
        raise DataError(f"recipe {name!r} reads audio, not feature tables")
    return recipe.builder()(features=list(features), seed=seed, epochs=epochs)


def check_features(features, recipe: str = "default") -> list[str]:
    """Validate a user's feature list against the schema (default: the recipe's list)."""
    default = get_recipe(recipe).features or MODEL_FEATURE_NAMES
    features = list(features) if features else list(default)
    unknown = [f for f in features if f not in SCHEMA]
    if unknown:
        raise DataError(
            f"unknown feature(s) {', '.join(unknown)}; choose from {', '.join(MODEL_FEATURE_NAMES)}",
            param="features",
        )
    if len(set(features)) != len(features):
        raise DataError(f"feature list has duplicates: {', '.join(features)}", param="features")
    if "duration_ms" in features and features[0] != "duration_ms":
        features.remove("duration_ms")
        features.insert(0, "duration_ms")  # the log step works on column 0
    return features


def parse_sources(sources: Sequence) -> list:
    """``LabeledSource`` objects from sources or ``"PATH[:Old=New,...]"`` strings."""
    from ..datasets import LabeledSource

    out = [s if isinstance(s, LabeledSource) else LabeledSource.parse(str(s)) for s in sources]
    if not out:
        raise DataError("no training data given: pass at least one labeled table")
    return out


def audio_source(sources: Sequence) -> Path:
    """The one folder an audio recipe trains on."""
    items = [getattr(s, "path", s) for s in sources]
    if len(items) != 1:
        raise DataError(
            f"an audio recipe trains on one folder of labelled audio; got {len(items)} inputs"
        )
    return Path(items[0])
