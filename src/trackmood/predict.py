"""Predictions: a feature table in, the same rows out with ``mood``, four probabilities and quadrant.

>>> import pandas as pd
>>> from trackmood import load_model, predict_frame
>>> tracks = pd.DataFrame([{"name": "quiet piano", "duration_ms": 200000, "danceability": 0.3,
...     "acousticness": 0.95, "energy": 0.1, "instrumentalness": 0.9, "liveness": 0.1,
...     "valence": 0.2, "loudness": -22.0, "speechiness": 0.04, "tempo": 80.0}])
>>> out = predict_frame(load_model("default"), tracks)
>>> list(out.columns)
['name', 'mood', 'p_calm', 'p_energetic', 'p_happy', 'p_sad', 'quadrant']
>>> round(float(out[["p_calm", "p_energetic", "p_happy", "p_sad"]].sum(axis=1).iloc[0]), 6)
1.0
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .errors import DataError, ModelError

if TYPE_CHECKING:
    import pandas as pd
from .features import ID_COLUMNS, feature_matrix, missing_features, validate_record
from .model.persistence import BUNDLED, TrainedModel, load_model
from .moods import MOODS, PROBA_COLUMNS, quadrant

_QUADRANT = {m: quadrant(m) for m in MOODS}
OUTPUT_FORMATS = ("table", "csv", "json", "parquet")


def choose_model(
    columns: Iterable[str],
    requested: str | Path | None = None,
    *,
    file: object = None,
    notify: Callable[[str], None] | None = None,
) -> TrainedModel:
    """Load ``requested`` (default: ``default``), or, when the table lacks features that a bundled
    model without them can do without, that model; ``notify`` is told which one and why.
    """
    columns = set(columns)
    model = load_model(requested)
    missing = [f for f in model.features if f not in columns]
    if not missing:
        return model
    if requested is None or str(requested) in BUNDLED:
        for name in BUNDLED:
            try:
                alt = load_model(name)
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
    raise DataError(
        f"missing feature column(s) for model {model.name!r}: {', '.join(missing)}", file=file
    )


def predict_record(model: TrainedModel, record: dict, *, file: object = None) -> dict:
    """Predict one track given as a dict (no pandas: the fast path for a single track).

    >>> from trackmood import load_model
    >>> rec = predict_record(load_model("default"), {"duration_ms": 180000, "danceability": 0.8,
    ...     "acousticness": 0.1, "energy": 0.8, "instrumentalness": 0.0, "liveness": 0.1,
    ...     "valence": 0.95, "loudness": -5.0, "speechiness": 0.05, "tempo": 120.0})
    >>> sorted(rec)
    ['mood', 'p_calm', 'p_energetic', 'p_happy', 'p_sad', 'quadrant']
    """
    x = validate_record(record, model.features, file=file)
    proba = model.predict_proba(x[None, :])[0]
    classes = list(model.runtime.classes)
    probs = {
        col: float(proba[classes.index(m)]) for m, col in zip(MOODS, PROBA_COLUMNS, strict=False)
    }
    out = {k: record[k] for k in ID_COLUMNS if k in record}
    mood = MOODS[int(np.argmax([probs[c] for c in PROBA_COLUMNS]))]
    return {**out, "mood": mood, **probs, "quadrant": _QUADRANT[mood]}


def predict_frame(
    model: TrainedModel, df: pd.DataFrame, *, file: object = None, check_ranges: bool = True
) -> pd.DataFrame:
    """Predict every row of ``df``; output keeps its id/name columns and adds the predictions.

    Raises :class:`DataError` (naming file, row, column, value) for missing or bad features.
    """
    missing = missing_features(df, model.features)
    if missing:
        raise DataError(
            f"missing feature column(s) for model {model.name!r}: {', '.join(missing)}", file=file
        )
    X = feature_matrix(df, model.features, file=file, check_ranges=check_ranges)
    proba = model.predict_proba(X)
    return assemble(df, proba, model.runtime.classes)


def assemble(df: pd.DataFrame, proba: np.ndarray, classes) -> pd.DataFrame:
    """Output columns: the input's id columns, then mood, p_* (in :data:`MOODS` order), quadrant."""
    import pandas as pd

    order = [list(classes).index(m) for m in MOODS]
    proba = proba[:, order]
    keep = [c for c in ID_COLUMNS if c in df.columns]
    best = proba.argmax(axis=1)
    columns = {c: df[c].to_numpy() for c in keep}
    columns["mood"] = np.asarray(MOODS, dtype=object)[best]
    columns.update({col: proba[:, j] for j, col in enumerate(PROBA_COLUMNS)})
    columns["quadrant"] = np.asarray([_QUADRANT[m] for m in MOODS], dtype=object)[best]
    return pd.DataFrame(columns)


