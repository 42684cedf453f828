"""The source contract (src/trackmood/sources/base.py) as one set of assertions, for every source.

``check_feature_frames(frames, refs)`` is what tests/test_source_contract.py runs over a table, a
generated audio file and a failing one, and tests/test_source_contract_spotify.py over the fake
Spotify and ReccoBeats servers:
one row per input item in input order, the contract columns, provenance only for values the row
has, a status of ``ok``/``failed`` and a one-line reason exactly when it failed.
"""

from __future__ import annotations

import math

import pandas as pd

from trackmood.features import SCHEMA
from trackmood.sources.base import CONTRACT_COLUMNS, FAILED, OK


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def check_feature_frames(frames, refs, *, rows: int | None = None) -> pd.DataFrame:
    """Assert the contract on the frames a source yielded; returns them as one frame.

    ``rows``: the expected number of rows (default one per ref).
    """
    frames = list(frames)
    assert frames, "a source yields at least one frame"
    for f in frames:
        assert isinstance(f, pd.DataFrame)
        assert all(c in f.columns for c in CONTRACT_COLUMNS), list(f.columns)
    df = pd.concat(frames, ignore_index=True)
    assert len(df) == (len(refs) if rows is None else rows), (len(df), refs)
    assert set(df["status"]) <= {OK, FAILED}, set(df["status"])
    for row in df.to_dict("records"):
        prov = row["provenance"]
        assert isinstance(prov, dict), prov
        assert all(isinstance(k, str) and isinstance(v, str) and v for k, v in prov.items())
        if row["status"] == OK:
            assert _missing(row["reason"]), row["reason"]
            assert prov, "a row with features says where they came from"
            for col in prov:  # provenance only for values the row holds
                assert col in df.columns and not _missing(row[col]), (col, row[col])
            for col in (c for c in df.columns if c in SCHEMA and not _missing(row[c])):
                assert col in prov, f"{col} has a value but no provenance"
        else:
            assert isinstance(row["reason"], str) and row["reason"].strip()
            assert "\n" not in row["reason"], "a reason is one line"
            assert not prov
    return df
