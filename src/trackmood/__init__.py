"""trackmood: predict the mood of music tracks (Energetic, Calm, Happy, Sad) from audio features.

The Python API (the CLI and the web app only call these):

>>> from trackmood import load_model, predict_frame, MOODS
>>> MOODS
('Calm', 'Energetic', 'Happy', 'Sad')
"""
from .datasets import LabeledSource, load_labeled, pool, read_table
from .errors import DataError, LabelError, ModelError, SourceError, TrackmoodError
from .features import MODEL_FEATURE_NAMES, MODEL_FEATURES
from .model.persistence import TrainedModel, load_model, save_model
from .moods import MOODS, LabelMap, quadrant
from .predict import predict_frame, predict_table
from .store import Store

__version__ = "0.1.0"

__all__ = [
    "MOODS", "MODEL_FEATURES", "MODEL_FEATURE_NAMES", "DataError", "LabelError", "LabeledSource",
    "LabelMap", "ModelError", "SourceError", "Store", "TrackmoodError", "TrainedModel",
    "load_labeled", "load_model", "pool", "predict_frame", "predict_table", "quadrant",
    "read_table", "save_model",
]
