"""The pipeline's predictions frame as response rows, and the response payload around them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..moods import PROBA_COLUMNS
from ..predictions import PREDICTION_COLUMNS
from .util import num, text

if TYPE_CHECKING:
    import pandas as pd

#: Every field of :class:`~.schemas.Prediction` but ``timeline``, in order.
FIELDS = ("row", "id", "name", "artist", "album", *PREDICTION_COLUMNS, "source")
_TEXT = ("id", "name", "artist", "album", "mood", "quadrant", "model", "status", "reason")
_NUM = (*PROBA_COLUMNS, "confidence", "valence", "energy")


def _flag(value) -> bool | None:
    return None if text(value) is None else bool(value)


def prediction_rows(pred: pd.DataFrame | list[dict], *, source: str, numbers=None) -> list[dict]:
    """One response row per row of ``pred`` (the predictions schema of :mod:`trackmood.pipeline`,
    a frame or a list of dicts).

    ``numbers``: the 1-based row of each in the input (default its position). Empty texts and
    NaN become ``None``.
    """
    n = len(pred)
    if isinstance(pred, list):  # rows as dicts (:func:`trackmood.pipeline.predict_records`)
        present = set().union(*pred) if pred else set()

        def column(c):
            return [r.get(c) for r in pred] if c in present else None
    else:

        def column(c):
            return pred[c].tolist() if c in pred.columns else None

    cols: dict[str, list[Any]] = {}
    for c in _TEXT:
        values = column(c) or [None] * n
        cols[c] = [text(v) or None for v in values]
    for c in _NUM:
        cols[c] = [num(v) for v in column(c) or [None] * n]
    cols["uncertain"] = [_flag(v) for v in column("uncertain") or [None] * n]
    cols["row"] = list(range(1, n + 1)) if numbers is None else [int(v) for v in numbers]
    out = []
    for i in range(n):
        r = {f: cols[f][i] for f in FIELDS if f != "source"}
        r["source"] = source
        out.append(r)
    return out


def payload(model: str | None, rows: list[dict], messages: list[str]) -> dict:
    return {
        "model": model,
        "count": len(rows),
        "errors": sum(1 for r in rows if r["reason"]),
        "messages": messages,
        "predictions": rows,
    }
