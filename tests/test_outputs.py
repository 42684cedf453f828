"""Where predictions are written (outputs.py): every format round-trips, and `-o` is safe — never
an input, never a folder, a one-line error for an unwritable place, symlinks followed, FIFOs
streamed into, and `.part` files of killed runs cleaned up.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from trackmood.cli import app
from trackmood.errors import DataError
from trackmood.outputs import AtomicOutput, remove_stale_parts, write_frame
from trackmood.pipeline import PREDICTION_COLUMNS

runner = CliRunner()
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "tracks.csv"


def run(*args):
    return runner.invoke(app, list(map(str, args)))


def one_error_line(result):
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("trackmood: error: ")
    return lines[0]


@pytest.fixture
def table(tmp_path):
    p = tmp_path / "tracks.csv"
    p.write_bytes(EXAMPLE.read_bytes())
    return p


@pytest.mark.parametrize("suffix", ["csv", "json", "parquet"])
def test_formats_round_trip(tmp_path, suffix):
    df = pd.DataFrame(
        {"name": ["a", "b"], "p": [0.25, 0.5], "status": ["ok", "invalid"], "reason": [None, "x"]}
    )
    out = tmp_path / f"o.{suffix}"
    write_frame(df, out)
    back = {
        "csv": pd.read_csv,
        "json": lambda p: pd.read_json(p, lines=True),
        "parquet": pd.read_parquet,
    }[suffix](out)
    assert back["name"].tolist() == ["a", "b"] and back["p"].tolist() == [0.25, 0.5]
    assert back["reason"].iloc[1] == "x" and pd.isna(back["reason"].iloc[0])
    assert [p.name for p in tmp_path.iterdir()] == [out.name]


def test_output_that_is_an_input_is_refused(table, tmp_path):
    before = table.read_bytes()
    r = run("predict", table, "-o", table)
    assert r.exit_code == 2 and "the output is one of the inputs" in one_error_line(r)
    link = tmp_path / "alias.csv"
    link.symlink_to(table)
    r = run("predict", table, "-o", link)  # the same file by another name
    assert r.exit_code == 2 and "one of the inputs" in one_error_line(r)
    r = run("predict", table, "-o", tmp_path / "." / "tracks.csv")
    assert r.exit_code == 2
    assert table.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alias.csv", "tracks.csv"]


def test_output_folder_or_unwritable_place_is_one_line(table, tmp_path):
    folder = tmp_path / "outdir"
    folder.mkdir()
    r = run("predict", table, "-o", folder)
    assert r.exit_code == 2 and "is a folder" in one_error_line(r)
    assert list(folder.iterdir()) == []
    r = run("predict", table, "-o", table / "under-a-file.csv")  # its "folder" is a file
    assert r.exit_code == 2 and "cannot write here" in one_error_line(r)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["outdir", "tracks.csv"]


def test_symlink_output_writes_the_file_it_points_to(table, tmp_path):
    target = tmp_path / "real.csv"
    target.write_text("old\n")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    r = run("predict", table, "-o", link)
    assert r.exit_code == 0, r.stderr
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert pd.read_csv(target).columns[-len(PREDICTION_COLUMNS) :].tolist() == list(
        PREDICTION_COLUMNS
    )
    assert not [p for p in tmp_path.iterdir() if ".part" in p.name]


def test_fifo_output_is_streamed_into_not_replaced(table, tmp_path):
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    got = {}

    def reader():
        with open(fifo) as fh:
            got["text"] = fh.read()

    t = threading.Thread(target=reader)
    t.start()
    r = run("predict", table, "-o", fifo)
    t.join(timeout=30)
    assert r.exit_code == 0, r.stderr
    assert got["text"].splitlines()[0].endswith(",".join(PREDICTION_COLUMNS))
    assert len(got["text"].splitlines()) == 6
    assert fifo.is_fifo()


def test_device_output_is_written_not_replaced(table):
    r = run("predict", table, "-o", os.devnull)
    assert r.exit_code == 0, r.stderr
    assert Path(os.devnull).is_char_device()


def test_stale_part_file_of_a_killed_run_is_removed(table, tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    stale = tmp_path / f".out.csv.part-{int(dead.stdout)}"
    stale.write_text("half a file")
    alive = tmp_path / f".out.csv.part-{os.getppid()}"  # a live process: not ours to remove
    alive.write_text("being written")
    r = run("predict", table, "-o", tmp_path / "out.csv")
    assert r.exit_code == 0, r.stderr
    assert not stale.exists() and alive.exists()
    assert remove_stale_parts(tmp_path / "out.csv") == []


def test_failed_write_leaves_the_old_file_and_no_part(tmp_path):
    out = tmp_path / "keep.csv"
    out.write_text("previous\n")
    with pytest.raises(RuntimeError), AtomicOutput(out, "csv") as sink:
        sink.write(pd.DataFrame({"a": [1]}))
        raise RuntimeError("stop half-way")
    assert out.read_text() == "previous\n" and [p.name for p in tmp_path.iterdir()] == ["keep.csv"]
    with pytest.raises(DataError, match="parquet output needs a file"):
        AtomicOutput(None, "parquet").__enter__().write(pd.DataFrame({"a": [1]}))
