"""The predictions schema, the one validation policy and the choice of model.

:mod:`trackmood.pipeline` runs these for every input; they are here so that each module stays
short. Bad rows get ``status='invalid'`` and a ``reason``; ``strict=True`` raises the first.

>>> PREDICTION_COLUMNS[:2], PREDICTION_COLUMNS[-3:]
(('mood', 'p_calm'), ('model', 'status', 'reason'))
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import DataError, ModelError
from .features import ID_COLUMNS, SCHEMA, range_text
from .moods import MOODS, PROBA_COLUMNS, number_or_nan, quadrant_of, quadrants
from .sources.base import OK, Notify

if TYPE_CHECKING:
    import pandas as pd

    from .model.persistence import TrainedModel

INVALID = "invalid"
#: Below this confidence (the largest probability) a mood is marked uncertain, unless the model
#: card says otherwise (``uncertain_below``).
UNCERTAIN_BELOW = 0.5
#: The predictions schema, after the identity columns the input has (:data:`ID_COLUMNS`).
PREDICTION_COLUMNS: tuple[str, ...] = (
    "mood",
    *PROBA_COLUMNS,
    "confidence",
    "uncertain",
    "valence",
    "energy",
    "quadrant",
    "model",
    "status",
    "reason",
)
TIMELINE_COLUMNS = ("id", "path", "name", "start", "end", "mood", *PROBA_COLUMNS, "confidence")


# -- which model ------------------------------------------------------------------------------
def load(model=None, *, default: str = "default") -> TrainedModel:
    """A :class:`TrainedModel` as it is, or loaded from a bundled name or a folder."""
    from .model.persistence import TrainedModel, load_model

    if isinstance(model, TrainedModel):
        return model
    return load_model(default if model is None else model)


#: Bundled models for tables of measured audio features (``trackmood extract``), best first.
AUDIO_TABLE_MODELS = ("audio", "audio-descriptors")


def choose_model(
    columns: Iterable[str],
    requested=None,
    *,
    file: object = None,
    notify: Notify | None = None,
    empty: Iterable[str] = (),
) -> TrainedModel:
    """``requested`` (default ``default``; a loaded model is used as it is), or, when the input
    lacks features that a bundled model without them can do without, that model.

    ``empty``: columns the input has without a single value. Without ``requested``, a table
    whose Spotify-style features are missing or empty but which has the audio descriptors
    ``trackmood extract`` writes is scored by the bundled audio model that reads them.
    """
    from .model.persistence import BUNDLED

    columns = set(columns)
    model = load(requested)
    missing = [f for f in model.features if f not in columns]
    if requested is None:
        filled = columns - set(empty)
        unfilled = [f for f in model.features if f not in filled]
        alt = _audio_table_model(filled) if unfilled else None
        if alt is not None:
            if notify:
                notify(
                    f"no values for {_shorten(unfilled)}, but the audio descriptors "
                    f"'trackmood extract' writes: using bundled model {alt.name!r}"
                )
            return alt
    if not missing:
        return model
    if requested is None or _is_bundled(requested):
        for name in BUNDLED:
            try:
                alt = load(name)
            except ModelError:
                continue
            if alt.card.get("kind", "features") != model.card.get("kind", "features"):
                continue
            if not [f for f in alt.features if f not in columns]:
                if notify:
                    notify(
                        f"input lacks {', '.join(missing)}; using bundled model {name!r}, "
                        "which was trained without them"
                    )
                return alt
    raise missing_error(model, missing, file)


def empty_features(frame: pd.DataFrame) -> list[str]:
    """The schema's feature columns of ``frame`` without a single value (``empty=`` of
    :func:`choose_model`): a ``trackmood extract`` table leaves Spotify's learned ones empty.
    """
    return [c for c in frame.columns if c in SCHEMA and frame[c].isna().all()]


def _audio_table_model(filled: set) -> TrainedModel | None:
    """The first of :data:`AUDIO_TABLE_MODELS` whose every feature has values, if any."""
    for name in AUDIO_TABLE_MODELS:
        try:
            alt = load(name)
        except ModelError:
            continue
        if set(alt.features) <= filled:
            return alt
    return None


def _shorten(names: list[str], most: int = 6) -> str:
    """``'a, b, c'``, or the first ``most`` and how many there are in all."""
    if len(names) <= most:
        return ", ".join(names)
    return f"{', '.join(names[:most])}, … ({len(names)} in all)"


def missing_error(model, missing: list[str], file: object = None) -> DataError:
    """The one-line error for feature columns ``model`` reads that the input does not have."""
    if model.card.get("embedding") and any(f.startswith("mn_") for f in missing):
        return DataError(
            f"model {model.name!r} reads the musicnn embedding of the audio ({len(missing)} "
            "columns such as mn_pen000), which a 'trackmood extract' table does not hold: "
            "predict the audio files themselves, or score the table with model "
            "'audio-descriptors'",
            file=file,
        )
    return DataError(
        f"missing feature column(s) for model {model.name!r}: {_shorten(missing)}", file=file
    )


def _is_bundled(requested) -> bool:
    """A bundled model's name, or a bundled model already loaded (the web app's)."""
    from .model.persistence import BUNDLED, TrainedModel, bundled_dir

    if isinstance(requested, TrainedModel):
        path = requested.path
        return path is not None and Path(path).resolve().parent == bundled_dir().resolve()
    return str(requested) in BUNDLED


def audio_model(requested=None) -> TrainedModel:
    """An audio model (default the bundled ``audio``); a feature-table model is refused."""
    from .audio.extract import DESCRIPTORS

    m = load(requested, default="audio")
    readable = set(DESCRIPTORS)
    if m.card.get("embedding"):  # the musicnn embedding columns
        from .audio.embedding import feature_names

        readable |= set(feature_names(tags=True))
    if m.card.get("kind") != "audio" or not set(m.features) <= readable:
        raise ModelError(
            f"model {m.name!r} reads Spotify-style feature tables, not audio; use the "
            "bundled 'audio' model or one trained on an audio folder",
            param="model",
        )
    return m


def uncertain_below(model) -> float:
    """The model card's ``uncertain_below``, else :data:`UNCERTAIN_BELOW`."""
    v = model.card.get("uncertain_below")
    return float(v) if isinstance(v, (int, float)) else UNCERTAIN_BELOW


