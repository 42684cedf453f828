"""Every writer of predictions: a table on stdout, CSV, JSON lines, Parquet, and the timeline PNG.

Files are written atomically: into ``.NAME.part-PID`` beside the target, renamed into place only
when everything is written, so an error or a Ctrl-C leaves the old file (or none) and no partial
one. ``-o`` may be a symlink (the file it points to is written), a FIFO or a device (streamed into,
not replaced); it may not be a folder or one of the inputs.

>>> output_format("p.parquet", None), output_format(None, None), output_format("p.txt", None)
('parquet', 'table', 'csv')
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import DataError

if TYPE_CHECKING:
    import pandas as pd

OUTPUT_FORMATS = ("table", "csv", "json", "parquet")
_SUFFIX_FORMATS = {".csv": "csv", ".json": "json", ".parquet": "parquet", ".pq": "parquet"}


def output_format(path: str | Path | None, fmt: str | None) -> str:
    """The format named by ``fmt``, else by the suffix of ``path`` (CSV when unknown)."""
    if fmt:
        if fmt not in OUTPUT_FORMATS:
            raise DataError(
                f"unknown output format {fmt!r}; use one of {', '.join(OUTPUT_FORMATS)}"
            )
        return fmt
    if path is None:
        return "table"
    return _SUFFIX_FORMATS.get(Path(path).suffix.lower(), "csv")


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
    removed = []
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
            raise DataError("the output is one of the inputs; give another output file", file=path)
    if path.is_dir():
        raise DataError("is a folder; give a file name for the output", file=path)


class AtomicOutput:
    """Write predictions chunk by chunk to a temp file; rename into place only on success.

    ``path=None`` writes to stdout. A FIFO or character device is written to directly.
    """

    def __init__(self, path: str | Path | None, fmt: str, *, inputs: Iterable[str | Path] = ()):
        self.path = Path(path) if path is not None else None
        self.fmt = fmt
        self.inputs = list(inputs)
        self.target: Path | None = None  # the file finally written (a symlink's target)
        self._tmp: Path | None = None
        self._writer = None
        self._first = True
        self._stream = None
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
            w.writerow([_cell(v, "{:.6g}") for v in record.values()])
        else:
            cells = {k: _cell(v, "{:.3f}") for k, v in record.items()}
            widths = {k: max(len(k), len(v)) for k, v in cells.items()}
            if self._first:
                self._stream.write(" ".join(k.rjust(widths[k]) for k in cells) + "\n")
            self._stream.write(" ".join(v.rjust(widths[k]) for k, v in cells.items()) + "\n")
        self._first = False

    def write(self, chunk: pd.DataFrame) -> None:
        """Append ``chunk`` (same columns every time) to the output."""
        try:
            self._write(chunk)
        except OSError as e:
            raise DataError(f"cannot write ({e.strerror or e})", file=self.path) from None
        self._first = False

    def _write(self, chunk: pd.DataFrame) -> None:
        if self.fmt in ("csv", "table"):
            chunk = _json_cells(chunk)
        if self.fmt == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            if self.path is None:
                raise DataError("parquet output needs a file name, not the terminal")
            table = pa.Table.from_pandas(_json_cells(chunk), preserve_index=False)
            if self._writer is None:
                self._writer = pq.ParquetWriter(self._stream or self._tmp, table.schema)
            self._writer.write_table(table.cast(self._writer.schema))
        elif self.fmt == "csv":
            chunk.to_csv(self._stream, header=self._first, index=False, float_format="%.6g")
        elif self.fmt == "json":
            for rec in chunk.to_json(orient="records", lines=True, double_precision=6).splitlines():
                self._stream.write(rec + "\n")
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
                sys.stdout.flush()
            return False
        try:
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


def _json_cells(df: pd.DataFrame) -> pd.DataFrame:
    """Columns holding lists or dicts (e.g. provenance) as JSON text, for text formats."""
    import json

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
) -> None:
    """Write one frame to ``out`` (stdout when ``None``) in ``fmt`` (default from the suffix)."""
    with AtomicOutput(out, output_format(out, fmt), inputs=inputs) as sink:
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
