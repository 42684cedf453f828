"""Hostile uploads: every one is refused with a 4xx and a clear message before the server
allocates memory in proportion to what the input would expand to; the server's peak RSS stays
bounded and ``/health`` keeps answering (a real uvicorn server in a subprocess).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from trackmood.web import create_app, limits

from .test_web_api import AUTH, FEATURES, TOKEN, csv_bytes, upload, web_client

ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------------------- the corpus
def deep_json(levels: int = 100_000) -> bytes:
    return b"[" * levels + b"]" * levels


def distinct_keys_json(n: int = 10_000) -> bytes:
    """~110 KB: n objects with one distinct key each (a frame of n x n cells once read)."""
    return json.dumps([{f"k{i}": 1} for i in range(n)]).encode()


def parquet_string_bomb(rows: int = 3000, cell: int = 1_000_000) -> bytes:
    """A few KB of Parquet: one ``cell``-byte string, dictionary-encoded, in every row."""
    names = pa.DictionaryArray.from_arrays(
        pa.array(np.zeros(rows, dtype=np.int32)), pa.array(["a" * cell])
    )
    table = pa.table({"name": names, "energy": pa.array(np.full(rows, 0.5))})
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd")
    return buf.getvalue()


def wide_csv_header(size: int = 10 * 1024 * 1024) -> bytes:
    """A header line of ``size`` bytes (a million columns) and one data row."""
    n = size // 4
    return ",".join(f"c{i % 100:02d}" for i in range(n)).encode() + b"\n1\n"


@pytest.fixture
def client(tmp_path):
    with web_client(create_app(store_path=tmp_path / "h.sqlite", max_rows=5000)) as c:
        yield c


# ------------------------------------------------------------------------------- each case
def test_deep_json_body_and_files_are_422(client):
    for path in ("/predict", "/predict/spotify"):
        r = client.post(path, content=deep_json(), headers={"content-type": "application/json"})
        assert r.status_code == 422 and "nested deeper than 32 levels" in r.json()["error"]
    for name in ("deep.json", "deep.jsonl"):
        r = upload(client, name, deep_json(), "application/json")
        assert r.status_code == 422, r.text
        assert r.json()["error"].startswith(f"{name}: JSON nested deeper")


def test_nesting_inside_strings_is_not_nesting(client):
    rows = [{**FEATURES, "name": "[[[[" * 50 + '\\"{{{{' * 50}]
    r = client.post(
        "/predict", content=json.dumps(rows), headers={"content-type": "application/json"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["predictions"][0]["name"].startswith("[[[[")
    r = upload(client, "s.json", json.dumps(rows).encode(), "application/json")
    assert r.status_code == 200 and r.json()["errors"] == 0


def test_distinct_keys_json_is_413(client):
    body = distinct_keys_json(4000)  # 4,000 x 4,000 cells once in a frame
    assert len(body) < 60_000
    r = client.post("/predict", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 413 and "distinct keys" in r.json()["error"]
    r = upload(client, "keys.json", body, "application/json")
    assert r.status_code == 413 and "more than 500 distinct columns" in r.json()["error"]
    assert r.json()["error"].startswith("keys.json: ")


def test_parquet_string_bomb_is_413(client):
    data = parquet_string_bomb()
    assert len(data) < 20_000
    r = upload(client, "bomb.parquet", data, "application/octet-stream")
    assert r.status_code == 413 and "column 'name' holds a value of 1,000,000 bytes" in r.text
    # cells under the per-cell limit that add up: counted through the dictionary
    data = parquet_string_bomb(rows=1000, cell=60_000)
    with web_client(create_app(store_path=":memory:", max_rows=1000)) as c:
        old = limits.MAX_DECODED_BYTES
        limits.MAX_DECODED_BYTES = 32 * 1024 * 1024
        try:
            r = upload(c, "sum.parquet", data, "application/octet-stream")
        finally:
            limits.MAX_DECODED_BYTES = old
    assert r.status_code == 413 and "add up to more than 32 MB" in r.json()["error"]


def test_parquet_shape_and_types_are_checked_from_the_footer(client):
    buf = io.BytesIO()  # 10,000 rows of one repeated value: tiny on disk, over max_rows
    pq.write_table(pa.table({"energy": np.full(10_000, 0.5)}), buf, compression="zstd")
    r = upload(client, "rows.parquet", buf.getvalue(), "application/octet-stream")
    assert r.status_code == 413 and "10000 rows is more than the limit of 5000" in r.text
    buf = io.BytesIO()
    pq.write_table(pa.table({"tags": [[1, 2], [3]], "energy": [0.1, 0.2]}), buf)
    r = upload(client, "nested.parquet", buf.getvalue(), "application/octet-stream")
    assert r.status_code == 422 and "column 'tags' has type list" in r.json()["error"]
    buf = io.BytesIO()
    pq.write_table(pa.table({f"c{i}": [1.0] for i in range(600)}), buf)
    r = upload(client, "wide.parquet", buf.getvalue(), "application/octet-stream")
    assert r.status_code == 413 and "600 columns" in r.json()["error"]


def test_csv_header_and_rows_are_checked_before_reading(client):
    r = upload(client, "wide.csv", wide_csv_header())
    assert r.status_code == 413 and "header line is longer than 256 KB" in r.json()["error"]
    header = ",".join(f"c{i}" for i in range(600)).encode() + b"\n" + b"1\n"
    r = upload(client, "cols.csv", header)
    assert r.status_code == 413 and "600 columns" in r.json()["error"]
    many = csv_bytes([FEATURES] * 5001)
    r = upload(client, "many.csv", many)
    assert r.status_code == 413 and "limit of 5000 rows" in r.json()["error"]
    # newlines inside quoted cells are not rows
    quoted = csv_bytes([{**FEATURES, "name": "a\nb\nc"}] * 400)
    r = upload(client, "quoted.csv", quoted)
    assert r.status_code == 200 and r.json()["count"] == 400


@pytest.mark.parametrize(
    "kind, size", [("csv", 45 << 20), ("json", 45 << 20), ("tsv", 1 << 20), ("jsonl", 1 << 20)]
)
def test_a_45_mb_cell_is_refused_and_nothing_is_stored(tmp_path, kind, size):
    huge = "N" * size  # a 45 MB name: under the 50 MB upload limit
    rows = [dict(FEATURES, id="a", name="fine"), dict(FEATURES, id="b", name=huge)]
    if kind in ("csv", "tsv"):
        data = pd.DataFrame(rows).to_csv(index=False, sep="," if kind == "csv" else "\t").encode()
    elif kind == "json":
        data = json.dumps(rows).encode()
    else:
        data = "\n".join(json.dumps(r) for r in rows).encode()
    del huge, rows
    with web_client(create_app(store_path=tmp_path / "cell.sqlite")) as c:
        r = upload(c, f"names.{kind}", data, "application/octet-stream")
        assert r.status_code == 413, r.text[:300]
        message = r.json()["error"]
        assert message == (
            f"names.{kind}, row 2, column 'name': a value of {size:,} bytes is more than the "
            "limit of 64 KB per cell"
        )
        r = c.get("/tracks")
        assert r.json()["total"] == 0 and len(r.content) < 1000  # nothing was stored
        # the same table with names under the limit goes through
        ok = data.replace(b"N" * size, b"N" * 60_000)
        r = upload(c, f"names.{kind}", ok, "application/octet-stream")
        assert r.status_code == 200 and r.json()["count"] == 2, r.text[:300]


def test_long_string_in_a_json_body_is_413(client):
    body = json.dumps([dict(FEATURES, extra_note="x" * 70_000)])
    r = client.post("/predict", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert r.json()["error"] == (
        "request body: a string of 70,000 bytes is more than the limit of 64 KB per value"
    )


def test_scan_json_counts_values_and_skips_escapes():
    assert limits.scan_json(b'{"a": "\\\\"}')[0] == 1  # an escaped backslash ends the string
    assert limits.scan_json(b'["\\"[[[["]')[0] == 1  # an escaped quote does not
    chunked = b'["' + b"\\" * (2 * (1 << 20) - 2) + b'", [[1]]]'  # escapes across chunks
    assert limits.scan_json(chunked)[0] == 3
    with pytest.raises(Exception, match="more than 100 values"):
        limits.scan_json(b"[" + b"[]," * 200 + b"[]]", max_values=100)


def test_body_limits_are_streamed(tmp_path):
    with web_client(create_app(store_path=":memory:", max_upload_mb=1)) as c:
        big = b"x" * (3 << 20)
        r = c.post("/predict/file", files={"file": ("big.csv", big, "text/csv")})
        assert r.status_code == 413 and "limit" in r.json()["error"]

        def chunks():  # no Content-Length: counted while it arrives
            for _ in range(200):
                yield b"y" * (1 << 16)

        r = c.post("/predict", content=chunks(), headers={"content-type": "application/json"})
        assert r.status_code == 413 and "limit of 1048576 bytes" in r.json()["error"]


# ------------------------------------------------------------------------------- a real server
SERVER = """
import importlib, sys, uvicorn
from trackmood.web import create_app
port, db, upload_mb, analyser, token = sys.argv[1], sys.argv[2], float(sys.argv[3]), *sys.argv[4:6]
kw = {}
if analyser:
    mod, _, fn = analyser.partition(":")
    kw["audio_analyser"] = getattr(importlib.import_module(mod), fn)