# -- validation: one place, one policy ---------------------------------------------------------
def _matrix(frame: pd.DataFrame, features: list[str]) -> np.ndarray | None:
    """``frame[features]`` as floats in one block when every column is numeric (not bool),
    else ``None`` (then each column is read by :func:`_numeric`). Reads the dtypes once: a
    column lookup per feature costs milliseconds on a wide frame (an audio row has ~580).
    """
    import pandas as pd

    is_num, is_bool = pd.api.types.is_numeric_dtype, pd.api.types.is_bool_dtype
    dtypes = dict(zip(frame.columns, frame.dtypes, strict=True))
    kinds = {d: is_num(d) and not is_bool(d) for d in set(dtypes.values())}
    if all(kinds[dtypes[f]] for f in features):
        return frame[features].to_numpy(dtype=float)
    return None


def _numeric(col: pd.Series) -> np.ndarray:
    import pandas as pd

    if col.dtype == object and col.map(lambda v: isinstance(v, bool)).any():
        col = col.map(lambda v: None if isinstance(v, bool) else v)
    return pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)


def validate(
    frame: pd.DataFrame, features, *, file: object = None, strict: bool = False
) -> pd.DataFrame:
    """Mark rows with a bad feature ``invalid`` with their reason (the first bad cell).

    Rows a source already marked ``failed`` stay so. ``strict``: raise the first bad row.
    """
    return _validate(frame, list(features), _matrix(frame, list(features)), file, strict)


def _validate(frame, features: list[str], X, file, strict: bool):
    import pandas as pd

    status = frame["status"].to_numpy(dtype=object).copy()
    reason = frame["reason"].to_numpy(dtype=object).copy()
    if X is not None and not (strict and (status != OK).any()):
        lo = np.array([SCHEMA[f].low if f in SCHEMA else -np.inf for f in features])
        hi = np.array([SCHEMA[f].high if f in SCHEMA else np.inf for f in features])
        with np.errstate(invalid="ignore"):
            if bool((np.isfinite(X) & (X >= lo) & (X <= hi)).all()):
                return frame  # the usual case: one vectorised check
    rows = frame["_row"].to_numpy() if "_row" in frame.columns else np.arange(1, len(frame) + 1)
    first = np.full(len(frame), -1)  # per row: the first bad feature, in feature order
    values = []
    for j, name in enumerate(features):
        vals = X[:, j] if X is not None else _numeric(frame[name])
        values.append(vals)
        with np.errstate(invalid="ignore"):
            bad = ~np.isfinite(vals)
            if name in SCHEMA:
                bad |= (vals < SCHEMA[name].low) | (vals > SCHEMA[name].high)
        first[bad & (first < 0) & (status == OK)] = j

    def error(i: int) -> DataError:
        name = features[first[i]]
        v, raw, where = values[first[i]][i], frame[name].iloc[i], int(rows[i])
        if np.isfinite(v):
            return DataError(range_text(name, v), file=file, row=where, column=name)
        if raw is None or (isinstance(raw, float) and math.isnan(raw)) or raw is pd.NA:
            return DataError("empty value", file=file, row=where, column=name)
        if np.isnan(v):
            return DataError("not a number", file=file, row=where, column=name, value=raw)
        return DataError("not a finite number", file=file, row=where, column=name)

    if strict:  # the first bad row, whatever made it bad
        bad_rows = np.flatnonzero((first >= 0) | (status != OK))
        if len(bad_rows):
            i = int(bad_rows[0])
            raise error(i) if first[i] >= 0 else DataError(str(reason[i]))
        return frame
    for k in np.flatnonzero(first >= 0):
        status[k], reason[k] = INVALID, str(error(int(k)))
    out = frame.copy()
    out["status"], out["reason"] = status, reason
    return out


