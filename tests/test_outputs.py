"""Where predictions are written (outputs.py): every format round-trips, and `-o` is safe — never
an input, never a folder, a one-line error for an unwritable place, symlinks followed, FIFOs
streamed into, and `.part` files of killed runs cleaned up.
"""

from __future__ import annotations

import csv
import io
import json
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


@pytest.mark.parametrize("suffix", ["csv", "json", "jsonl", "ndjson", "parquet"])
def test_formats_round_trip(tmp_path, suffix):
    df = pd.DataFrame(
        {"name": ["a", "b"], "p": [0.25, 0.5], "status": ["ok", "invalid"], "reason": [None, "x"]}
    )
    out = tmp_path / f"o.{suffix}"
    write_frame(df, out)
    back = {
        "csv": pd.read_csv,
        "json": lambda p: pd.DataFrame(json.loads(p.read_text())),  # one JSON array
        "jsonl": lambda p: pd.read_json(p, lines=True),
        "ndjson": lambda p: pd.read_json(p, lines=True),
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


# -- formats and spreadsheet formulas (issue 15, item 5) -------------------------------------

HOSTILE = [
    '=HYPERLINK("http://evil.example","x")',
    "@SUM(A1:A2)",
    "+cmd|' /C calc'!A0",
    "-2+3",
    "\tTAB",
    "\rCR",
]


NAMES = [*HOSTILE[:-1], "=2*3"]  # a table read back keeps no bare CR at a cell's start


def hostile_table(tmp_path) -> Path:
    """The example table with formula-like names and artists."""
    df = pd.concat([pd.read_csv(EXAMPLE)] * 2, ignore_index=True).head(len(HOSTILE))
    df["name"] = NAMES
    df["artist"] = ["-5.2", "Björk", "plain", "=1+1", "@me", "ok"]
    p = tmp_path / "hostile.csv"
    df.to_csv(p, index=False)
    return p


def text(path: Path) -> str:
    """The file as written (no newline translation: a cell may hold a carriage return)."""
    return path.read_bytes().decode("utf-8")


def test_csv_formula_cells_escaped_by_default_raw_on_request(tmp_path):
    src = hostile_table(tmp_path)
    out = tmp_path / "p.csv"
    r = run("predict", src, "-o", out)
    assert r.exit_code == 0, r.stderr
    rows = list(csv.DictReader(io.StringIO(text(out))))
    assert [row["name"] for row in rows] == ["'" + h for h in NAMES]
    # a number written as text is not a formula; text starting with = or @ is
    assert [row["artist"] for row in rows] == ["-5.2", "Björk", "plain", "'=1+1", "'@me", "ok"]
    assert all(float(row["p_calm"]) >= 0 for row in rows)  # numbers stay numbers
    r = run("predict", src, "-o", out, "--raw-csv")
    assert r.exit_code == 0, r.stderr
    rows = list(csv.DictReader(io.StringIO(text(out))))
    assert [row["name"] for row in rows] == NAMES
    # stdout CSV too
    r = run("predict", src, "--format", "csv")
    assert [row["name"] for row in csv.DictReader(io.StringIO(r.stdout))][0] == "'" + NAMES[0]


def test_negative_numbers_stay_numbers_and_a_cr_stays_in_its_cell(tmp_path):
    out = tmp_path / "o.csv"
    write_frame(pd.DataFrame({"name": ["-a"], "loudness": [-5.2], "n": [-3]}), out)
    assert out.read_text().splitlines()[1] == "'-a,-5.2,-3"
    write_frame(pd.DataFrame({"name": ["a\rb", "c"], "loudness": [-5.2, 1.0]}), out)
    back = pd.read_csv(out)
    assert back["name"].tolist() == ["a\rb", "c"] and back["loudness"].tolist() == [-5.2, 1.0]
    # columns of booleans or numbers with empty cells (object dtype) are left alone
    flags = pd.DataFrame({"name": ["=x", "y"], "uncertain": pd.Series([True, None], dtype=object)})
    write_frame(flags, out)
    assert out.read_text().splitlines() == ["name,uncertain", "'=x,True", "y,"]


def test_web_download_uses_the_same_rule(tmp_path):
    from trackmood.web import create_app

    from .test_web_api import web_client

    cells = [*HOSTILE, "-5.2", "Björk"]
    with web_client(create_app(store_path=tmp_path / "lib.sqlite")) as client:
        r = client.post(
            "/download.csv",
            json={"columns": ["name", "loudness"], "rows": [[c, -5.2] for c in cells]},
        )
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        got = list(csv.reader(io.StringIO(r.text)))
        bad = client.post("/download.csv", json={"columns": ["a", "b"], "rows": [[1]]})
        assert bad.status_code == 422 and "row 1 has 1 cells for 2 columns" in bad.json()["error"]
    cli = tmp_path / "cli.csv"
    write_frame(pd.DataFrame({"name": cells, "loudness": [-5.2] * len(cells)}), cli)
    assert got == list(csv.reader(io.StringIO(text(cli))))
    assert got[1] == ["'" + HOSTILE[0], "-5.2"] and got[-2:] == [
        ["-5.2", "-5.2"],
        ["Björk", "-5.2"],
    ]


@pytest.mark.parametrize("name", ["moods.xlsx", "moods.txt", "moods"])
def test_unknown_output_suffix_is_an_error_and_writes_nothing(table, tmp_path, name):
    out = tmp_path / name
    r = run("predict", table, "-o", out)
    line = one_error_line(r)
    assert r.exit_code == 2 and name in line
    assert all(s in line for s in (".csv", ".json", ".jsonl", ".parquet"))
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["tracks.csv"]
    r = run("predict", table, "-o", out, "--format", "csv")  # a named format: any file name
    assert r.exit_code == 0 and text(out).startswith("name,artist,mood,p_calm")


def test_json_is_one_array_jsonl_one_object_a_line(table, tmp_path):
    n = len(pd.read_csv(table))
    r = run("predict", table, "-o", tmp_path / "p.json")
    assert r.exit_code == 0, r.stderr
    arr = json.loads((tmp_path / "p.json").read_text())
    assert isinstance(arr, list) and len(arr) == n and arr[0]["mood"] in MOODS_SET
    r = run("predict", table, "--format", "json")
    assert json.loads(r.stdout) == arr
    for suffix in ("jsonl", "ndjson"):
        r = run("predict", table, "-o", tmp_path / f"p.{suffix}")
        lines = (tmp_path / f"p.{suffix}").read_text().splitlines()
        assert [json.loads(ln) for ln in lines] == arr
    with AtomicOutput(tmp_path / "none.json", "json"):
        pass
    assert json.loads((tmp_path / "none.json").read_text()) == []
    # streamed chunk by chunk: three writes make one array
    with AtomicOutput(tmp_path / "c.json", "json") as sink:
        for i in range(3):
            sink.write(pd.DataFrame({"i": [2 * i, 2 * i + 1]}))
    assert [d["i"] for d in json.loads((tmp_path / "c.json").read_text())] == list(range(6))


def test_malformed_json_lines_report_their_own_line(tmp_path):
    good = pd.concat([pd.read_csv(EXAMPLE)] * 3, ignore_index=True).head(12).to_dict("records")
    p = tmp_path / "t.jsonl"
    p.write_text("\n".join(json.dumps(g) for g in good) + '\n{"name": "x", "energy": }\n')
    r = run("predict", p)
    assert r.exit_code == 2 and "line 13" in one_error_line(r)


MOODS_SET = {"Calm", "Energetic", "Happy", "Sad"}
