"""The Python API of earlier releases, as thin wrappers over :mod:`trackmood.pipeline`.

``predict_record`` stays the fast path for one track (no pandas import).

>>> import pandas as pd
>>> from trackmood import load_model, predict_frame
>>> tracks = pd.DataFrame([{"name": "quiet piano", "duration_ms": 200000, "danceability": 0.3,
...     "acousticness": 0.95, "energy": 0.1, "instrumentalness": 0.9, "liveness": 0.1,
...     "valence": 0.2, "loudness": -22.0, "speechiness": 0.04, "tempo": 80.0}])
>>> out = predict_frame(load_model("default"), tracks)
>>> list(out.columns)[:6]
['name', 'mood', 'p_calm', 'p_energetic', 'p_happy', 'p_sad']
>>> round(float(out[["p_calm", "p_energetic", "p_happy", "p_sad"]].sum(axis=1).iloc[0]), 6)
1.0
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .features import ID_COLUMNS, validate_record
from .model.persistence import TrainedModel, load_model
from .moods import MOODS, PROBA_COLUMNS
from .outputs import OUTPUT_FORMATS, AtomicOutput, output_format
from .pipeline import choose_model, uncertain_below

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "OUTPUT_FORMATS",
    "AtomicOutput",
    "choose_model",
    "load_model",
    "output_format",
    "predict_frame",
    "predict_record",
    "predict_table",
]


def _quadrant(record: dict) -> str:
    try:
        v, e = float(record["valence"]), float(record["energy"])
    except (KeyError, TypeError, ValueError):
        return ""
    if not (0 <= v <= 1 and 0 <= e <= 1):
        return ""
    return (
        f"{'positive' if v >= 0.5 else 'negative'} valence, {'high' if e >= 0.5 else 'low'} energy"
    )


def predict_record(model: TrainedModel, record: dict, *, file: object = None) -> dict:
    """Predict one track given as a dict (no pandas: the fast path for a single track).

    Raises :class:`~trackmood.errors.DataError` for a missing or bad feature.

    >>> from trackmood import load_model
    >>> rec = predict_record(load_model("default"), {"duration_ms": 180000, "danceability": 0.8,
    ...     "acousticness": 0.1, "energy": 0.8, "instrumentalness": 0.0, "liveness": 0.1,
    ...     "valence": 0.95, "loudness": -5.0, "speechiness": 0.05, "tempo": 120.0})
    >>> list(rec)[:2], rec["quadrant"], rec["status"]
    (['mood', 'p_calm'], 'positive valence, high energy', 'ok')
    """
    x = validate_record(record, model.features, file=file)
    proba = model.predict_proba(x[None, :])[0]
    classes = list(model.runtime.classes)
    probs = {
        col: float(proba[classes.index(m)]) if m in classes else 0.0
        for m, col in zip(MOODS, PROBA_COLUMNS, strict=True)
    }
    out = {k: record[k] for k in ID_COLUMNS if k in record}
    mood = MOODS[int(np.argmax([probs[c] for c in PROBA_COLUMNS]))]
    confidence = max(probs.values())
    return {
        **out,
        "mood": mood,
        **probs,
        "confidence": confidence,
        "uncertain": confidence < uncertain_below(model),
        "valence": float(record["valence"]) if "valence" in record else float("nan"),
        "energy": float(record["energy"]) if "energy" in record else float("nan"),
        "quadrant": _quadrant(record),
        "model": model.name,
        "status": "ok",
        "reason": None,
    }


def predict_frame(
    model: TrainedModel, df: pd.DataFrame, *, file: object = None, strict: bool = True
) -> pd.DataFrame:
    """Predict every row of ``df``: its identity columns, then the predictions schema.

    ``strict`` (the default here, as in earlier releases): raise :class:`DataError` naming file,
    row, column and value of the first bad cell; else bad rows are flagged ``invalid``.
    """
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


# -- earlier audio API (sources.audio.predict_audio), kept for callers of the old shape ---------
OUTPUT_COLUMNS = ("id", "path", "name", "mood", *PROBA_COLUMNS, "quadrant", "source", "error")


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
    """Mood of each audio file in the earlier shape (:data:`OUTPUT_COLUMNS`, ``error`` for failed
    files, a ``timeline`` list column); use :func:`trackmood.pipeline.run` in new code.
    """
    import pandas as pd

    from . import pipeline
    from .errors import DataError, SourceError
    from .outputs import timeline_png_path, write_timeline_png
    from .store import Store

    own = store is None
    st = Store() if own else (store or None)
    try:
        try:
            res = pipeline.run(
                list(paths), model=model, timeline=timeline, store=st, notify=notify,
                workers=workers,
            )  # fmt: skip
        except DataError as e:
            if "timeline window" in str(e):
                raise SourceError(f"{e} (--timeline)") from None
            raise
    finally:
        if own and st is not None:
            st.close()
    p = res.predictions
    df = pd.DataFrame({c: p[c] for c in ("id", "path", "name", "mood", *PROBA_COLUMNS)})
    ok = p["status"] == "ok"
    df["quadrant"] = np.where(ok, p["mood"].map(_mood_quadrant), None)
    df["source"] = np.where(ok, "audio:librosa", None)
    df["error"] = p["reason"].where(~ok, None)
    if timeline:
        tl = res.timeline
        df["timeline"] = [
            tl[tl["path"] == path].drop(columns=["id", "path", "name"]).to_dict("records")
            if is_ok
            else None
            for path, is_ok in zip(df["path"], ok, strict=True)
        ]
        if out is not None and ok.any():
            png = write_timeline_png(
                [(r.name, r.timeline) for r in df[ok].itertuples()], timeline_png_path(out)
            )
            if notify:
                notify(f"wrote mood timeline to {png}")
    return df


def _mood_quadrant(mood):
    from .moods import quadrant

    return quadrant(mood) if isinstance(mood, str) else None


def timeline_table(predictions: pd.DataFrame) -> pd.DataFrame:
    """One row per window from :func:`predict_audio`'s ``timeline`` column."""
    import pandas as pd

    rows = [
        {"id": r.id, "path": r.path, "name": r.name, **w}
        for r in predictions.itertuples()
        for w in getattr(r, "timeline", None) or []
    ]
    return pd.DataFrame(
        rows, columns=["id", "path", "name", "start", "end", "mood", *PROBA_COLUMNS]
    )
