"""Peak memory and CPU of extracting one very long audio file (a DJ mix), with its timeline.

Generates a file of ``--hours`` (default 3) of a music-like signal (a chord pad with a drum pulse,
changing every minute) written block by block (never held in memory), then extracts it in a fresh
process — the same ``extract_one`` a pool worker runs — with a ``--window``-second timeline, and
prints that process's peak RSS (VmHWM, i.e. per worker), its CPU-seconds per audio-minute and the
number of timeline windows. Reference: whole-signal extraction took 5.2 GB for one hour (issue 9).

Run: ``nice python benchmarks/bench_audio_long.py [--hours 3] [--format flac] [--rate 44100]``
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

_CHILD = r"""
import json, sys, time
def hwm():
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM")) / 1024
from trackmood.audio.parallel import extract_one
base = hwm()
c, t = time.process_time(), time.perf_counter()
r = extract_one(sys.argv[1], window=float(sys.argv[2]), max_duration=None)
print(json.dumps({"base_mb": base, "peak_mb": hwm(), "cpu": time.process_time() - c,
                  "wall": time.perf_counter() - t, "error": r.get("error"),
                  "windows": len(r.get("windows", [])),
                  "duration_ms": r.get("features", {}).get("duration_ms")}))
"""


def write_long(path: Path, hours: float, rate: int, channels: int, fmt: str) -> float:
    import numpy as np
    import soundfile as sf
    from audio_fixtures import music_like

    minutes = round(hours * 60)
    with sf.SoundFile(str(path), "w", rate, channels, format=fmt.upper()) as f:
        for m in range(minutes):
            y = music_like(60.0, sr=rate, seed=m % 7) * (0.5 + 0.5 * ((m % 3) / 2))
            block = np.stack([y] * channels, axis=1) if channels > 1 else y
            for i in range(0, len(block), 1 << 16):
                f.write(block[i : i + (1 << 16)])
    return minutes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hours", type=float, default=3.0)
    ap.add_argument("--format", default="flac", choices=["flac", "wav", "ogg"])
    ap.add_argument("--rate", type=int, default=44100)
    ap.add_argument("--channels", type=int, default=2)
    ap.add_argument("--window", type=float, default=30.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"mix.{args.format}"
        t = time.perf_counter()
        minutes = write_long(path, args.hours, args.rate, args.channels, args.format)
        print(
            f"generated {minutes} min ({args.rate} Hz, {args.channels} ch, {args.format}), "
            f"{path.stat().st_size / 1e6:.0f} MB in {time.perf_counter() - t:.0f} s"
        )
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        out = subprocess.run(
            [sys.executable, "-c", _CHILD, str(path), str(args.window)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
    import json

    r = json.loads(out.stdout)
    if r["error"]:
        print("error:", r["error"])
    print(f"peak RSS of the extracting process (one worker): {r['peak_mb']:.0f} MB")
    print(
        f"  after imports: {r['base_mb']:.0f} MB; analysis added {r['peak_mb'] - r['base_mb']:.0f} MB"
    )
    print(
        "  reference: whole-signal extraction, 1 h: 5,200 MB (issue 9); target: < 1,000 MB for 3 h"
    )
    print(
        f"CPU: {r['cpu']:.0f} s = {r['cpu'] / minutes:.3f} CPU-s per audio-minute (wall {r['wall']:.0f} s)"
    )
    print(
        f"timeline: {r['windows']} windows of {args.window:g} s; duration {r['duration_ms'] / 6e4:.1f} min"
    )


if __name__ == "__main__":
    main()
