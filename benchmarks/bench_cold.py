"""Cold start: ``trackmood predict one.mp3`` in a fresh process against a bare
``python -c 'import numpy'``, interleaved (the machine is shared and noisy), medians and ratio.

Issue 16's goal: the cold predict of one song at most 15x the bare numpy import (it was 1.34 s,
19.8x). Each predict run gets a new, empty library (``TRACKMOOD_DB``), so the audio is analysed
(decode, descriptors, embedding); the "rerun" case reuses one library, where the analysis is
cached by content hash and what is left is start-up, imports and scoring. Wall time and CPU time
(user + system of the child, ``getrusage``) are both printed: CPU is the steadier figure when the
machine is busy. ``--imports`` adds the import-time costs of the predict path
(``python -X importtime``), the largest first.

    python benchmarks/bench_cold.py [--runs 7] [--clip PATH] [--imports] [--baseline SRC]

``--baseline ../main/src`` interleaves the same predict with another checkout's code (e.g. before a
change): the one comparison that stays fair on a loaded machine.

The song is the first clip of ../shared/data/audio_4q/Q1 (30 s MP3) when present, else a
generated 30-s MP3.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "audio_4q"
GOAL = 15.0
BEFORE = "1.34 s = 19.8x numpy (issue 16)"


def one_song(tmp: Path) -> Path:
    clips = sorted((DATA / "Q1").glob("*.mp3"))
    if clips:
        return clips[0]
    sys.path.insert(0, str(ROOT))
    from tests.audio_fixtures import music_like, write_pyav

    return write_pyav(tmp / "one.mp3", music_like(30.0, 22050), 22050, "libmp3lame")


def timed(cmd: list[str], env: dict) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (user + system) and exit code of one fresh process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed: {proc.stderr.decode()[-400:]}")
    return wall, cpu, proc.returncode


def import_costs(song: Path, env: dict, top: int = 25) -> list[tuple[int, str]]:
    """(cumulative µs, module) of the top-level imports of one cold predict."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "trackmood", "predict", str(song)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    rows = []
    for line in proc.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if m and len(m.group(3)) <= 2:  # imports made by trackmood itself, and theirs
            rows.append((int(m.group(2)), ("  " * (len(m.group(3)) - 1)) + m.group(4)))
    return sorted(rows, reverse=True)[:top]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7, help="runs of each command (default 7)")
    ap.add_argument("--clip", type=Path, help="the song (default: a 4Q clip or a generated one)")
    ap.add_argument("--imports", action="store_true", help="also list the import costs")
    ap.add_argument("--baseline", type=Path, help="another src/ folder to compare, interleaved")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        song = args.clip or one_song(tmp)
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "TRACKMOOD_DB": str(tmp / "r.db")}
        numpy_cmd = [sys.executable, "-c", "import numpy"]
        predict_cmd = [sys.executable, "-m", "trackmood", "predict", str(song)]
        timed(predict_cmd, env)  # warm the OS file cache and the rerun library
        cases: dict[str, list[tuple[float, float]]] = {"numpy": [], "new": [], "rerun": []}
        base = {**env, "PYTHONPATH": str(args.baseline.resolve())} if args.baseline else None
        if base:
            cases["baseline"] = []
        for i in range(args.runs):  # interleaved: the machine's load hits every case alike
            cases["numpy"].append(timed(numpy_cmd, env)[:2])
            fresh = {**env, "TRACKMOOD_DB": str(tmp / f"new{i}.db")}
            cases["new"].append(timed(predict_cmd, fresh)[:2])
            cases["rerun"].append(timed(predict_cmd, env)[:2])
            if base:
                fresh = {**base, "TRACKMOOD_DB": str(tmp / f"base{i}.db")}
                cases["baseline"].append(timed(predict_cmd, fresh)[:2])

        med = {k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v))
               for k, v in cases.items()}  # fmt: skip
        nw, nc = med["numpy"]
        print(f"cold start, {args.runs} interleaved runs each, medians; song {song.name}")
        print(f"{'case':<52} {'wall s':>7} {'CPU s':>7} {'x numpy (wall)':>15} {'x (CPU)':>8}")
        labels = {
            "numpy": "python -c 'import numpy'",
            "new": "trackmood predict one.mp3 (new library: analysed)",
            "rerun": "trackmood predict one.mp3 (rerun: cached analysis)",
            "baseline": f"new library, code from {args.baseline}",
        }
        for k, (w, c) in med.items():
            print(f"{labels[k]:<52} {w:>7.3f} {c:>7.3f} {w / nw:>14.1f}x {c / nc:>7.1f}x")
        ratio = med["new"][0] / nw
        verdict = "reached" if ratio <= GOAL else "NOT reached"
        print(f"goal: new-library predict <= {GOAL:g}x numpy (wall): {ratio:.1f}x, {verdict}")
        print(f"before: {BEFORE}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        if args.imports:
            print("\nimport costs of the predict path (cumulative ms, python -X importtime):")
            for us, name in import_costs(song, {**env, "TRACKMOOD_DB": str(tmp / "imp.db")}):
                print(f"  {us / 1000:7.1f}  {name}")


if __name__ == "__main__":
    main()
