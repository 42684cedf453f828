"""The one way through: references → source → validate → model → predictions (→ store).

The CLI, the web app and the Python API all call this module. A bad row (an empty, non-numeric
or out-of-range feature) is reported with ``status='invalid'`` and its ``reason`` and is not
scored; the others are. With ``strict=True`` the first bad row raises
:class:`~trackmood.errors.DataError` instead.

>>> import pandas as pd
>>> frame = pd.DataFrame([{"name": "quiet piano", "duration_ms": 200000, "danceability": 0.3,
...     "acousticness": 0.95, "energy": 0.1, "instrumentalness": 0.9, "liveness": 0.1,
...     "valence": 0.2, "loudness": -22.0, "speechiness": 0.04, "tempo": 80.0},
...     {"name": "broken", "energy": None}])
>>> out = predict_features(frame)
>>> list(out.columns) == ["name", *PREDICTION_COLUMNS]
True
>>> out["status"].tolist(), out["quadrant"].iloc[0]
(['ok', 'invalid'], 'negative valence, low energy')
>>> out["reason"].iloc[1]
"row 2, column 'duration_ms': empty value"
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import DataError
from .features import ID_COLUMNS
from .persist import store_predictions as _store_predictions
from .persist import store_records as _store_records
from .pipeline_audio import (
    embed_patches,
    score_audio,
    score_results,
    timeline_frame,
    window_rows,
)
from .predictions import (
    INVALID,
    PREDICTION_COLUMNS,
    TIMELINE_COLUMNS,
    UNCERTAIN_BELOW,
    audio_model,
    choose_model,
    empty_features,
    load,
    quadrants,
    score,
    uncertain_below,
    validate,
)
from .sources.base import FAILED, OK, Notify

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "INVALID",
    "PREDICTION_COLUMNS",
    "TIMELINE_COLUMNS",
    "UNCERTAIN_BELOW",
    "Result",
    "audio_model",
    "choose_model",
    "kind_of",
    "load",
    "predict_features",
    "predict_records",
    "quadrants",
    "resolve",
    "run",
    "score",
    "score_audio",
    "score_results",
    "stream",
    "uncertain_below",
    "validate",
    "window_rows",
]


# -- which kind is each reference ---------------------------------------------------------------
def kind_of(ref: object) -> str:
    """``'table'``, ``'audio'``, ``'spotify'``, ``'frame'`` or ``'unknown'`` for one input."""
    from .audio.decode import AUDIO_SUFFIXES
    from .features import TABLE_SUFFIXES

    if hasattr(ref, "columns"):
        return "frame"
    ref = str(ref)
    p = Path(ref)
    suffix = p.suffix.lower()
    if suffix in TABLE_SUFFIXES:
        return "table"
    if suffix in AUDIO_SUFFIXES or p.is_dir():
        return "audio"
    if (
        ref.startswith("spotify:")
        or "open.spotify.com/" in ref
        or (len(ref) == 22 and ref.isalnum() and not p.exists())
    ):
        return "spotify"
    return "unknown"


def resolve(inputs) -> list[tuple[str, list]]:
    """Group ``inputs`` by kind, in input order: ``[(kind, refs), ...]``; unknown ones raise."""
    if isinstance(inputs, (str, Path)) or hasattr(inputs, "columns"):
        inputs = [inputs]
    groups: dict[str, list] = {}
    for ref in inputs:
        kind = kind_of(ref)
        if kind == "unknown":
            if not Path(ref).exists():
                raise DataError("no such file, and not a Spotify id or URL", file=ref)
            raise DataError(
                f"unsupported input type {Path(ref).suffix or '(no suffix)'!r}; "
                "expected a table (.csv/.parquet/.json), audio, or a Spotify reference",
                file=ref,
            )
        groups.setdefault(kind, []).append(ref)
    if not groups:
        raise DataError("nothing to predict: give a table, audio files or Spotify ids")
    return list(groups.items())


def as_feature_frame(frame: pd.DataFrame, *, provider: str = "input") -> pd.DataFrame:
    """An in-memory table with schema names, given the contract columns when it lacks them."""
    from .features import normalize_columns
    from .sources.base import frame_columns_ok
    from .sources.table import contract_frame

    if frame_columns_ok(frame.columns):
        return frame.reset_index(drop=True)
    return contract_frame(normalize_columns(frame), provider=provider)


def predict_features(
    frame: pd.DataFrame,
    *,
    model=None,
    strict: bool = False,
    notify: Notify | None = None,
    file: object = None,
    store=None,
) -> pd.DataFrame:
    """Predictions for an in-memory table of features (what the web app and notebooks call).

    ``model``: a name, folder or loaded :class:`TrainedModel` (default ``default``, or a bundled
    model without the features the table lacks). ``store``: keep the scored rows that have an
    ``id`` (with their features and provenance) in this library.
    """
    frame = as_feature_frame(frame, provider=f"file:{Path(str(file)).name}" if file else "input")
    empty = empty_features(frame) if model is None else ()
    chosen = choose_model(frame.columns, model, file=file, notify=notify, empty=empty)
    pred = score(frame, chosen, file=file, strict=strict)
    _store_predictions(store, chosen, frame, pred)
    return pred.drop(columns=[c for c in ID_COLUMNS if c in pred and pred[c].isna().all()])


def predict_records(
    rows: list[dict],
    *,
    model=None,
    strict: bool = False,
    notify: Notify | None = None,
    file: object = None,
    store=None,
) -> list[dict]:
    """:func:`predict_features` for a few rows of the feature contract given as dicts (the web
    API's requests of one track): the same predictions, one dict per row, without building a
    frame. Many rows, or cells that are not plain numbers, go through :func:`predict_features`.
    """
    from .predictions import SMALL, plain_records, score_records

    chosen = choose_model(set().union(*rows), model, file=file, notify=notify)
    if len(rows) > SMALL or not plain_records(rows, chosen.features):
        import pandas as pd

        frame = pd.DataFrame(rows)
        pred = predict_features(frame, model=chosen, strict=strict, file=file, store=store)
        out = pred.to_dict("records")
        for r in out:
            r["uncertain"] = None if pd.isna(r["uncertain"]) else bool(r["uncertain"])
        return out
    pred = score_records(rows, chosen, file=file, strict=strict)
    _store_records(store, chosen, rows, pred)
    empty = [c for c in ID_COLUMNS if c in pred[0] and all(r[c] is None for r in pred)]
    for r in pred:
        for c in empty:
            del r[c]
    return pred


# -- runs ---------------------------------------------------------------------------------------
@dataclass
class Result:
    """What :func:`run` returns."""

    #: One row per input item, the predictions schema (:data:`PREDICTION_COLUMNS`).
    predictions: pd.DataFrame
    #: The name of the model (several, comma-separated, when inputs needed different ones).
    model: str
    #: With a timeline: one row per window (:data:`TIMELINE_COLUMNS`); else ``None``.
    timeline: pd.DataFrame | None = None
    #: Every message the run gave (also sent to ``notify``).
    messages: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Rows per status: ``{'ok': n, 'invalid': n, 'failed': n}``."""
        s = self.predictions["status"].value_counts()
        return {k: int(s.get(k, 0)) for k in (OK, INVALID, FAILED)}


class _Run:
    """State of one run: loaded models (each loaded once), messages, store."""

    def __init__(self, model, strict, store, progress, notify, messages):
        self.requested, self.strict, self.store = model, strict, store
        self.progress, self.messages, self._notify = progress, messages, notify
        self.models: dict[str, Any] = {}
        self.refresh = False
        self.sources: dict = {}
        self.timeline = self.workers = self.scheduler = None
        self.chunksize = 200_000

    def notify(self, text: str) -> None:
        self.messages.append(text)
        if self._notify:
            self._notify(text)

    def table_model(self, columns, file, frame=None):
        """The model for a table's columns, chosen once per set of columns; ``frame`` (its
        first chunk) tells which columns are empty (a ``trackmood extract`` table).
        """
        key = ",".join(sorted(set(columns)))
        if key not in self.models:
            empty = empty_features(frame) if frame is not None and not self.requested else ()
            self.models[key] = choose_model(
                columns, self.requested, file=file, notify=self.notify, empty=empty
            )
        return self.models[key]


def stream(
    inputs,
    *,
    model=None,
    strict: bool = False,
    store=None,
    progress=None,
    notify: Notify | None = None,
    chunksize: int = 200_000,
    _run: _Run | None = None,
) -> Iterator[pd.DataFrame]:
    """Prediction chunks for tables (and in-memory frames), in bounded memory.

    Every chunk has the same columns for one input; ``progress('predicting rows', done, total)``.
    """
    from .sources.table import TableSource

    state = _run or _Run(model, strict, store, progress, notify, [])
    for kind, refs in resolve(inputs):
        if kind not in ("table", "frame"):
            raise DataError(f"only tables stream; {refs[0]} is {kind}")
        for ref in refs:
            if kind == "frame":
                frames = iter([as_feature_frame(ref)])
                file = None
            else:
                frames = TableSource(chunksize=chunksize).frames([ref], progress=progress)
                file = ref
            keep = None
            for chunk in frames:
                chosen = state.table_model(chunk.columns, file, chunk)
                if keep is None:  # identity columns: those the first chunk fills
                    keep = [c for c in ID_COLUMNS if c in chunk.columns and chunk[c].notna().any()]
                pred = score(chunk, chosen, file=file, strict=strict)
                _store_predictions(state.store, chosen, chunk, pred)
                yield pred.drop(columns=[c for c in ID_COLUMNS if c in pred and c not in keep])


def run(
    inputs,
    *,
    model=None,
    strict: bool = False,
    timeline: float | None = None,
    store=None,
    progress=None,
    notify: Notify | None = None,
    workers: int | None = None,
    chunksize: int = 200_000,
    refresh: bool = False,
    sources: dict | None = None,
    scheduler=None,
) -> Result:
    """Predict the mood of every input: tables, in-memory frames, audio files/folders, Spotify.

    Parameters
    ----------
    inputs : str, Path, DataFrame or a list of them
    model : str, Path or TrainedModel, optional
        Default ``default`` for tables (or a bundled one without the features a table lacks),
        ``audio`` for audio.
    strict : bool
        Raise :class:`DataError` at the first bad row instead of flagging it.
    timeline : float, optional
        Audio: also predict each window of this many seconds (``Result.timeline``).
    store : trackmood.store.Store, optional
        Where predictions (with features and provenance) are kept, and the audio cache.
    progress, notify : callables
        ``progress(stage, done, total)`` and ``notify(message)``.
    workers : int, optional
        Audio analysis processes (default all cores).
    scheduler : str, distributed.Client or trackmood.engine.WorkerPool, optional
        Run the audio analysis on a Dask cluster (``tcp://host:8786``) or on a pool the caller
        owns (the web app's) instead of local processes.
    refresh : bool
        Spotify: read playlists again even when their snapshot is unchanged.
    sources : dict, optional
        Ready-made sources by kind (e.g. ``{"spotify": SpotifySource(api=...)}``) to use instead
        of the default ones.
    """
    import pandas as pd

    if timeline is not None and not (timeline > 0 and math.isfinite(timeline)):
        raise DataError(
            f"timeline window {timeline!r} must be a positive number of seconds", param="timeline"
        )
    state = _Run(model, strict, store, progress, notify, [])
    state.refresh, state.sources = refresh, sources or {}
    state.timeline, state.workers, state.scheduler = timeline, workers, scheduler
    state.chunksize = chunksize
    parts, windows = [], []
    for kind, refs in resolve(inputs):
        pred, tl = SOURCES[kind](refs, state)
        parts.append(pred)
        if tl is not None:
            windows.append(tl)
    predictions = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    names = list(dict.fromkeys(m.name for m in state.models.values()))
    keep = [c for c in ID_COLUMNS if c in predictions.columns]
    predictions = predictions[keep + list(PREDICTION_COLUMNS)]
    tl = pd.concat(windows, ignore_index=True) if timeline and windows else None
    return Result(predictions, ", ".join(names), tl, state.messages)


# -- the sources, by kind (each: ``(refs, state) -> (predictions, timeline or None)``) ----------
def _tables(refs, state: _Run):
    import pandas as pd

    chunks = list(stream(refs, strict=state.strict, chunksize=state.chunksize, _run=state))
    return pd.concat(chunks, ignore_index=True), None


def _audio(refs, state: _Run):
    """Audio files through the audio engine (:class:`trackmood.engine.Engine`, via the audio
    source): descriptors and, when the model reads it, the embedding from one decode per file.
    """
    import pandas as pd

    from .sources.audio import AudioSource

    if "audio" not in state.models:
        state.models["audio"] = audio_model(state.requested)
    m = state.models["audio"]
    timeline = state.timeline
    src = state.sources.get("audio") or AudioSource(
        store=state.store,
        workers=state.workers,
        scheduler=state.scheduler,
        window=timeline,
        embed_patches=embed_patches(m),
    )
    frame = pd.concat(list(src.frames(refs, progress=state.progress, notify=state.notify)))
    pred, per_track = score_audio(
        frame, m, timeline=timeline, store=state.store, strict=state.strict
    )
    return pred, timeline_frame(frame, per_track)


def _spotify(refs, state: _Run):
    return _spotify_source(refs, state), None


def _spotify_source(refs, state: _Run):
    import pandas as pd

    src = state.sources.get("spotify")
    if src is None:
        from .sources.spotify import SpotifySource

        src = SpotifySource(store=state.store, refresh=state.refresh)
    parts = []
    for frame in src.frames(refs, progress=state.progress, notify=state.notify):
        frame = frame.reset_index(drop=True)
        ok = (frame["status"] == OK).to_numpy()
        dur = frame["duration_ms"].notna().to_numpy() if "duration_ms" in frame else ~ok
        # tracks without a duration are scored by a model that does without it
        for mask in ((ok & dur) | ~ok, ok & ~dur):
            part = frame[mask].reset_index(drop=True)
            if part.empty:
                continue
            good = part[part["status"] == OK]
            cols = [c for c in part.columns if len(good) == 0 or good[c].notna().all()]
            chosen = state.table_model(cols, None)
            pred = score(part, chosen, strict=state.strict)
            _store_predictions(state.store, chosen, part, pred)
            parts.append(pred.set_axis(np.flatnonzero(mask)))
    return pd.concat(parts).sort_index().reset_index(drop=True)


#: The sources by kind (:func:`resolve` names the kind of each input): add a kind here.
SOURCES: dict[str, Callable[..., tuple]] = {
    "table": _tables,
    "frame": _tables,
    "audio": _audio,
    "spotify": _spotify,
}
