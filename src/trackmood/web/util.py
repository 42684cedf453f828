"""Small helpers shared by the web modules: JSON-safe values, client file names, responses."""

from __future__ import annotations

import json
import math
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

import numpy as np
import pandas as pd
from fastapi.responses import Response

MiB = 1 << 20


def clean(value):
    """JSON-safe: numpy scalars to Python, NaN/inf to ``None``."""
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return [clean(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is pd.NaT or value is pd.NA:
        return None
    return value


def text(value) -> str | None:
    """``str(value)``, or ``None`` for missing values (None, NaN, NA, NaT)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    return str(value)


def num(value) -> float | None:
    """A finite float, or ``None``."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def short(value: Any, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters."""
    out = repr(value)
    return out if len(out) <= limit else out[:limit] + "…"


def display_name(filename: str | None) -> str:
    r"""The last component of a client's file name, for display only (never used as a path).

    >>> display_name("../../etc/passwd"), display_name("C:\\x\\song.mp3"), display_name(None)
    ('passwd', 'song.mp3', 'upload')
    """
    out = str(filename or "")
    out = PureWindowsPath(PurePosixPath(out).name).name
    out = "".join(ch for ch in out if ch.isprintable()).strip()[:200]
    return out or "upload"


def json_response(payload: dict, status: int = 200) -> Response:
    """A compact JSON response; NaN/inf become ``null``."""
    try:  # the common case: already plain, finite Python values
        body = json.dumps(payload, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError):
        body = json.dumps(clean(payload), separators=(",", ":"), allow_nan=False)
    return Response(body, status_code=status, media_type="application/json")
