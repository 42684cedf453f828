"""Embeddings in bulk: the float32 ``embeddings`` table against JSON in the key-value table.

Builds a throw-away library with N embeddings of D float32 values (default 100,000 × 200),
reads them all with ``Store.embedding_matrix`` (what a similarity search needs), and compares
with the old form: one JSON object ``{mn_pen000: value, …}`` per track in ``kv``, parsed into a
matrix. JSON is measured on a sample (``--json-n``) and scaled linearly to N (say so in reports).
Times are CPU seconds of this process (``time.process_time``; the machine is shared) and wall.

    python benchmarks/bench_store.py                 # 100,000 × 200, JSON sample 10,000
    python benchmarks/bench_store.py --n 20000 --json-n 2000
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from trackmood.store import Store


def timed(fn):
    c0, w0 = time.process_time(), time.perf_counter()
    out = fn()
    return out, time.process_time() - c0, time.perf_counter() - w0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000, help="embeddings in the table")
    ap.add_argument("--dim", type=int, default=200)
    ap.add_argument("--json-n", type=int, default=10_000, help="JSON sample (scaled to --n)")
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    names = [f"mn_pen{i:03d}" for i in range(a.dim)]
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "library.sqlite"
        with Store(db) as s:
            vecs = rng.normal(size=(a.n, a.dim)).astype(np.float32)
            shas = [f"{i:064x}" for i in range(a.n)]
            _, cpu_w, wall_w = timed(
                lambda: s.put_embeddings("bench", zip(shas, vecs, strict=True))
            )
            s.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            size = os.path.getsize(db)
        with Store(db) as s:  # a cold connection, as a search would open it
            (got, m), cpu_r, wall_r = timed(lambda: s.embedding_matrix("bench"))
            assert m.shape == (a.n, a.dim) and got[0] == shas[0]
            np.testing.assert_array_equal(m[0], vecs[0])

            k = min(a.json_n, a.n)
            rows = [
                (f"json:{i}", json.dumps(dict(zip(names, vecs[i].tolist(), strict=True))))
                for i in range(k)
            ]
            with s.transaction() as c:  # the old form, written as the old cache did
                c.executemany("INSERT INTO kv VALUES ('bench-json', ?, ?, 0)", rows)
            json_bytes = sum(len(v) for _, v in rows)

            def parse():
                out = np.empty((k, a.dim), np.float32)
                q = "SELECT value FROM kv WHERE namespace='bench-json'"
                for i, (v,) in enumerate(s.conn.execute(q)):
                    out[i] = list(json.loads(v).values())
                return out

            _, cpu_j, wall_j = timed(parse)
    scale = a.n / k
    mb = a.n * a.dim * 4 / 1e6
    print(f"{a.n:,} embeddings × {a.dim} float32 ({mb:.0f} MB of vectors)")
    print(f"  write (put_embeddings):      {cpu_w:6.2f} CPU-s  {wall_w:6.2f} s wall")
    print(f"  library file:                {size / 1e6:6.1f} MB")
    print(f"  read all (embedding_matrix): {cpu_r:6.2f} CPU-s  {wall_r:6.2f} s wall")
    print(
        f"  JSON in kv, {k:,} parsed:     {cpu_j:6.2f} CPU-s  {wall_j:6.2f} s wall; "
        f"scaled to {a.n:,}: {cpu_j * scale:.1f} CPU-s, {json_bytes * scale / 1e6:.0f} MB of JSON"
    )
    print(f"  float32 table vs JSON: {cpu_j * scale / max(cpu_r, 1e-9):.0f}× less CPU to read")


if __name__ == "__main__":
    main()
