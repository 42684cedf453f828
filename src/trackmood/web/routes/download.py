"""``POST /download.csv``: the rows the page shows, as a CSV file a spreadsheet opens safely.

The page sends the visible rows (it filters and sorts them itself); the cells are written with
the CLI's own CSV rule (:func:`trackmood.outputs.csv_safe`: a text cell that a spreadsheet would
run as a formula gets a leading ``'``; numbers stay numbers).
"""

from __future__ import annotations

import csv
import io
import math

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel, Field

from ...outputs import csv_safe
from ..errors import ApiError
from ..schemas import ErrorBody

router = APIRouter(tags=["library"])

Cell = str | float | int | bool | None


class CsvTable(BaseModel):
    """Columns and rows (one list of cells per row, in column order)."""

    columns: list[str] = Field(min_length=1, max_length=200)
    rows: list[list[Cell]] = Field(max_length=100_000)


def _cell(value: Cell) -> Cell:
    if isinstance(value, float):
        return "" if not math.isfinite(value) else round(value, 6)
    return csv_safe(value)


@router.post(
    "/download.csv",
    response_class=Response,
    responses={
        200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "CSV"},
        422: {"model": ErrorBody},
    },
)
def download_csv(table: CsvTable) -> Response:
    """The rows as a CSV file (UTF-8, CRLF line ends), formula-like text cells escaped."""
    width = len(table.columns)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([csv_safe(c) for c in table.columns])
    for i, row in enumerate(table.rows, start=1):
        if len(row) != width:
            raise ApiError(422, f"row {i} has {len(row)} cells for {width} columns")
        w.writerow([_cell(v) for v in row])
    return Response(
        buf.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="trackmood-predictions.csv"'},
    )
