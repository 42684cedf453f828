"""Every call from the web app to prediction goes through this module (and only this one).

The routes hand it parsed input; it returns the response payload (``model``, ``count``,
``errors``, ``messages``, ``predictions``) with rows in the predictions schema. To move the web
onto another prediction engine, only the four public functions here change:

- :func:`predict_rows` — a feature table (upload) → predictions, bad rows flagged;
- :func:`predict_tracks` — validated JSON tracks → predictions (fast path, else
  :func:`predict_rows`);
- :func:`predict_audio` — saved audio files → features in the worker pool → predictions;
- :func:`predict_spotify` — Spotify references → predictions.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

import numpy as np
import pandas as pd

from ..errors import DataError
from ..features import invalid_rows, normalize_columns, validate
from ..moods import MOODS, PROBA_COLUMNS
from . import limits
from .errors import ApiError
from .rows import payload, row, set_mood
from .util import clean, display_name, num, text


# ------------------------------------------------------------------------------- tables
def synthetic_id(r: dict, features, values) -> str:
    """A stable id for a row without one: a hash of its name, artist and feature values."""
    key = json.dumps(
        [r.get("name"), r.get("artist"), list(features), [round(float(v), 9) for v in values]]
    )
    return "feat:" + hashlib.sha256(key.encode()).hexdigest()[:20]


def _row_error(frame: pd.DataFrame, features, file) -> str | None:
    try:
        validate(frame, features, file=file)
    except DataError as e:
        return str(e)
    except (TypeError, ValueError, OverflowError):
        r = int(frame["_row"].iloc[0]) if "_row" in frame.columns else None
        return str(DataError("not a number", file=file, row=r))
    return None


def predict_rows(state, df: pd.DataFrame, *, file: str, source: str, store: bool = True) -> dict:
    """Predict every valid row of ``df``; the others get ``status`` ``invalid`` and a
    ``reason`` naming file, row, column and value.
    """
    from ..predict import predict_frame

    if len(df) > state.max_rows:
        raise ApiError(
            413,
            f"{file}: {len(df)} rows is more than the limit of {state.max_rows} rows per request",
        )
    df = df.reset_index(drop=True)
    if "_row" not in df.columns:
        df["_row"] = np.arange(1, len(df) + 1)
    model = state.model_for(df.columns, file=file)
    feats = model.features
    errors: dict[int, str] = {}
    for i in np.flatnonzero(invalid_rows(df, feats)):
        msg = _row_error(df.iloc[[i]], feats, file)
        if msg:
            errors[int(i)] = msg
    good = [i for i in range(len(df)) if i not in errors] if errors else list(range(len(df)))
    pred = None
    if good:
        try:
            pred = predict_frame(model, df.iloc[good] if errors else df, file=file)
        except DataError:  # our guess missed a bad cell: check every row exactly
            for i in good:
                msg = _row_error(df.iloc[[i]], feats, file)
                if msg:
                    errors[i] = msg
            good = [i for i in good if i not in errors]
            pred = predict_frame(model, df.iloc[good], file=file) if good else None
    n = len(df)

    def column(name, convert):
        return [convert(v) for v in df[name].tolist()] if name in df.columns else [None] * n

    ids, names = column("id", text), column("name", text)
    artists, albums = column("artist", text), column("album", text)
    valence, energy = column("valence", num), column("energy", num)
    row_numbers = df["_row"].tolist()
    rows = [
        row(
            row=int(row_numbers[i]),
            id=ids[i],
            name=names[i],
            artist=artists[i],
            album=albums[i],
            valence=valence[i],
            energy=energy[i],
            source=source,
            reason=errors.get(i),
        )
        for i in range(n)
    ]
    X = None
    if pred is not None:
        moods = pred["mood"].tolist()
        proba = pred[list(PROBA_COLUMNS)].to_numpy(dtype=float).tolist()
        X = df.iloc[good][feats].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
        for k, i in enumerate(good):
            r = rows[i]
            r["p_calm"], r["p_energetic"], r["p_happy"], r["p_sad"] = proba[k]
            r["model"] = model.name
            set_mood(r, moods[k])
            if not r["id"]:
                r["id"] = synthetic_id(r, feats, X[k])
    if store and pred is not None:
        extras = {
            c: [num(v) for v in df[c].iloc[good].tolist()]
            for c in ("key", "mode", "time_signature", "popularity")
            if c in df.columns
        }
        remember(state, rows, good, feats, X, model.name, source, extras)
    return payload(model.name, rows, [])


def predict_tracks(state, tracks: list, *, source: str, store: bool = True) -> dict:
    """Predict validated ``TrackIn`` objects; straight to the model when every track has every
    feature (types and ranges were checked by the request schema), else through
    :func:`predict_rows` with per-row reasons.
    """
    from .schemas import TrackIn

    model = state.model
    feats = model.features
    direct = all(f in TrackIn.model_fields for f in feats) and all(
        not t.model_extra and all(getattr(t, f) is not None for f in feats) for t in tracks
    )
    if not direct:
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
        df = normalize_columns(pd.DataFrame.from_records(records))
        df["_row"] = np.arange(1, len(df) + 1)
        return predict_rows(state, df, file="request", source=source, store=store)
    X = np.array([[getattr(t, f) for f in feats] for t in tracks], dtype=float)
    classes = list(model.classes_)
    proba = model.predict_proba(X)[:, [classes.index(m) for m in MOODS]]
    best = proba.argmax(axis=1).tolist()
    proba = proba.tolist()
    rows = []
    for i, t in enumerate(tracks):
        p = proba[i]
        r = row(
            row=i + 1,
            id=t.id,
            name=t.name,
            artist=t.artist,
            album=t.album,
            p_calm=p[0],
            p_energetic=p[1],
            p_happy=p[2],
            p_sad=p[3],
            mood=MOODS[best[i]],
            valence=t.valence,
            energy=t.energy,
            model=model.name,
            source=source,
        )
        if not r["id"]:
            r["id"] = synthetic_id(r, feats, X[i])
        rows.append(r)
    if store:
        remember(state, rows, list(range(len(rows))), feats, X, model.name, source, {})
    return payload(model.name, rows, [])


def remember(state, rows, good, feats, X, model_name, source, extras) -> None:
    """Keep the predicted rows, their features and predictions in the library (one commit)."""
    extra_cols = list(extras)
    with state.lock, state.store.transaction():
        state.store.upsert_tracks(
            [{k: rows[i][k] for k in ("id", "name", "artist", "album")} for i in good]
        )
        batch = []
        for k, i in enumerate(good):
            values = dict(zip(feats, X[k].tolist(), strict=False))
            for c in extra_cols:
                if extras[c][k] is not None:
                    values[c] = extras[c][k]
            batch.append((rows[i]["id"], values))
        state.store.put_features_many(batch, source=source)
        state.store.put_predictions(model_name, [rows[i] for i in good])


def fill_map_features(state, rows: list[dict]) -> None:
    """Give rows without valence/energy the values the library holds for them, if any."""
    ids = [
        r["id"]
        for r in rows
        if r.get("id") and (r.get("valence") is None or r.get("energy") is None)
    ]
    if not ids:
        return
    with state.lock:
        feats = state.store.get_features(ids)
    for r in rows:
        f = feats.get(r.get("id") or "", {})
        for name in ("valence", "energy"):
            if r.get(name) is None and name in f:
                r[name] = num(f[name][0])


# ------------------------------------------------------------------------------- audio
def predict_audio(
    state, files: list[tuple[str, str]], *, timeline: float | None = None, notify=None
) -> dict:
    """Predict saved audio files ``[(path on disk, the client's name)]``: features from the
    library's cache or the worker pool (the library lock is not held meanwhile), then the audio
    model (loaded once), then the library.
    """
    from . import audio_jobs as audio

    model = state.audio_model()
    notify = notify or (lambda m: None)
    results = audio.features(state, [p for p, _ in files], window=timeline)
    rows = audio_rows(model, results, [n for _, n in files], timeline=timeline)
    for r in rows:
        if r["reason"]:
            notify(f"skipped: {r['name']}: {r['reason']}")
        else:
            r["model"] = model.name
    audio.remember(state, model.name, rows, results, timeline=timeline)
    fill_map_features(state, rows)
    return payload(model.name, rows, [])


def audio_rows(
    model, results: list[dict], names: list[str], *, timeline: float | None
) -> list[dict]:
    """Prediction rows: the audio model on each file's features (and windows)."""
    from ..audio.timeline import full_proba, window_rows
    from . import audio_jobs as audio

    out = []
    ok = [i for i, r in enumerate(results) if "features" in r]
    proba = None
    if ok:
        X = np.array(
            [[results[i]["features"].get(f, np.nan) for f in model.features] for i in ok],
            dtype=float,
        )
        X = np.nan_to_num(X, nan=0.0, posinf=0.0, neginf=0.0)
        proba = full_proba(model.predict_proba(X), model.runtime.classes)
    where = {i: k for k, i in enumerate(ok)}
    for i, (res, name) in enumerate(zip(results, names, strict=True)):
        if i in where:
            p = proba[where[i]]
            r = row(
                row=i + 1,
                id=res["id"],
                name=name,
                source=audio.SOURCE,
                mood=MOODS[int(p.argmax())],
                **{c: float(v) for c, v in zip(PROBA_COLUMNS, p, strict=True)},
            )
            if timeline:
                r["timeline"] = clean(window_rows(res.get("windows") or [], model))
        else:
            reason = str(res.get("error") or "analysis failed")
            path = str(res.get("path") or "")
            if path:
                reason = reason.replace(path, name)
            r = row(row=i + 1, id=res.get("id"), name=name, source=audio.SOURCE, reason=reason)
            r["status"] = "failed"
        out.append(r)
    return out


# ------------------------------------------------------------------------------- Spotify
def predict_spotify(state, refs: list[str], *, notify: Callable[[str], None]) -> dict:
    """Predict Spotify tracks and playlists with the server's credentials."""
    from ..model.persistence import TrainedModel
    from ..sources import spotify

    ref = None if isinstance(state.settings.model, TrainedModel) else state.settings.model
    with state.lock:
        frame = spotify.predict_refs(refs, model=ref, notify=notify, store=state.store)
    rows = frame_rows(frame, default_source="spotify")
    if len(rows) > state.max_rows:
        rows = rows[: state.max_rows]
        notify(f"only the first {state.max_rows} tracks are shown")
    names = set()
    with state.lock:
        for r in rows:  # the source chose the model per track (with or without a duration)
            if r["mood"] and not r["model"]:
                latest = state.store.get_predictions(r["id"]) if r["id"] else []
                r["model"] = latest[0]["model"] if latest else state.model.name
            if r["mood"]:
                names.add(r["model"])
    fill_map_features(state, rows)
    return payload(", ".join(sorted(names)) if names else state.model.name, rows, [])


def frame_rows(frame: pd.DataFrame, *, default_source: str) -> list[dict]:
    """Rows of a source's prediction frame as prediction rows (``failed`` where no mood)."""
    out = []
    for k, rec in enumerate(frame.to_dict(orient="records")):
        name = text(rec.get("name"))
        path = text(rec.get("path"))
        r = row(
            row=k + 1,
            id=text(rec.get("id")),
            name=name if name is not None or not path else display_name(path),
            artist=text(rec.get("artist")),
            album=text(rec.get("album")),
            valence=num(rec.get("valence")),
            energy=num(rec.get("energy")),
            source=text(rec.get("source")) or default_source,
            model=text(rec.get("model")),
            reason=text(rec.get("reason")) or text(rec.get("error")) or None,
            **{c: num(rec.get(c)) for c in PROBA_COLUMNS},
        )
        set_mood(r, text(rec.get("mood")))
        if not r["mood"]:
            r["status"] = "failed"
            r["reason"] = r["reason"] or "no prediction"
        out.append(r)
    return out
