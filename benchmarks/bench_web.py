"""Benchmark: ``POST /predict`` over loopback against the real server (``trackmood serve`` under
uvicorn), with 1 and with 1,000 tracks per request, beside the in-process predict speed (the floor).

Prints requests/s, tracks/s and p50/p99 latency. Bounded: each case stops after ``--requests``
requests or ``--seconds`` seconds, whichever comes first. Traffic goes to 127.0.0.1 only.

    python benchmarks/bench_web.py [--requests 2000] [--seconds 10]

The last column is the p50 measured before the rows path for a few tracks
(``pipeline.predict_records``), when every request went through the pandas pipeline (issue 16,
same machine, loaded): the figure to compare with.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

#: p50 ms through the pandas pipeline before the rows path (benchmarks/README.md, issue 16);
#: in brackets the handler before the pipeline (issue 8).
BEFORE = {
    ("in-process handler code, no HTTP, no store", 1): "4.6",
    ("HTTP POST /predict?store=false", 1): "6.6 (1.8)",
    ("HTTP POST /predict (stores in library)", 1): "10.6 (2.0)",
    ("HTTP POST /predict (stores in library)", 1000): "199 (163)",
}


def tracks(n: int, seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    return [
        {
            "id": f"bench-{seed}-{i}",
            "name": f"Track {i}",
            "duration_ms": float(rng.uniform(120e3, 360e3)),
            "danceability": float(rng.uniform(0, 1)),
            "acousticness": float(rng.uniform(0, 1)),
            "energy": float(rng.uniform(0, 1)),
            "instrumentalness": float(rng.uniform(0, 1)),
            "liveness": float(rng.uniform(0, 1)),
            "valence": float(rng.uniform(0, 1)),
            "loudness": float(rng.uniform(-30, -2)),
            "speechiness": float(rng.uniform(0, 0.5)),
            "tempo": float(rng.uniform(60, 190)),
        }
        for i in range(n)
    ]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def summarize(latencies: list[float], n_tracks: int, wall: float) -> dict:
    a = np.asarray(latencies) * 1000
    return {
        "requests": len(a),
        "req_s": len(a) / wall,
        "tracks_s": len(a) * n_tracks / wall,
        "p50_ms": float(np.percentile(a, 50)),
        "p99_ms": float(np.percentile(a, 99)),
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux ``/proc``), 0 where unavailable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_http(
    client, url: str, body: bytes, n_tracks: int, *, requests: int, seconds: float, pid: int = 0
) -> dict:
    headers = {"content-type": "application/json"}
    for _ in range(5):  # warm up
        r = client.post(url, content=body, headers=headers)
        r.raise_for_status()
    lat = []
    cpu0 = cpu_seconds(pid)
    start = time.perf_counter()
    while len(lat) < requests and time.perf_counter() - start < seconds:
        t0 = time.perf_counter()
        r = client.post(url, content=body, headers=headers)
        lat.append(time.perf_counter() - t0)
        if r.status_code != 200:
            raise SystemExit(f"server answered {r.status_code}: {r.text[:200]}")
    out = summarize(lat, n_tracks, time.perf_counter() - start)
    out["server_cpu_ms"] = (cpu_seconds(pid) - cpu0) * 1000 / len(lat)
    return out


def bench_inprocess(fn, n_tracks: int, *, requests: int, seconds: float) -> dict:
    for _ in range(5):
        fn()
    lat = []
    start = time.perf_counter()
    while len(lat) < requests and time.perf_counter() - start < seconds:
        t0 = time.perf_counter()
        fn()
        lat.append(time.perf_counter() - t0)
    out = summarize(lat, n_tracks, time.perf_counter() - start)
    out["server_cpu_ms"] = None
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=2000, help="most requests per case")
    ap.add_argument("--seconds", type=float, default=10.0, help="most seconds per case")
    args = ap.parse_args()

    import httpx
    from pydantic import TypeAdapter

    from trackmood import load_model, predict_frame
    from trackmood.web.deps import Settings, WebState
    from trackmood.web.schemas import TrackIn
    from trackmood.web.service import predict_tracks

    payloads = {1: tracks(1), 1000: tracks(1000, seed=1)}
    model = load_model("default")
    tmp = Path(tempfile.mkdtemp(prefix="bench-web-"))
    port = free_port()
    token = secrets.token_urlsafe(32)  # the server's token for POST (X-Trackmood-Token)
    env = {**os.environ, "TRACKMOOD_DB": str(tmp / "library.sqlite"), "TRACKMOOD_TOKEN": token}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "trackmood",
            "serve",
            "--port",
            str(port),
            "--db",
            str(tmp / "library.sqlite"),
            "--log-level",
            "warning",
        ],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    results = []
    try:
        with httpx.Client(
            base_url=base, timeout=60, headers={"X-Trackmood-Token": token}
        ) as client:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if client.get("/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit(
                        "server did not start: "
                        + (server.stderr.read() if server.poll() is not None else "")
                    )
                time.sleep(0.1)
            for n, rows in payloads.items():
                frame = pd.DataFrame(rows)
                X = frame[model.features].to_numpy(dtype=float)
                reqs = args.requests if n == 1 else max(20, args.requests // 10)
                results.append(
                    (
                        "in-process model.predict_proba (numpy)",
                        n,
                        bench_inprocess(
                            lambda X=X: model.predict_proba(X),
                            n,
                            requests=reqs,
                            seconds=args.seconds,
                        ),
                    )
                )
                results.append(
                    (
                        "in-process predict_frame (Python API)",
                        n,
                        bench_inprocess(
                            lambda frame=frame: predict_frame(model, frame),
                            n,
                            requests=reqs,
                            seconds=args.seconds,
                        ),
                    )
                )
                state = WebState(
                    Settings(
                        model=model,
                        store_path=tmp / "inproc.sqlite",
                        max_upload_bytes=1 << 26,
                        max_rows=10**6,
                        max_files=1,
                    )
                )
                state.open()
                adapter = TypeAdapter(list[TrackIn])
                raw = json.dumps(rows).encode()

                def handler(state=state, raw=raw, adapter=adapter):
                    tracks_in = adapter.validate_json(raw)
                    return json.dumps(predict_tracks(state, tracks_in, source="bench", store=False))

                results.append(
                    (
                        "in-process handler code, no HTTP, no store",
                        n,
                        bench_inprocess(handler, n, requests=reqs, seconds=args.seconds),
                    )
                )
                state.close()
                body = json.dumps(rows).encode()
                results.append(
                    (
                        "HTTP POST /predict?store=false",
                        n,
                        bench_http(
                            client,
                            "/predict?store=false",
                            body,
                            n,
                            requests=reqs,
                            seconds=args.seconds,
                            pid=server.pid,
                        ),
                    )
                )
                results.append(
                    (
                        "HTTP POST /predict (stores in library)",
                        n,
                        bench_http(
                            client,
                            "/predict",
                            body,
                            n,
                            requests=reqs,
                            seconds=args.seconds,
                            pid=server.pid,
                        ),
                    )
                )
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()

    print(
        f"POST /predict on loopback (uvicorn, 1 client, keep-alive), model {model.name!r}, "
        f"{os.cpu_count()} cores"
    )
    print(
        f"{'case':<44} {'tracks/req':>10} {'requests':>9} {'req/s':>9} {'tracks/s':>11} "
        f"{'p50 ms':>8} {'p99 ms':>8} {'server CPU ms':>13}  {'p50 before':>10}"
    )
    for name, n, r in results:
        cpu = "" if r["server_cpu_ms"] is None else f"{r['server_cpu_ms']:.2f}"
        print(
            f"{name:<44} {n:>10} {r['requests']:>9} {r['req_s']:>9.1f} {r['tracks_s']:>11.0f} "
            f"{r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f} {cpu:>13}  {BEFORE.get((name, n), ''):>10}"
        )
    print(
        "server CPU ms: the server process's user + system CPU per request (robust when the "
        f"machine is busy; load average now {os.getloadavg()[0]:.1f})"
    )


if __name__ == "__main__":
    main()
