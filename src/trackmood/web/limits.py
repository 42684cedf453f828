"""Size checks made before anything is allocated from what a client sent.

A table's cost in memory is set by its shape, not by its size on disk: a 110 KB JSON list of
objects with distinct keys becomes a frame of 10,000 x 10,000 cells, a 12 KB Parquet file can
hold one long string repeated a million times, and a 10 MB CSV header is a million columns. So
every upload is measured first, in bounded memory, and refused (413, or 422 for a nesting that
is not a table) before it is parsed:

- JSON: nesting depth and the number of values, from one streamed pass over the bytes (strings
  skipped), before the parser runs (a deep nesting would otherwise end in a ``RecursionError``);
  then the number of distinct keys (columns) before a frame is built.
- CSV/TSV: the header's length and number of columns, the number of rows and the length of
  every cell (a 45 MB name would otherwise be stored and sent back by every ``GET /tracks``).
- JSON: the length of every string (cell or key), measured in the same pass as the nesting.
- Parquet: the footer (rows, columns, types, uncompressed bytes), then the decoded length of
  every string cell read through its dictionary (a repeated string is counted every time).

>>> scan_json(b'[{"a": "[[[["}, {"b": [1, 2]}]')
(3, 8)
>>> scan_json(b"[" * 100 + b"]" * 100, max_depth=32)
Traceback (most recent call last):
...
trackmood.web.errors.ApiError: input: JSON nested deeper than 32 levels; a table is a list of flat objects
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from .errors import ApiError

MAX_COLUMNS = 500  # columns (distinct keys) in one table
MAX_CELLS = 5_000_000  # rows x columns
MAX_DEPTH = 32  # JSON nesting
MAX_JSON_VALUES = 5_000_000  # JSON values (each costs ~50-100 bytes once parsed)
MAX_HEADER_BYTES = 256 * 1024  # a CSV header line
MAX_CELL_BYTES = 64 * 1024  # one string cell (CSV, TSV, JSON, Parquet)
MAX_DECODED_BYTES = 256 * 1024 * 1024  # a Parquet file's uncompressed / decoded data
MAX_FOOTER_BYTES = 8 * 1024 * 1024  # a Parquet footer
_CHUNK = 1 << 20

_QUOTE, _BACKSLASH = 34, 92
_OPEN = (91, 123)  # [ {
_CLOSE = (93, 125)  # ] }
_SEP = (44, 58)  # , :


def _too_big(what: str) -> ApiError:
    return ApiError(413, what)


class LongString(ApiError):
    """A JSON string longer than the limit (``length`` bytes); the caller may name its cell."""

    def __init__(self, message: str, length: int):
        super().__init__(413, message)
        self.length = length


def _cell_message(name: str, row: int | None, column, length: int) -> str:
    where = [name]
    if row is not None:
        where.append("the header" if row == 0 else f"row {row}")
    if column is not None:
        where.append(f"column {column!r}" if isinstance(column, str) else f"column #{column}")
    return (
        f"{', '.join(where)}: a value of {length:,} bytes is more than the limit of "
        f"{MAX_CELL_BYTES // 1024} KB per cell"
    )


def scan_json(
    data: bytes | memoryview,
    *,
    max_depth: int = MAX_DEPTH,
    max_values: int = MAX_JSON_VALUES,
    max_string: int | None = None,
    name: str = "input",
) -> tuple[int, int]:
    """Deepest nesting and (about) the number of values in JSON (or JSON Lines) text, in one
    pass of 1 MB chunks with numpy, strings skipped; raises :class:`ApiError` past a limit
    (:class:`LongString` for a string, key or value, longer than ``max_string`` bytes).

    Only valid JSON is measured exactly; invalid JSON fails in the parser at the first bad byte,
    before it reaches anything this pass could have miscounted.
    """
    view = memoryview(data).cast("B")
    depth = 0
    deepest = 0
    values = 0
    in_string = 0  # parity carried from the previous chunk
    opened = -1  # where the string still open at the end of the previous chunk started
    run = 0  # backslashes at the end of the previous chunk
    for start in range(0, len(view), _CHUNK):
        a = np.frombuffer(view[start : start + _CHUNK], dtype=np.uint8)
        n = len(a)
        idx = np.arange(n)
        bs = a == _BACKSLASH
        last_plain = np.maximum.accumulate(np.where(bs, -1, idx))
        prev = np.empty(n, dtype=np.int64)
        prev[0] = -1
        prev[1:] = last_plain[:-1]
        before = idx - 1 - prev + np.where(prev == -1, run, 0)  # backslashes just before i
        quote = (a == _QUOTE) & (before % 2 == 0)
        parity = (np.cumsum(quote) + in_string) % 2
        if max_string is not None:
            marks = np.flatnonzero(quote) + start
            if in_string:
                marks = np.concatenate(([opened], marks))
            if len(marks) % 2:
                opened = int(marks[-1])
                marks = marks[:-1]
            lengths = marks[1::2] - marks[0::2] - 1
            longest = int(lengths.max()) if len(lengths) else 0
            if longest > max_string:
                raise LongString(
                    f"{name}: a string of {longest:,} bytes is more than the limit of "
                    f"{max_string // 1024} KB per value",
                    longest,
                )
        outside = parity == 0
        opens = outside & ((a == _OPEN[0]) | (a == _OPEN[1]))
        closes = outside & ((a == _CLOSE[0]) | (a == _CLOSE[1]))
        level = depth + np.cumsum(opens.astype(np.int32) - closes.astype(np.int32))
        if n:
            deepest = max(deepest, int(level.max()))
            if deepest > max_depth:
                raise ApiError(
                    422,
                    f"{name}: JSON nested deeper than {max_depth} levels; "
                    "a table is a list of flat objects",
                )
            depth = int(level[-1])
            in_string = int(parity[-1])
            run = (
                (n - 1 - int(last_plain[-1]) + (run if last_plain[-1] == -1 else 0))
                if bs[-1]
                else 0
            )
        values += int(np.count_nonzero(opens)) + int(
            np.count_nonzero(outside & ((a == _SEP[0]) | (a == _SEP[1])))
        )
        if values > max_values:
            raise _too_big(f"{name}: more than {max_values:,} values; split the table")
    return deepest, values


def _table_of(records):
    """The list of row objects in parsed JSON (as the table reader finds it)."""
    if isinstance(records, dict):
        for key in ("tracks", "items", "data", "audio_features", "content"):
            if isinstance(records.get(key), list):
                return records[key]
        return [records]
    return records


def find_long_cell(records, limit: int = MAX_CELL_BYTES):
    """``(row, column)`` (1-based row) of the first key or string value longer than ``limit``
    UTF-8 bytes in parsed JSON records, or ``None``.
    """
    records = _table_of(records)
    if not isinstance(records, list):
        return None

    def long(v) -> bool:
        return (
            isinstance(v, str) and len(v) * 4 > limit and len(v.encode("utf-8", "replace")) > limit
        )

    for i, r in enumerate(records, start=1):
        if not isinstance(r, dict):
            if long(r) or long(json_text(r)):
                return i, None
            continue
        for k, v in r.items():
            if long(k):
                return i, f"{k[:20]}…"
            if long(v) or (isinstance(v, (list, dict)) and long(json_text(v))):
                return i, k[:60]
    return None


def json_text(value) -> str:
    import json

    return json.dumps(value) if isinstance(value, (list, dict)) else ""


def check_records(records, *, max_rows: int, name: str) -> None:
    """Columns (distinct keys over all objects), rows and cells of parsed JSON records."""
    records = _table_of(records)
    if not isinstance(records, list):
        return  # the table reader names the problem
    if len(records) > max_rows:
        raise _too_big(
            f"{name}: {len(records)} rows is more than the limit of {max_rows} rows per request"
        )
    keys: set = set()
    for r in records:
        if isinstance(r, dict):
            keys.update(r)
            if len(keys) > MAX_COLUMNS:
                raise _too_big(
                    f"{name}: more than {MAX_COLUMNS} distinct columns (keys); "
                    "a track table has one column per feature"
                )
    if len(keys) * len(records) > MAX_CELLS:
        raise _too_big(
            f"{name}: {len(records)} rows x {len(keys)} columns is more than "
            f"{MAX_CELLS:,} cells; split the table"
        )


def check_json_file(path: Path, *, max_rows: int, name: str) -> None:
    """Depth, values, then columns of a JSON / JSON Lines table file."""
    import json

    data = path.read_bytes()
    too_long = None
    try:
        scan_json(data, name=name, max_string=MAX_CELL_BYTES)
    except LongString as e:
        too_long = e
    try:
        if path.suffix in (".jsonl", ".ndjson"):
            records = [json.loads(line) for line in data.splitlines() if line.strip()]
        else:
            records = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError):
        if too_long is not None:
            raise too_long from None
        return  # the table reader reports malformed JSON with its line and column
    del data
    if too_long is not None:
        where = find_long_cell(records)
        if where is None:
            raise too_long
        raise _too_big(_cell_message(name, where[0], where[1], too_long.length))
    check_records(records, max_rows=max_rows, name=name)


def check_csv_file(path: Path, *, max_rows: int, name: str, sep: str = ",") -> None:
    """Header length and columns, then rows (newlines outside quotes) of a CSV/TSV file."""
    with open(path, "rb") as fh:
        head = fh.read(MAX_HEADER_BYTES + 1)
        pos = _end_of_first_record(head)
        if pos is None and len(head) > MAX_HEADER_BYTES:
            raise _too_big(
                f"{name}: the header line is longer than {MAX_HEADER_BYTES // 1024} KB; "
                "a track table has one column per feature"
            )
        header = head[: pos if pos is not None else len(head)]
        try:
            cols = next(
                csv.reader(io.StringIO(header.decode("utf-8-sig"), newline=""), delimiter=sep), []
            )
        except (UnicodeDecodeError, csv.Error):
            return  # the table reader names the problem
        if len(cols) > MAX_COLUMNS:
            raise _too_big(f"{name}: {len(cols)} columns is more than the limit of {MAX_COLUMNS}")
        fh.seek(0)
        rows = -1  # the header
        in_quotes = 0
        last = b""
        sep_byte = ord(sep)
        bound = -1  # where the last cell ended (a separator or newline outside quotes)
        column = 0  # separators since the last newline, before this chunk
        start = 0
        while True:
            block = fh.read(_CHUNK)
            if not block:
                break
            a = np.frombuffer(block, dtype=np.uint8)
            parity = (np.cumsum(a == _QUOTE) + in_quotes) % 2
            outside = parity == 0
            newline = (a == 10) & outside
            ends = np.flatnonzero(newline | ((a == sep_byte) & outside))
            if len(ends):
                sizes = np.diff(ends + start, prepend=bound) - 1
                if int(sizes.max()) > MAX_CELL_BYTES:
                    k = int(np.argmax(sizes > MAX_CELL_BYTES))
                    lines = np.flatnonzero(newline[ends[:k]])
                    col = k - int(lines[-1]) - 1 if len(lines) else column + k
                    row = rows + 1 + len(lines)
                    raise _too_big(_cell_name(name, row, col, cols, int(sizes[k])))
                lines = np.flatnonzero(newline[ends])
                column = len(ends) - int(lines[-1]) - 1 if len(lines) else column + len(ends)
                bound = int(ends[-1]) + start
            rows += int(np.count_nonzero(newline))
            in_quotes = int(parity[-1])
            last = block[-1:]
            start += len(block)
            if rows > max_rows:
                raise _too_big(f"{name}: more rows than the limit of {max_rows} rows per request")
        if start - bound - 1 > MAX_CELL_BYTES:  # the last cell, with no newline after it
            raise _too_big(_cell_name(name, rows + 1, column, cols, start - bound - 1))
        if last and last != b"\n":
            rows += 1
        if rows * max(len(cols), 1) > MAX_CELLS:
            raise _too_big(
                f"{name}: {rows} rows x {len(cols)} columns is more than {MAX_CELLS:,} cells"
            )


def _cell_name(name: str, row: int, col: int, cols: list, length: int) -> str:
    return _cell_message(name, row, cols[col] if 0 <= col < len(cols) else col + 1, length)


def _end_of_first_record(head: bytes) -> int | None:
    a = np.frombuffer(head, dtype=np.uint8)
    parity = np.cumsum(a == _QUOTE) % 2
    ends = np.flatnonzero((a == 10) & (parity == 0))
    return int(ends[0]) if len(ends) else None


def check_parquet_file(path: Path, *, max_rows: int, name: str) -> None:
    """Footer first (size, rows, columns, types, uncompressed bytes), then the decoded length
    of every string cell, read through dictionaries so that nothing large is materialised.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    size = path.stat().st_size
    with open(path, "rb") as fh:
        fh.seek(max(0, size - 8))
        tail = fh.read(8)
    if len(tail) < 8 or tail[4:] != b"PAR1":
        return  # not Parquet: the table reader says so
    footer = int.from_bytes(tail[:4], "little")
    if footer > MAX_FOOTER_BYTES:
        raise _too_big(f"{name}: Parquet footer of {footer} bytes is too large")
    try:
        pf = pq.ParquetFile(path)
    except Exception:  # noqa: BLE001 - pyarrow raises several types; the reader names it
        return
    md = pf.metadata
    rows, cols = md.num_rows, md.num_columns
    if rows > max_rows:
        raise _too_big(f"{name}: {rows} rows is more than the limit of {max_rows} rows per request")
    if cols > MAX_COLUMNS:
        raise _too_big(f"{name}: {cols} columns is more than the limit of {MAX_COLUMNS}")
    if rows * cols > MAX_CELLS:
        raise _too_big(f"{name}: {rows} rows x {cols} columns is more than {MAX_CELLS:,} cells")
    strings = []
    for field in pf.schema_arrow:
        t = field.type
        if pa.types.is_dictionary(t):
            t = t.value_type
        if (
            pa.types.is_string(t)
            or pa.types.is_large_string(t)
            or pa.types.is_binary(t)
            or (pa.types.is_large_binary(t))
        ):
            strings.append(field.name)
        elif not (
            pa.types.is_integer(t)
            or pa.types.is_floating(t)
            or pa.types.is_boolean(t)
            or pa.types.is_null(t)
            or pa.types.is_temporal(t)
            or pa.types.is_decimal(t)
        ):
            raise ApiError(
                422, f"{name}: column {field.name!r} has type {t}; a track table has flat columns"
            )
    declared = sum(md.row_group(i).total_byte_size for i in range(md.num_row_groups))
    if declared > MAX_DECODED_BYTES:
        raise _too_big(f"{name}: {declared:,} bytes uncompressed is more than the limit")
    if not strings:
        return
    pf = pq.ParquetFile(path, read_dictionary=strings, pre_buffer=False, buffer_size=_CHUNK)
    total = 0
    for batch in pf.iter_batches(batch_size=65536, columns=strings):
        for field, col in zip(batch.schema, batch.columns, strict=True):
            if isinstance(col, pa.DictionaryArray):
                lengths = pc.binary_length(col.dictionary)
                longest = pc.max(lengths).as_py() or 0
                used = pc.sum(pc.take(lengths, col.indices)).as_py() or 0
            else:
                lengths = pc.binary_length(col)
                longest = pc.max(lengths).as_py() or 0
                used = pc.sum(lengths).as_py() or 0
            if longest > MAX_CELL_BYTES:
                raise _too_big(
                    f"{name}: column {field.name!r} holds a value of {longest:,} bytes; "
                    f"the limit is {MAX_CELL_BYTES // 1024} KB per cell"
                )
            total += used
            if total > MAX_DECODED_BYTES:
                raise _too_big(
                    f"{name}: the text cells add up to more than "
                    f"{MAX_DECODED_BYTES // (1 << 20)} MB once decoded"
                )
