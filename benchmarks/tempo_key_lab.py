"""Per-clip intermediate results for ``bench_tempo_key.py``, cached: the onset envelope, the
baseline (today's) tempo and key, and the mean 36-bin HPCP of a few chroma settings, so that the
selection of settings on one half of the clips is fast to rerun.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
from tempo_key_refs import CACHE, audio22, clips, cpu

#: HPCP settings compared on the selection half (name -> keyword arguments of hpcp_frames).
HPCP_VARIANTS = {
    "h4_40-5000_e": {"harmonics": 4, "fmin": 40.0, "fmax": 5000.0, "power": 2.0},
    "h1_40-5000_e": {"harmonics": 1, "fmin": 40.0, "fmax": 5000.0, "power": 2.0},
    "h4_40-3500_e": {"harmonics": 4, "fmin": 40.0, "fmax": 3500.0, "power": 2.0},
    "h4_40-5000_m": {"harmonics": 4, "fmin": 40.0, "fmax": 5000.0, "power": 1.0},
    "h4_100-2500_e": {"harmonics": 4, "fmin": 100.0, "fmax": 2500.0, "power": 2.0},
    "h8_40-5000_e": {"harmonics": 8, "fmin": 40.0, "fmax": 5000.0, "power": 2.0},
}


def stft(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Magnitude STFT as trackmood's frame builder computes it (2048 Hann, hop 512, centred)."""
    from trackmood.audio.dsp import HOP, N_FFT, hann

    x = np.pad(y.astype(np.float32), (N_FFT // 2, N_FFT // 2))
    fr = np.lib.stride_tricks.sliding_window_view(x, N_FFT)[::HOP]
    S = np.abs(np.fft.rfft(fr * hann(N_FFT).astype(np.float32), axis=1)).T
    return S, np.fft.rfftfreq(N_FFT, 1 / 22050)


def baseline(y: np.ndarray) -> dict:
    """Today's tempo and key (the estimators as they were before this work)."""
    from trackmood.audio import descriptors, rhythm
    from trackmood.audio.frames import analyze

    t0 = cpu()
    fr = analyze(y)
    t1 = cpu()
    bpm, _, _ = rhythm.tempo(fr.onset, fr.sr)
    t2 = cpu()
    key, mode, strength, _, _ = descriptors._key(fr.chroma.mean(axis=1))
    t3 = cpu()
    return {
        "fr": fr,
        "bpm": bpm,
        "key": key,
        "mode": mode,
        "cpu_frames": t1 - t0,
        "cpu_tempo": t2 - t1,
        "cpu_key": t3 - t2,
    }


#: The settings computed on the report half too (the candidates for the runtime default).
REPORT_VARIANTS = ("h4_40-5000_m",)
#: The one trackmood's frames compute (``trackmood.audio.key`` defaults).
RUNTIME_VARIANT = "h4_40-5000_m"


def features(song: str, path: Path, variants=None) -> dict:
    """Cached intermediate results of one clip (``variants``: HPCP settings, default all)."""
    f = CACHE / "lab" / f"{song}.npz"
    wanted = list(HPCP_VARIANTS) if variants is None else list(variants)
    out = None
    if f.exists():
        with np.load(f) as z:
            out = {k: z[k] for k in z.files}
        if all(f"hpcp_{v}" in out for v in wanted):
            return out
    from trackmood.audio.key import hpcp_frames

    y = audio22(song, path)
    if out is None:
        b = baseline(y)
        out = {
            "onset": b["fr"].onset.astype(np.float32),
            "chroma_mean": b["fr"].chroma.mean(axis=1),
            "base": np.array([b["bpm"], b["key"], b["mode"]], float),
            "base_cpu": np.array([b["cpu_frames"], b["cpu_tempo"], b["cpu_key"]]),
            "seconds": np.array(len(y) / 22050.0),
        }
    S, freqs = stft(y)
    for name, kw in HPCP_VARIANTS.items():
        if name not in wanted or f"hpcp_{name}" in out:
            continue
        t0 = cpu()
        h, ph = hpcp_frames(S, freqs, **kw)
        out[f"cpu_{name}"] = np.array(cpu() - t0)
        out[f"hpcp_{name}"] = h.mean(axis=1)
        out[f"phasor_{name}"] = np.array(ph.sum())
    f.parent.mkdir(parents=True, exist_ok=True)
    tmp = f.with_suffix(f".{os.getpid()}.tmp.npz")
    np.savez(tmp, **out)
    os.replace(tmp, f)
    return out


if __name__ == "__main__":
    from bench_tempo_key import half

    part = sys.argv[1] if len(sys.argv) > 1 else "select"
    rows = [r for r in clips() if half(r["artist"]) == part]
    if len(sys.argv) > 2:  # a share of them, "i/n", for parallel processes
        i, n = map(int, sys.argv[2].split("/"))
        rows = rows[i::n]
    for j, r in enumerate(rows):
        features(r["song"], r["path"], None if part == "select" else REPORT_VARIANTS)
        if j % 50 == 0:
            print(f"lab {j}/{len(rows)}", file=sys.stderr)


def band_onsets(song: str, path: Path) -> np.ndarray:
    """(3, n) low/mid/high-band onset envelopes of the frames (cached)."""
    f = CACHE / "bands" / f"{song}.npy"
    if f.exists():
        return np.load(f)
    from trackmood.audio.frames import analyze

    b = analyze(audio22(song, path)).band_onset.astype(np.float32)
    f.parent.mkdir(parents=True, exist_ok=True)
    tmp = f.with_suffix(f".{os.getpid()}.tmp.npy")
    np.save(tmp, b)
    os.replace(tmp, f)
    return b