# -- predictions ------------------------------------------------------------------------------
def _proba(model, X: np.ndarray) -> np.ndarray:
    """Probabilities in :data:`MOODS` order; moods a model was not trained on get 0."""
    proba = model.predict_proba(X)
    out = np.zeros((len(X), len(MOODS)))
    for j, c in enumerate(model.runtime.classes):
        out[:, MOODS.index(c)] = proba[:, j]
    return out


def score(frame: pd.DataFrame, model, *, file: object = None, strict: bool = False):
    """Validate ``frame`` (a feature frame of the contract) and predict its good rows.

    Returns the predictions frame: the identity columns ``frame`` has, then
    :data:`PREDICTION_COLUMNS`.
    """
    import pandas as pd

    missing = [f for f in model.features if f not in frame.columns]
    if missing:
        raise missing_error(model, missing, file)
    X = _matrix(frame, list(model.features))
    frame = _validate(frame, list(model.features), X, file, strict)
    n = len(frame)
    good = np.flatnonzero(frame["status"].to_numpy(dtype=object) == OK)
    proba = np.full((n, len(MOODS)), np.nan)
    if len(good):
        if X is None:
            X = np.column_stack([_numeric(frame[f]) for f in model.features])
        proba[good] = _proba(model, X[good] if len(good) < n else X)
    frame = frame.reset_index(drop=True)
    cols: dict[str, Any] = {c: frame[c] for c in ID_COLUMNS if c in frame.columns}
    mood = np.full(n, None, dtype=object)
    if len(good):
        mood[good] = np.asarray(MOODS, dtype=object)[proba[good].argmax(axis=1)]
    cols["mood"] = mood
    cols.update({c: proba[:, j] for j, c in enumerate(PROBA_COLUMNS)})
    conf = np.full(n, np.nan)
    conf[good] = proba[good].max(axis=1)
    cols["confidence"] = conf
    unc = pd.array([None] * n, dtype="boolean")
    unc[good] = conf[good] < uncertain_below(model)
    cols["uncertain"] = unc
    for c in ("valence", "energy"):
        cols[c] = _numeric(frame[c]) if c in frame.columns else np.full(n, np.nan)
    cols["quadrant"] = quadrants(cols["valence"], cols["energy"])
    cols["model"] = model.name
    cols["status"] = frame["status"].to_numpy(dtype=object)
    cols["reason"] = frame["reason"].to_numpy(dtype=object)
    return pd.DataFrame(cols, index=range(n))


# -- the same for a few rows, without pandas -------------------------------------------------
#: Up to this many rows :func:`score_records` is the faster way (one track through the web API
#: in tens of microseconds instead of milliseconds of pandas); the result is the same.
SMALL = 64
_PLAIN = (int, float, np.integer, np.floating)


def plain_records(rows: list[dict], features: Iterable[str]) -> bool:
    """Whether :func:`score_records` can take ``rows``: every feature cell (and ``valence``/
    ``energy``) a number or missing — text and booleans are read the pandas way.
    """
    names = [*features, "valence", "energy"]
    for r in rows:
        for f in names:
            v = r.get(f)
            if v is not None and (isinstance(v, bool) or not isinstance(v, _PLAIN)):
                return False
    return True


def _cell(v) -> float:
    return math.nan if v is None else float(v)


