"""Rescan speed of an unchanged music library (the stat-only fast path of ``trackmood scan``).

Makes N tiny files (default 10,000) in a few hundred folders, records them in a fresh library as
already analysed (catalog rows inserted directly with their size and mtime, as a finished scan
leaves them), then times ``scan`` over the folder: it must stat every file, read the rows in one
query and analyse nothing. Prints the walk+stat time alone (the floor), the rescan seconds and
files/s, and the ratio to the floor; then the same after touching 1 % of the files (they are hashed
and found known by content, so still nothing is analysed).

Run: ``python benchmarks/bench_scan.py [N]``
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from trackmood.engine import file_hash  # noqa: E402
from trackmood.library import catalog  # noqa: E402
from trackmood.library.analyse import load  # noqa: E402
from trackmood.library.scan import scan, walk  # noqa: E402
from trackmood.store import Store  # noqa: E402


def make_files(root: Path, n: int) -> None:
    for i in range(n):
        d = root / f"artist{i // 200:03d}" / f"album{(i // 20) % 10}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"{i:05d} track.mp3").write_bytes(b"ID3" + i.to_bytes(4, "big") * 8)


def main(n: int = 10_000) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "music"
        t = time.perf_counter()
        make_files(root, n)
        print(f"made {n} files in {time.perf_counter() - t:.1f} s")
        store = Store(Path(tmp) / "library.sqlite")
        model = load(None, store=store).name
        found, _ = walk([root])
        now = time.time()
        catalog.upsert_files(
            store,
            [
                {
                    "path": p,
                    "size": st.st_size,
                    "mtime_ns": st.st_mtime_ns,
                    "sha": file_hash(p),
                    "track_id": f"audio:{i:016x}",
                    "status": "ok",
                    "model": model,
                    "mood": "Calm",
                    "p_calm": 1.0,
                    "p_energetic": 0.0,
                    "p_happy": 0.0,
                    "p_sad": 0.0,
                    "confidence": 1.0,
                    "analysed_at": now,
                    "seen_at": now,
                }
                for i, (p, st) in enumerate(found.items())
            ],
        )
        t = time.perf_counter()
        walk([root])
        floor = time.perf_counter() - t
        print(f"walk + stat alone: {floor:.3f} s")
        best = float("inf")
        for _ in range(3):
            t = time.perf_counter()
            rep = scan(store, [root])
            best = min(best, time.perf_counter() - t)
            assert (rep.unchanged, rep.analysed) == (n, 0), rep.lines()
        print(
            f"rescan of {n} unchanged files: {best:.3f} s = {n / best:,.0f} files/s "
            f"({best / floor:.1f}x walk + stat)"
        )
        touched = list(found)[::100]
        for p in touched:
            os.utime(p, ns=(time.time_ns(), time.time_ns()))
        t = time.perf_counter()
        rep = scan(store, [root])
        dt = time.perf_counter() - t
        print(
            f"rescan after touching {len(touched)} files: {dt:.3f} s "
            f"({rep.analysed} analysed, {rep.reused} known by content, {rep.unchanged} unchanged)"
        )
        store.close()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
