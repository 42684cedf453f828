"""Audio extraction cost and throughput.

Prints, for clips of the shared 4Q dataset (MP3, 32 kHz stereo) and for one synthetic minute in
every format:

* decode-only CPU-seconds per audio-minute (soundfile and PyAV: the physical floor),
* trackmood's decode (+ BS.1770 loudness + resampling to 22.05 kHz mono) and full extraction,
  single core, warm process — target <= 0.5 CPU-s per audio-minute,
* throughput (audio-minutes per wall-second) with 1 and 2 local workers and a 2-worker Dask
  LocalCluster.

* cold start of ``trackmood predict CLIP`` for one 30-s clip in a fresh process (wall and CPU),
  first run with an empty numba cache and a fresh library, then warm runs — against 7.3 s wall /
  7.6 CPU-s before (issue 10), target < 2 s wall;
* the numpy beat tracker against librosa's (same beats? same tempo?) on the clips (``--vs-librosa``).

Run: ``python benchmarks/bench_audio.py [N_CLIPS] [--cold-start-only] [--vs-librosa]`` (default 40;
needs ../shared/data/audio_4q).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "audio_4q"
sys.path.insert(0, str(ROOT / "tests"))


def cpu(fn, *args, **kw):
    t = time.process_time()
    out = fn(*args, **kw)
    return time.process_time() - t, out


def sf_decode(path):
    import soundfile as sf

    return sf.read(str(path), dtype="float32", always_2d=True)[0]


def av_decode(path):
    import av

    with av.open(str(path)) as c:
        return [f.to_ndarray() for f in c.decode(c.streams.audio[0])]


def main(n_clips: int = 40) -> None:
    import soundfile as sf
    from audio_fixtures import every_format, music_like

    from trackmood.audio.decode import decode
    from trackmood.audio.extract import analyze
    from trackmood.audio.parallel import extract_many, extract_one

    clips = sorted(DATA.glob("Q*/*.mp3"))[:: max(1, 500 // n_clips)][:n_clips]
    minutes = sum(sf.info(str(p)).duration for p in clips) / 60
    print(f"{len(clips)} clips of audio_4q, {minutes:.1f} audio-minutes, {os.cpu_count()} cores")
    extract_one(str(clips[0]))  # warm: imports, numba JIT, filter caches

    print("\nsingle core, warm, CPU-s per audio-minute (lower is better)")
    rows = []
    for name, fn in (
        ("decode only, soundfile (native rate)", sf_decode),
        ("decode only, PyAV (native rate)", av_decode),
        ("trackmood decode (+LUFS, ->22.05k mono)", decode),
    ):
        rows.append((name, sum(cpu(fn, p)[0] for p in clips) / minutes))
    total_an = 0.0
    for p in clips:
        c, d = cpu(decode, p)
        c2, _ = cpu(lambda d=d: analyze(d.y, d.sr, loudness=d.loudness).summary())
        total_an += c + c2
    rows.append(("trackmood full extraction", total_an / minutes))
    rows.append(("reference: librosa defaults (audio-libraries.md)", 0.95))
    rows.append(("target", 0.5))
    for name, v in rows:
        print(f"  {name:48s} {v:6.3f}")

    print(
        "\ndecode-only by format (60 s synthetic, CPU-s per audio-minute): soundfile | PyAV | trackmood"
    )
    with tempfile.TemporaryDirectory() as tmp:
        files = every_format(Path(tmp), music_like(60.0, sr=44100))
        for fmt, path in files.items():
            try:
                s = min(cpu(sf_decode, path)[0] for _ in range(3))
                s_txt = f"{s:6.3f}"
            except Exception:  # noqa: BLE001
                s_txt = "   n/a"
            a = min(cpu(av_decode, path)[0] for _ in range(3))
            t = min(cpu(decode, path)[0] for _ in range(3))
            print(
                f"  {fmt:5s} {s_txt} | {a:6.3f} | {t:6.3f}   (decoder used: {decode(path).decoder})"
            )

    print("\nthroughput, audio-minutes per wall-second (no cache)")
    for label, kw in (("1 local worker", {"workers": 1}), ("2 local workers", {"workers": 2})):
        t = time.perf_counter()
        n = sum("features" in r for r in extract_many(clips, store=None, **kw))
        dt = time.perf_counter() - t
        print(f"  {label:28s} {minutes / dt:6.2f}  ({n} files in {dt:.1f} s)")
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cl,
        Client(cl) as client,
    ):
        client.submit(extract_one, str(clips[0].resolve())).result()  # warm the workers
        t = time.perf_counter()
        n = sum("features" in r for r in extract_many(clips, scheduler=client, store=None))
        dt = time.perf_counter() - t
        print(
            f"  {'Dask LocalCluster, 2 workers':28s} {minutes / dt:6.2f}  ({n} files in {dt:.1f} s)"
        )


def cold_start(runs: int = 5) -> None:
    """``trackmood predict`` of one 30-s clip in fresh processes: wall and CPU (user + sys)."""
    import resource
    import subprocess

    clip = sorted(DATA.glob("Q1/*.mp3"))[0]
    print(f"\ncold start: trackmood predict {clip.name} (30 s MP3), fresh process each run")
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT / "src"),
            "NUMBA_CACHE_DIR": str(Path(tmp) / "numba"),  # empty: nothing may need compiling
        }
        cmd = [sys.executable, "-m", "trackmood", "predict", str(clip)]
        for i in range(runs):
            env["TRACKMOOD_DB"] = str(Path(tmp) / f"lib{i}.sqlite")  # no cached features
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t = time.perf_counter()
            out = subprocess.run(cmd, env=env, capture_output=True, text=True)
            wall = time.perf_counter() - t
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            label = "first run (empty numba cache)" if i == 0 else f"warm run {i}"
            status = "ok" if out.returncode == 0 else f"exit {out.returncode}"
            print(f"  {label:32s} wall {wall:5.2f} s   CPU {cpu:5.2f} s   {status}")
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], env=env)
        print(f"  {'(bare python start)':32s} wall {time.perf_counter() - t:5.2f} s")
    print("  before (issue 10): 7.3 s wall, 7.6 CPU-s; target < 2 s wall")
    print(f"  load average now: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


def vs_librosa(n_clips: int = 20) -> None:
    """Beats of the numpy port against librosa.beat.beat_track on the same onset envelopes."""
    import librosa
    import numpy as np

    from trackmood.audio import rhythm
    from trackmood.audio.decode import decode
    from trackmood.audio.extract import analyze

    clips = sorted(DATA.glob("Q*/*.mp3"))[:: max(1, 500 // n_clips)][:n_clips]
    same, c_ours, c_lib = 0, 0.0, 0.0
    for p in clips:
        d = decode(p)
        onset = analyze(d.y, d.sr).onset
        c, (_, ref) = cpu(librosa.beat.beat_track, onset_envelope=onset, sr=d.sr, hop_length=512)
        c_lib += c
        c2, ours = cpu(lambda o=onset: rhythm.beat_track(o, rhythm.global_tempo(o)))
        c_ours += c2
        same += bool(np.array_equal(ref, ours))
    print(f"\nbeats identical to librosa.beat.beat_track on {same}/{len(clips)} clips")
    print(
        f"  CPU per clip: numpy port {c_ours / len(clips) * 1000:.0f} ms, librosa (warm) {c_lib / len(clips) * 1000:.0f} ms"
    )


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    n = int(args[0]) if args else 40
    if "--cold-start-only" not in sys.argv:
        main(n)
    cold_start()
    if "--vs-librosa" in sys.argv:
        vs_librosa(min(n, 20))
