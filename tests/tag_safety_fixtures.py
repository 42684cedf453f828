"""Helpers of tests/test_library_tags_safety.py: large MP3/FLAC files made cheaply, a library that
knows them without analysis, independent views of a file's audio (the bytes after the ID3v2 tag or
the FLAC metadata blocks, parsed here from the format specs; samples decoded by FFmpeg), and a
``trackmood`` subprocess killed at a random point of its writing.
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from tests.audio_fixtures import music_like
from trackmood.library import catalog
from trackmood.store import Store

MARK = ".trackmood-"  # part of every temporary file's name


# -- independent views of a file ------------------------------------------------------------
def audio_start(path: Path) -> int:
    """Offset of the audio frames: after the ID3v2 tag (MP3) or the metadata blocks (FLAC)."""
    with open(path, "rb") as f:
        head = f.read(10)
        if path.suffix == ".mp3":
            if head[:3] != b"ID3":
                return 0
            size = 0
            for b in head[6:10]:
                size = (size << 7) | (b & 0x7F)
            return 10 + size + (10 if head[5] & 0x10 else 0)
        assert head[:4] == b"fLaC", path
        pos = 4
        while True:
            f.seek(pos)
            h = f.read(4)
            pos += 4 + int.from_bytes(h[1:4], "big")
            if h[0] & 0x80:
                return pos


def audio_sha(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        f.seek(audio_start(path))
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def samples_sha(path: Path) -> str:
    import av

    h = hashlib.sha256()
    with av.open(str(path)) as c:
        for frame in c.decode(audio=0):
            h.update(np.ascontiguousarray(frame.to_ndarray()).tobytes())
    return h.hexdigest()


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def temps(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if MARK in p.name]


def trackmood(*args, env=None, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "trackmood", *map(str, args)],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        **kw,
    )


# -- large files and a library that knows them (no analysis) --------------------------------
def big_mp3(path: Path, mb: float, seed: int) -> Path:
    """~``mb`` MB of 320 kbit/s stereo MP3 frames (one encoded clip repeated) with an ID3v2.3
    tag holding a 200 kB cover, as many real files have.
    """
    import av
    from mutagen.id3 import APIC, ID3, TIT2, TPE1

    y = music_like(10.0, 44100, seed=seed)
    clip = path.with_suffix(".clip.mp3")
    with av.open(str(clip), "w") as c:
        s = c.add_stream("libmp3lame", rate=44100)
        s.layout, s.bit_rate = "stereo", 320000
        fr = av.AudioFrame.from_ndarray(
            np.stack([y, y[::-1]]).astype(np.float32).reshape(1, -1), format="flt", layout="stereo"
        )
        fr.sample_rate = 44100
        rs = av.AudioResampler(
            format=s.codec_context.codec.audio_formats[0].name,
            layout="stereo",
            rate=44100,
            frame_size=s.codec_context.frame_size,
        )
        for f in [*rs.resample(fr), *rs.resample(None), None]:
            for p in s.encode(f):
                c.mux(p)
    with av.open(str(clip)) as c:
        frames = b"".join(bytes(p) for p in c.demux(c.streams.audio[0]) if p.size)
    clip.unlink()
    path.write_bytes(frames * (int(mb * 1e6) // len(frames) + 1))
    tag = ID3()
    tag.add(TIT2(encoding=3, text=[path.stem]))
    tag.add(TPE1(encoding=3, text=["Big Artist"]))
    tag.add(APIC(encoding=3, mime="image/jpeg", type=3, desc="cover", data=os.urandom(200_000)))
    tag.save(str(path), v2_version=3)
    return path


def big_flac(path: Path, seconds: int, seed: int) -> Path:
    """Stereo 16-bit noise (incompressible: ~176 kB per second) with a title and a cover."""
    import soundfile as sf
    from mutagen.flac import FLAC, Picture

    rng = np.random.default_rng(seed)
    with sf.SoundFile(str(path), "w", 44100, 2, format="FLAC", subtype="PCM_16") as f:
        for _ in range(seconds):
            f.write((0.3 * rng.standard_normal((44100, 2))).clip(-1, 1))
    f = FLAC(str(path))
    f["title"], f["artist"] = [path.stem], ["Big Artist"]
    pic = Picture()
    pic.type, pic.mime, pic.data = 3, "image/jpeg", os.urandom(100_000)
    f.add_picture(pic)
    f.save()
    return path


def known_library(music: Path, db: Path) -> None:
    """Rows for every file as a scan would leave them, with a prediction (no analysis)."""
    from trackmood.audio.parallel import track_id
    from trackmood.library.analyse import load

    model = load().name
    rows = []
    for i, p in enumerate(sorted(q for q in music.rglob("*") if q.is_file())):
        st, h = p.stat(), sha(p)
        probs = np.roll([0.55, 0.2, 0.15, 0.1], i)
        rows.append(
            {
                "path": str(p),
                "size": st.st_size,
                "mtime_ns": st.st_mtime_ns,
                "sha": h,
                "track_id": track_id(h),
                "status": "ok",
                "model": model,
                "mood": ["Calm", "Energetic", "Happy", "Sad"][int(np.argmax(probs))],
                **dict(zip(catalog.PROBA_COLUMNS, map(float, probs), strict=True)),
                "confidence": float(max(probs)),
            }
        )
    store = Store(db)
    try:
        catalog.upsert_files(store, rows)
    finally:
        store.close()


def run_and_kill(args, music: Path, rng: random.Random, window: float) -> tuple[bool, float]:
    """Start ``trackmood ARGS``; once it starts writing (a new temporary file appears, or a music
    file changes), wait a random time in ``[0, window)`` and SIGKILL it. Returns (killed, seconds
    from the first write to the end of the process when ``window`` is 0: not killed).
    """
    dirs = [music, *[d for d in music.rglob("*") if d.is_dir()]]
    files = [p for p in music.rglob("*") if p.is_file() and MARK not in p.name]

    def state():
        names = {n for d in dirs for n in os.listdir(d) if MARK in n}
        stats = []
        for p in files:
            st = p.stat()
            stats.append((st.st_ino, st.st_size, st.st_mtime_ns))
        return names, stats

    stale, stats0 = state()  # temporary files left by an earlier kill are not a sign
    proc = subprocess.Popen(
        [sys.executable, "-m", "trackmood", *map(str, args)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    first = None
    while proc.poll() is None and first is None:
        names, stats = state()
        if names - stale or stats != stats0:
            first = time.monotonic()
        else:
            time.sleep(0.002)
    if first is None:
        proc.wait()
        return False, 0.0
    if window <= 0:
        proc.wait()
        return False, time.monotonic() - first
    deadline = first + rng.uniform(0, window)
    while proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    killed = proc.poll() is None
    if killed:
        proc.send_signal(signal.SIGKILL)
    proc.wait()
    return killed, 0.0
