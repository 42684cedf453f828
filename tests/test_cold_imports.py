"""A cold `trackmood predict` loads only what its input needs: the import-time budget of issue 16
(a song at most 15x a bare numpy import). Each case runs the real CLI in a fresh interpreter and
lists the heavy packages it left in ``sys.modules``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .audio_fixtures import music_like, write_pyav

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "tracks.csv"
ONE = (
    "duration_ms=200000,danceability=0.5,acousticness=0.5,energy=0.5,instrumentalness=0,"
    "liveness=0.1,valence=0.5,loudness=-8,speechiness=0.05,tempo=120"
)
#: Never needed to predict: training, plots, other audio stacks, the network clients, the web.
NEVER = (
    "sklearn",
    "matplotlib",
    "seaborn",
    "tensorflow",
    "keras",
    "torch",
    "librosa",
    "numba",
    "requests",
    "spotipy",
    "dotenv",
    "fastapi",
    "starlette",
    "uvicorn",
    "httpx",
    "dask",
    "distributed",
)
PROBE = """
import json, sys
from trackmood.cli import main
sys.argv = ["trackmood", *sys.argv[1:]]
try:
    main()
except SystemExit as e:
    code = e.code
print(json.dumps([code, sorted({m.split(".")[0] for m in sys.modules})]), file=sys.stderr)
"""


def loaded(tmp_path: Path, *args: str) -> set[str]:
    """The top-level packages a cold `trackmood ARGS` imported (stderr is not a terminal)."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "src"),
        "TRACKMOOD_DB": str(tmp_path / "lib.sqlite"),
    }
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    code, modules = json.loads(proc.stderr.strip().splitlines()[-1])
    assert code in (0, None), proc.stderr
    return set(modules)


def test_predict_a_table_loads_no_training_plotting_network_or_audio_stack(tmp_path):
    mods = loaded(tmp_path, "predict", str(EXAMPLE))
    assert "pandas" in mods  # a table is read with pandas: the probe does see real imports
    heavy = {"rich", "av", "onnxruntime", "soundfile", "scipy", "pydub", *NEVER}
    assert not mods & heavy, sorted(mods & heavy)


def test_predict_one_feature_row_loads_no_pandas(tmp_path):
    mods = loaded(tmp_path, "predict", "--feature", ONE)
    heavy = {"pandas", "pyarrow", "rich", "av", "onnxruntime", "scipy", *NEVER}
    assert not mods & heavy, sorted(mods & heavy)


@pytest.mark.slow
def test_predict_one_song_loads_only_the_audio_stack(tmp_path):
    song = write_pyav(tmp_path / "one.mp3", music_like(6.0, 22050), 22050, "libmp3lame")
    mods = loaded(tmp_path, "predict", str(song))
    assert {"onnxruntime", "pandas"} <= mods  # the embedding ran and a frame was made
    assert not mods & {"rich", *NEVER}, sorted(mods & {"rich", *NEVER})


def test_telling_tables_from_audio_needs_no_pandas():
    code = (
        "import sys; from trackmood import pipeline; "
        "kinds = [k for k, _ in pipeline.resolve(['a.csv', 'b.mp3', 'c.parquet'])]; "
        "print(kinds, 'pandas' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.strip()
    assert out == "['table', 'audio'] False"
