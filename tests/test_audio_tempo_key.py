"""Tempo and key on generated music of known tempo and key (drums under chord progressions, varied
timbres, noise and tuning; ``tests/synth_music.py``), and beside Essentia where it is installed.
"""

from __future__ import annotations

import numpy as np
import pytest

from trackmood.audio import key as keymod
from trackmood.audio import rhythm
from trackmood.audio.frames import analyze

from .synth_music import Spec, render

SR = 22050
SPECS = [
    Spec(bpm=96.0, tonic=2, mode=1, timbre="organ", pattern="rock", progression=0, snr_db=20),
    Spec(bpm=128.0, tonic=9, mode=0, timbre="saw", pattern="four", progression=0, snr_db=12),
    Spec(bpm=84.0, tonic=7, mode=1, timbre="pluck", pattern="rock", progression=3, snr_db=30),
    Spec(bpm=140.0, tonic=4, mode=0, timbre="epiano", pattern="hats", progression=2, snr_db=20),
    Spec(
        bpm=110.0,
        tonic=10,
        mode=1,
        timbre="saw",
        pattern="rock",
        progression=1,
        snr_db=20,
        cents=-35,
    ),
    Spec(bpm=75.0, tonic=1, mode=0, timbre="organ", pattern="four", progression=1, snr_db=12),
]


def _agrees(bpm: float, truth: float, ratios=(1.0, 2.0, 0.5)) -> bool:
    return any(abs(bpm - r * truth) <= 0.04 * r * truth for r in ratios)


@pytest.fixture(scope="module")
def estimates():
    out = []
    for spec in SPECS:
        y = render(spec, seconds=16.0, sr=SR)
        s = analyze(y, SR).summary()
        out.append((spec, y, s))
    return out


def test_tempo_of_generated_music(estimates):
    for spec, _, s in estimates:
        assert _agrees(s["tempo"], spec.bpm), (spec, s["tempo"])
    # and most at the very tempo the drums play (a half-time or double-time reading of a pattern
    # is a legitimate other answer, but not for most of them)
    exact = [_agrees(s["tempo"], spec.bpm, (1.0,)) for spec, _, s in estimates]
    assert sum(exact) >= len(exact) // 2 + 1, [s["tempo"] for _, _, s in estimates]


def test_key_of_generated_music(estimates):
    right = [(s["key"], s["mode"]) == (spec.tonic, spec.mode) for spec, _, s in estimates]
    assert sum(right) >= len(right) - 1, [(s["key"], s["mode"]) for _, _, s in estimates]
    for _, _, s in estimates:
        assert 0 < s["key_confidence"] <= 1


def test_key_follows_a_transposition():
    spec = SPECS[0]
    found = set()
    for shift in (0, 3, 8):
        t = Spec(**{**spec.__dict__, "tonic": (spec.tonic + shift) % 12})
        s = analyze(render(t, seconds=12.0, sr=SR), SR).summary()
        assert (s["key"], s["mode"]) == (t.tonic, 1)
        found.add(s["key"])
    assert len(found) == 3


def test_tuning_offset_is_measured():
    sr, n_fft = SR, 2048
    t = np.arange(n_fft * 8) / sr
    for cents in (-30.0, 0.0, 25.0):
        f = 440.0 * 2 ** (cents / 1200)
        y = sum(np.sin(2 * np.pi * f * 2 ** (s / 12) * t) for s in (0, 4, 7))
        frames = np.lib.stride_tricks.sliding_window_view(y, n_fft)[:: n_fft // 2]
        S = np.abs(np.fft.rfft(frames * np.hanning(n_fft), axis=1)).T
        h, ph = keymod.hpcp_frames(S, np.fft.rfftfreq(n_fft, 1 / sr))
        assert keymod.tuning_offset(ph.sum()) * 100 == pytest.approx(cents, abs=5)
        # folded to 12 pitch classes the triad is A C# E whatever the tuning
        chroma = keymod.fold(h.mean(axis=1), ph.sum())
        assert set(np.argsort(chroma)[-3:]) == {9, 1, 4}
        assert keymod.estimate(chroma)[:2] == (9, 1)


def test_tempo_estimate_of_a_pulse_train_is_fine_grained():
    fps = SR / 512
    for bpm in (87.0, 123.0, 171.0):
        env = np.zeros(int(30 * fps))
        for t in np.arange(0.2, 29.8, 60 / bpm):
            env[int(round(t * fps))] += 1.0
        # the frame grid alone is ~3-6 % coarse at these tempi; the estimate is within 1 %
        assert rhythm.estimate_tempo(env) == pytest.approx(bpm, rel=0.01)


@pytest.mark.slow
def test_beside_essentia(estimates):
    es = pytest.importorskip(
        "essentia.standard", reason="essentia is not installed (pip install essentia)"
    )
    import essentia

    essentia.log.infoActive = False
    import soxr

    agree_t = agree_k = 0
    for _, y, s in estimates:
        y44 = soxr.resample(y, SR, 44100).astype(np.float32)
        bpm = es.RhythmExtractor2013(method="multifeature")(y44)[0]
        k, scale, _ = es.KeyExtractor(profileType="temperley", hpcpSize=36, hopSize=2048)(y44)
        agree_t += _agrees(s["tempo"], bpm, (1.0, 2.0, 0.5, 3.0, 1 / 3))
        names = keymod.PITCHES
        flats = {"Db": "C#", "Eb": "D#", "Gb": "F#", "Ab": "G#", "Bb": "A#"}
        agree_k += (s["key"], s["mode"]) == (names.index(flats.get(k, k)), int(scale == "major"))
    # both read the same generated music: they agree on most tempi and keys
    assert agree_t >= len(estimates) - 1
    assert agree_k >= len(estimates) // 2


def test_essentia_stays_out_of_the_package():
    """Essentia is AGPL: a benchmark and test dependency only, never imported by trackmood."""
    from pathlib import Path

    src = Path(__file__).resolve().parents[1] / "src"
    offenders = [
        str(p.relative_to(src))
        for p in src.rglob("*.py")
        if "import essentia" in p.read_text(encoding="utf-8")
        or "from essentia" in p.read_text(encoding="utf-8")
    ]
    assert offenders == []
