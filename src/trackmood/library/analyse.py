"""The one place where library code asks for moods: every scan, the beets plugin and the personal
model go through :func:`analyse_iter` / :func:`analyse`.

Today it extracts with :func:`trackmood.audio.parallel.extract_many` (all cores, content-hash cache
in the store, every finished file committed at once, so a killed scan resumes where it stopped)
and predicts each file with the audio model as soon as its features arrive, with the columns of
the pipeline's predictions frame (``reason`` where the audio source says ``error``). It yields per
file rather than returning one frame so a caller can commit each result and show one progress bar
(``sources.audio.predict_audio`` returns one frame at the end and opens a progress display of its
own, which cannot run inside the scan's).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np

from ..moods import MOODS, PROBA_COLUMNS

#: Columns of every result dict (as the pipeline's predictions frame, plus ``sha`` and ``features``).
COLUMNS = (
    "id",
    "path",
    "name",
    "mood",
    *PROBA_COLUMNS,
    "confidence",
    "uncertain",
    "valence",
    "energy",
    "model",
    "status",
    "reason",
)


def load(model=None, *, store=None):
    """The audio model to use: ``model`` if given, else the library's default (a personal model
    adopted by ``train_personal``), else the bundled ``audio`` model.
    """
    from ..sources.audio import _load_audio_model
    from .catalog import default_model

    if model is None and store is not None:
        model = default_model(store)
    return _load_audio_model(model)


def predict_features(model, features: list[dict]) -> np.ndarray:
    """Probabilities in :data:`MOODS` order for descriptor dicts."""
    from ..audio.timeline import full_proba

    X = np.array([[f.get(k, np.nan) for k in model.features] for f in features], dtype=float)
    X = np.nan_to_num(X, nan=0.0, posinf=0.0, neginf=0.0)
    return full_proba(model.predict_proba(X), model.runtime.classes)


def _row(res: dict, model, proba: np.ndarray | None) -> dict:
    row = dict.fromkeys(COLUMNS)
    row.update(
        id=res.get("id"),
        path=res["path"],
        name=res.get("name") or Path(res["path"]).stem,
        model=model.name,
        sha=res.get("sha"),
        features=res.get("features"),
    )
    if proba is None:
        row.update(status="error", reason=res.get("error") or "analysis failed")
        return row
    best = int(proba.argmax())
    row.update({c: float(proba[j]) for j, c in enumerate(PROBA_COLUMNS)})
    row.update(mood=MOODS[best], confidence=float(proba[best]), status="ok")
    return row


def analyse_iter(
    paths: Iterable[str | Path],
    *,
    store=None,
    model=None,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Iterator[dict]:
    """Analyse audio files (and folders) and yield one prediction dict per file as it finishes.

    Parameters
    ----------
    paths : iterable of str or Path
    store : trackmood.store.Store, optional
        Cache of features by content hash, and where predictions are written.
    model : str, Path or TrainedModel, optional
        Default: the library's default model, else the bundled audio model.
    workers : int, optional
        Local processes (default all cores).
    progress : callable(done, total), optional

    Yields
    ------
    dict
        :data:`COLUMNS` plus ``sha`` (content hash) and ``features``; ``status`` is ``ok`` or
        ``error`` (with ``reason``).
    """
    from ..audio.parallel import extract_many

    m = load(model, store=store)
    for res in extract_many(paths, workers=workers, store=store, progress=progress):
        if "features" not in res:
            yield _row(res, m, None)
            continue
        row = _row(res, m, predict_features(m, [res["features"]])[0])
        if store is not None:
            store.put_predictions(
                m.name,
                [{"id": row["id"], "mood": row["mood"], **{c: row[c] for c in PROBA_COLUMNS}}],
            )
        yield row


def analyse(paths, *, store=None, model=None, workers=None, progress=None) -> list[dict]:
    """:func:`analyse_iter` as a list."""
    return list(analyse_iter(paths, store=store, model=model, workers=workers, progress=progress))
