"""One of each: one mood palette (plots, timelines and the page), one quadrant rule, one ``Notify``
type, errors that carry the parameter they are about (the CLI's flag hint comes from it, not from
the words of the message), no legacy ``trackmood.predict`` shim, and reading a table as input
apart from training pools.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from fastapi.testclient import TestClient

from trackmood import moods, predictions
from trackmood.cli.common import fail
from trackmood.errors import DataError, LabelError, ModelError, TrackmoodError

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "trackmood"
STATIC = SRC / "web" / "static"

ONE = {
    "duration_ms": 200000,
    "danceability": 0.5,
    "acousticness": 0.5,
    "energy": 0.5,
    "instrumentalness": 0.1,
    "liveness": 0.1,
    "valence": 0.5,
    "loudness": -9.0,
    "speechiness": 0.05,
    "tempo": 110.0,
}


# -- one palette ---------------------------------------------------------------------------------
def _css_colours(text: str) -> dict[str, str]:
    """``--calm: #xxxxxx`` declarations of a style sheet, by mood."""
    found = re.findall(r"--(calm|energetic|happy|sad)\s*:\s*(#[0-9a-fA-F]{3,8})", text)
    return {name.capitalize(): colour.upper() for name, colour in found}


def test_timeline_plots_and_page_use_the_one_palette(tmp_path):
    from trackmood.audio import timeline
    from trackmood.web import create_app

    palette = {m: c.upper() for m, c in moods.MOOD_COLORS.items()}
    assert set(palette) == set(moods.MOODS)
    assert {m: c.upper() for m, c in timeline.MOOD_COLORS.items()} == palette

    app = create_app(store_path=tmp_path / "web.sqlite")
    with TestClient(app, base_url="http://127.0.0.1") as client:
        page = client.get("/")
        css = client.get("/palette.css")
    assert page.status_code == 200 and css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert _css_colours(css.text) == palette
    # the page loads the served palette after its own style sheet, which defines no mood colour
    links = re.findall(r'<link rel="stylesheet" href="([^"]+)">', page.text)
    assert links.index("/palette.css") > links.index("/static/style.css")
    style = (STATIC / "style.css").read_text("utf-8")
    assert _css_colours(style) == {} and "var(--calm)" in style and "var(--sad)" in style


# -- one quadrant rule ---------------------------------------------------------------------------
#: (valence, energy) with the words the rule gives, derived from its definition: split at 0.5,
#: both in 0-1, else unknown.
CASES = [
    (0.9, 0.9, "positive valence, high energy"),
    (0.1, 0.9, "negative valence, high energy"),
    (0.1, 0.1, "negative valence, low energy"),
    (0.5, 0.49, "positive valence, low energy"),
    (1.0, 0.0, "positive valence, low energy"),
    (1.5, 0.3, ""),  # out of range: not a place on the map
    (0.3, -0.2, ""),
    (float("nan"), 0.5, ""),
]


def test_every_path_gives_the_same_quadrant():
    from trackmood import pipeline
    from trackmood.model.persistence import load_model

    assert predictions.quadrants is moods.quadrants and pipeline.quadrants is moods.quadrants
    v = np.array([c[0] for c in CASES])
    e = np.array([c[1] for c in CASES])
    expected = [c[2] for c in CASES]
    assert moods.quadrants(v, e).tolist() == expected
    assert [moods.quadrant_of(a, b) for a, b, _ in CASES] == expected

    model = load_model("default")
    # the one-track fast path (trackmood predict --feature) validates the features first, so
    # only in-range values reach it
    for a, b, words in CASES:
        if 0 <= a <= 1 and 0 <= b <= 1:
            rec = predictions.predict_record(model, {**ONE, "valence": a, "energy": b})
            assert rec["quadrant"] == words
    # a frame and a few records: out-of-range rows are invalid but keep the same quadrant rule
    rows = [{**ONE, "valence": a, "energy": b} for a, b, _ in CASES]
    framed = pipeline.predict_features(pd.DataFrame(rows))
    assert framed["quadrant"].tolist() == expected
    few = [{**r, "status": "ok", "reason": None} for r in rows]
    assert [r["quadrant"] for r in predictions.score_records(few, model)] == expected


def test_the_deprecated_mood_quadrant_is_gone():
    assert not hasattr(moods, "quadrant") and not hasattr(moods, "QUADRANTS")


# -- one Notify type -----------------------------------------------------------------------------
def test_notify_is_defined_once():
    definitions = []
    for path in SRC.rglob("*.py"):
        for node in ast.parse(path.read_text("utf-8")).body:
            targets = [node.target] if isinstance(node, ast.AnnAssign) else []
            targets += node.targets if isinstance(node, ast.Assign) else []
            if any(isinstance(t, ast.Name) and t.id == "Notify" for t in targets):
                definitions.append(path.relative_to(SRC).as_posix())
    assert definitions == ["sources/base.py"]
    from trackmood import pipeline
    from trackmood.sources import base

    assert pipeline.Notify is base.Notify and predictions.Notify is base.Notify


