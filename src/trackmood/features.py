r"""The feature schema: names, units, valid ranges, column aliases, and validation at the boundary.

Everything that enters a model passes :func:`validate` once; inside, the data is trusted.

>>> [f.name for f in MODEL_FEATURES][:3]
['duration_ms', 'danceability', 'acousticness']
>>> canonical_column("Length"), canonical_column("\ufefftrack_uri")
('duration_ms', 'id')
>>> parse_track_id("spotify:track:4uLU6hMCjMI75M1A2tKUQC")
'4uLU6hMCjMI75M1A2tKUQC'
>>> parse_duration_ms("0 days 00:03:08.893000")
188893.0
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .errors import DataError

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Feature:
    """One audio feature: canonical column name, unit, valid closed range, description."""

    name: str
    unit: str
    low: float
    high: float
    description: str


#: The original project's 10 model features, in its column order.
MODEL_FEATURES: tuple[Feature, ...] = (
    Feature("duration_ms", "ms", 1.0, 4 * 3600 * 1000.0, "track length"),
    Feature("danceability", "0-1", 0.0, 1.0, "suitability for dancing"),
    Feature("acousticness", "0-1", 0.0, 1.0, "confidence the track is acoustic"),
    Feature("energy", "0-1", 0.0, 1.0, "perceived intensity and activity"),
    Feature("instrumentalness", "0-1", 0.0, 1.0, "likelihood of no vocals"),
    Feature("liveness", "0-1", 0.0, 1.0, "likelihood of a live audience"),
    Feature("valence", "0-1", 0.0, 1.0, "musical positiveness"),
    Feature("loudness", "dB", -70.0, 10.0, "overall loudness"),
    Feature("speechiness", "0-1", 0.0, 1.0, "presence of spoken words"),
    Feature("tempo", "BPM", 0.0, 300.0, "estimated tempo"),
)

#: Optional descriptive features, validated when present but not used by the feature models.
OPTIONAL_FEATURES: tuple[Feature, ...] = (
    Feature("key", "pitch class", -1, 11, "key, -1 if unknown"),
    Feature("mode", "0/1", 0, 1, "minor 0, major 1"),
    Feature("time_signature", "beats/bar", 0, 12, "estimated meter"),
    Feature("popularity", "0-100", 0, 100, "Spotify popularity"),
)

MODEL_FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in MODEL_FEATURES)
SCHEMA: dict[str, Feature] = {f.name: f for f in MODEL_FEATURES + OPTIONAL_FEATURES}

#: Table files by suffix → their format (read by :mod:`trackmood.datasets`; here so that telling
#: a table from audio needs no pandas).
TABLE_SUFFIXES = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".json": "json",
    ".jsonl": "json",
    ".ndjson": "json",
}

#: Identifier and descriptive columns that predictions carry through unchanged.
ID_COLUMNS: tuple[str, ...] = ("id", "name", "artist", "album", "path")

_ALIASES: dict[str, str] = {
    "length": "duration_ms",
    "duration": "duration_ms",
    "durationms": "duration_ms",
    "duration_ms": "duration_ms",
    "duration (ms)": "duration_ms",
    "length_ms": "duration_ms",
    "id": "id",
    "uri": "id",
    "track_uri": "id",
    "track_id": "id",
    "spotify_id": "id",
    "trackid": "id",
    "track uri": "id",
    "name": "name",
    "title": "name",
    "track_name": "name",
    "track": "name",
    "song": "name",
    "artist": "artist",
    "artist_name": "artist",
    "artists": "artist",
    "album": "album",
    "album_name": "album",
    "mood": "mood",
    "label": "mood",
    "moods": "mood",
    "loudness_db": "loudness",
    "bpm": "tempo",
}

_ID_RE = re.compile(
    r"(?:spotify:track:|open\.spotify\.com/(?:intl-[a-z]+/)?track/)?([0-9A-Za-z]{22})(?:[/?#].*)?$"
)


def canonical_column(column: object) -> str:
    """The schema name for a raw header: strips a BOM and spaces; the schema's names and their
    aliases are matched ignoring case, any other column keeps its name as written (a model's
    features such as ``a_chroma_C#_rel`` match exactly).

    >>> canonical_column(" Energy "), canonical_column("a_chroma_C#_rel")
    ('energy', 'a_chroma_C#_rel')
    """
    raw = str(column).replace("\ufeff", "").strip()
    key = raw.lower()
    if key in _ALIASES:
        return _ALIASES[key]
    return key if key in SCHEMA or key in ID_COLUMNS else raw


def parse_track_id(value: object) -> str | None:
    """A 22-character Spotify id from an id, ``spotify:track:`` URI or open.spotify.com URL."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    if not text:
        return None
    m = _ID_RE.search(text)
    if m and (text == m.group(1) or ":" in text or "/" in text):
        return m.group(1)
    return text  # a non-Spotify id (e.g. an audio hash) is kept as it is


def parse_duration_ms(value: object) -> float:
    """Milliseconds from a number or a timedelta string like ``'0 days 00:03:08.893000'``."""
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    text = str(value).strip()
    try:
        return float(text)
    except ValueError:
        pass
    import pandas as pd

    try:
        return pd.to_timedelta(text).total_seconds() * 1000.0
    except (ValueError, TypeError):
        return math.nan


def normalize_columns(df: pd.DataFrame, *, file: object = None) -> pd.DataFrame:
    """Rename raw headers to schema names; the first column wins when two map to one name."""
    import pandas as pd

    seen: dict[str, str] = {}
    renames = {}
    drop = []
    for col in df.columns:
        canon = canonical_column(col)
        if canon in seen:
            drop.append(col)
            continue
        seen[canon] = col
        renames[col] = canon
    out = df.drop(columns=drop).rename(columns=renames)
    if "id" in out.columns:
        out["id"] = out["id"].map(parse_track_id)
    if "duration_ms" in out.columns and not pd.api.types.is_numeric_dtype(out["duration_ms"]):
        out["duration_ms"] = out["duration_ms"].map(parse_duration_ms)
    if len(out.columns) > 100:  # a wide CSV comes one block per column: join them, else every
        out = out.copy()  # later column (``_row``, ``status``…) is a PerformanceWarning on stderr
    return out


def missing_features(df, features=MODEL_FEATURE_NAMES) -> list[str]:
    """The names of ``features`` that ``df`` lacks."""
    return [f for f in features if f not in df.columns]


def check_range(name: str, values: np.ndarray) -> int | None:
    """Index of the first value of feature ``name`` outside its valid range, or ``None``."""
    spec = SCHEMA.get(name)
    if spec is None:
        return None
    outside = (values < spec.low) | (values > spec.high)
    return int(np.flatnonzero(outside)[0]) if outside.any() else None


def range_text(name: str, value: float) -> str:
    """``'energy 1.9 is out of range 0–1'``, ``'tempo 400 is out of range 0 to 300 BPM'``.

    >>> range_text("energy", 1.9)
    'energy 1.9 is out of range 0–1'
    >>> range_text("loudness", -400.0)
    'loudness -400 is out of range -70 to 10 dB'
    """
    spec = SCHEMA[name]
    if spec.unit in ("0-1", "0-100"):
        span = f"{spec.low:g}–{spec.high:g}"
    else:
        span = f"{spec.low:g} to {spec.high:g} {spec.unit}"
    return f"{name} {float(value):g} is out of range {span}"


def range_error(name: str, value: float, **where) -> DataError:
    """A :class:`DataError` for an out-of-range value, reading like :func:`range_text`."""
    err = DataError(range_text(name, value), column=name, **where)
    err.value = value.item() if hasattr(value, "item") else value
    return err


def record_from_pairs(items: list[str]) -> dict:
    """``["energy=0.8", "valence=0.2,tempo=120"]`` → ``{"energy": 0.8, ...}`` with schema names.

    An unknown name is refused with the closest known one.

    >>> record_from_pairs(["Energy=0.8,bpm=120"])
    {'energy': 0.8, 'tempo': 120.0}
    >>> record_from_pairs(["enrgy=0.8"])
    Traceback (most recent call last):
    ...
    trackmood.errors.DataError: unknown feature 'enrgy'; did you mean 'energy'?
    """
    import difflib

    row = {}
    for item in items:
        for part in item.split(","):
            if not part.strip():
                continue
            if "=" not in part:
                raise DataError(
                    f"feature {part.strip()!r} must look like NAME=VALUE", param="feature"
                )
            k, v = part.split("=", 1)
            name = canonical_column(k)
            if name not in SCHEMA:
                known_names = list(SCHEMA) + [a for a, c in _ALIASES.items() if c in SCHEMA]
                close = difflib.get_close_matches(name.lower(), known_names, n=1)
                hint = f"; did you mean {canonical_column(close[0])!r}?" if close else ""
                known = "" if close else f"; known: {', '.join(SCHEMA)}"
                raise DataError(f"unknown feature {k.strip()!r}{hint}{known}", param="feature")
            try:
                row[name] = float(v)
            except ValueError:
                raise DataError("not a number", column=name, value=v) from None
    return row


def invalid_rows(df: pd.DataFrame, features=MODEL_FEATURE_NAMES) -> np.ndarray:
    """Boolean mask of the rows :func:`validate` would reject (empty, non-numeric, non-finite or
    out-of-range feature cells), vectorised: for reporting every bad row, not just the first.

    >>> import pandas as pd
    >>> invalid_rows(pd.DataFrame({"energy": [0.5, "x", 1.5, None]}), ["energy"]).tolist()
    [False, True, True, True]
    """
    import pandas as pd

    bad = np.zeros(len(df), dtype=bool)
    for name in features:
        col = df[name]
        if col.map(lambda v: isinstance(v, bool)).any():  # True/False are not feature values
            col = col.map(lambda v: None if isinstance(v, bool) else v)
        vals = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
        bad |= ~np.isfinite(vals)
        if name in SCHEMA:
            with np.errstate(invalid="ignore"):
                bad |= (vals < SCHEMA[name].low) | (vals > SCHEMA[name].high)
    return bad


def validate_record(
    record: dict, features=MODEL_FEATURE_NAMES, *, file: object = None
) -> np.ndarray:
    """One track as a dict of schema names → a float vector in ``features`` order (no pandas).

    >>> validate_record({"energy": "0.5"}, ["energy"])
    array([0.5])
    """
    missing = [f for f in features if f not in record]
    if missing:
        raise DataError(
            f"missing feature(s): {', '.join(missing)}; expected {', '.join(features)}", file=file
        )
    out = np.empty(len(features))
    for j, name in enumerate(features):
        raw = record[name]
        try:
            out[j] = float(raw)
        except (TypeError, ValueError):
            raise DataError("not a number", file=file, column=name, value=raw) from None
        if not np.isfinite(out[j]):
            raise DataError("not a finite number", file=file, column=name, value=raw)
        if check_range(name, out[j : j + 1]) is not None:
            raise range_error(name, out[j], file=file)
    return out


def feature_matrix(
    df: pd.DataFrame,
    features=MODEL_FEATURE_NAMES,
    *,
    file: object = None,
    check_ranges: bool = True,
) -> np.ndarray:
    """``df[features]`` as a float matrix, validated; no copy of the frame on the fast path.

    When every column is numeric and every value finite and in range (the usual case), this is one
    vectorised check. Otherwise :func:`validate` finds and names the first bad cell.
    """
    import pandas as pd

    missing = missing_features(df, features)
    if not missing and all(pd.api.types.is_numeric_dtype(df[f]) for f in features):
        X = df[list(features)].to_numpy(dtype=np.float64)
        ok = np.isfinite(X).all()
        if ok and check_ranges:
            low = np.array([SCHEMA[f].low if f in SCHEMA else -np.inf for f in features])
            high = np.array([SCHEMA[f].high if f in SCHEMA else np.inf for f in features])
            ok = bool(((X >= low) & (X <= high)).all())
        if ok:
            return X
    clean = validate(df, features, file=file, check_ranges=check_ranges)
    return clean[list(features)].to_numpy(dtype=np.float64)


def validate(
    df: pd.DataFrame,
    features=MODEL_FEATURE_NAMES,
    *,
    file: object = None,
    row_offset: int = 0,
    check_ranges: bool = True,
) -> pd.DataFrame:
    """Check and coerce ``features`` of ``df`` to finite floats inside their ranges.

    Raises :class:`DataError` naming the file, 1-based row, column and value of the first bad cell.
    Row numbers come from a ``_row`` column when present, else position + ``row_offset`` + 1.
    """
    import pandas as pd

    missing = missing_features(df, features)
    if missing:
        raise DataError(
            f"missing feature column(s): {', '.join(missing)}; expected {', '.join(features)}",
            file=file,
        )
    out = df.copy()

    def row_of(i: int) -> int:
        if "_row" in out.columns:
            return int(out["_row"].iloc[i])
        return row_offset + i + 1

    for name in features:
        raw = out[name]
        values = pd.to_numeric(raw, errors="coerce")
        bad = values.isna()
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            v = raw.iloc[i]
            what = "empty value" if pd.isna(v) else "not a number"
            raise DataError(
                what, file=file, row=row_of(i), column=name, value=None if pd.isna(v) else v
            )
        arr = values.to_numpy(dtype=float)
        nonfinite = ~np.isfinite(arr)
        if nonfinite.any():
            i = int(np.flatnonzero(nonfinite)[0])
            raise DataError(
                "not a finite number", file=file, row=row_of(i), column=name, value=arr[i]
            )
        at = check_range(name, arr) if check_ranges else None
        if at is not None:
            raise range_error(name, arr[at], file=file, row=row_of(at))
        out[name] = arr
    return out
