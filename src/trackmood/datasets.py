"""Read labeled and unlabeled feature tables (CSV, Parquet, JSON), pool them, de-duplicate by id.

Every row keeps its provenance: ``_file`` (path), ``_sha256`` (of the file) and ``_row``
(1-based data row), and ``source`` says where its features came from.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import DataError, LabelError
from .features import (
    MODEL_FEATURE_NAMES,
    SCHEMA,
    TABLE_SUFFIXES,
    canonical_column,
    normalize_columns,
    validate,
)
from .moods import MOODS, LabelMap


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def table_format(path: str | Path) -> str:
    """``'csv'``, ``'parquet'`` or ``'json'`` from the suffix; raises :class:`DataError` otherwise."""
    fmt = TABLE_SUFFIXES.get(Path(path).suffix.lower())
    if fmt is None:
        raise DataError(
            f"unsupported table format {Path(path).suffix or '(no suffix)'!r}; "
            "use .csv, .parquet or .json",
            file=path,
        )
    return fmt


def _check_readable(path: Path) -> None:
    if not path.exists():
        raise DataError("no such file", file=path)
    if path.is_dir():
        raise DataError("is a directory, expected a table file", file=path)
    if path.stat().st_size == 0:
        raise DataError("file is empty", file=path)


def _looks_binary(path: Path) -> bool:
    with open(path, "rb") as fh:
        head = fh.read(4096)
    return b"\x00" in head


def json_lines(text: str, *, file=None) -> list:
    """The objects of a JSON-lines text (blank lines skipped); a malformed line is reported by
    its own line number in the file.

    >>> json_lines('{"a": 1}' + chr(10) + chr(10) + '{"a": 2}')
    [{'a': 1}, {'a': 2}]
    """
    records = []
    for number, line in enumerate(text.split("\n"), start=1):  # not splitlines(): U+2028
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as e:
            raise DataError(
                f"malformed JSON at line {number} column {e.colno}: {e.msg}", file=file
            ) from None
    return records


def read_table(path: str | Path, *, chunksize: int | None = None):
    """Read a table file into a DataFrame with schema column names and a ``_row`` column.

    With ``chunksize`` an iterator of DataFrames is returned (CSV and Parquet stream; JSON is
    read whole). Raises :class:`DataError` naming the file for every kind of unreadable input.
    """
    path = Path(path)
    _check_readable(path)
    fmt = table_format(path)
    if chunksize is not None:
        return _iter_chunks(path, fmt, chunksize)
    frames = list(_iter_chunks(path, fmt, None))
    if len(frames) == 1:
        return frames[0]
    return pd.concat(frames, ignore_index=True)  # every batch / row group, not only the first


def check_duplicate_columns(names, *, file=None) -> None:
    """Refuse two raw headers that name the same feature or label column once aliases are
    applied (``energy`` twice, or ``length`` beside ``duration_ms``): which one to use is a guess.

    Identity columns (``id`` and ``uri``, ``title`` and ``name``) may repeat: the first one wins.
    """
    seen: dict[str, str] = {}
    for raw in names:
        canon = canonical_column(raw)
        if canon not in SCHEMA and canon != "mood":
            continue
        if canon in seen:
            same = str(raw) == seen[canon]
            raise DataError(
                f"duplicate column: {seen[canon]!r} "
                + ("appears twice" if same else f"and {str(raw)!r} both mean {canon!r}")
                + "; keep one of them",
                file=file,
                column=canon,
            )
        seen[canon] = str(raw)


def _finish(df: pd.DataFrame, path: Path, start: int) -> pd.DataFrame:
    df = normalize_columns(df, file=path)
    df["_row"] = np.arange(start + 1, start + 1 + len(df))
    return df


def _check_csv_header(path: Path, sep: str) -> None:
    import csv

    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            header = next(csv.reader(fh, delimiter=sep, skipinitialspace=True), [])
    except (UnicodeDecodeError, csv.Error):
        return  # pandas reports these with its own message
    check_duplicate_columns(header, file=path)


def _iter_chunks(path: Path, fmt: str, chunksize: int | None) -> Iterator[pd.DataFrame]:
    if fmt == "csv":
        if _looks_binary(path):
            raise DataError("not a text table (binary data); expected CSV", file=path)
        sep = "\t" if path.suffix.lower() == ".tsv" else ","
        _check_csv_header(path, sep)
        try:
            reader = pd.read_csv(
                path,
                sep=sep,
                encoding="utf-8-sig",
                chunksize=chunksize or 10**9,
                skipinitialspace=True,
            )
            start = 0
            any_rows = False
            for chunk in reader:
                if len(chunk) == 0 and any_rows:
                    continue
                if len(chunk) == 0:
                    raise DataError("header only, no data rows", file=path)
                any_rows = True
                yield _finish(chunk, path, start)
                start += len(chunk)
            if not any_rows:
                raise DataError("header only, no data rows", file=path)
        except pd.errors.EmptyDataError:
            raise DataError("file is empty", file=path) from None
        except pd.errors.ParserError as e:
            raise DataError(
                f"malformed CSV: {str(e).strip().splitlines()[-1]}", file=path
            ) from None
        except UnicodeDecodeError as e:
            raise DataError(f"not UTF-8 text (byte {e.start})", file=path) from None
    elif fmt == "parquet":
        import pyarrow.parquet as pq

        try:
            # No pre-buffering and a small read buffer: streaming a 10 M-row file stays near 250 MB
            # instead of ~800 MB (measured; pre_buffer reads whole row groups ahead).
            pf = pq.ParquetFile(path, pre_buffer=False, buffer_size=1 << 20)
        except Exception as e:  # pyarrow raises several types for corrupt files
            raise DataError(
                f"not a readable Parquet file ({type(e).__name__})", file=path
            ) from None
        check_duplicate_columns(pf.schema_arrow.names, file=path)
        if pf.metadata.num_rows == 0:
            raise DataError("no data rows", file=path)
        start = 0
        for batch in pf.iter_batches(batch_size=chunksize or 1 << 20):
            df = batch.to_pandas()
            yield _finish(df, path, start)
            start += len(df)
    else:
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as e:
            raise DataError(f"not UTF-8 text (byte {e.start})", file=path) from None
        if path.suffix.lower() in (".jsonl", ".ndjson"):
            records = json_lines(text, file=path)
        else:
            try:
                records = json.loads(text)
            except json.JSONDecodeError as e:
                raise DataError(
                    f"malformed JSON at line {e.lineno} column {e.colno}: {e.msg}", file=path
                ) from None
        if isinstance(records, dict):
            for key in ("tracks", "items", "data", "audio_features", "content"):
                if isinstance(records.get(key), list):
                    records = records[key]
                    break
            else:
                records = [records]
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise DataError("JSON must be a list of objects (one per track)", file=path)
        if not records:
            raise DataError("no data rows", file=path)
        keys: dict = {}
        for r in records[:1000]:
            keys.update(dict.fromkeys(r))
        check_duplicate_columns(list(keys), file=path)
        df = pd.DataFrame.from_records(records)
        if chunksize:
            for s in range(0, len(df), chunksize):
                yield _finish(df.iloc[s : s + chunksize].reset_index(drop=True), path, s)
        else:
            yield _finish(df, path, 0)


@dataclass
class LabeledSource:
    """One labeled table to pool: a path, its label map and label column."""

    path: Path
    label_map: LabelMap = field(default_factory=LabelMap)
    label_column: str = "mood"
    #: Which data set the file belongs to (for leave-one-table-out); default: the file's stem.
    table: str | None = None

    @property
    def table_name(self) -> str:
        return self.table or Path(self.path).stem

    @classmethod
    def parse(cls, spec: str) -> LabeledSource:
        """``PATH`` or ``PATH:Old=New,Drop=`` (the label map after the last ``:`` that has ``=``)."""
        path, _, mapping = (
            spec.rpartition(":") if "=" in spec.rpartition(":")[2] else (spec, "", "")
        )
        return cls(Path(path), LabelMap.parse([mapping] if mapping else None))


def load_labeled(
    path: str | Path,
    *,
    label_map: LabelMap | None = None,
    label_column: str = "mood",
    features=MODEL_FEATURE_NAMES,
    drop_incomplete: bool = True,
) -> pd.DataFrame:
    """Read one labeled table: schema columns, ``mood`` in :data:`MOODS`, provenance columns.

    Rows whose label the map drops are removed; with ``drop_incomplete`` rows whose feature cells
    are empty are skipped and counted in ``df.attrs["incomplete_rows"]`` (else they raise). Unknown labels raise :class:`LabelError`
    naming the row and value; bad feature values raise :class:`DataError`.
    """
    path = Path(path)
    label_map = label_map or LabelMap()
    df = read_table(path)
    if label_column not in df.columns:
        raise DataError(
            f"no label column {label_column!r} (columns: {', '.join(map(str, df.columns[:20]))})",
            file=path,
        )
    moods = []
    dropped: dict[str, int] = {}
    for raw, row in zip(df[label_column], df["_row"], strict=False):
        if pd.isna(raw):
            raise LabelError("empty mood label", file=path, row=int(row), column=label_column)
        try:
            mood = label_map.apply(raw)
        except LabelError as e:
            raise LabelError(str(e), file=path, row=int(row), column=label_column) from None
        moods.append(mood)
        if mood is None:
            dropped[str(raw).strip()] = dropped.get(str(raw).strip(), 0) + 1
    df["mood"] = moods
    df = df[df["mood"].notna()].reset_index(drop=True)
    if df.empty:
        raise DataError(
            "no rows left after the label map"
            + (
                f" (it dropped {', '.join(f'{k} {v}' for k, v in dropped.items())})"
                if dropped
                else ""
            ),
            file=path,
        )
    present = [f for f in features if f in df.columns]
    incomplete = []
    if drop_incomplete and present:
        empty = df[present].isna().any(axis=1)
        incomplete = df.loc[empty, "_row"].astype(int).tolist()
        df = df[~empty].reset_index(drop=True)
    df = validate(df, present, file=path)
    df.attrs["incomplete_rows"] = incomplete
    df.attrs["label_map_dropped"] = dropped
    df["_file"] = str(path)
    df["_sha256"] = file_sha256(path)
    if "source" not in df.columns:
        df["source"] = f"file:{path.name}"
    return df


@dataclass
class PoolReport:
    """What pooling did: rows read per file, exact duplicates merged, conflicting ids dropped."""

    rows_in: dict[str, int]
    duplicates_merged: int
    conflicts: dict[str, list[str]]  # id -> the moods it was given
    rows_out: int
    incomplete: dict[str, list[int]] = field(
        default_factory=dict
    )  # file -> rows skipped (empty cells)
    label_dropped: dict[str, dict[str, int]] = field(
        default_factory=dict
    )  # file -> {label: rows the label map dropped}

    def label_lines(self) -> list[str]:
        """One line per file whose label map dropped rows, with the count per label."""
        return [
            f"label map dropped {sum(d.values())} rows of {Path(f).name} "
            f"({', '.join(f'{k} {v}' for k, v in sorted(d.items()))})"
            for f, d in self.label_dropped.items()
            if d
        ]

    def conflict_lines(self, limit: int = 10) -> list[str]:
        """One line per dropped id with conflicting moods (at most ``limit``, then a count)."""
        items = sorted(self.conflicts.items())
        lines = [
            f"dropped id {tid}: labelled {' and '.join(moods)} in the pooled files"
            for tid, moods in items[:limit]
        ]
        if len(items) > limit:
            lines.append(f"... and {len(items) - limit} more ids with conflicting moods dropped")
        return lines

    def tell(self, notify: Callable[[str], None] | None) -> None:
        """Report what pooling did (summary, conflicting ids) through ``notify``."""
        if notify:
            notify(self.summary())
            for line in self.label_lines() + self.conflict_lines():
                notify(line)

    def summary(self) -> str:
        skipped = sum(len(v) for v in self.incomplete.values())
        by_map = sum(sum(d.values()) for d in self.label_dropped.values())
        return (
            f"{sum(self.rows_in.values())} rows from {len(self.rows_in)} file(s) "
            f"(after {by_map} dropped by label maps); "
            f"{skipped} rows with empty feature cells skipped; "
            f"{self.duplicates_merged} duplicate rows merged; "
            f"{len(self.conflicts)} ids with conflicting moods dropped; {self.rows_out} rows kept"
        )


def deduplicate(df: pd.DataFrame) -> tuple[pd.DataFrame, int, dict[str, list[str]]]:
    """Keep one row per track id; drop every row of an id that carries more than one mood.

    Rows without an id are kept as they are. Returns ``(rows, merged, conflicts)``.
    """
    if "id" not in df.columns:
        return df.reset_index(drop=True), 0, {}
    has_id = df["id"].notna() & (df["id"].astype(str).str.len() > 0)
    with_id = df[has_id]
    moods_per_id = with_id.groupby("id")["mood"].agg(lambda s: sorted(set(s)))
    conflicts = {i: m for i, m in moods_per_id.items() if len(m) > 1}
    keep = with_id[~with_id["id"].isin(conflicts)]
    deduped = keep.drop_duplicates(subset="id", keep="first")
    merged = len(keep) - len(deduped)
    out = pd.concat([deduped, df[~has_id]], ignore_index=True)
    return out, merged, conflicts


def pool(
    sources: list[LabeledSource | str | Path], *, features=MODEL_FEATURE_NAMES
) -> tuple[pd.DataFrame, PoolReport]:
    """Read several labeled tables, each with its own label map, and de-duplicate by track id.

    Examples
    --------
    >>> from trackmood.datasets import pool  # doctest: +SKIP
    >>> df, report = pool(["../shared/data/data_moods.csv"])  # doctest: +SKIP
    """
    frames, rows_in, incomplete, label_dropped = [], {}, {}, {}
    for src in sources:
        if not isinstance(src, LabeledSource):
            src = LabeledSource.parse(str(src))
        df = load_labeled(
            src.path, label_map=src.label_map, label_column=src.label_column, features=features
        )
        rows_in[str(src.path)] = len(df)
        if df.attrs.get("incomplete_rows"):
            incomplete[str(src.path)] = df.attrs["incomplete_rows"]
        label_dropped[str(src.path)] = df.attrs.get("label_map_dropped", {})
        df["_table"] = src.table_name
        frames.append(df)
    all_rows = pd.concat(frames, ignore_index=True)
    out, merged, conflicts = deduplicate(all_rows)
    return out, PoolReport(rows_in, merged, conflicts, len(out), incomplete, label_dropped)


def class_counts(df: pd.DataFrame) -> dict[str, int]:
    counts = df["mood"].value_counts()
    return {m: int(counts.get(m, 0)) for m in MOODS}
