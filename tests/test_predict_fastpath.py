"""The pipeline's rows path for a few tracks (what one-track web requests take) gives exactly
what the pandas path gives: the same predictions, statuses, reasons, strict errors and library
rows, on many random inputs with empty, missing, non-finite and out-of-range values.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from trackmood import pipeline
from trackmood.errors import DataError
from trackmood.features import MODEL_FEATURES
from trackmood.model.persistence import load_model
from trackmood.predictions import records_frame, score, score_records
from trackmood.store import Store

FEATURES = [f.name for f in MODEL_FEATURES]


def random_rows(rng: np.random.Generator, n: int) -> list[dict]:
    """Contract rows, most valid, some with a bad, missing or absent feature, some failed."""
    rows = []
    numbered = rng.random() < 0.5  # a table's rows carry their line number (``_row``), or none do
    for i in range(n):
        row: dict = {"status": "ok", "reason": None}
        if rng.random() < 0.7:
            row["id"] = f"t{i}"
        if rng.random() < 0.5:
            row["name"] = f"song {i}"
        for f in MODEL_FEATURES:
            lo, hi = (f.low, min(f.high, 600_000.0)) if f.name == "duration_ms" else (f.low, f.high)
            v: object = float(rng.uniform(lo, hi))
            r = rng.random()
            if r < 0.04:
                v = None
            elif r < 0.06:
                v = math.nan
            elif r < 0.08:
                v = float(rng.choice([math.inf, -math.inf]))
            elif r < 0.11:
                v = float(hi + rng.uniform(0.01, 5) * (hi - lo + 1))  # above the range
            elif r < 0.13:
                v = float(lo - rng.uniform(0.01, 5) * (hi - lo + 1))  # below it
            elif r < 0.15:
                continue  # the key is absent from this row
            elif r < 0.17:
                v = int(round(lo))  # an int on the edge of the range
            elif r < 0.19:
                v = float(f.high)  # the top of the range is valid
            elif r < 0.21:
                v = np.float64(v)
            row[f.name] = v
        if rng.random() < 0.08:
            row["status"], row["reason"] = "failed", f"file {i}: could not be decoded"
        if numbered:
            row["_row"] = i + 10
        rows.append(row)
    return rows


@pytest.fixture(scope="module")
def models():
    return [load_model("default"), load_model("default-noduration")]


@pytest.mark.parametrize("seed", range(40))
def test_rows_path_equals_pandas_path(seed, models):
    rng = np.random.default_rng(seed)
    rows = random_rows(rng, int(rng.integers(1, 12)))
    frame = pd.DataFrame(rows)
    for model in models:
        expected = score(frame, model, file="in.csv")
        got = records_frame(score_records(rows, model, file="in.csv"))
        pd.testing.assert_frame_equal(got, expected, check_dtype=False)
        assert got["uncertain"].dtype == expected["uncertain"].dtype
        # strict: the same first error, or none
        try:
            score(frame, model, file="in.csv", strict=True)
            want = None
        except DataError as e:
            want = str(e)
        try:
            score_records(rows, model, file="in.csv", strict=True)
            have = None
        except DataError as e:
            have = str(e)
        assert have == want


def test_the_random_inputs_cover_every_outcome(models):
    rows = [r for seed in range(40) for r in random_rows(np.random.default_rng(seed), 8)]
    out = score_records(rows, models[0], file="in.csv")
    assert {r["status"] for r in out} == {"ok", "invalid", "failed"}
    reasons = " | ".join(r["reason"] or "" for r in out)
    for what in ("empty value", "is out of range", "not a finite number", "could not be decoded"):
        assert what in reasons
    assert "row 10," in reasons and "row 1," in reasons


def test_a_feature_no_row_has_is_a_missing_column_for_both(models):
    rows = [{"status": "ok", "reason": None, "energy": 0.5}]
    with pytest.raises(DataError) as a:
        score(pd.DataFrame(rows), models[0])
    with pytest.raises(DataError) as b:
        score_records(rows, models[0])
    assert str(a.value) == str(b.value)


def test_predict_records_keeps_the_same_library_rows_as_predict_features(tmp_path):
    rows = random_rows(np.random.default_rng(7), 12)
    for r in rows:
        r["provenance"] = {f: "input" for f in FEATURES if f in r}
    got, want = {}, {}
    for label, fn in (
        ("records", lambda s: pipeline.predict_records([dict(r) for r in rows], store=s)),
        ("frame", lambda s: pipeline.predict_features(pd.DataFrame(rows), store=s)),
    ):
        with Store(tmp_path / f"{label}.sqlite") as store:
            fn(store)
            kept = got if label == "records" else want
            for table in ("tracks", "features", "predictions"):
                cols = [
                    c
                    for c in store.conn.execute(f"SELECT * FROM {table}").description
                    if c[0] != "at" and not c[0].endswith("_at")
                ]
                names = ", ".join(c[0] for c in cols)
                found = store.conn.execute(f"SELECT {names} FROM {table}").fetchall()
                kept[table] = sorted((tuple(r) for r in found), key=repr)
    assert got["predictions"], "some rows were scored and kept"
    assert got == want


def test_predict_records_text_cells_go_the_pandas_way():
    row = {"status": "ok", "reason": None, "id": "x", **dict.fromkeys(FEATURES, 0.5)}
    row.update(duration_ms="200000", loudness=-8.0, tempo=120.0)
    other = {**row, "id": "y", "energy": "high"}
    out = pipeline.predict_records([row, other])
    assert [r["status"] for r in out] == ["ok", "invalid"]
    assert "column 'energy'" in out[1]["reason"] and "not a number" in out[1]["reason"]
    want = pipeline.predict_features(pd.DataFrame([row, other]))
    assert out[0]["p_calm"] == want["p_calm"].iloc[0] and out[1]["reason"] == want["reason"].iloc[1]
