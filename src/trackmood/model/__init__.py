"""Models: estimators for training, a numpy runtime for predicting, persistence with model cards."""

from .persistence import BUNDLED, TrainedModel, load_model, save_model

__all__ = ["BUNDLED", "TrainedModel", "load_model", "save_model"]
