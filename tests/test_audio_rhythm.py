"""The numpy ports that replace librosa on the extraction path: filter banks, tempo, beats."""

from __future__ import annotations

import numpy as np
import pytest

from trackmood.audio import dsp, rhythm


def test_mel_filters_peak_at_their_centres():
    sr = 22050
    fb = dsp.mel_filters(sr)
    freqs = np.fft.rfftfreq(dsp.N_FFT, 1 / sr)
    centres = dsp.mel_centers(sr)
    bin_hz = sr / dsp.N_FFT
    peaks = freqs[fb.argmax(axis=1)]
    assert np.all(np.abs(peaks - centres) <= bin_hz)
    assert np.all(np.diff(centres) > 0) and centres[-1] < sr / 2
    # Slaney normalisation: every triangle has the same area in Hz (2 / width * width / 2 = 1)
    area = fb.sum(axis=1) * bin_hz
    assert area[5:] == pytest.approx(1.0, rel=0.05)


@pytest.mark.parametrize(("hz", "pitch"), [(440.0, 9), (261.63, 0), (392.0, 7), (880.0, 9)])
def test_chroma_filters_map_notes_to_pitch_classes(hz, pitch):
    sr = 22050
    fb = dsp.chroma_filters(sr)
    k = round(hz * dsp.N_FFT / sr)
    assert int(fb[:, k].argmax()) == pitch


def test_dct_matrix_is_orthonormal():
    m = dsp.dct_matrix(40, 40)
    assert m @ m.T == pytest.approx(np.eye(40), abs=1e-12)


def _pulses(bpm: float, seconds: float = 30.0, *, jitter: float = 0.0, seed: int = 0):
    fps = rhythm.SR / dsp.HOP
    rng = np.random.default_rng(seed)
    env = 0.05 * rng.random(int(seconds * fps))
    for t in np.arange(0.5, seconds - 0.5, 60.0 / bpm):
        i = int(round((t + rng.normal(0, jitter)) * fps))
        env[i] += 1.0
    return env


@pytest.mark.parametrize("bpm", [80.0, 100.0, 128.0, 150.0])
def test_tempo_of_a_pulse_train(bpm):
    bpm_est, conf, _ = rhythm.tempo(_pulses(bpm, jitter=0.005))
    assert bpm_est == pytest.approx(bpm, rel=0.02)
    assert conf > 0.5


def test_beats_follow_the_pulses():
    env = _pulses(120.0)
    beats = rhythm.beat_track(env, rhythm.global_tempo(env))
    fps = rhythm.SR / dsp.HOP
    onsets = np.flatnonzero(env > 0.5)
    assert len(beats) >= 0.9 * len(onsets)
    # every beat is on (or next to) a pulse
    assert all(np.min(np.abs(onsets - b)) <= 1 for b in beats)
    assert np.median(np.diff(beats)) / fps == pytest.approx(0.5, abs=0.03)


def test_no_onsets_no_beats():
    assert len(rhythm.beat_track(np.zeros(1000), 120.0)) == 0
    bpm, conf, _ = rhythm.tempo(np.zeros(1000))
    assert np.isnan(bpm) and conf == 0.0


def test_tempogram_in_chunks_equals_one_chunk():
    env = _pulses(97.0, 60.0, jitter=0.01, seed=3)
    whole = rhythm.tempogram_mean(env, chunk=len(env))
    parts = rhythm.tempogram_mean(env, chunk=100)
    assert parts == pytest.approx(whole, abs=1e-12)


def test_chord_change_in_chunks_equals_one_chunk():
    from trackmood.audio.descriptors import chord_change

    chroma = np.random.default_rng(0).random((12, 1000)).astype(np.float32)
    whole = chord_change(chroma, 21, chunk=10_000)
    assert chord_change(chroma, 21, chunk=97) == pytest.approx(whole, abs=1e-12)
    assert len(whole) == 999 and np.all((whole >= 0) & (whole <= 1))
