"""Every writer of predictions: a table on stdout, CSV, JSON, JSON lines, Parquet, the timeline PNG.

Formats come from ``-o``'s suffix (``.csv``, ``.json`` a JSON array, ``.jsonl``/``.ndjson`` one
object a line, ``.parquet``/``.pq``) or are named; an unknown suffix is an error, never a guess.
CSV text cells that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``,
``@``, tab or carriage return) get a leading ``'`` (:func:`csv_safe`, also used by the web
page's download) unless raw values are asked for; numbers stay numbers.

Files are written atomically: into ``.NAME.part-PID`` beside the target, renamed into place only
when everything is written, so an error or a Ctrl-C leaves the old file (or none) and no partial
one. ``-o`` may be a symlink (the file it points to is written), a FIFO or a device (streamed into,
not replaced); it may not be a folder or one of the inputs.

>>> output_format("p.parquet", None), output_format(None, None), output_format("p.ndjson", None)
('parquet', 'table', 'jsonl')
>>> csv_safe("=HYPERLINK(1)"), csv_safe("-5.2"), csv_safe(-5.2), csv_safe("Sad")
("'=HYPERLINK(1)", '-5.2', -5.2, 'Sad')
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from .errors import DataError
from .paths import display

if TYPE_CHECKING:
    import pandas as pd

OUTPUT_FORMATS = ("table", "csv", "json", "jsonl", "parquet")
_SUFFIX_FORMATS = {
    ".csv": "csv",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
SUFFIXES = ".csv, .json, .jsonl, .ndjson, .parquet, .pq"

#: A CSV cell starting with one of these is a formula to a spreadsheet (OWASP "CSV injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def csv_safe(value):
    """``value`` as a CSV cell a spreadsheet shows as text: a string starting with ``=``, ``+``,
    ``-``, ``@``, tab or carriage return gets a leading ``'`` (unless it is a plain number such as
    ``-5.2``); anything else, numbers included, is returned unchanged.
    """
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def _text_cells(df: pd.DataFrame, test) -> Iterator[tuple[object, pd.Series, pd.Series]]:
    """``(column name, column, mask)`` of the text columns where ``test(column.str)`` holds for
    some cell (columns of numbers, booleans or nothing are skipped).
    """
    import pandas as pd

    for c in df.columns:
        col = df[c]
        if not len(col) or not (col.dtype == object or isinstance(col.dtype, pd.StringDtype)):
            continue
        try:
            mask = test(col.str)
        except AttributeError:  # an object column without text (booleans, numbers, empty)
            continue
        if mask.any():
            yield c, col, mask


def _map_cells(df: pd.DataFrame, test, fn) -> pd.DataFrame:
    """``fn`` over the text cells where ``test`` holds (a copy only when a cell changes)."""
    changed = [(c, col.mask(mask, col.map(fn))) for c, col, mask in _text_cells(df, test)]
    if changed:
        df = df.copy()
        for c, col in changed:
            df[c] = col
    return df


def csv_safe_frame(df: pd.DataFrame) -> pd.DataFrame:
    """:func:`csv_safe` over every text column of ``df`` (a copy only when a cell changes)."""
    return _map_cells(df, lambda s: s.startswith(FORMULA_START, na=False), csv_safe)


def _is_stream(path: str | Path) -> bool:
    try:
        mode = os.stat(os.path.realpath(path)).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISCHR(mode)


def output_format(path: str | Path | None, fmt: str | None) -> str:
    """The format named by ``fmt``, else by the suffix of ``path`` (a FIFO or device without one
    gets CSV); an unknown suffix raises :class:`DataError` naming the supported ones.
    """
    if fmt:
        if fmt not in OUTPUT_FORMATS:
            raise DataError(
                f"unknown output format {fmt!r}; use one of {', '.join(OUTPUT_FORMATS)}",
                param="output_format",
            )
        return fmt
    if path is None:
        return "table"
    suffix = Path(path).suffix.lower()
    if suffix in _SUFFIX_FORMATS:
        return _SUFFIX_FORMATS[suffix]
    if not suffix and _is_stream(path):
        return "csv"
    if Path(path).is_dir():
        raise DataError("is a folder; give a file name for the output", file=path, param="output")
    raise DataError(
        f"unknown output file type {suffix or '(no suffix)'!r}; name the file with one of "
        f"{SUFFIXES} or give the output format ({', '.join(OUTPUT_FORMATS)})",
        file=display(path),
        param="output",
    )


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return a.resolve() == b.resolve()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    except OSError:
        return False
    return True


def remove_stale_parts(target: Path) -> list[Path]:
    """Remove ``.NAME.part-PID`` files beside ``target`` left by runs that no longer live."""
    removed: list[Path] = []
    prefix = f".{target.name}.part-"
    try:
        entries = list(target.parent.iterdir())
    except OSError:
        return removed
    for p in entries:
        if not p.name.startswith(prefix):
            continue
        pid = p.name[len(prefix) :]
        if pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid)):
            with contextlib.suppress(OSError):
                p.unlink()
                removed.append(p)
    return removed


def check_output(path: str | Path | None, inputs: Iterable[str | Path] = ()) -> None:
    """Refuse an output that is a folder or one of ``inputs`` (before any work is done)."""
    if path is None:
        return
    path = Path(path)
    for ref in inputs:
        ref = Path(ref)
        if (ref.exists() or ref.is_symlink()) and _same_file(path, ref):
            raise DataError(
                "the output is one of the inputs; give another output file",
                file=path,
                param="output",
            )
    if path.is_dir():
        raise DataError("is a folder; give a file name for the output", file=path, param="output")


class AtomicOutput:
    """Write predictions chunk by chunk to a temp file; rename into place only on success.

    ``path=None`` writes to stdout. A FIFO or character device is written to directly.
    ``json`` is one JSON array written row by row (memory does not grow with the rows);
    ``raw_csv=True`` writes CSV cells as they are (no :func:`csv_safe`).
    """

    def __init__(
        self,
        path: str | Path | None,
        fmt: str,
        *,
        inputs: Iterable[str | Path] = (),
        raw_csv: bool = False,
    ):
        self.path = Path(path) if path is not None else None
        self.fmt = fmt
        self.inputs = list(inputs)
        self.raw_csv = raw_csv
        self.target: Path | None = None  # the file finally written (a symlink's target)
        self._tmp: Path | None = None
        self._writer: Any = None  # a pyarrow ParquetWriter once the first chunk is written
        self._first = True
        self._items = 0  # JSON records written
        self._stream: Any = None  # text file or stdout; a binary file for parquet into a FIFO
        self._direct = False

    def __enter__(self):
        if self.path is None:
            self._stream = sys.stdout
            return self
        check_output(self.path, self.inputs)
        self.target = Path(os.path.realpath(self.path))
        try:
            mode = os.stat(self.target).st_mode
        except OSError:
            mode = 0
        self._direct = stat.S_ISFIFO(mode) or stat.S_ISCHR(mode)
        try:
            if self._direct:
                self._stream = open(self.target, "wb" if self.fmt == "parquet" else "w")  # noqa: SIM115
                return self
            self.target.parent.mkdir(parents=True, exist_ok=True)
            remove_stale_parts(self.target)
            self._tmp = self.target.with_name(f".{self.target.name}.part-{os.getpid()}")
            self._stream = (
                open(self._tmp, "w", newline="")  # noqa: SIM115
                if self.fmt != "parquet"
                else None
            )
            if self._stream is None:
                self._tmp.touch()
        except OSError as e:
            self._cleanup()
            raise DataError(f"cannot write here ({e.strerror or e})", file=self.path) from None
        return self

    def write_record(self, record: dict) -> None:
        """Write one prediction without pandas (csv, json, table); parquet goes through pandas."""
        import csv

        if self.fmt == "parquet":
            import pandas as pd

            return self.write(pd.DataFrame([record]))
        if self.fmt in ("json", "jsonl"):
            clean = {k: None if isinstance(v, float) and v != v else v for k, v in record.items()}
            self._json_line(json.dumps(clean))
        elif self.fmt == "csv":
            cr = any(isinstance(v, str) and "\r" in v for v in (*record, *record.values()))
            quoting: Literal[0, 2] = csv.QUOTE_NONNUMERIC if cr else csv.QUOTE_MINIMAL
            w = csv.writer(self._stream, lineterminator="\n", quoting=quoting)
            if self._first:
                w.writerow(record if self.raw_csv else [csv_safe(k) for k in record])
            cells = [_cell(v, "{:.6g}") for v in record.values()]
            if not self.raw_csv:  # text cells only: numbers stay numbers
                raw = record.values()
                cells = [
                    csv_safe(c) if isinstance(v, str) else c
                    for v, c in zip(raw, cells, strict=True)
                ]
            w.writerow(cells)
        else:
            shown = {k: display(_cell(v, "{:.3f}")) for k, v in record.items()}
            widths = {k: max(len(k), len(v)) for k, v in shown.items()}
            if self._first:
                self._stream.write(" ".join(k.rjust(widths[k]) for k in shown) + "\n")
            self._stream.write(" ".join(v.rjust(widths[k]) for k, v in shown.items()) + "\n")
        self._first = False

    def write(self, chunk: pd.DataFrame) -> None:
        """Append ``chunk`` (same columns every time) to the output."""
        try:
            self._write(chunk)
        except OSError as e:
            raise DataError(f"cannot write ({e.strerror or e})", file=self.path) from None
        self._first = False

    def _json_line(self, text: str) -> None:
        """One record: a line of JSON lines, or the next element of the JSON array."""
        if self.fmt == "jsonl":
            self._stream.write(text + "\n")
        else:
            self._stream.write(("[\n" if not self._items else ",\n") + text)
        self._items += 1

    def _close_json(self) -> None:
        if self.fmt == "json" and self._stream is not None:
            self._stream.write("\n]\n" if self._items else "[]\n")

    def _write(self, chunk: pd.DataFrame) -> None:
        if self.fmt in ("csv", "table"):
            chunk = _json_cells(chunk)
        if self.fmt == "csv" and not self.raw_csv:
            chunk = csv_safe_frame(chunk)
            if self._first:
                chunk = chunk.rename(columns=lambda c: csv_safe(c) if isinstance(c, str) else c)
        if self.fmt == "table":
            chunk = _printable(chunk)
        if self.fmt == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            if self.path is None:
                raise DataError(
                    "parquet output needs a file name, not the terminal", param="output"
                )
            table = pa.Table.from_pandas(_json_cells(chunk), preserve_index=False)
            if self._writer is None:
                self._writer = pq.ParquetWriter(self._stream or self._tmp, table.schema)
            self._writer.write_table(table.cast(self._writer.schema))
        elif self.fmt == "csv":
            chunk.to_csv(
                self._stream,
                header=self._first,
                index=False,
                float_format="%.6g",
                quoting=_csv_quoting(chunk),
            )
        elif self.fmt in ("json", "jsonl"):
            for rec in chunk.to_json(orient="records", lines=True, double_precision=6).splitlines():
                self._json_line(rec)
        else:
            text_cols = [c for c in chunk.columns if chunk[c].dtype == object]
            if text_cols:
                chunk = chunk.copy()
                for c in text_cols:
                    chunk[c] = chunk[c].where(chunk[c].notna(), "")
            text = chunk.to_string(
                index=False, header=self._first, float_format=lambda v: f"{v:.3f}", na_rep=""
            )
            self._stream.write(text + "\n")

    def _cleanup(self) -> None:
        if self._stream is not None and self._stream is not sys.stdout:
            with contextlib.suppress(OSError):
                self._stream.close()
        if self._tmp is not None:
            self._tmp.unlink(missing_ok=True)

    def __exit__(self, exc_type, exc, tb):
        if self.path is None:
            with contextlib.suppress(OSError):
                if exc_type is None:
                    self._close_json()
                sys.stdout.flush()
            return False
        try:
            if exc_type is None:
                self._close_json()
            if self._writer is not None:
                self._writer.close()
            if self._stream is not None:
                self._stream.close()
            if exc_type is None and self._tmp is not None:
                os.replace(self._tmp, self.target)
                self._tmp = None
        except OSError as e:
            self._cleanup()
            if exc_type is None:
                raise DataError(f"cannot write ({e.strerror or e})", file=self.path) from None
        finally:
            if self._tmp is not None:
                self._tmp.unlink(missing_ok=True)
        return False


def _cell(v, spec: str) -> str:
    if isinstance(v, float):
        return "" if v != v else spec.format(v)
    return "" if v is None else str(v)


def _csv_quoting(df: pd.DataFrame) -> int:
    """Quote every text cell of a chunk holding a carriage return: with newline line ends the
    csv module quotes only cells holding a newline, and a bare CR ends a row for most readers.
    """
    import csv

    has_cr = any(isinstance(c, str) and "\r" in c for c in df.columns) or any(
        _text_cells(df, lambda s: s.contains("\r", regex=False, na=False))
    )
    return csv.QUOTE_NONNUMERIC if has_cr else csv.QUOTE_MINIMAL


def _printable(df: pd.DataFrame) -> pd.DataFrame:
    """Text cells holding line breaks or other control characters escaped (one row a line)."""
    return _map_cells(
        df,
        lambda s: s.contains(r"[\x00-\x1f\x7f]", regex=True, na=False),
        lambda v: display(v) if isinstance(v, str) else v,
    )


def _json_cells(df: pd.DataFrame) -> pd.DataFrame:
    """Columns holding lists or dicts (e.g. provenance) as JSON text, for text formats."""
    from pandas.api.types import infer_dtype

    plain = ("string", "empty", "floating", "integer", "boolean", "mixed-integer-float")
    nested = [
        c
        for c in df.columns
        if df[c].dtype == object
        and infer_dtype(df[c], skipna=True) not in plain  # C speed for the usual columns
        and df[c].map(lambda v: isinstance(v, (list, dict))).any()
    ]
    if not nested:
        return df
    df = df.copy()
    for c in nested:
        df[c] = df[c].map(lambda v: json.dumps(v) if isinstance(v, (list, dict)) else v)
    return df


def write_frame(
    frame: pd.DataFrame,
    out: str | Path | None,
    fmt: str | None = None,
    *,
    inputs: Iterable[str | Path] = (),
    raw_csv: bool = False,
) -> None:
    """Write one frame to ``out`` (stdout when ``None``) in ``fmt`` (default from the suffix)."""
    with AtomicOutput(out, output_format(out, fmt), inputs=inputs, raw_csv=raw_csv) as sink:
        sink.write(frame)


def timeline_png_path(out: str | Path) -> Path:
    """Where the timeline figure of output ``out`` goes: ``<out stem>.timeline.png``."""
    return Path(out).with_suffix(".timeline.png")


def write_timeline_png(tracks: list[tuple[str, list[dict]]], path: str | Path) -> Path:
    """One PNG with a mood strip per track (``(title, window rows)`` pairs), written atomically."""
    from .audio.timeline import save_strips

    path = Path(os.path.realpath(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.part-{os.getpid()}.png")
    try:
        save_strips(tracks, tmp)
        os.replace(tmp, path)
    except OSError as e:
        raise DataError(f"cannot write ({e.strerror or e})", file=path) from None
    finally:
        tmp.unlink(missing_ok=True)
    return path