def score_records(
    rows: list[dict], model, *, file: object = None, strict: bool = False
) -> list[dict]:
    """:func:`score` for contract rows as dicts (``status``, ``reason``, identity columns,
    features; optional ``_row``), numbers or ``None`` as feature values
    (:func:`plain_records`). One dict per row: the identity keys the rows have, then
    :data:`PREDICTION_COLUMNS` — the same values as :func:`score` gives (``uncertain`` is
    ``None`` for a row that was not scored).
    """
    features = list(model.features)
    missing = [f for f in features if not any(f in r for r in rows)]
    if missing:
        raise missing_error(model, missing, file)
    n = len(rows)
    X = np.array([[_cell(r.get(f)) for f in features] for r in rows], dtype=float)
    X = X.reshape(n, len(features))
    lo = np.array([SCHEMA[f].low if f in SCHEMA else -np.inf for f in features])
    hi = np.array([SCHEMA[f].high if f in SCHEMA else np.inf for f in features])
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(X) | (X < lo) | (X > hi)
    status = [r.get("status") for r in rows]
    reason = [r.get("reason") for r in rows]
    for i, r in enumerate(rows):
        scoreable = status[i] == OK
        if strict and (bad[i].any() or not scoreable):
            if not scoreable:
                raise DataError(str(reason[i]))
            raise _cell_error(r, i, features, X, bad, file)
        if scoreable and bad[i].any():
            status[i], reason[i] = INVALID, str(_cell_error(r, i, features, X, bad, file))
    good = np.flatnonzero(np.array([s == OK for s in status], dtype=bool))
    proba = np.full((n, len(MOODS)), np.nan)
    if len(good):
        proba[good] = _proba(model, X[good] if len(good) < n else X)
    axes = {
        c: np.array([_cell(r.get(c)) for r in rows], dtype=float) for c in ("valence", "energy")
    }
    quads = quadrants(axes["valence"], axes["energy"])
    present = set().union(*rows) if rows else set()
    ids = [c for c in ID_COLUMNS if c in present]
    limit = uncertain_below(model)
    out = []
    for i, r in enumerate(rows):
        row = {c: r.get(c) for c in ids}
        p = proba[i]
        scored = status[i] == OK
        row["mood"] = MOODS[int(p.argmax())] if scored else None
        row.update({c: float(p[j]) for j, c in enumerate(PROBA_COLUMNS)})
        row["confidence"] = float(p.max()) if scored else math.nan
        row["uncertain"] = bool(p.max() < limit) if scored else None
        row["valence"], row["energy"] = float(axes["valence"][i]), float(axes["energy"][i])
        row["quadrant"] = quads[i]
        row["model"] = model.name
        row["status"], row["reason"] = status[i], reason[i]
        out.append(row)
    return out


def predict_record(model: TrainedModel, record: dict, *, file: object = None) -> dict:
    """Predict one track given as a dict of feature values (no pandas: the fast path of
    ``trackmood predict --feature``): the identity keys it has, then :data:`PREDICTION_COLUMNS`.

    Raises :class:`~trackmood.errors.DataError` for a missing or bad feature.

    >>> from trackmood import load_model
    >>> rec = predict_record(load_model("default"), {"duration_ms": 180000, "danceability": 0.8,
    ...     "acousticness": 0.1, "energy": 0.8, "instrumentalness": 0.0, "liveness": 0.1,
    ...     "valence": 0.95, "loudness": -5.0, "speechiness": 0.05, "tempo": 120.0})
    >>> list(rec)[:2], rec["quadrant"], rec["status"]
    (['mood', 'p_calm'], 'positive valence, high energy', 'ok')
    """
    from .features import validate_record

    x = validate_record(record, model.features, file=file)
    proba = _proba(model, x[None, :])[0]
    confidence = float(proba.max())
    valence, energy = (number_or_nan(record.get(k)) for k in ("valence", "energy"))
    return {
        **{k: record[k] for k in ID_COLUMNS if k in record},
        "mood": MOODS[int(proba.argmax())],
        **{c: float(p) for c, p in zip(PROBA_COLUMNS, proba, strict=True)},
        "confidence": confidence,
        "uncertain": confidence < uncertain_below(model),
        "valence": valence,
        "energy": energy,
        "quadrant": quadrant_of(valence, energy),
        "model": model.name,
        "status": OK,
        "reason": None,
    }


def _cell_error(row: dict, i: int, features, X, bad, file) -> DataError:
    """The error :func:`validate` gives for the first bad feature of row ``i``."""
    j = int(np.flatnonzero(bad[i])[0])
    name, v, where = features[j], X[i, j], int(row.get("_row", i + 1))
    if np.isfinite(v):
        return DataError(range_text(name, v), file=file, row=where, column=name)
    if np.isnan(v):
        return DataError("empty value", file=file, row=where, column=name)
    return DataError("not a finite number", file=file, row=where, column=name)


def records_frame(rows: list[dict]) -> pd.DataFrame:
    """:func:`score_records` rows as the predictions frame :func:`score` gives."""
    import pandas as pd

    frame = pd.DataFrame(rows)
    if not len(frame):
        return frame
    unc = pd.array([None] * len(frame), dtype="boolean")
    for i, v in enumerate(frame["uncertain"].tolist()):
        if v is not None:
            unc[i] = v
    frame["uncertain"] = unc
    return frame
