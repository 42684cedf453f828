"""Features from audio: the Spotify-style columns that can be measured, and a descriptor vector.

Measured (source ``audio:librosa``): ``duration_ms``, ``tempo`` (the autocorrelation tempogram
summed with its double period, a wide prior around 100 BPM, the period refined by the peaks at its
multiples: :func:`.rhythm.estimate_tempo`), ``beat_confidence`` (0–1: how periodic the onset
envelope is at the beat tracker's period), ``loudness`` (integrated LUFS, ITU-R BS.1770-4, measured
at the file's own rate while decoding), ``key``, ``mode`` and ``key_confidence`` (Temperley's
profiles on a tuning-corrected harmonic pitch-class profile: :mod:`.key`). The descriptors the
audio model reads keep the estimators it was trained with (:mod:`.descriptors`).

Estimated (source ``estimate:heuristic``), flagged by the ``_est`` suffix: ``energy_est`` and
``danceability_est`` — formulas on measured quantities, **not** Spotify's learned values.
Spotify's ``energy``, ``danceability``, ``valence``, ``acousticness``, ``instrumentalness``,
``liveness`` and ``speechiness`` come out of Spotify's own models and cannot be reproduced by
formula; those columns are present and left empty, so a Spotify-feature model refuses the table
instead of silently reading guesses.

The descriptor vector (:data:`DESCRIPTORS`, columns ``a_*``, see :mod:`.descriptors`) is what the
audio model reads. Files are analysed by the audio engine (:mod:`trackmood.engine.read`): a clip as a
stream, decoded, resampled and cut into STFT chunks block by block (:mod:`.decode`, :mod:`.frames`),
so memory does not grow with the length beyond ~65 MB of per-frame features per hour; a longer track
on a fixed budget of excerpts; a file longer than ``max_duration`` is refused.

Input that has no mood to find is screened out with the reason (:func:`screen`): too short, silent,
noise. (Speech is not screened: the 4 Hz modulation ratio exceeds 0.43 on 5 % of audio_4q's music.)

>>> import numpy as np
>>> sr = 22050
>>> y = np.zeros(sr * 10, np.float32)
>>> for t in np.arange(0, 10, 0.5):           # a click every 0.5 s: 120 BPM
...     y[int(t * sr): int(t * sr) + 200] = 0.5
>>> f = analyze(y, sr)
>>> round(f.summary()["tempo"])
120
"""

from __future__ import annotations

import math

from .descriptors import (
    DESCRIPTORS,
    EMPTY,
    ESTIMATE_SOURCE,
    ESTIMATED,
    MEASURED,
    MEASURED_SOURCE,
    key_name,
)
from .dsp import HOP, N_FFT, N_MELS, N_MFCC
from .frames import SR, FrameBuilder, Frames, analyze

__all__ = [
    "DESCRIPTORS",
    "EMPTY",
    "ESTIMATED",
    "ESTIMATE_SOURCE",
    "HOP",
    "MAX_DURATION",
    "MEASURED",
    "MEASURED_SOURCE",
    "MIN_DURATION",
    "N_FFT",
    "N_MELS",
    "N_MFCC",
    "SR",
    "FrameBuilder",
    "Frames",
    "analyze",
    "key_name",
    "screen",
]

#: Files longer than this (seconds) are refused by default: 4 hours.
MAX_DURATION = 4 * 3600.0
#: Shorter input (seconds) has no mood to find.
MIN_DURATION = 3.0
#: Integrated loudness (LUFS) below which a file counts as silent.
SILENT_LUFS = -60.0
#: Level (dBFS) that 90 % of the frames stay under for a file to count as silent, whatever its LUFS.
SILENT_PEAK_DB = -60.0
#: Spectral flatness (geometric / arithmetic mean of the magnitude spectrum) above which, with a
#: steady level and no pulse, input is noise. Measured: white noise 0.85, pink noise 0.71; the
#: flattest of 125 audio_4q clips 0.45 (its level spread >= 3 dB, noise's < 1 dB).
NOISE_FLATNESS = 0.6
#: Level spread (std of frame dB) under which a flat spectrum counts as steady noise.
NOISE_LEVEL_STD = 2.0
#: A window shorter than this (seconds) at the end of a track is folded into the one before.
MIN_WINDOW = 3.0


def screen(features: dict, duration: float) -> tuple[str, str] | None:
    """``(kind, reason)`` when the input has no mood to find, else ``None``.

    ``kind`` is ``"too short"``, ``"silent"`` or ``"noise"``; ``reason`` is a
    clause with the measured value, e.g. ``"silent (integrated loudness -inf LUFS, below -60)"``.
    """
    if duration < MIN_DURATION:
        return "too short", f"too short ({duration:.2f} s of audio, under {MIN_DURATION:g} s)"
    raw = features.get("loudness", math.nan)
    if not math.isfinite(raw) or raw < SILENT_LUFS:
        shown = f"{raw:.1f}" if math.isfinite(raw) else "-inf"
        return "silent", f"silent (integrated loudness {shown} LUFS, below {SILENT_LUFS:g} LUFS)"
    level = features.get("a_rms_db_p90", 0.0)
    if level < SILENT_PEAK_DB:
        return "silent", f"silent (90 % of the audio below {level:.0f} dBFS)"
    flat, spread = features["a_flatness_mean"], features["a_rms_db_std"]
    if flat > NOISE_FLATNESS and spread < NOISE_LEVEL_STD and features["a_beat_confidence"] < 0.3:
        return "noise", (
            f"noise, not music (spectral flatness {flat:.2f}, above {NOISE_FLATNESS:g}, "
            f"with a steady level: {spread:.1f} dB spread)"
        )
    return None


def windows(duration: float, window: float) -> list[tuple[float, float]]:
    """``[(start, end)]`` spans of ``window`` seconds covering ``duration`` (a short tail joins
    the span before it).

    >>> windows(40.0, 15.0)
    [(0.0, 15.0), (15.0, 30.0), (30.0, 40.0)]
    >>> windows(31.0, 15.0)
    [(0.0, 15.0), (15.0, 31.0)]
    """
    edges = []
    start = 0.0
    while start < duration - 1e-9:
        end = min(duration, start + window)
        edges.append((start, end))
        start = end
    if len(edges) > 1 and edges[-1][1] - edges[-1][0] < MIN_WINDOW:
        last = edges.pop()
        edges[-1] = (edges[-1][0], last[1])
    return edges
