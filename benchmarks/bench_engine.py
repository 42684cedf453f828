"""The audio engine's cost and scale: CPU per track, the workers-1 vs workers-2 speedup of
``trackmood scan``, a worked estimate for a large catalogue, and the agreement of the sampled
descriptors of long tracks with the whole-track analysis.

1. **Scan** 40 audio_4q clips (10 per quadrant) with ``trackmood scan --workers 1`` and
   ``--workers 2`` in fresh libraries (no cache), each in its own process: wall seconds and
   CPU-seconds (the process and its workers, from ``RUSAGE_CHILDREN``), tracks per CPU-second
   (= per worker-second of a busy worker), the wall speedup.
2. **A 4-minute track**: CPU-seconds of one engine analysis (descriptors + embedding, one decode)
   in a warm worker, against the whole-track analysis of before (descriptors over every frame
   plus the embedding read on its own).
3. **Agreement** of tempo and key/mode measured on the excerpts with the whole-track values, on
   generated 4-minute tracks of known tempo and key and on 4-minute tracks made of audio_4q
   clips (one clip looped, and clips of one quadrant concatenated).
4. **Estimate** for a catalogue of 1,000,000 tracks of 4 minutes on N workers.

The machine may be shared: CPU-seconds are the robust figure; wall times are as measured.

Run: ``python benchmarks/bench_engine.py [--clips 40] [--tracks 8] [--skip-scan]``
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

from audio_fixtures import AUDIO_4Q, write_pyav  # noqa: E402

SR = 22050
PITCHES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


# -- 1. scan ------------------------------------------------------------------------------------
def clips(n: int) -> list[Path]:
    per = max(1, n // 4)
    out = []
    for q in ("Q1", "Q2", "Q3", "Q4"):
        out += sorted((AUDIO_4Q / q).glob("*.mp3"))[:per]
    return out[:n]


def scan_run(folder: Path, workers: int, db: Path, src: Path = ROOT / "src") -> dict:
    env = {**os.environ, "PYTHONPATH": str(src), "TRACKMOOD_DB": str(db)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "trackmood", "scan", "--workers", str(workers), str(folder)],
        env=env,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode not in (0, 4):
        raise SystemExit(out.stderr)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall": wall, "cpu": cpu, "summary": out.stderr.strip().splitlines()[-1]}


# -- 2./3. long tracks ----------------------------------------------------------------------------
def synthetic(bpm: float, key: int, minor: bool, seconds: float = 240.0, seed: int = 0):
    """A 4-minute track: a I-IV-V-I (i-iv-v-i) progression of the key, a bass on the root and a
    kick and hi-hat on the beat at ``bpm``.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    y = np.zeros_like(t)
    third = 3 if minor else 4
    bar = 4 * 60.0 / bpm
    for i, degree in enumerate((0, 5, 7, 0) * int(seconds / bar / 4 + 1)):
        a, b = int(i * bar * SR), int((i + 1) * bar * SR)
        if a >= len(t):
            break
        seg = t[a:b]
        root = 220.0 * 2 ** (((key + degree) % 12 - 9) / 12)
        for semis in (0, third if degree != 7 else 4, 7):
            f = root * 2 ** (semis / 12)
            y[a:b] += 0.06 * (np.sin(2 * np.pi * f * seg) + 0.3 * np.sin(4 * np.pi * f * seg))
        y[a:b] += 0.08 * np.sin(2 * np.pi * root / 2 * seg)
    period = 60.0 / bpm
    n = int(0.04 * SR)
    env = np.exp(-np.arange(n) / (0.008 * SR))
    kick = np.sin(2 * np.pi * 60 * np.arange(n) / SR) * env
    hat = rng.standard_normal(n) * env * 0.3
    for k, beat in enumerate(np.arange(0.05, seconds - 0.1, period)):
        i = int(beat * SR)
        y[i : i + n] += 0.6 * kick if k % 2 == 0 else 0.5 * hat
    return (0.7 * y / np.abs(y).max()).astype(np.float32)


