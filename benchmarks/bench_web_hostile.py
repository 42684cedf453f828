"""Benchmark: the web server's peak memory under a hostile corpus, and ``/health`` latency meanwhile.

Starts ``trackmood serve`` (uvicorn, default limits: 50 MB per upload, 100,000 rows) on a free
loopback port and sends, one after another, while a second client polls ``/health`` every 50 ms:

- a JSON list of 10,000 objects with distinct keys (~110 KB) to ``/predict`` and ``/predict/file``;
- a Parquet "string bomb" (a 1 MB string, dictionary-encoded, in 3,000 rows: ~1 KB on disk);
- a Parquet file whose 60 KB strings add up to 6 GB decoded (100,000 rows);
- a CSV whose header line is 10 MB (2.6 million columns);
- JSON nested 100,000 levels deep, as a body and as a file;
- a 900 MB body streamed without Content-Length (chunked), and one announced by Content-Length.

Prints each answer (status, seconds, bytes the server read before refusing), the server's peak
RSS (``VmHWM`` from ``/proc/PID/status``; target < 1 GB) and the ``/health`` latencies.

    python benchmarks/bench_web_hostile.py
"""

from __future__ import annotations

import io
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

TOKEN = secrets.token_urlsafe(32)  # the server's token for POST (X-Trackmood-Token)
AUTH = {"X-Trackmood-Token": TOKEN}

MB = 1 << 20


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def vm_mb(pid: int, key: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def parquet_bomb(rows: int, cell: int) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    names = pa.DictionaryArray.from_arrays(
        pa.array(np.zeros(rows, dtype=np.int32)), pa.array(["a" * cell])
    )
    buf = io.BytesIO()
    pq.write_table(pa.table({"name": names, "energy": np.full(rows, 0.5)}), buf, compression="zstd")
    return buf.getvalue()


def corpus():
    keys = json.dumps([{f"k{i}": 1} for i in range(10_000)]).encode()
    deep = b"[" * 100_000 + b"]" * 100_000
    header = ",".join(f"c{i % 100:02d}" for i in range((10 * MB) // 4)).encode() + b"\n1\n"
    return [
        ("JSON distinct keys -> /predict", "body", keys, None),
        ("JSON distinct keys -> /predict/file", "file", keys, "keys.json"),
        ("Parquet string bomb (1 MB x 3,000)", "file", parquet_bomb(3000, 1_000_000), "b.parquet"),
        ("Parquet 60 KB x 100,000 strings", "file", parquet_bomb(100_000, 60_000), "s.parquet"),
        ("CSV with a 10 MB header", "file", header, "wide.csv"),
        ("JSON nested 100,000 deep -> /predict", "body", deep, None),
        ("JSON nested 100,000 deep -> /predict/file", "file", deep, "deep.json"),
    ]


class Health(threading.Thread):
    def __init__(self, base: str):
        super().__init__(daemon=True)
        import httpx

        self.client = httpx.Client(base_url=base, timeout=60)
        self.samples: list[tuple[int, float]] = []
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            t0 = time.perf_counter()
            try:
                status = self.client.get("/health").status_code
            except Exception:  # noqa: BLE001
                status = 0
            self.samples.append((status, time.perf_counter() - t0))
            self.stop.wait(0.05)


def stream_900mb(base: str) -> tuple[str, float, int]:
    import httpx

    sent = 0
    head = b"--x\r\nContent-Disposition: form-data; name=file; filename=a.csv\r\n\r\n"

    def body():
        nonlocal sent
        yield head
        block = b"1," * (MB // 2)
        for _ in range(900):
            sent += len(block)
            yield block

    t0 = time.perf_counter()
    try:
        with httpx.Client(base_url=base, timeout=120, headers=AUTH) as c:
            r = c.post(
                "/predict/file",
                content=body(),
                headers={"content-type": "multipart/form-data; boundary=x"},
            )
        status = str(r.status_code)
    except httpx.TransportError as e:
        status = f"closed ({type(e).__name__})"
    return status, time.perf_counter() - t0, sent


def announced_900mb(port: int) -> tuple[str, float]:
    t0 = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(
            b"POST /predict/file HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            + f"X-Trackmood-Token: {TOKEN}\r\n".encode()
            + b"Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 943718400\r\n\r\n"
        )
        s.settimeout(30)
        line = s.recv(200).split(b"\r\n")[0].decode()
    return line, time.perf_counter() - t0


def main() -> None:
    import httpx

    tmp = Path(tempfile.mkdtemp(prefix="bench-web-hostile-"))
    port = free_port()
    env = {**os.environ, "TRACKMOOD_DB": str(tmp / "library.sqlite"), "TRACKMOOD_TOKEN": TOKEN}
    cmd = [sys.executable, "-m", "trackmood", "serve", "--port", str(port), "--db"]
    server = subprocess.Popen(
        [*cmd, str(tmp / "library.sqlite"), "--log-level", "warning"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    rows = []
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("server did not start: " + (server.stderr.read() or ""))
            time.sleep(0.1)
        track = {
            "duration_ms": 200000.0,
            "danceability": 0.3,
            "acousticness": 0.9,
            "energy": 0.1,
            "instrumentalness": 0.9,
            "liveness": 0.1,
            "valence": 0.2,
            "loudness": -22.0,
            "speechiness": 0.04,
            "tempo": 80.0,
        }
        with httpx.Client(base_url=base, timeout=300, headers=AUTH) as c:
            c.post("/predict", json=[track]).raise_for_status()
            start_rss = vm_mb(server.pid, "VmHWM")
            cases = corpus()
            health = Health(base)
            health.start()
            for label, kind, data, name in cases:
                t0 = time.perf_counter()
                if kind == "body":
                    r = c.post(
                        "/predict", content=data, headers={"content-type": "application/json"}
                    )
                else:
                    r = c.post(
                        "/predict/file", files={"file": (name, data, "application/octet-stream")}
                    )
                msg = r.json().get("error", "")[:70] if r.status_code >= 400 else ""
                rows.append((label, len(data), str(r.status_code), time.perf_counter() - t0, msg))
            status, secs, sent = stream_900mb(base)
            rows.append(("900 MB chunked body -> /predict/file", sent, status, secs, "bytes sent"))
            line, secs = announced_900mb(port)
            rows.append(("Content-Length: 900 MB -> /predict/file", 0, line[9:12], secs, ""))
            time.sleep(0.5)
            health.stop.set()
            health.join(timeout=60)
            peak = vm_mb(server.pid, "VmHWM")
            alive = c.get("/health").status_code
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()

    print(f"trackmood serve under a hostile corpus ({os.cpu_count()} cores)")
    print(f"{'case':<44} {'bytes':>12} {'status':>22} {'s':>7}  message")
    for label, n, status, secs, msg in rows:
        print(f"{label:<44} {n:>12,} {status:>22} {secs:>7.2f}  {msg}")
    lat = np.array([t for _, t in health.samples]) * 1000
    bad = sum(1 for s, _ in health.samples if s != 200)
    print(
        f"server peak RSS (VmHWM): {peak:.0f} MB (after start-up and one request: "
        f"{start_rss:.0f} MB; target < 1024 MB)"
    )
    print(
        f"/health during the attack: {len(lat)} probes, {bad} not 200, p50 "
        f"{np.percentile(lat, 50):.1f} ms, p99 {np.percentile(lat, 99):.1f} ms, "
        f"max {lat.max():.1f} ms; /health after: {alive}"
    )


if __name__ == "__main__":
    main()
