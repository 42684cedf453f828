"""trackmood: predict the mood of music tracks (Energetic, Calm, Happy, Sad) from audio features.

The Python API; :func:`run` (from :mod:`trackmood.pipeline`) is the one way through that the CLI
and the web app call too:

>>> from trackmood import load_model, predict_frame, run, MOODS
>>> MOODS
('Calm', 'Energetic', 'Happy', 'Sad')
>>> run("examples/tracks.csv").predictions["status"].unique().tolist()  # doctest: +SKIP
['ok']
>>> import pandas as pd
>>> tracks = pd.DataFrame([{"name": "quiet piano", "duration_ms": 200000, "danceability": 0.3,
...     "acousticness": 0.95, "energy": 0.1, "instrumentalness": 0.9, "liveness": 0.1,
...     "valence": 0.2, "loudness": -22.0, "speechiness": 0.04, "tempo": 80.0}])
>>> out = predict_frame(load_model("default"), tracks)
>>> list(out.columns)[:6]
['name', 'mood', 'p_calm', 'p_energetic', 'p_happy', 'p_sad']
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

    from .model.persistence import TrainedModel

__version__ = "0.1.0"

# Lazy attributes: ``import trackmood`` stays cheap (no pandas) so a one-track predict starts fast.
_API = {
    "LabeledSource": "datasets",
    "load_labeled": "datasets",
    "pool": "datasets",
    "read_table": "tables",
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
    "MOOD_COLORS": "moods",
    "LabelMap": "moods",
    "quadrant_of": "moods",
    "quadrants": "moods",
    "predict_record": "predictions",
    "run": "pipeline",
    "predict_features": "pipeline",
    "Store": "store",
    "train_model": "model.train",
    "evaluate": "model.evaluate",
}
__all__ = sorted([*_API, "predict_frame", "predict_table"])


def predict_frame(
    model: TrainedModel, df: pd.DataFrame, *, file: object = None, strict: bool = True
) -> pd.DataFrame:
    """Predict every row of ``df``: its identity columns, then the predictions schema.

    ``strict`` (the default here): raise :class:`DataError` naming file, row, column and value of
    the first bad cell; else bad rows are flagged ``invalid`` (as :func:`run` does).
    """
    from .features import ID_COLUMNS
    from .pipeline import as_feature_frame, score

    pred = score(as_feature_frame(df), model, file=file, strict=strict)
    return pred.drop(columns=[c for c in ID_COLUMNS if c in pred and c not in df.columns])


def predict_table(
    path: str | Path,
    *,
    model: str | Path | None = None,
    out: str | Path | None = None,
    fmt: str | None = None,
    chunksize: int = 200_000,
    strict: bool = False,
    notify: Callable[[str], None] | None = None,
    progress=None,
) -> int:
    """Stream a CSV/Parquet/JSON table through a model into ``out`` (stdout if ``None``).

    Returns the number of rows written. On any error no output file is left behind.
    """
    from .outputs import AtomicOutput, output_format
    from .pipeline import stream

    n = 0
    with AtomicOutput(out, output_format(out, fmt), inputs=[path]) as sink:
        for chunk in stream(
            [str(path)],
            model=model,
            strict=strict,
            chunksize=chunksize,
            notify=notify,
            progress=progress,
        ):
            sink.write(chunk)
            n += len(chunk)
    return n


def __getattr__(name: str):
    if name in _API:
        value = getattr(import_module(f".{_API[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'trackmood' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)
