"""Reference data for ``bench_tempo_key.py``: Essentia's tempo and key per clip, cached.

Essentia (AGPL) is a benchmark dependency only (``pip install essentia``); nothing in ``src/``
imports it. The settings are those of the AcousticBrainz extractor: ``RhythmExtractor2013``
(``method="multifeature"``) for the BPM and the ``Key`` algorithm with its pre-2018 default
profile, ``temperley``, on a 36-bin HPCP of 4096-sample frames, hop 2048 (AcousticBrainz's
``tonal.key_key``/``key_scale``; essentia 2.1-beta2 ``MusicTonalDescriptors``).
"""

from __future__ import annotations

import csv
import os
import resource
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "audio_4q"
CACHE = ROOT / "benchmarks" / ".cache" / "tempo_key"
PITCHES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
_FLATS = {"Db": "C#", "Eb": "D#", "Gb": "F#", "Ab": "G#", "Bb": "A#"}


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def pitch_class(name: str) -> int:
    return PITCHES.index(_FLATS.get(name, name))


def have_essentia() -> bool:
    try:
        import essentia.standard  # noqa: F401
    except ImportError:
        return False
    return True


def essentia_estimate(y44: np.ndarray) -> dict:
    """Essentia's BPM and key of a mono float signal at 44.1 kHz (AcousticBrainz settings)."""
    import essentia
    import essentia.standard as es

    essentia.log.infoActive = False
    y = np.ascontiguousarray(y44, dtype=np.float32)
    t0 = cpu()
    bpm = float(es.RhythmExtractor2013(method="multifeature")(y)[0])
    t1 = cpu()
    key, scale, strength = es.KeyExtractor(
        profileType="temperley", frameSize=4096, hopSize=2048, hpcpSize=36
    )(y)
    t2 = cpu()
    return {
        "es_bpm": bpm,
        "es_key": pitch_class(key),
        "es_mode": 1 if scale == "major" else 0,
        "es_strength": float(strength),
        "es_cpu_tempo": t1 - t0,
        "es_cpu_key": t2 - t1,
    }


def clips() -> list[dict]:
    """``[{song, artist, path}]`` for the audio_4q clips that exist."""
    rows = []
    with open(DATA / "metadata.csv", newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            p = DATA / r["Quadrant"] / f"{r['Song']}.mp3"
            if p.exists():
                rows.append({"song": r["Song"], "artist": r["Artist"], "path": p})
    return rows


def audio22(song: str, path: Path) -> np.ndarray:
    """The clip as trackmood decodes it (mono, 22.05 kHz), cached as float16."""
    from trackmood.audio.decode import decode

    f = CACHE / "audio" / f"{song}.npy"
    if f.exists():
        return np.load(f).astype(np.float32)
    y = decode(path).y
    f.parent.mkdir(parents=True, exist_ok=True)
    tmp = f.with_suffix(f".{os.getpid()}.tmp.npy")
    np.save(tmp, y.astype(np.float16))
    os.replace(tmp, f)
    return y


def essentia_table(rows: list[dict], *, progress: bool = True) -> dict[str, dict]:
    """Essentia's results per song, computed once and cached in ``essentia.csv``."""
    import essentia
    import essentia.standard as es

    essentia.log.infoActive = False
    path = CACHE / "essentia.csv"
    done: dict[str, dict] = {}
    if path.exists():
        with open(path, newline="") as f:
            for r in csv.DictReader(f):
                done[r["song"]] = {k: (v if k == "song" else float(v)) for k, v in r.items()}
    todo = [r for r in rows if r["song"] not in done]
    if todo:
        CACHE.mkdir(parents=True, exist_ok=True)
        new = not path.exists()
        with open(path, "a", newline="") as f:
            w = None
            for i, r in enumerate(todo):
                y = es.MonoLoader(filename=str(r["path"]), sampleRate=44100)()
                res = {"song": r["song"], **essentia_estimate(y)}
                if w is None:
                    w = csv.DictWriter(f, fieldnames=list(res))
                    if new:
                        w.writeheader()
                w.writerow(res)
                f.flush()
                done[r["song"]] = res
                if progress and i % 25 == 0:
                    print(f"essentia {i}/{len(todo)}", file=sys.stderr)
    return done


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    rows = clips()
    essentia_table(rows)
    for i, r in enumerate(rows):
        audio22(r["song"], r["path"])
        if i % 50 == 0:
            print(f"audio {i}/{len(rows)}", file=sys.stderr)
