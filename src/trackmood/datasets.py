"""Training pools: read labelled feature tables, pool them, de-duplicate by id. Reading a table
as prediction input is :mod:`trackmood.tables` (re-exported here for earlier imports).

Every row keeps its provenance: ``_file`` (path), ``_sha256`` (of the file) and ``_row``
(1-based data row), and ``source`` says where its features came from.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ._fs import file_sha256
from .errors import DataError, LabelError
from .features import (
    MODEL_FEATURE_NAMES,
    validate,
)
from .moods import MOODS, LabelMap
from .tables import (  # noqa: F401 (re-exported: earlier imports of datasets.read_table ...)
    check_duplicate_columns,
    json_lines,
    read_table,
    table_format,
)


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
            raise LabelError(
                str(e),
                file=path,
                row=int(row),
                column=label_column,
                label=e.label,
                param=e.param,
            ) from None
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
    sources: Sequence[LabeledSource | str | Path], *, features=MODEL_FEATURE_NAMES
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