def output_format(path: str | Path | None, fmt: str | None) -> str:
    if fmt:
        if fmt not in OUTPUT_FORMATS:
            raise DataError(
                f"unknown output format {fmt!r}; use one of {', '.join(OUTPUT_FORMATS)}"
            )
        return fmt
    if path is None:
        return "table"
    suffix = Path(path).suffix.lower()
    return {".csv": "csv", ".json": "json", ".parquet": "parquet", ".pq": "parquet"}.get(
        suffix, "csv"
    )


class AtomicOutput:
    """Write predictions chunk by chunk to a temp file; rename into place only on success."""

    def __init__(self, path: str | Path | None, fmt: str):
        self.path = Path(path) if path else None
        self.fmt = fmt
        self._tmp: Path | None = None
        self._writer = None
        self._first = True
        self._stream = None

    def __enter__(self):
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._tmp = self.path.with_name(f".{self.path.name}.part-{os.getpid()}")
            self._stream = open(self._tmp, "w", newline="") if self.fmt != "parquet" else None
        else:
            self._stream = sys.stdout
        return self

    def write_record(self, record: dict) -> None:
        """Write one prediction without pandas (csv, json, table); parquet goes through pandas."""
        import csv
        import json

        if self.fmt == "parquet":
            import pandas as pd

            return self.write(pd.DataFrame([record]))
        if self.fmt == "json":
            self._stream.write(json.dumps(record) + "\n")
        elif self.fmt == "csv":
            w = csv.writer(self._stream, lineterminator="\n")
            if self._first:
                w.writerow(record)
            w.writerow([f"{v:.6g}" if isinstance(v, float) else v for v in record.values()])
        else:
            cells = {k: f"{v:.3f}" if isinstance(v, float) else str(v) for k, v in record.items()}
            widths = {k: max(len(k), len(v)) for k, v in cells.items()}
            if self._first:
                self._stream.write(" ".join(k.rjust(widths[k]) for k in cells) + "\n")
            self._stream.write(" ".join(v.rjust(widths[k]) for k, v in cells.items()) + "\n")
        self._first = False

    def write(self, chunk: pd.DataFrame) -> None:
        if self.fmt in ("csv", "table"):
            chunk = _json_cells(chunk)
        if self.fmt == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            if self.path is None:
                raise DataError("parquet output needs a file: pass -o OUT.parquet")
            table = pa.Table.from_pandas(chunk, preserve_index=False)
            if self._writer is None:
                self._writer = pq.ParquetWriter(self._tmp, table.schema)
            self._writer.write_table(table.cast(self._writer.schema))
        elif self.fmt == "csv":
            chunk.to_csv(self._stream, header=self._first, index=False, float_format="%.6g")
        elif self.fmt == "json":
            for rec in chunk.to_json(orient="records", lines=True, double_precision=6).splitlines():
                self._stream.write(rec + "\n")
        else:
            text = chunk.to_string(
                index=False, header=self._first, float_format=lambda v: f"{v:.3f}"
            )
            self._stream.write(text + "\n")
        self._first = False

    def __exit__(self, exc_type, exc, tb):
        if self._writer is not None:
            self._writer.close()
        if self.path is not None:
            if self._stream is not None:
                self._stream.close()
            if exc_type is None and self._tmp is not None and self._tmp.exists():
                os.replace(self._tmp, self.path)
            elif self._tmp is not None:
                self._tmp.unlink(missing_ok=True)
        else:
            sys.stdout.flush()
        return False


def _json_cells(df: pd.DataFrame) -> pd.DataFrame:
    """Columns holding lists or dicts (e.g. a mood timeline) as JSON text, for text formats."""
    import json

    nested = [c for c in df.columns if df[c].map(lambda v: isinstance(v, (list, dict))).any()]
    if not nested:
        return df
    df = df.copy()
    for c in nested:
        df[c] = df[c].map(lambda v: json.dumps(v) if isinstance(v, (list, dict)) else v)
    return df


def predict_table(
    path: str | Path,
    *,
    model: str | Path | None = None,
    out: str | Path | None = None,
    fmt: str | None = None,
    chunksize: int = 200_000,
    notify: Callable[[str], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Stream a CSV/Parquet/JSON table through a model into ``out`` (stdout if ``None``).

    Returns the number of rows written. On any error no output file is left behind.
    """
    from .datasets import read_table

    fmt = output_format(out, fmt)
    chunks = read_table(path, chunksize=chunksize)
    first = next(chunks)
    chosen = choose_model(first.columns, model, file=path, notify=notify)
    n = 0
    with AtomicOutput(out, fmt) as sink:
        for chunk in _chain(first, chunks):
            sink.write(predict_frame(chosen, chunk, file=path))
            n += len(chunk)
            if progress:
                progress(len(chunk))
    return n


def _chain(first, rest):
    yield first
    yield from rest
