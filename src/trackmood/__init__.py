"""trackmood: predict the mood of music tracks (Energetic, Calm, Happy, Sad) from audio features.

The Python API; :func:`run` (from :mod:`trackmood.pipeline`) is the one way through that the CLI
and the web app call too:

>>> from trackmood import load_model, predict_frame, run, MOODS
>>> MOODS
('Calm', 'Energetic', 'Happy', 'Sad')
>>> run("examples/tracks.csv").predictions["status"].unique().tolist()  # doctest: +SKIP
['ok']
"""

from importlib import import_module

__version__ = "0.1.0"

# Lazy attributes: ``import trackmood`` stays cheap (no pandas) so a one-track predict starts fast.
_API = {
    "LabeledSource": "datasets",
    "load_labeled": "datasets",
    "pool": "datasets",
    "read_table": "datasets",
    "DataError": "errors",
    "LabelError": "errors",
    "ModelError": "errors",
    "SourceError": "errors",
    "TrackmoodError": "errors",
    "MODEL_FEATURE_NAMES": "features",
    "MODEL_FEATURES": "features",
    "TrainedModel": "model.persistence",
    "load_model": "model.persistence",
    "save_model": "model.persistence",
    "MOODS": "moods",
    "LabelMap": "moods",
    "quadrant": "moods",
    "predict_frame": "predict",
    "predict_record": "predict",
    "predict_table": "predict",
    "run": "pipeline",
    "predict_features": "pipeline",
    "Store": "store",
    "train_model": "model.train",
    "evaluate": "model.evaluate",
}
__all__ = sorted(_API)


def __getattr__(name: str):
    if name in _API:
        value = getattr(import_module(f".{_API[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'trackmood' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)