app = create_app(store_path=db, max_upload_mb=upload_mb, token=token, **kw)
uvicorn.run(app, host="127.0.0.1", port=int(port), log_level="warning")
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def vm_hwm_mb(pid: int) -> float:
    """Peak resident memory of a process (``VmHWM`` in ``/proc/PID/status``), MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


@contextlib.contextmanager
def real_server(tmp_path, *, upload_mb: float = 50, analyser: str = ""):
    """``trackmood.web`` under uvicorn in a subprocess, started with ``TOKEN`` (send ``AUTH``);
    yields ``(base_url, Popen)``.
    """
    import httpx

    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            SERVER,
            str(port),
            str(tmp_path / "server.sqlite"),
            str(upload_mb),
            analyser,
            TOKEN,
        ],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("server did not start: " + (proc.stderr.read() or ""))
            time.sleep(0.1)
        yield base, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class HealthWatch:
    """Polls ``/health`` in a thread; records each answer's status and latency."""

    def __init__(self, base: str):
        import httpx

        self.client = httpx.Client(base_url=base, timeout=30)
        self.samples: list[tuple[int, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            t0 = time.perf_counter()
            try:
                status = self.client.get("/health").status_code
            except Exception:  # noqa: BLE001 - a failed probe is a sample too
                status = 0
            self.samples.append((status, time.perf_counter() - t0))
            self._stop.wait(0.05)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=30)
        self.client.close()


def test_server_memory_is_bounded_under_hostile_uploads(tmp_path):
    import httpx

    with real_server(tmp_path, upload_mb=20) as (base, proc):
        with httpx.Client(base_url=base, timeout=120, headers=AUTH) as c:
            assert c.post("/predict", json=[FEATURES]).status_code == 200
            before = vm_hwm_mb(proc.pid)
            with HealthWatch(base) as watch:
                cases = [
                    ("/predict", deep_json(), None),
                    ("/predict", distinct_keys_json(), None),
                    ("/predict/file", deep_json(), "deep.json"),
                    ("/predict/file", distinct_keys_json(), "keys.json"),
                    ("/predict/file", parquet_string_bomb(), "bomb.parquet"),
                    ("/predict/file", wide_csv_header(), "wide.csv"),
                ]
                for path, data, name in cases:
                    if name is None:
                        r = c.post(path, content=data, headers={"content-type": "application/json"})
                    else:
                        r = c.post(path, files={"file": (name, data, "application/octet-stream")})
                    assert 400 <= r.status_code < 500, (path, name, r.text[:200])
                    assert r.json()["error"]
                # Content-Length far over the limit: refused before the body is read
                with socket.create_connection(("127.0.0.1", int(base.rsplit(":", 1)[1]))) as s:
                    s.sendall(
                        b"POST /predict/file HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                        + f"X-Trackmood-Token: {TOKEN}\r\n".encode()
                        + b"Content-Type: multipart/form-data; boundary=x\r\n"
                        b"Content-Length: 943718400\r\n\r\n"
                    )
                    s.settimeout(10)
                    assert s.recv(200).startswith(b"HTTP/1.1 413")
                # a chunked body (no Content-Length) far over the limit: cut off near the limit
                sent = 0

                def body():
                    nonlocal sent
                    yield b"--x\r\nContent-Disposition: form-data; name=file; filename=a.csv\r\n\r\n"
                    for _ in range(3200):  # 200 MB
                        sent += 1 << 16
                        yield b"1," * (1 << 15)

                try:
                    r = c.post(
                        "/predict/file",
                        content=body(),
                        headers={"content-type": "multipart/form-data; boundary=x"},
                    )
                    assert r.status_code == 413, r.text[:200]
                except httpx.TransportError:
                    pass  # the server answered 413 and closed while we were still sending
                assert sent < 60 << 20, sent  # limit 21 MB; not the whole 200 MB
            after = vm_hwm_mb(proc.pid)
            print(f"VmHWM before {before:.0f} MB, after {after:.0f} MB")
        assert c.get  # the client closed cleanly
        statuses = {s for s, _ in watch.samples}
        assert statuses == {200}, statuses
        assert max(t for _, t in watch.samples) < 5.0
        assert after - before < 250, (before, after)  # unbounded: gigabytes
