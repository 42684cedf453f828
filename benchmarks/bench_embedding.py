"""Cost of the musicnn embedding path (trackmood.audio.embedding): CPU seconds per track and per
audio-minute for a 30-s clip and a generated 10-minute track, cold import + ONNX session load,
beside the AudioMuse-AI reference of about 8.8 s per song (22k songs in about 54 h).

Run: ``nice python benchmarks/bench_embedding.py [REPEATS]``. Every figure is process CPU time
(``time.process_time``), onnxruntime on one thread; the cold start runs in a fresh subprocess.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.audio_fixtures
DATA = ROOT.parent / "shared" / "data" / "audio_4q"
AUDIOMUSE_S_PER_SONG = 54 * 3600 / 22000  # ≈ 8.8 s


def _cpu(fn, repeats):
    best = []
    for _ in range(repeats):
        t = time.process_time()
        out = fn()
        best.append(time.process_time() - t)
    return float(np.median(best)), out


def _cold_start() -> tuple[float, float, float]:
    code = (
        "import time, resource; t=time.process_time(); w=time.perf_counter()\n"
        "import trackmood.audio.embedding as E\n"
        "a=time.process_time()-t\n"
        "E.session(); b=time.process_time()-t\n"
        "print(a, b, time.perf_counter()-w)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    imp, load, wall = map(float, out.split())
    return imp, load - imp, wall


def main(repeats: int = 3) -> None:
    from tests.audio_fixtures import music_like, write_pyav

    from trackmood.audio import embedding as E

    imp, load, wall = min((_cold_start() for _ in range(3)), key=lambda r: r[2])
    print(
        f"cold start: import trackmood.audio.embedding {imp:.2f} CPU-s, ONNX session load "
        f"{load:.2f} CPU-s ({wall:.2f} s wall for both)"
    )
    E.session()
    rows = []
    clip = next(iter(sorted((DATA / "Q1").glob("*.mp3"))), None) if DATA.exists() else None
    with tempfile.TemporaryDirectory() as tmp:
        long_sig = np.tile(music_like(30.0, sr=44100, seed=1), 20)  # 10 minutes
        long_mp3 = write_pyav(Path(tmp) / "long.mp3", long_sig, 44100, "libmp3lame")
        short_mp3 = clip or write_pyav(
            Path(tmp) / "clip.mp3", long_sig[: 30 * 44100], 44100, "libmp3lame"
        )
        for label, path in (("30-s clip (MP3)", short_mp3), ("10-min track (MP3)", long_mp3)):
            for k in (5, 9):
                cpu, out = _cpu(lambda p=path, k=k: E.embed_file(p, max_patches=k), repeats)
                rows.append((label, "embed_file", k, out["duration"], cpu))
        for label, y in (("30-s signal", long_sig[: 30 * 44100]), ("10-min signal", long_sig)):
            for k in (5, 9):
                cpu, out = _cpu(lambda y=y, k=k: E.embed_signal(y, 44100, max_patches=k), repeats)
                rows.append(
                    (label + " (44.1 kHz, in memory)", "embed_signal", k, out["duration"], cpu)
                )
        from trackmood.audio.decode import decode

        for label, path in (("30-s clip (MP3)", short_mp3), ("10-min track (MP3)", long_mp3)):
            cpu, d = _cpu(lambda p=path: decode(p, sr=E.SR, loudness=False), repeats)
            rows.append((label, "decode only, 16 kHz", 0, d.duration, cpu))
    print(
        f"\n{'input':40s} {'path':20s} {'patches':>7s} {'CPU-s/track':>12s} {'CPU-s/audio-min':>16s}"
    )
    for label, path, k, dur, cpu in rows:
        print(f"{label:40s} {path:20s} {k:7d} {cpu:12.3f} {cpu / (dur / 60):16.3f}")
    per_track = [cpu for label, path, k, _, cpu in rows if path == "embed_file" and k == 9]
    print(
        f"\nAudioMuse-AI reference (musicnn, TF): ≈ {AUDIOMUSE_S_PER_SONG:.1f} s per song; "
        f"here {max(per_track):.2f} CPU-s per track at most "
        f"(×{AUDIOMUSE_S_PER_SONG / max(per_track):.0f} less), plus a one-off "
        f"{imp + load:.2f} CPU-s start."
    )


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:2]))
