"""The user's own audio files as a feature source: extraction tables and mood predictions.

``predict_audio`` is what ``trackmood predict song.mp3 ~/Music/...`` calls; ``extract_table`` is
what ``trackmood extract`` writes. Both go through :func:`trackmood.audio.parallel.extract_many`
(all cores, content-hash cache in the library store, one-line error per bad file).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ModelError, SourceError
from ..moods import MOODS, PROBA_COLUMNS

SOURCE = "audio:librosa"
OUTPUT_COLUMNS = ("id", "path", "name", "mood", *PROBA_COLUMNS, "quadrant", "source", "error")


def _open_store(store):
    """``None`` → the library (``$TRACKMOOD_DB`` or the user data folder); ``False`` → no store."""
    if store is False:
        return None, False
    if store is None:
        from ..store import Store

        return Store(), True
    return store, False


def _load_audio_model(model):
    from ..audio.extract import DESCRIPTORS
    from ..model.persistence import TrainedModel, load_model

    m = (
        model
        if isinstance(model, TrainedModel)
        else load_model(model if model is not None else "audio")
    )
    if m.card.get("kind") != "audio" or not set(m.features) <= set(DESCRIPTORS):
        raise ModelError(
            f"model {m.name!r} reads Spotify-style feature tables, not audio; use "
            "--model audio or a model trained with 'trackmood train --audio DIR'"
        )
    return m


def _progress(total_hint: bool, description: str):
    """A rich progress bar on stderr when it is a terminal; else a no-op."""
    if not sys.stderr.isatty():
        return None
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn(description),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )


def _run(
    paths,
    *,
    window=None,
    workers=None,
    scheduler=None,
    store=None,
    progress=None,
    description="analysing audio",
) -> list[dict]:
    from ..audio.parallel import extract_many

    bar = _progress(True, description) if progress is None else None
    if bar is None:
        return list(
            extract_many(
                paths,
                workers=workers,
                scheduler=scheduler,
                store=store,
                window=window,
                progress=progress,
            )
        )
    with bar:
        task = bar.add_task(description, total=None)

        def tick(done, total):
            bar.update(task, completed=done, total=total)

        return list(
            extract_many(
                paths,
                workers=workers,
                scheduler=scheduler,
                store=store,
                window=window,
                progress=tick,
            )
        )


def predict_audio(
    paths: list[str],
    *,
    model=None,
    timeline: float | None = None,
    out=None,
    notify: Callable[[str], None] | None = None,
    store=None,
    workers: int | None = None,
    scheduler=None,
) -> pd.DataFrame:
    """Mood of each audio file (files and folders, recursive).

    Parameters
    ----------
    paths : list of str
        Audio files and folders.
    model : str, Path or TrainedModel, optional
        An audio model (default: the bundled ``audio`` model).
    timeline : float, optional
        Also predict each ``timeline``-second window: column ``timeline`` holds a list of
        ``{start, end, mood, p_*}`` per track, and a PNG strip is written next to ``out``.
    out : str or Path, optional
        Where the caller writes the table; the timeline PNG goes to ``<out stem>.timeline.png``.
    notify : callable(str), optional
        Messages for the user (stderr).
    store : Store, False or None
        Cache and library (default the user's library; ``False`` for none).
    workers : int, optional
        Local processes (default all cores).
    scheduler : str or distributed.Client, optional
        Run the extraction on a Dask cluster.

    Returns
    -------
    pandas.DataFrame
        ``id, path, name, mood, p_calm, p_energetic, p_happy, p_sad, quadrant, source, error``
        (+ ``timeline``); failed files have ``error`` set and empty predictions.
    """
    from ..audio.extract import DESCRIPTORS  # noqa: F401 (checks the model's inputs)
    from ..audio.timeline import full_proba, window_rows
    from ..predict import assemble

    if timeline is not None and not (timeline > 0 and math.isfinite(timeline)):
        raise SourceError(f"--timeline {timeline!r} must be a positive number of seconds")
    m = _load_audio_model(model)
    st, own = _open_store(store)
    try:
        results = _run(
            paths,
            window=timeline,
            workers=workers,
            scheduler=scheduler,
            store=st,
            description="predicting",
        )
        ok = [r for r in results if "features" in r]
        rows = []
        if ok:
            X = np.array(
                [[r["features"].get(f, np.nan) for f in m.features] for r in ok], dtype=float
            )
            X = np.nan_to_num(X, nan=0.0, posinf=0.0, neginf=0.0)
            ids = pd.DataFrame(
                {
                    "id": [r["id"] for r in ok],
                    "name": [r["name"] for r in ok],
                    "path": [r["path"] for r in ok],
                }
            )
            pred = assemble(ids, full_proba(m.predict_proba(X), m.runtime.classes), MOODS)
            pred["source"] = SOURCE
            pred["error"] = None
            if timeline:
                pred["timeline"] = [window_rows(r.get("windows") or [], m) for r in ok]
            rows.append(pred)
        bad = [r for r in results if "features" not in r]
        if bad:
            err = pd.DataFrame(
                {
                    "id": [r["id"] for r in bad],
                    "path": [r["path"] for r in bad],
                    "name": [r["name"] for r in bad],
                    "error": [r["error"] for r in bad],
                }
            )
            rows.append(err)
            if notify:
                for r in bad:
                    notify(f"skipped: {r['error']}")
        cols = list(OUTPUT_COLUMNS) + (["timeline"] if timeline else [])
        if not rows:
            return pd.DataFrame(columns=cols)
        df = pd.concat([r for r in rows if len(r)], ignore_index=True) if len(rows) > 1 else rows[0]
        for c in cols:
            if c not in df.columns:
                df[c] = None
        order = _input_order(paths, results)
        df = df.assign(_o=df["path"].map(order)).sort_values("_o").drop(columns="_o")
        df = df[cols].reset_index(drop=True)
        if st is not None and ok:
            st.put_predictions(
                m.name,
                [
                    {
                        "id": r.id,
                        "mood": r.mood,
                        **{c: float(getattr(r, c)) for c in PROBA_COLUMNS},
                        "extra": {"timeline": r.timeline, "window": timeline} if timeline else None,
                    }
                    for r in df[df["error"].isna()].itertuples()
                ],
            )
        if timeline and out is not None and ok:
            from ..audio.timeline import save_strips

            png = Path(out).with_suffix(".timeline.png")
            save_strips([(r.name, r.timeline) for r in df[df["error"].isna()].itertuples()], png)
            if notify:
                notify(f"wrote mood timeline to {png}")
        return df
    finally:
        if own and st is not None:
            st.close()


def _input_order(paths, results) -> dict[str, int]:
    """Position of each result's path in the order the inputs were given (folders sorted)."""
    from ..audio.parallel import find_audio

    listed = {str(p): i for i, p in enumerate(find_audio(paths))}
    return {r["path"]: listed.get(r["path"], len(listed) + i) for i, r in enumerate(results)}


def timeline_table(predictions: pd.DataFrame) -> pd.DataFrame:
    """One row per window: ``id, path, name, start, end, mood, p_*`` (from ``predict_audio``'s
    ``timeline`` column).
    """
    rows = []
    for r in predictions.itertuples():
        for w in getattr(r, "timeline", None) or []:
            rows.append({"id": r.id, "path": r.path, "name": r.name, **w})
    return pd.DataFrame(
        rows, columns=["id", "path", "name", "start", "end", "mood", *PROBA_COLUMNS]
    )


def extract_table(
    paths: list[str],
    *,
    workers: int | None = None,
    scheduler=None,
    store=None,
    progress: Callable[[int, int], None] | None = None,
    notify: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """The features table of ``trackmood extract``: ``id, path, name``, the Spotify-style columns
    (measured; ``*_est`` flagged estimates; Spotify-only columns left empty), ``a_*``
    descriptors, ``decoder`` and ``error``.
    """
    from ..audio.extract import DESCRIPTORS, EMPTY, ESTIMATED, MEASURED

    st, own = _open_store(store)
    try:
        results = _run(
            paths,
            workers=workers,
            scheduler=scheduler,
            store=st,
            progress=progress,
            description="extracting",
        )
    finally:
        if own and st is not None:
            st.close()
    order = _input_order(paths, results)
    results = sorted(results, key=lambda r: order[r["path"]])
    cols = ["id", "path", "name", *MEASURED, *ESTIMATED, *EMPTY, *DESCRIPTORS, "decoder", "error"]
    rows = []
    for r in results:
        row = {"id": r["id"], "path": r["path"], "name": r["name"], "error": r.get("error")}
        if "features" in r:
            row.update(
                {k: r["features"].get(k) for k in (*MEASURED, *ESTIMATED, *EMPTY, *DESCRIPTORS)}
            )
            row["decoder"] = r.get("decoder")
        elif notify:
            notify(f"skipped: {r['error']}")
        rows.append(row)
    df = pd.DataFrame(rows, columns=cols)
    num = [*MEASURED, *ESTIMATED, *EMPTY, *DESCRIPTORS]
    df[num] = df[num].apply(pd.to_numeric, errors="coerce")
    return df
