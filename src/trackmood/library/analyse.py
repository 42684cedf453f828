"""The one place where library code asks for moods: every scan, the beets plugin and the personal
model go through :func:`analyse_iter` / :func:`analyse` / :func:`predict_results`.

Files go through the audio engine (:class:`trackmood.engine.Engine`: all cores, each file decoded
once for descriptors and, when the model reads it, the musicnn embedding, in the same worker; the
content-keyed cache in the store, every finished file committed at once, so a killed scan resumes
where it stopped). As soon as a file's features arrive it is scored by the pipeline's audio
branch (:func:`trackmood.pipeline.score_results`: validation, prediction, valence/energy, the
library write). It yields per file rather than returning one frame so a caller can commit each
result and show one progress bar.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from ..predictions import PREDICTION_COLUMNS

#: Columns of every result dict (as the pipeline's predictions frame, plus ``path``, ``name``;
#: the dicts also carry ``sha`` and ``features``).
COLUMNS = ("id", "path", "name", *PREDICTION_COLUMNS)


def load(model=None, *, store=None):
    """The audio model to use: ``model`` if given, else the library's default (a personal model
    adopted by ``train_personal``), else the bundled ``audio`` model.
    """
    from ..predictions import audio_model
    from .catalog import default_model

    if model is None and store is not None:
        model = default_model(store)
    return audio_model(model)


def _value(v):
    """A plain Python value of a predictions cell (``None`` for NaN/NA)."""
    import pandas as pd

    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return None
    return v.item() if hasattr(v, "item") else v


def predict_results(results: list[dict], model, *, store=None) -> list[dict]:
    """Score engine results (``{"id", "name", "path", "sha", "features"/"error"}``, with the
    embedding columns when ``model`` reads them) through the pipeline's audio branch, which
    writes the library when ``store`` is given.

    Returns one dict per result: :data:`COLUMNS` plus ``sha`` and ``features``; ``status`` is
    ``ok``, ``failed`` (the file could not be analysed) or ``invalid`` (with ``reason``).
    """
    from ..pipeline import score_results

    if not results:
        return []
    _, pred = score_results(results, model, store=store)
    out = []
    for i, res in enumerate(results):
        row = {c: _value(pred[c].iloc[i]) if c in pred.columns else None for c in COLUMNS}
        row.update(
            id=res.get("id"),
            path=res["path"],
            name=res.get("name") or Path(res["path"]).stem,
            model=model.name,
            sha=res.get("sha"),
            features=res.get("features"),
        )
        if row["status"] != "ok" and not row["reason"]:
            row["reason"] = res.get("error") or "analysis failed"
        out.append(row)
    return out


def engine_for(model, *, store=None, workers=None, scheduler=None):
    """The audio engine that gives what ``model`` reads (descriptors, and the embedding)."""
    from ..engine import Engine
    from ..pipeline import embed_patches

    # record: the measured tempo, key, loudness … stay in the library (tag --fields, similar)
    return Engine(
        store=store,
        workers=workers,
        scheduler=scheduler,
        patches=embed_patches(model),
        record=True,
    )


def analyse_iter(
    paths: Iterable[str | Path],
    *,
    store=None,
    model=None,
    workers: int | None = None,
    scheduler=None,
    progress: Callable[[int, int], None] | None = None,
    found=None,
) -> Iterator[dict]:
    """Analyse audio files (and folders) and yield one prediction dict per file as it finishes.

    Parameters
    ----------
    paths : iterable of str or Path
    store : trackmood.store.Store, optional
        Cache of features (and embeddings) by content hash, and where predictions are written.
    model : str, Path or TrainedModel, optional
        Default: the library's default model, else the bundled audio model.
    workers : int, optional
        Local processes (default all cores).
    scheduler : str or distributed.Client, optional
        Analyse on a Dask cluster instead.
    progress : callable(done, total), optional
    found : trackmood.engine.Found, optional
        The files, when the caller has found them already.

    Yields
    ------
    dict
        :data:`COLUMNS` plus ``sha`` (content hash) and ``features``; ``status`` is ``ok``,
        ``failed`` or ``invalid`` (with ``reason``).
    """
    m = load(model, store=store)
    eng = engine_for(m, store=store, workers=workers, scheduler=scheduler)
    for res in eng.results(paths, progress=progress, found=found):
        yield predict_results([res], m, store=store)[0]


def analyse(
    paths, *, store=None, model=None, workers=None, scheduler=None, progress=None
) -> list[dict]:
    """:func:`analyse_iter` as a list."""
    return list(
        analyse_iter(
            paths,
            store=store,
            model=model,
            workers=workers,
            scheduler=scheduler,
            progress=progress,
        )
    )
