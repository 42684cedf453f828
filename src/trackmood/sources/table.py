"""Feature tables (CSV, Parquet, JSON) as a source: streamed in chunks, one row per table row.

Values are passed on as they are (the pipeline validates them); each row says it came from
``file:<name>``. A file that cannot be read at all raises :class:`~trackmood.errors.DataError`.

>>> TableSource.kind
'table'
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import ClassVar

from .base import OK, Notify, Progress


def table_rows(path: str | Path) -> int | None:
    """Rows in a Parquet file from its footer (cheap); ``None`` for other formats."""
    if Path(path).suffix.lower() not in (".parquet", ".pq"):
        return None
    try:
        import pyarrow.parquet as pq

        return pq.ParquetFile(path).metadata.num_rows
    except Exception:  # noqa: BLE001 - unreadable files are reported by the reader itself
        return None


class TableSource:
    """CSV/Parquet/JSON tables → feature frames of at most ``chunksize`` rows each."""

    kind: ClassVar[str] = "table"

    def __init__(self, *, chunksize: int = 200_000):
        self.chunksize = chunksize

    def frames(
        self,
        refs: Sequence[str],
        *,
        progress: Progress | None = None,
        notify: Notify | None = None,
    ) -> Iterator:
        from ..tables import read_table

        for ref in refs:
            name = Path(ref).name
            total, done = table_rows(ref), 0
            for chunk in read_table(ref, chunksize=self.chunksize):
                yield contract_frame(chunk, provider=f"file:{name}", file=str(ref))
                done += len(chunk)
                if progress:
                    progress(f"reading {name}", done, total)


def contract_frame(df, *, provider: str, file: str | None = None):
    """Add the contract columns to a table chunk (``id`` kept when the table has one)."""
    import numpy as np

    from ..features import SCHEMA

    df = df.reset_index(drop=True)
    if "id" not in df.columns:
        df.insert(0, "id", None)
    feats = [c for c in df.columns if c in SCHEMA]
    prov = dict.fromkeys(feats, provider)
    has = df[feats].notna().to_numpy() if feats else np.ones((len(df), 0), dtype=bool)
    full = np.asarray(has.all(axis=1), dtype=bool)
    # one shared mapping for complete rows; rows with empty cells name only what they hold
    df["provenance"] = [
        prov if full[i] else {f: provider for f, h in zip(feats, has[i], strict=True) if h}
        for i in range(len(df))
    ]
    df["status"] = OK
    df["reason"] = None
    if file is not None:
        df.attrs["file"] = file
    return df
