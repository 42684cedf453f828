"""The one place where library code asks for moods: every scan, the beets plugin and the personal
model go through :func:`analyse_iter` / :func:`analyse` / :func:`predict_results`.

It extracts with :func:`trackmood.audio.parallel.extract_many` (all cores, content-hash cache in
the store, every finished file committed at once, so a killed scan resumes where it stopped) and,
as soon as a file's features arrive, scores it through the one pipeline: the musicnn embedding
(:func:`trackmood.audio.embed_many.embed_results`, cached in the store) when the model reads it,
:func:`trackmood.sources.audio.results_frame` and :func:`trackmood.pipeline.score_audio` (which
validates, predicts, estimates valence/energy and writes the library). It yields per file rather
than returning one frame so a caller can commit each result and show one progress bar.
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
    """Score extraction results (``{"id", "name", "path", "sha", "features"/"error"}``) through
    the pipeline: embed them when ``model`` reads the embedding, build their feature frame, and
    :func:`~trackmood.pipeline.score_audio` (which writes the library when ``store`` is given).

    Returns one dict per result: :data:`COLUMNS` plus ``sha`` and ``features``; ``status`` is
    ``ok``, ``failed`` (the file could not be analysed) or ``invalid`` (with ``reason``).
    """
    from ..pipeline import embed_patches, score_audio
    from ..sources.audio import results_frame

    if not results:
        return []
    k = embed_patches(model)
    if k:
        from ..audio.embed_many import embed_results

        embed_results(results, max_patches=k, store=store, workers=1)
    frame = results_frame(results)
    lacking = [f for f in model.features if f not in frame.columns]
    if lacking:  # no result was embedded (all failed): their rows stay failed
        import pandas as pd

        frame = pd.concat([frame, pd.DataFrame(float("nan"), frame.index, lacking)], axis=1)
    pred, _ = score_audio(frame, model, store=store)
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
        Cache of features (and embeddings) by content hash, and where predictions are written.
    model : str, Path or TrainedModel, optional
        Default: the library's default model, else the bundled audio model.
    workers : int, optional
        Local processes (default all cores).
    progress : callable(done, total), optional

    Yields
    ------
    dict
        :data:`COLUMNS` plus ``sha`` (content hash) and ``features``; ``status`` is ``ok``,
        ``failed`` or ``invalid`` (with ``reason``).
    """
    from ..audio.parallel import extract_many

    m = load(model, store=store)
    for res in extract_many(paths, workers=workers, store=store, progress=progress):
        yield predict_results([res], m, store=store)[0]


def analyse(paths, *, store=None, model=None, workers=None, progress=None) -> list[dict]:
    """:func:`analyse_iter` as a list."""
    return list(analyse_iter(paths, store=store, model=model, workers=workers, progress=progress))
