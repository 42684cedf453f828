"""Generated music of known tempo and key: drum patterns at a given BPM under a chord progression
in a given major or minor key, with a choice of timbres, tuning offset and added noise.

Used by ``tests/test_audio_tempo_key.py`` and ``benchmarks/bench_tempo_key.py`` (ground truth
where trackmood and Essentia disagree). Nothing here reads the code under test.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Scale degrees (semitones above the tonic) of the triads in the progressions below.
_MAJOR_CHORDS = {
    "I": (0, 4, 7),
    "ii": (2, 5, 9),
    "IV": (5, 9, 12),
    "V": (7, 11, 14),
    "vi": (9, 12, 16),
}
_MINOR_CHORDS = {
    "i": (0, 3, 7),
    "iv": (5, 8, 12),
    "V": (7, 11, 14),  # harmonic minor: the leading tone
    "v": (7, 10, 14),
    "VI": (8, 12, 15),
    "VII": (10, 14, 17),
    "III": (3, 7, 10),
}
MAJOR_PROGRESSIONS = (
    ("I", "IV", "V", "I"),
    ("I", "vi", "IV", "V"),
    ("I", "V", "IV", "I"),
    ("I", "ii", "V", "I"),
)
MINOR_PROGRESSIONS = (
    ("i", "iv", "V", "i"),
    ("i", "VI", "iv", "V"),
    ("i", "VII", "VI", "V"),
    ("i", "iv", "v", "i"),
)
TIMBRES = ("organ", "saw", "pluck", "epiano")
PATTERNS = ("rock", "four", "halftime", "hats")


@dataclass(frozen=True)
class Spec:
    bpm: float
    tonic: int  # pitch class, 0 = C
    mode: int  # 1 major, 0 minor
    timbre: str = "organ"
    pattern: str = "rock"
    progression: int = 0
    snr_db: float = 30.0
    cents: float = 0.0  # tuning offset
    seed: int = 0


def _tone(f0: float, n: int, sr: int, timbre: str, rng) -> np.ndarray:
    t = np.arange(n) / sr
    y = np.zeros(n)
    if timbre == "organ":
        for h, a in ((1, 1.0), (2, 0.5), (3, 0.3), (4, 0.15)):
            y += a * np.sin(2 * np.pi * h * f0 * t)
        env = np.minimum(1.0, t / 0.02)
    elif timbre == "saw":
        for h in range(1, 16):
            if h * f0 < sr / 2.2:
                y += np.sin(2 * np.pi * h * f0 * t) / h
        env = np.minimum(1.0, t / 0.01) * np.exp(-t / 2.0)
    elif timbre == "pluck":
        for h in range(1, 10):
            if h * f0 < sr / 2.2:
                y += np.exp(-t * (1.5 + 1.2 * h)) * np.sin(2 * np.pi * h * f0 * t) / h**0.7
        env = np.minimum(1.0, t / 0.003)
    else:  # epiano: bell-like partials, a slightly inharmonic second one
        for h, a, d in ((1, 1.0, 1.2), (2.005, 0.4, 0.5), (3, 0.2, 0.3), (4, 0.1, 0.2)):
            y += a * np.exp(-t / d) * np.sin(2 * np.pi * h * f0 * t + rng.uniform(0, 6.3))
        env = np.minimum(1.0, t / 0.005)
    fade = np.minimum(1.0, (n - np.arange(n)) / (0.01 * sr))
    return y * env * fade


def _drum(kind: str, sr: int, rng, brightness: float) -> np.ndarray:
    n = int((0.35 if kind == "kick" else 0.2 if kind == "snare" else 0.06) * sr)
    t = np.arange(n) / sr
    if kind == "kick":
        f = 50 + 90 * np.exp(-t / 0.03)
        return np.sin(2 * np.pi * np.cumsum(f) / sr) * np.exp(-t / 0.12)
    noise = rng.standard_normal(n)
    if kind == "snare":
        body = 0.5 * np.sin(2 * np.pi * 190 * t) * np.exp(-t / 0.05)
        return (0.6 * noise * np.exp(-t / 0.06) + body) * 0.8
    # hat: differenced noise (bright), brightness mixes in more of the difference
    hp = np.diff(noise, prepend=0.0)
    return (brightness * hp + (1 - brightness) * noise) * np.exp(-t / 0.015) * 0.35


def render(spec: Spec, seconds: float = 30.0, sr: int = 44100) -> np.ndarray:
    """Mono float32 audio for ``spec``: chords change every bar (4 beats) through the progression,
    a bass plays the chord root, the drum pattern marks the beat.
    """
    rng = np.random.default_rng(spec.seed)
    n = int(seconds * sr)
    beat = 60.0 / spec.bpm
    y = np.zeros(n)
    # harmony
    chords = _MAJOR_CHORDS if spec.mode == 1 else _MINOR_CHORDS
    progs = MAJOR_PROGRESSIONS if spec.mode == 1 else MINOR_PROGRESSIONS
    prog = progs[spec.progression % len(progs)]
    ref = 440.0 * 2 ** (spec.cents / 1200)
    bar = 4 * beat
    base = 48 + spec.tonic  # tonic in octave 3 (MIDI)
    if base > 54:
        base -= 12

    def hz(midi):
        return ref * 2 ** ((midi - 69) / 12)

    for b, start in enumerate(np.arange(0.0, seconds, bar)):
        degrees = chords[prog[b % len(prog)]]
        i0 = int(start * sr)
        if spec.timbre in ("pluck", "epiano"):  # re-struck on every beat
            hits = [(i0 + int(k * beat * sr), int(beat * sr)) for k in range(4)]
        else:
            hits = [(i0, int(bar * sr))]
        for a, ln in hits:
            ln = min(ln, n - a)
            if ln <= 0:
                continue
            for d in degrees:
                y[a : a + ln] += 0.12 * _tone(hz(base + 12 + d), ln, sr, spec.timbre, rng)
            y[a : a + ln] += 0.18 * _tone(hz(base - 12 + degrees[0] % 12), ln, sr, "organ", rng)
    # drums
    bright = rng.uniform(0.3, 1.0)
    kit = {k: _drum(k, sr, rng, bright) for k in ("kick", "snare", "hat")}
    pattern = {
        "rock": {"kick": (0, 2), "snare": (1, 3), "hat": (0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5)},
        "four": {"kick": (0, 1, 2, 3), "snare": (1, 3), "hat": (0.5, 1.5, 2.5, 3.5)},
        "halftime": {"kick": (0, 2.5), "snare": (2,), "hat": (0, 1, 2, 3)},
        "hats": {"kick": (0,), "hat": (0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5)},
    }[spec.pattern]
    for kind, positions in pattern.items():
        for start in np.arange(0.0, seconds, bar):
            for p in positions:
                a = int((start + p * beat) * sr)
                if a >= n:
                    continue
                s = kit[kind][: n - a]
                y[a : a + len(s)] += (0.5 if kind == "kick" else 0.35) * s
    # noise at the given signal-to-noise ratio
    power = np.mean(y**2)
    y += rng.standard_normal(n) * np.sqrt(power / 10 ** (spec.snr_db / 10))
    y /= np.abs(y).max() + 1e-9
    return (0.7 * y).astype(np.float32)


def suite(n: int = 48, seed: int = 0) -> list[Spec]:
    """``n`` varied specs: tempi 60-180 BPM, every tonic, both modes, all timbres and patterns,
    SNR 6-30 dB, tuning offsets up to +-30 cents.
    """
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        out.append(
            Spec(
                bpm=float(np.round(rng.uniform(60, 180), 1)),
                tonic=int(i * 7 % 12),
                mode=i % 2,
                timbre=TIMBRES[i % 4],
                pattern=PATTERNS[(i // 4) % 4],
                progression=int(rng.integers(0, 4)),
                snr_db=float(rng.choice([6.0, 12.0, 20.0, 30.0])),
                cents=float(rng.choice([0.0, 0.0, -30.0, 20.0])),
                seed=seed * 1000 + i,
            )
        )
    return out
