"""Read any feature table (CSV, Parquet, JSON, JSON lines) as input: one way for predicting,
training, evaluating and the web's uploads. Training pools (labels, de-duplication) are in
:mod:`trackmood.datasets`.

Every chunk keeps its place in the file: ``_row`` (1-based data row) and ``_file`` (path).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import DataError
from .features import (
    SCHEMA,
    TABLE_SUFFIXES,
    canonical_column,
    normalize_columns,
)


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