def looped(clip: Path, seconds: float = 240.0):
    from trackmood.audio.decode import decode

    y = decode(clip, sr=44100, loudness=False).y
    reps = int(np.ceil(seconds * 44100 / len(y)))
    return np.tile(y, reps)[: int(seconds * 44100)]


def concatenated(paths: list[Path], seconds: float = 240.0):
    from trackmood.audio.decode import decode

    y = np.concatenate([decode(p, sr=44100, loudness=False).y for p in paths])
    return np.tile(y, 2)[: int(seconds * 44100)]


def make_long_tracks(folder: Path, n: int, *, holdout: bool = False):
    """``[(path, (bpm, key, mode) or None)]``: generated tracks of known tempo and key (FLAC),
    audio_4q clips looped to 4 minutes and quadrant concatenations (MP3). ``holdout``: other
    clips and tempi than the set the excerpt budget was chosen on.
    """
    import soundfile as sf

    rng = np.random.default_rng(11 if holdout else 7)
    first = 60 if holdout else 20
    out = []
    for i in range(n):
        bpm, key, minor = float(rng.integers(70, 160)), int(rng.integers(12)), bool(i % 2)
        p = folder / f"gen{i}.flac"
        sf.write(str(p), synthetic(bpm, key, minor, seed=i), SR, format="FLAC")
        out.append((p, (bpm, key, 0 if minor else 1)))
    for i, q in enumerate(("Q1", "Q2", "Q3", "Q4") * max(1, n // 4)):
        k = i // 4
        files = sorted((AUDIO_4Q / q).glob("*.mp3"))
        p = folder / f"loop_{q}_{k}.mp3"
        write_pyav(p, looped(files[first + k]), 44100, "libmp3lame")
        out.append((p, None))
        if k == 0:
            p = folder / f"concat_{q}.mp3"
            write_pyav(p, concatenated(files[first + 10 : first + 18]), 44100, "libmp3lame")
            out.append((p, None))
    return out


def cpu(fn, repeat: int = 2) -> tuple[float, dict]:
    best, out = float("inf"), None
    for _ in range(repeat):
        c = time.process_time()
        out = fn()
        best = min(best, time.process_time() - c)
    return best, out


def tempo_agrees(a: float, b: float, tol: float = 0.04) -> bool:
    return bool(np.isfinite(a) and np.isfinite(b) and abs(a - b) <= tol * b)


def long_tracks(n: int, holdout: bool = False) -> dict:
    import scipy.signal  # noqa: F401  (as a batch worker has it: the recursive loudness filter)
    import scipy.sparse  # noqa: F401

    from trackmood.audio.embedding import embed_file
    from trackmood.engine import read
    from trackmood.engine.work import single_threaded

    single_threaded()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tracks = make_long_tracks(Path(tmp), n, holdout=holdout)
        read.analyse(tracks[0][0], patches=9)  # warm: the network is loaded once per worker
        for path, truth in tracks:
            t_new, new = cpu(lambda p=path: read.analyse(p, patches=9))
            t_old, old = cpu(lambda p=path: (read._whole(p, None, None, None), embed_file(p)))
            nf, of = new["features"], old[0]["features"]
            rows.append(
                {
                    "name": path.name,
                    "truth": truth,
                    "cpu_new": t_new,
                    "cpu_old": t_old,
                    "read": new["read"],
                    "tempo": (nf["tempo"], of["tempo"]),
                    "key": ((nf["key"], nf["mode"]), (of["key"], of["mode"])),
                }
            )
            print(
                f"  {path.name:18s} {new['read']:8s} cpu {t_new:.2f} s (whole {t_old:.2f} s)  "
                f"tempo {nf['tempo']:.1f} / {of['tempo']:.1f}  key "
                f"{PITCHES[nf['key']]}{'m' if nf['mode'] == 0 else ''} / "
                f"{PITCHES[of['key']]}{'m' if of['mode'] == 0 else ''}"
                + (
                    f"  truth {truth[0]:.0f} BPM {PITCHES[truth[1]]}{'m' * (1 - truth[2])}"
                    if truth
                    else ""
                ),  # fmt: skip
                flush=True,
            )
    return {"rows": rows}


def report_long(res: dict) -> float:
    rows = res["rows"]
    cpu_new = np.median([r["cpu_new"] for r in rows])
    cpu_old = np.median([r["cpu_old"] for r in rows])
    tempo = np.mean([tempo_agrees(*r["tempo"]) for r in rows])
    key = np.mean([r["key"][0] == r["key"][1] for r in rows])
    print(
        f"4-minute track: {cpu_new:.2f} CPU-s (median of {len(rows)}; descriptors on "
        f"excerpts + embedding, one decode) vs {cpu_old:.2f} CPU-s whole-track"
    )
    print(
        f"agreement with the whole-track values: tempo within 4 % {tempo:.0%}, "
        f"key and mode {key:.0%} ({len(rows)} tracks)"
    )
    for kind in ("gen", "loop", "concat"):
        part = [r for r in rows if r["name"].startswith(kind)]
        if part:
            t = np.mean([tempo_agrees(*r["tempo"]) for r in part])
            k = np.mean([r["key"][0] == r["key"][1] for r in part])
            print(f"  {kind:7s} ({len(part)}): tempo {t:.0%}, key {k:.0%}")
    gen = [r for r in rows if r["truth"]]
    if gen:
        for i, label in ((0, "excerpts"), (1, "whole track")):
            t = np.mean([tempo_agrees(r["tempo"][i], r["truth"][0]) for r in gen])
            o = np.mean(
                [any(tempo_agrees(r["tempo"][i], r["truth"][0] * f) for f in (0.5, 1, 2))
                 for r in gen]
            )  # fmt: skip
            k = np.mean([r["key"][i] == r["truth"][1:] for r in gen])
            print(
                f"  generated, vs the truth, {label}: tempo {t:.0%} ({o:.0%} up to an octave), "
                f"key and mode {k:.0%}"
            )
    return float(cpu_new)


def estimate(tracks_per_cpu_s: float, n_tracks: int = 1_000_000) -> None:
    per_track = 1.0 / tracks_per_cpu_s
    print(
        f"estimate for {n_tracks:,} tracks at {per_track:.2f} CPU-s per track "
        "(one worker = one core, busy):"
    )
    for workers in (2, 16, 64, 256):
        hours = n_tracks * per_track / workers / 3600
        print(f"  {workers:4d} workers: {hours:8.1f} h")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clips", type=int, default=40)
    ap.add_argument("--tracks", type=int, default=8, help="generated 4-minute tracks")
    ap.add_argument("--skip-scan", action="store_true")
    ap.add_argument("--skip-long", action="store_true")
    ap.add_argument(
        "--holdout", action="store_true", help="long tracks unlike those the budget was chosen on"
    )
    ap.add_argument(
        "--src", type=Path, default=ROOT / "src", help="scan with this source tree (a baseline)"
    )
    args = ap.parse_args()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; {args.src}")
    rate = None
    if not args.skip_scan:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "clips"
            folder.mkdir()
            for c in clips(args.clips):
                (folder / c.name).symlink_to(c)
            runs = {}
            for w in (1, 2):
                runs[w] = scan_run(folder, w, Path(tmp) / f"lib{w}.sqlite", args.src)
                r = runs[w]
                print(
                    f"scan --workers {w}: {r['wall']:.1f} s wall, {r['cpu']:.1f} CPU-s, "
                    f"{args.clips / r['cpu']:.2f} tracks per CPU-second "
                    f"(load {os.getloadavg()[0]:.1f}) [{r['summary']}]",
                    flush=True,
                )
            print(f"wall speedup workers 2 vs 1: {runs[1]['wall'] / runs[2]['wall']:.2f}x")
            rate = args.clips / runs[2]["cpu"]
            print(f"tracks per CPU-second per worker (30-s clips): {rate:.2f}")
    if not args.skip_long:
        per_long = report_long(long_tracks(args.tracks, args.holdout))
        estimate(1.0 / per_long)
    elif rate:
        estimate(rate)


if __name__ == "__main__":
    main()
