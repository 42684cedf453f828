"""Every call from the web app to prediction goes through this module (and only this one), and
from here through :mod:`trackmood.pipeline`, the one pipeline the CLI uses too.

The routes hand it parsed input; it returns the response payload (``model``, ``count``,
``errors``, ``messages``, ``predictions``) with rows in the predictions schema:

- :func:`predict_rows` — a feature table (upload) → :func:`pipeline.predict_features`;
- :func:`predict_tracks` — validated JSON tracks → a table → :func:`predict_rows`;
- :func:`predict_audio` — saved audio files → :func:`pipeline.run` with the audio engine on the
  app's worker pool;
- :func:`predict_spotify` — Spotify references → :func:`pipeline.run`.

The pipeline writes the library (``store=``); its transactions hold the app's lock.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable

import numpy as np
import pandas as pd

from .. import pipeline
from ..predictions import SMALL
from ..sources.base import OK
from . import limits
from .errors import ApiError
from .rows import payload, prediction_rows
from .util import clean


# ------------------------------------------------------------------------------- tables
def synthetic_id(name, artist, features, values) -> str:
    """A stable id for a row without one: a hash of its name, artist and feature values."""
    key = json.dumps([name, artist, list(features), [round(float(v), 9) for v in values]])
    return "feat:" + hashlib.sha256(key.encode()).hexdigest()[:20]


def _fill_ids(frame: pd.DataFrame, features) -> np.ndarray:
    """Give rows without an id a :func:`synthetic_id` (in place); which rows got one."""
    missing = frame["id"].isna().to_numpy()
    if missing.any():
        idx = np.flatnonzero(missing)
        X = frame[list(features)].iloc[idx].apply(pd.to_numeric, errors="coerce")
        X = X.to_numpy(dtype=float)

        def col(c):
            return frame[c].iloc[idx].tolist() if c in frame.columns else [None] * len(idx)

        names, artists = col("name"), col("artist")
        ids = frame["id"].astype(object).to_numpy(copy=True)
        for k, i in enumerate(idx):
            name = names[k] if isinstance(names[k], str) else None
            artist = artists[k] if isinstance(artists[k], str) else None
            ids[i] = synthetic_id(name, artist, features, X[k])
        frame["id"] = ids
    return missing


def predict_rows(state, df: pd.DataFrame, *, file: str, source: str, store: bool = True) -> dict:
    """Predict every valid row of ``df``; the others get ``status`` ``invalid`` and a
    ``reason`` naming file, row, column and value (the pipeline's policy, as in the CLI).
    """
    if len(df) > state.max_rows:
        raise ApiError(
            413,
            f"{file}: {len(df)} rows is more than the limit of {state.max_rows} rows per request",
        )
    messages: list[str] = []
    frame = pipeline.as_feature_frame(df, provider=source)  # schema names, contract columns
    model = state.model_for(frame.columns, file=file, notify=messages.append)
    synthetic = _fill_ids(frame, model.features)
    pred = pipeline.predict_features(
        frame,
        model=model,
        strict=False,
        notify=messages.append,
        file=file,
        store=state.locked_store() if store else None,
    )
    hide = synthetic & (pred["status"].to_numpy(dtype=object) != OK)
    if hide.any():  # an id of our own only for rows that were predicted
        pred["id"] = pred["id"].where(~hide, None)
    numbers = frame["_row"].tolist() if "_row" in frame.columns else None  # else 1, 2, ...
    rows = prediction_rows(pred, source=source, numbers=numbers)
    return payload(model.name, rows, messages)


def predict_tracks(state, tracks: list, *, source: str, store: bool = True) -> dict:
    """Predict validated ``TrackIn`` objects: one table through :func:`predict_rows`."""
    from .schemas import TrackIn

    keys: set = set()
    for t in tracks:  # the frame below has one column per distinct key: bound them first
        keys.update(t.model_extra or ())
        if len(keys) > limits.MAX_COLUMNS:
            raise ApiError(
                413,
                f"request: more than {limits.MAX_COLUMNS} distinct keys over the tracks; "
                "a track has one key per feature",
            )
    if (len(keys) + len(TrackIn.model_fields)) * len(tracks) > limits.MAX_CELLS:
        raise ApiError(413, f"request: more than {limits.MAX_CELLS:,} values; split it")
    records = [t.model_dump(exclude_none=True) for t in tracks]
    if keys:  # aliases among the keys: the table path renames them
        df = pd.DataFrame.from_records(records)
    elif len(records) <= SMALL:  # a few tracks: the pipeline's rows path, no frame
        return _predict_few(state, _track_rows(records, source), source=source, store=store)
    else:
        df = pd.DataFrame(_track_rows(records, source))
    return predict_rows(state, df, file="request", source=source, store=store)


def _predict_few(state, rows: list[dict], *, source: str, store: bool) -> dict:
    """:func:`predict_rows` for a few contract rows as dicts (the same response)."""
    messages: list[str] = []
    present = set().union(*rows)
    model = state.model_for(present, file="request", notify=messages.append)
    synthetic = []
    for r in rows:  # an id of our own for rows without one (kept only when predicted)
        synthetic.append(r.get("id") is None)
        if synthetic[-1]:
            name, artist = r.get("name"), r.get("artist")
            values = [float("nan") if r.get(f) is None else r[f] for f in model.features]
            r["id"] = synthetic_id(
                name if isinstance(name, str) else None,
                artist if isinstance(artist, str) else None,
                model.features,
                values,
            )
    pred = pipeline.predict_records(
        rows,
        model=model,
        notify=messages.append,
        file="request",
        store=state.locked_store() if store else None,
    )
    for p, hide in zip(pred, synthetic, strict=True):
        if hide and p["status"] != OK:
            p["id"] = None
    return payload(model.name, prediction_rows(pred, source=source), messages)


def _track_rows(records: list[dict], source: str) -> list[dict]:
    """Tracks whose keys are all schema names as rows of the feature contract (what
    :func:`pipeline.as_feature_frame` gives, without its renaming pass).
    """
    from ..features import SCHEMA, parse_track_id
    from .schemas import TrackIn

    present = set().union(*records)
    fields = [c for c in TrackIn.model_fields if c in present and c != "id"]
    return [
        {
            "id": parse_track_id(r.get("id")),
            **{c: r.get(c) for c in fields},
            "provenance": dict.fromkeys((k for k in r if k in SCHEMA), source),
            "status": OK,
            "reason": None,
        }
        for r in records
    ]


# ------------------------------------------------------------------------------- audio
def predict_audio(
    state, files: list[tuple[str, str]], *, timeline: float | None = None, notify=None
) -> dict:
    """Predict saved audio files ``[(path on disk, the client's name)]`` through
    :func:`pipeline.run` with the audio engine on the app's worker pool (descriptors and
    embedding from one decode, in a worker; the library lock is held only for cache reads and
    writes, not while a file is analysed). Rows and errors name the client's file, never our
    temporary path.
    """
    from ..sources.audio import SOURCE, AudioSource

    model = state.audio_model()
    store = state.locked_store()
    source = AudioSource(
        store=store,
        scheduler=state.pool,
        window=timeline,
        embed_patches=pipeline.embed_patches(model),
        lock=state.lock,
        names=dict(files),
    )
    result = pipeline.run(
        [p for p, _ in files],
        model=model,
        timeline=timeline,
        store=store,
        notify=notify,
        sources={"audio": source},
    )
    rows = prediction_rows(result.predictions, source=SOURCE)
    if timeline:
        per_id: dict = {}
        tl = result.timeline
        if tl is not None and len(tl):
            cols = [c for c in tl.columns if c not in ("id", "path", "name")]
            for tid, part in tl.groupby("id", sort=False):
                per_id[tid] = part[cols].to_dict("records")
        ok = result.predictions["status"].to_numpy(dtype=object) == OK
        for r, tid, good in zip(rows, result.predictions["id"], ok, strict=True):
            if good:
                r["timeline"] = clean(per_id.get(tid, []))
    return payload(result.model, rows, [])


# ------------------------------------------------------------------------------- Spotify
def predict_spotify(state, refs: list[str], *, notify: Callable[[str], None]) -> dict:
    """Predict Spotify tracks and playlists with the server's credentials, through
    :func:`pipeline.run`. The source waits on the network with its own connection to the
    library, so the app's lock is not held meanwhile (an in-memory library has only the app's
    connection: then the lock is held).
    """
    from ..sources.spotify import parse_ref
    from ..store import Store

    uris = []
    for ref in refs:
        kind, sid = parse_ref(ref)
        uris.append(f"spotify:{kind}:{sid}")
    shared = str(state.store.path) == ":memory:"
    with contextlib.ExitStack() as stack:
        if shared:
            stack.enter_context(state.lock)
            store = state.store
        else:
            store = stack.enter_context(Store(state.store.path))
        result = pipeline.run(uris, model=state.model, store=store, notify=notify)
    rows = prediction_rows(result.predictions, source="spotify")
    if len(rows) > state.max_rows:
        rows = rows[: state.max_rows]
        notify(f"only the first {state.max_rows} tracks are shown")
    return payload(result.model, rows, [])