# -- errors carry their parameter ----------------------------------------------------------------
def _raised(call) -> TrackmoodError:
    with pytest.raises(TrackmoodError) as e:
        call()
    return e.value


def test_raise_sites_name_their_parameter(tmp_path):
    from trackmood import pipeline
    from trackmood.datasets import load_labeled
    from trackmood.features import record_from_pairs
    from trackmood.model.persistence import load_model
    from trackmood.model.recipes import check_features
    from trackmood.outputs import check_output, output_format
    from trackmood.sources.http import resolve_max_retry_after

    table = tmp_path / "labelled.csv"
    pd.DataFrame([{**ONE, "mood": "Relaxing"}]).to_csv(table, index=False)
    src = tmp_path / "in.csv"
    src.write_text("x\n1\n")
    got = {
        "timeline": _raised(lambda: pipeline.run([str(tmp_path)], timeline=0)),
        "output_format": _raised(lambda: output_format(None, "xml")),
        "output": _raised(lambda: output_format(tmp_path / "out.xyz", None)),
        "output (a folder)": _raised(lambda: check_output(tmp_path, inputs=[])),
        "output (an input)": _raised(lambda: check_output(src, inputs=[src])),
        "feature": _raised(lambda: record_from_pairs(["enrgy=0.5"])),
        "feature (no =)": _raised(lambda: record_from_pairs(["energy"])),
        "features": _raised(lambda: check_features(["enrgy"])),
        "model": _raised(lambda: load_model(str(tmp_path / "no-model"))),
        "model (audio)": _raised(lambda: predictions.audio_model("default")),
        "label": _raised(lambda: moods.normalize_label("Angry")),
        "label (in a table)": _raised(lambda: load_labeled(table)),
        "label_map": _raised(lambda: moods.LabelMap.parse(["nonsense"])),
        "max_retry_after": _raised(lambda: resolve_max_retry_after(-1)),
    }
    assert {k: e.param for k, e in got.items()} == {k: k.split()[0] for k in got}
    labelled = got["label (in a table)"]
    assert isinstance(labelled, LabelError) and labelled.label == "Relaxing"
    assert Path(labelled.file) == table and labelled.row == 1
    # the library speaks of values, never of flags
    assert not any("--" in str(e) for e in got.values())


def _cli_line(error: Exception, command: str | None = None, capsys=None) -> str:
    with pytest.raises(typer.Exit):
        fail(error, command)
    return capsys.readouterr().err.strip()


def test_hint_comes_from_the_parameter_not_the_words(capsys):
    # reworded messages keep their hint ...
    line = _cli_line(DataError("window length of nought seconds", param="timeline"), None, capsys)
    assert line == "trackmood: error: window length of nought seconds (--timeline)"
    line = _cli_line(ModelError("cannot find that one", param="model"), None, capsys)
    assert line.endswith("(--model)")
    # ... and the old phrases without a parameter get none (no text is matched)
    line = _cli_line(DataError("timeline window 0 must be a positive number"), None, capsys)
    assert "(--" not in line
    # a hint that fits only some commands
    e = LabelError("unknown mood label 'Odd'", file="a.csv", row=2, label="Odd", param="label")
    assert "--label-map Odd=MOOD" in _cli_line(e, "train", capsys)
    assert "--label-map" not in _cli_line(e, "label", capsys)
    # a message naming the flag already gets no second one
    assert _cli_line(DataError("use --timeline 15", param="timeline"), None, capsys).endswith(
        "use --timeline 15"
    )


def test_param_survives_the_cli(tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "trackmood", "predict", str(tmp_path / "a.csv"), "-o",
         str(tmp_path / "out.xyz")],
        capture_output=True, text=True, timeout=60,
        env={**__import__("os").environ, "TRACKMOOD_DB": str(tmp_path / "lib.sqlite")},
    )  # fmt: skip
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.strip().endswith("(-o)"), r.stderr


# -- no legacy shim; tables apart from training pools --------------------------------------------
def test_no_predict_shim_and_the_public_api_stays():
    import trackmood

    assert importlib.util.find_spec("trackmood.predict") is None
    for name in ("predict_frame", "predict_table", "predict_record", "run", "quadrant_of"):
        assert name in trackmood.__all__ and callable(getattr(trackmood, name))
    out = trackmood.predict_frame(trackmood.load_model("default"), pd.DataFrame([ONE]))
    assert out["status"].tolist() == ["ok"]


def test_reading_a_table_does_not_load_training_pools(tmp_path):
    from trackmood import datasets, tables

    assert datasets.read_table is tables.read_table  # earlier imports keep working
    path = tmp_path / "t.csv"
    pd.DataFrame([ONE]).to_csv(path, index=False)
    code = (
        "import sys; from trackmood import pipeline;"
        f"out = pipeline.run({str(path)!r}).predictions;"
        "assert out['status'].tolist() == ['ok'];"
        "print('trackmood.datasets' in sys.modules)"
    )
    r = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert r.stdout.strip() == "False"
