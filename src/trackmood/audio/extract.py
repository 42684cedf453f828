"""Features from audio: the Spotify-style columns that can be measured, and a descriptor vector.

Measured (source ``audio:librosa``): ``duration_ms``, ``tempo`` (librosa's beat tracker, then a
least-squares line through the beat times, which undoes the tracker's coarse tempo grid),
``beat_confidence`` (0–1: how periodic the onset envelope is at that beat period), ``loudness``
(integrated LUFS, ITU-R BS.1770-4, measured at the file's own rate while decoding), ``key``,
``mode`` and ``key_confidence`` (Krumhansl–Kessler profiles on the mean chroma).

Estimated (source ``estimate:heuristic``), flagged by the ``_est`` suffix: ``energy_est`` and
``danceability_est`` — formulas on measured quantities, **not** Spotify's learned values.
Spotify's ``energy``, ``danceability``, ``valence``, ``acousticness``, ``instrumentalness``,
``liveness`` and ``speechiness`` come out of Spotify's own models and cannot be reproduced by
formula; those columns are present and left empty, so a Spotify-feature model refuses the table
instead of silently reading guesses.

The descriptor vector (:data:`DESCRIPTORS`, columns ``a_*``) is what the audio model reads: MFCC
and log-mel band statistics, spectral contrast (and the peak and valley levels per octave band,
relative to the frame level: noisiness and distortion), centroid/bandwidth/rolloff/flatness,
chroma and tonnetz, key clarity and major/minor strength (globally and over 5 s windows), chroma
entropy, interval content, chord-change rate, RMS dynamics, onset and rhythm statistics, tempo
and pulse clarity.

Cost: one 2048-point STFT at 22.05 kHz is shared by every spectral feature; no CQT, no HPSS.

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

import itertools
import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

SR = 22050
N_FFT = 2048
HOP = 512
N_MELS = 40
N_MFCC = 20

#: Spotify-style columns an extraction table carries, in order. Values measured or estimated are
#: filled; the rest stay empty (see module docstring).
MEASURED = ("duration_ms", "tempo", "beat_confidence", "loudness", "key", "mode", "key_confidence")
ESTIMATED = ("energy_est", "danceability_est")
EMPTY = (
    "energy",
    "danceability",
    "valence",
    "acousticness",
    "instrumentalness",
    "liveness",
    "speechiness",
)
MEASURED_SOURCE = "audio:librosa"
ESTIMATE_SOURCE = "estimate:heuristic"

_PITCHES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
# Krumhansl & Kessler (1982) key profiles.
_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def _profiles() -> np.ndarray:
    """(2, 12, 12): row k of each profile is the centred, unit-norm profile rotated to key k."""
    out = np.empty((2, 12, 12))
    for i, prof in enumerate((_MAJOR, _MINOR)):
        p = prof - prof.mean()
        p /= np.linalg.norm(p)
        out[i] = [np.roll(p, k) for k in range(12)]
    return out


_PROFILES = _profiles()


def _descriptor_names() -> tuple[str, ...]:
    names = []
    for i in range(N_MFCC):
        names += [f"a_mfcc{i:02d}_mean", f"a_mfcc{i:02d}_std"]
    for i in range(N_MFCC):
        names.append(f"a_dmfcc{i:02d}_std")
    for i in range(N_MELS):
        names += [f"a_mel{i:02d}_mean", f"a_mel{i:02d}_std"]
    for i in range(7):
        names += [f"a_contrast{i}_mean", f"a_contrast{i}_std"]
    for name in ("centroid", "bandwidth", "rolloff", "flatness", "zcr", "flux"):
        names += [f"a_{name}_mean", f"a_{name}_std"]
    for p in _PITCHES:
        names.append(f"a_chroma_{p}_rel")  # mean chroma rotated to the estimated key
    names += ["a_chroma_std", "a_chroma_flux"]
    for i in range(6):
        names += [f"a_tonnetz{i}_mean", f"a_tonnetz{i}_std"]
    names += ["a_key_strength", "a_major_minor", "a_mode"]
    names += [
        "a_rms_db_mean",
        "a_rms_db_std",
        "a_rms_db_p10",
        "a_rms_db_p50",
        "a_rms_db_p90",
        "a_dynamic_range",
        "a_low_energy",
        "a_loudness",
    ]
    for i in range(13):
        names.append(f"a_mfcc{i:02d}_slow")  # std of 1.5 s texture-window means
    for i in range(7):
        names.append(f"a_contrast{i}_slow")
    for name in ("centroid", "flatness", "flux", "rms"):
        names.append(f"a_{name}_slow")
    for band in ("low", "mid", "high"):
        names += [f"a_onset_{band}_mean", f"a_onset_{band}_std", f"a_onset_{band}_pulse"]
    names += [
        "a_onset_mean",
        "a_onset_std",
        "a_onset_rate",
        "a_tempo",
        "a_log_tempo",
        "a_beat_confidence",
        "a_pulse_max",
        "a_pulse_half",
        "a_pulse_double",
        "a_beat_regularity",
        "a_mod4hz",
    ]
    # peak and valley levels of the contrast bands relative to the frame level (distortion,
    # noisiness and brightness per octave) and the spread of contrast over frames
    for i in range(7):
        names += [
            f"a_valley{i}_mean",
            f"a_valley{i}_std",
            f"a_peak{i}_mean",
            f"a_peak{i}_std",
            f"a_contrast{i}_p10",
            f"a_contrast{i}_p90",
        ]
    # tonality: key clarity and major/minor strength over 5 s windows, chroma entropy, interval
    # content (dissonance), minor-vs-major thirds/sixths/sevenths relative to the key, chord changes
    names += [
        "a_win_major_minor_mean",
        "a_win_major_minor_std",
        "a_win_major_frac",
        "a_win_key_strength_mean",
        "a_win_key_strength_std",
        "a_chroma_entropy_mean",
        "a_chroma_entropy_std",
        "a_chroma_entropy_global",
    ]
    names += [f"a_interval{k}" for k in range(1, 7)]
    names += ["a_m3_vs_M3", "a_m6_vs_M6", "a_m7_vs_M7", "a_chord_change_mean", "a_chord_change_p90"]
    return tuple(names)


#: The audio model's input: the descriptor vector's column names, in order.
DESCRIPTORS: tuple[str, ...] = _descriptor_names()


@lru_cache(maxsize=4)
def _filters(sr: int):
    import librosa
    from scipy import sparse
    from scipy.fft import dct

    mel = librosa.filters.mel(sr=sr, n_fft=N_FFT, n_mels=N_MELS, fmax=sr / 2).astype(np.float32)
    chroma = librosa.filters.chroma(sr=sr, n_fft=N_FFT, tuning=0.0).astype(np.float32)
    chroma[chroma < 1e-3 * chroma.max()] = 0.0  # negligible tails: keeps the product sparse
    mel, chroma = sparse.csr_matrix(mel), sparse.csr_matrix(chroma)

    dct_m = dct(np.eye(N_MELS), type=2, norm="ortho", axis=0)[:N_MFCC].astype(np.float32)
    freqs = np.fft.rfftfreq(N_FFT, 1 / sr).astype(np.float32)
    return mel, chroma, dct_m, freqs


@lru_cache(maxsize=4)
def _mel_centers(sr: int) -> np.ndarray:
    import librosa

    return librosa.mel_frequencies(n_mels=N_MELS + 2, fmax=sr / 2)[1:-1]


def _slow(x: np.ndarray, sr: int, seconds: float = 1.5) -> np.ndarray:
    """Std over texture windows of the window means (rows of ``x``): slow variation."""
    w = max(1, int(seconds * sr / HOP))
    n = x.shape[-1] // w
    if n < 2:
        return np.zeros(x.shape[:-1])
    means = x[..., : n * w].reshape(*x.shape[:-1], n, w).mean(axis=-1)
    return means.std(axis=-1)


def _pulse(env: np.ndarray, sr: int) -> float:
    """Max normalised autocorrelation of an onset envelope between 40 and 240 BPM."""
    if len(env) < 16 or not np.any(env > 1e-9):
        return 0.0
    x = env - env.mean()
    ac = _acf_fft(x)
    ac = ac / (ac[0] + 1e-12)
    fps = sr / HOP
    lo, hi = int(fps * 60 / 240), min(len(ac) - 1, int(fps * 60 / 40))
    return float(max(0.0, ac[lo:hi].max())) if hi > lo else 0.0


@dataclass
class Frames:
    """Frame-level analysis of one signal (columns are frames at ``HOP`` samples)."""

    sr: int
    n_samples: int
    mfcc: np.ndarray
    logmel: np.ndarray
    contrast: np.ndarray
    spectral: np.ndarray  # rows: centroid, bandwidth, rolloff, flatness, zcr, flux
    chroma: np.ndarray
    rms: np.ndarray
    onset: np.ndarray
    band_onset: np.ndarray  # rows: low (< 200 Hz), mid, high (> 2.5 kHz) onset strength
    peak: np.ndarray = None  # contrast bands' peak level (dB), rows as ``contrast``
    valley: np.ndarray = None  # contrast bands' valley level (dB)
    loudness: float = math.nan

    @property
    def n_frames(self) -> int:
        return self.onset.shape[0]

    def frame_of(self, seconds: float) -> int:
        return round(seconds * self.sr / HOP)

    # -- aggregation --------------------------------------------------------------------------
    def summary(self, start: float = 0.0, end: float | None = None) -> dict[str, float]:
        """Measured columns plus the descriptor vector over ``[start, end)`` seconds."""
        a = max(0, self.frame_of(start))
        b = self.n_frames if end is None else min(self.n_frames, max(a + 1, self.frame_of(end)))
        return _summarize(self, a, b, start, end)


def analyze(y: np.ndarray, sr: int = SR, *, loudness: float = math.nan) -> Frames:
    """Frame-level features of a mono signal ``y`` at ``sr`` (one shared STFT).

    Parameters
    ----------
    y : ndarray
        Mono float signal.
    sr : int, default 22050
    loudness : float, optional
        Integrated LUFS measured while decoding (carried into the summary).
    """
    from scipy.fft import rfft
    from scipy.signal import get_window

    y = np.asarray(y, dtype=np.float32)
    n = len(y)
    if n < N_FFT:
        y = np.pad(y, (0, N_FFT - n))
    mel_fb, chroma_fb, dct_m, freqs = _filters(sr)
    # centred frames (like librosa, zero padding), one real FFT for everything
    pad = np.pad(y, (N_FFT // 2, N_FFT // 2))
    n_frames = 1 + (len(pad) - N_FFT) // HOP
    idx = np.lib.stride_tricks.sliding_window_view(pad, N_FFT)[::HOP][:n_frames]
    win = get_window("hann", N_FFT, fftbins=True).astype(np.float32)
    S = np.ascontiguousarray(np.abs(rfft(idx * win, axis=1)).T)  # (1025, T) float32
    P = S * S
    melspec = np.asarray(mel_fb @ P)
    logmel = 10 * np.log10(np.maximum(melspec, 1e-10))
    logmel = np.maximum(logmel, logmel.max() - 80.0)
    mfcc = dct_m @ logmel
    # spectral shape
    total = S.sum(axis=0) + 1e-10
    centroid = (freqs[:, None] * S).sum(axis=0) / total
    bandwidth = np.sqrt(((freqs[:, None] - centroid) ** 2 * S).sum(axis=0) / total)
    cum = np.cumsum(P, axis=0)
    rolloff = freqs[np.argmax(cum >= 0.85 * cum[-1:], axis=0)]
    logS = np.log(S + 1e-10)
    flatness = np.exp(logS.mean(axis=0)) / (S.mean(axis=0) + 1e-10)
    signs = np.signbit(idx[:, N_FFT // 4 : 3 * N_FFT // 4])
    zcr = (signs[:, 1:] != signs[:, :-1]).mean(axis=1)
    flux_full = np.sqrt((np.maximum(np.diff(S, axis=1, prepend=S[:, :1]), 0) ** 2).sum(axis=0))
    flux = flux_full / (np.sqrt(P.sum(axis=0)) + 1e-6)
    # onset strength (librosa's recipe: positive log-mel difference, mean over bands)
    diff = np.maximum(np.diff(logmel, axis=1, prepend=logmel[:, :1]), 0.0)
    onset = diff.mean(axis=0)
    mel_f = _mel_centers(sr)
    band_onset = np.vstack(
        [
            diff[mel_f < 200].mean(axis=0),
            diff[(mel_f >= 200) & (mel_f < 2500)].mean(axis=0),
            diff[mel_f >= 2500].mean(axis=0),
        ]
    )
    rms = np.sqrt(np.einsum("ij,ij->i", idx, idx) / N_FFT)
    chroma = np.asarray(chroma_fb @ P)
    chroma /= np.maximum(chroma.max(axis=0, keepdims=True), 1e-10)
    contrast, peak, valley = _contrast(S, freqs)
    spectral = np.vstack([centroid, bandwidth, rolloff, flatness, zcr, flux])
    return Frames(
        sr=sr,
        n_samples=n,
        mfcc=mfcc,
        logmel=logmel,
        contrast=contrast,
        spectral=spectral,
        chroma=chroma,
        rms=rms,
        onset=onset,
        band_onset=band_onset,
        peak=peak,
        valley=valley,
        loudness=loudness,
    )


def _contrast(
    S: np.ndarray,
    freqs: np.ndarray,
    *,
    fmin: float = 200.0,
    n_bands: int = 6,
    quantile: float = 0.02,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Spectral contrast (Jiang et al. 2002) as librosa computes it, with a partial sort; also the
    peak and valley levels (dB) it is the difference of.
    """
    octa = np.zeros(n_bands + 2)
    octa[1:] = fmin * (2.0 ** np.arange(0, n_bands + 1))
    shape = (n_bands + 1, S.shape[1])
    peaks, valleys = np.empty(shape, np.float32), np.empty(shape, np.float32)
    for k, (f_low, f_high) in enumerate(itertools.pairwise(octa)):
        band = (freqs >= f_low) & (freqs <= f_high)
        if k > 0:
            band[np.argmax(band) - 1] = True
        if k == n_bands:
            band[np.argmax(band) - 1 :] = True
        sub = S[band]
        m = max(1, int(np.rint(quantile * sub.shape[0])))
        part = np.partition(sub, (m - 1, sub.shape[0] - m), axis=0)
        valley = part[:m].mean(axis=0)
        peak = part[-m:].mean(axis=0)
        peaks[k] = 10 * np.log10(np.maximum(peak, 1e-10))
        valleys[k] = 10 * np.log10(np.maximum(valley, 1e-10))
    return peaks - valleys, peaks, valleys


def _tempo(onset: np.ndarray, sr: int) -> tuple[float, float, dict]:
    """Tempo (BPM) from beat tracking + least-squares through beat times; pulse statistics."""
    import librosa

    stats = {"pulse_max": 0.0, "pulse_half": 0.0, "pulse_double": 0.0, "regularity": 0.0}
    if len(onset) < 16 or not np.any(onset > 1e-6):
        return math.nan, 0.0, stats
    fps = sr / HOP
    _, beats = librosa.beat.beat_track(onset_envelope=onset, sr=sr, hop_length=HOP)
    times = np.asarray(beats, dtype=float) / fps
    tempo = math.nan
    period = math.nan
    if len(times) >= 4:
        ibi = np.diff(times)
        med = np.median(ibi)
        k = np.concatenate([[0], np.cumsum(np.maximum(1, np.round(ibi / med)))])
        A = np.vstack([k, np.ones_like(k)]).T
        period = float(np.linalg.lstsq(A, times, rcond=None)[0][0])
        if period > 0:
            tempo = 60.0 / period
        stats["regularity"] = float(max(0.0, 1.0 - np.std(ibi) / (med + 1e-9)))
    # autocorrelation of the onset envelope: how periodic it is at the beat period
    x = onset - onset.mean()
    ac = np.correlate(x, x, mode="full")[len(x) - 1 :] if len(x) < 4096 else _acf_fft(x)
    ac = ac / (ac[0] + 1e-12)

    def at(seconds):
        lag = seconds * fps
        if not np.isfinite(lag) or lag < 1 or lag + 2 >= len(ac):
            return 0.0
        i = round(lag)
        return float(max(0.0, ac[max(1, i - 1) : i + 2].max()))

    conf = at(period) if np.isfinite(period) else 0.0
    lo, hi = int(fps * 60 / 240), min(len(ac) - 1, int(fps * 60 / 40))
    stats["pulse_max"] = float(max(0.0, ac[lo:hi].max())) if hi > lo else 0.0
    stats["pulse_half"] = at(period * 2) if np.isfinite(period) else 0.0
    stats["pulse_double"] = at(period / 2) if np.isfinite(period) else 0.0
    return tempo, conf, stats


def _acf_fft(x: np.ndarray) -> np.ndarray:
    n = 1 << int(np.ceil(np.log2(2 * len(x))))
    f = np.fft.rfft(x, n)
    return np.fft.irfft(f * np.conj(f), n)[: len(x)]


def _key(chroma_mean: np.ndarray) -> tuple[int, int, float, float, np.ndarray]:
    """(key pitch class, mode 1 major / 0 minor, strength, major-minor, chroma rotated to key)."""
    c = chroma_mean - chroma_mean.mean()
    if not np.any(np.abs(c) > 1e-9):
        return -1, 1, 0.0, 0.0, np.zeros(12)
    # Pearson correlation with the 12 rotations of both profiles, as one product
    major, minor = _PROFILES @ (c / np.linalg.norm(c))
    if major.max() >= minor.max():
        key, mode, strength = int(major.argmax()), 1, float(major.max())
    else:
        key, mode, strength = int(minor.argmax()), 0, float(minor.max())
    return key, mode, strength, float(major.max() - minor.max()), np.roll(chroma_mean, -key)


def _summarize(fr: Frames, a: int, b: int, start: float, end: float | None) -> dict[str, float]:
    sl = slice(a, b)
    out: dict[str, float] = {}
    n_seconds = (min(fr.n_samples, int(end * fr.sr)) if end is not None else fr.n_samples) / fr.sr
    n_seconds -= start
    mfcc = fr.mfcc[:, sl]
    logmel = fr.logmel[:, sl]
    vals = {}
    for i in range(N_MFCC):
        vals[f"a_mfcc{i:02d}_mean"] = mfcc[i].mean()
        vals[f"a_mfcc{i:02d}_std"] = mfcc[i].std()
    dm = np.diff(mfcc, axis=1) if mfcc.shape[1] > 1 else np.zeros((N_MFCC, 1))
    for i in range(N_MFCC):
        vals[f"a_dmfcc{i:02d}_std"] = dm[i].std()
    for i in range(N_MELS):
        vals[f"a_mel{i:02d}_mean"] = logmel[i].mean()
        vals[f"a_mel{i:02d}_std"] = logmel[i].std()
    con = fr.contrast[:, sl]
    for i in range(con.shape[0]):
        vals[f"a_contrast{i}_mean"] = con[i].mean()
        vals[f"a_contrast{i}_std"] = con[i].std()
    for j, name in enumerate(("centroid", "bandwidth", "rolloff", "flatness", "zcr", "flux")):
        v = fr.spectral[j, sl]
        if name in ("centroid", "bandwidth", "rolloff"):
            v = np.log1p(v)
        vals[f"a_{name}_mean"] = v.mean()
        vals[f"a_{name}_std"] = v.std()
    chroma = fr.chroma[:, sl]
    cm = chroma.mean(axis=1)
    key, mode, strength, major_minor, rel = _key(cm)
    for p, v in zip(_PITCHES, rel / (rel.sum() + 1e-9), strict=False):
        vals[f"a_chroma_{p}_rel"] = v
    vals["a_chroma_std"] = chroma.std(axis=1).mean()
    vals["a_chroma_flux"] = (
        np.abs(np.diff(chroma, axis=1)).sum(axis=0).mean() if chroma.shape[1] > 1 else 0.0
    )
    ton = _tonnetz(chroma)
    for i in range(6):
        vals[f"a_tonnetz{i}_mean"] = ton[i].mean()
        vals[f"a_tonnetz{i}_std"] = ton[i].std()
    vals["a_key_strength"] = strength
    vals["a_major_minor"] = major_minor
    vals["a_mode"] = float(mode)
    rms = fr.rms[sl]
    rms_db = 20 * np.log10(np.maximum(rms, 1e-5))
    p10, p50, p90 = np.percentile(rms_db, [10, 50, 90])
    vals.update(
        {
            "a_rms_db_mean": rms_db.mean(),
            "a_rms_db_std": rms_db.std(),
            "a_rms_db_p10": p10,
            "a_rms_db_p50": p50,
            "a_rms_db_p90": p90,
            "a_dynamic_range": p90 - p10,
            "a_low_energy": float((rms < rms.mean()).mean()),
        }
    )
    whole = a == 0 and end is None and not math.isnan(fr.loudness)
    loud = fr.loudness if whole else _window_loudness(rms_db)
    vals["a_loudness"] = max(-70.0, loud) if np.isfinite(loud) else -70.0
    onset = fr.onset[sl]
    tempo, conf, stats = _tempo(onset, fr.sr)
    vals["a_onset_mean"] = onset.mean()
    vals["a_onset_std"] = onset.std()
    vals["a_onset_rate"] = (
        _onset_rate(onset, fr.sr) / max(n_seconds, 1e-3) * (len(onset) / max(len(onset), 1))
    )
    vals["a_tempo"] = tempo if np.isfinite(tempo) else 0.0
    vals["a_log_tempo"] = math.log2(tempo / 120.0) if np.isfinite(tempo) and tempo > 0 else 0.0
    vals["a_beat_confidence"] = conf
    vals["a_pulse_max"] = stats["pulse_max"]
    vals["a_pulse_half"] = stats["pulse_half"]
    vals["a_pulse_double"] = stats["pulse_double"]
    vals["a_beat_regularity"] = stats["regularity"]
    vals["a_mod4hz"] = _mod4hz(rms, fr.sr)
    for i, v in enumerate(_slow(mfcc[:13], fr.sr)):
        vals[f"a_mfcc{i:02d}_slow"] = v
    for i, v in enumerate(_slow(con, fr.sr)):
        vals[f"a_contrast{i}_slow"] = v
    sp = fr.spectral[:, sl]
    for name, row in (
        ("centroid", np.log1p(sp[0])),
        ("flatness", sp[3]),
        ("flux", sp[5]),
        ("rms", rms_db),
    ):
        vals[f"a_{name}_slow"] = float(_slow(row[None, :], fr.sr)[0])
    for band, env in zip(("low", "mid", "high"), fr.band_onset[:, sl], strict=False):
        vals[f"a_onset_{band}_mean"] = env.mean()
        vals[f"a_onset_{band}_std"] = env.std()
        vals[f"a_onset_{band}_pulse"] = _pulse(env, fr.sr)
    for i in range(con.shape[0]):
        pk, va = fr.peak[i, sl] - rms_db, fr.valley[i, sl] - rms_db
        p10, p90 = np.percentile(con[i], [10, 90])
        vals.update(
            {
                f"a_valley{i}_mean": va.mean(),
                f"a_valley{i}_std": va.std(),
                f"a_peak{i}_mean": pk.mean(),
                f"a_peak{i}_std": pk.std(),
                f"a_contrast{i}_p10": p10,
                f"a_contrast{i}_p90": p90,
            }
        )
    vals.update(_tonal(chroma, rel, fr.sr))
    for k in DESCRIPTORS:
        v = float(vals[k])
        out[k] = v if np.isfinite(v) else 0.0
    # the Spotify-style measured columns and flagged estimates
    silent = rms_db.max() <= -90 or (np.isfinite(loud) is False and loud < 0)
    measured = {
        "duration_ms": round(n_seconds * 1000.0, 1),
        "tempo": round(tempo, 2) if np.isfinite(tempo) and not silent else math.nan,
        "beat_confidence": round(conf, 4) if not silent else 0.0,
        "loudness": round(loud, 2) if np.isfinite(loud) and not silent else math.nan,
        "key": key if not silent else -1,
        "mode": mode if not silent and key >= 0 else math.nan,
        "key_confidence": round(max(strength, 0.0), 4) if not silent else 0.0,
    }
    est = _estimates(out, measured, silent)
    return {**measured, **est, **{k: math.nan for k in EMPTY}, **out}


def _tonal(chroma: np.ndarray, rel: np.ndarray, sr: int) -> dict[str, float]:
    """Tonal descriptors beyond the global key: see :func:`_descriptor_names`."""
    from scipy.ndimage import uniform_filter1d

    fps = sr / HOP
    n = chroma.shape[1]
    w = max(1, int(5 * fps))
    mm, ks = [], []
    for s in range(0, max(1, n - w // 2), w):
        _, _, strength, major_minor, _ = _key(chroma[:, s : s + w].mean(axis=1))
        mm.append(major_minor)
        ks.append(strength)
    mm, ks = np.array(mm), np.array(ks)
    chn = chroma / (chroma.sum(axis=0, keepdims=True) + 1e-9)
    ent = -(chn * np.log(chn + 1e-9)).sum(axis=0)
    cm = chroma.mean(axis=1)
    cmn = cm / (cm.sum() + 1e-9)
    out = {
        "a_win_major_minor_mean": mm.mean(),
        "a_win_major_minor_std": mm.std(),
        "a_win_major_frac": float((mm > 0).mean()),
        "a_win_key_strength_mean": ks.mean(),
        "a_win_key_strength_std": ks.std(),
        "a_chroma_entropy_mean": ent.mean(),
        "a_chroma_entropy_std": ent.std(),
        "a_chroma_entropy_global": float(-(cmn * np.log(cmn + 1e-9)).sum()),
    }
    for k in range(1, 7):
        out[f"a_interval{k}"] = (chn * np.roll(chn, k, axis=0)).sum(axis=0).mean()
    r = rel / (rel.sum() + 1e-9)
    out.update({"a_m3_vs_M3": r[3] - r[4], "a_m6_vs_M6": r[8] - r[9], "a_m7_vs_M7": r[10] - r[11]})
    if n > 2:
        cs = uniform_filter1d(chroma, max(1, int(fps / 2)), axis=1)
        cs = cs / (np.linalg.norm(cs, axis=0, keepdims=True) + 1e-9)
        change = 1 - (cs[:, 1:] * cs[:, :-1]).sum(axis=0)
        out.update(
            {"a_chord_change_mean": change.mean(), "a_chord_change_p90": np.percentile(change, 90)}
        )
    else:
        out.update({"a_chord_change_mean": 0.0, "a_chord_change_p90": 0.0})
    return out


def _estimates(d: dict, m: dict, silent: bool) -> dict[str, float]:
    """Heuristic stand-ins for two of Spotify's learned columns (flagged ``_est``)."""
    if silent:
        return {"energy_est": 0.0, "danceability_est": 0.0}

    def squash(x, lo, hi):
        return float(np.clip((x - lo) / (hi - lo), 0.0, 1.0))

    loud = m["loudness"] if np.isfinite(m["loudness"]) else -70.0
    energy = (
        0.45 * squash(loud, -30.0, -5.0)
        + 0.25 * squash(d["a_onset_rate"], 0.5, 6.0)
        + 0.15 * squash(d["a_centroid_mean"], math.log1p(800), math.log1p(4000))
        + 0.15 * squash(d["a_flatness_mean"], 0.0, 0.3)
    )
    tempo = m["tempo"] if np.isfinite(m["tempo"]) else 0.0
    tempo_fit = math.exp(-0.5 * (math.log2(max(tempo, 1.0) / 118.0) / 0.35) ** 2)
    dance = 0.5 * d["a_beat_confidence"] + 0.3 * tempo_fit + 0.2 * d["a_beat_regularity"]
    return {
        "energy_est": round(energy, 4),
        "danceability_est": round(float(np.clip(dance, 0, 1)), 4),
    }


def _window_loudness(rms_db: np.ndarray) -> float:
    """Approximate loudness of a window (ungated mean power of the frames, in dB)."""
    power = np.mean(10 ** (rms_db / 10))
    return float(10 * np.log10(power) - 0.691) if power > 0 else -math.inf


def _onset_rate(onset: np.ndarray, sr: int) -> float:
    """Number of onsets: local maxima above an adaptive threshold (mean + 1 std over ~1.5 s)."""
    if len(onset) < 3 or onset.max() <= 1e-6:
        return 0.0
    from scipy.ndimage import uniform_filter1d

    w = max(3, int(1.5 * sr / HOP))
    mean = uniform_filter1d(onset, w, mode="nearest")
    sq = uniform_filter1d(onset * onset, w, mode="nearest")
    thr = mean + np.sqrt(np.maximum(sq - mean * mean, 0)) + 0.05 * onset.max()
    peak = (onset[1:-1] > onset[:-2]) & (onset[1:-1] >= onset[2:]) & (onset[1:-1] > thr[1:-1])
    # at most one onset per 50 ms
    idx = np.flatnonzero(peak)
    if len(idx) == 0:
        return 0.0
    gap = max(1, int(0.05 * sr / HOP))
    keep = np.concatenate([[True], np.diff(idx) >= gap])
    return float(keep.sum())


def _mod4hz(rms: np.ndarray, sr: int) -> float:
    """Share of the energy envelope's modulation spectrum in 3–6 Hz (speech syllable rate)."""
    fps = sr / HOP
    if len(rms) < int(fps * 2):
        return 0.0
    env = np.log(np.maximum(rms, 1e-5))
    env = env - env.mean()
    spec = np.abs(np.fft.rfft(env * np.hanning(len(env)))) ** 2
    f = np.fft.rfftfreq(len(env), 1 / fps)
    band = spec[(f >= 3) & (f <= 6)].sum()
    total = spec[(f >= 0.5) & (f <= 20)].sum()
    return float(band / total) if total > 0 else 0.0


def _tonnetz(chroma: np.ndarray) -> np.ndarray:
    """Tonal centroid features (Harte et al. 2006) from chroma, as librosa.feature.tonnetz."""
    dim_map = np.linspace(0, 12, num=12, endpoint=False)
    scale = np.asarray([7.0 / 6, 7.0 / 6, 3.0 / 2, 3.0 / 2, 2.0 / 3, 2.0 / 3])
    V = scale[:, None] * dim_map[None, :]
    V[::2] -= 0.5
    R = np.array([1, 1, 1, 1, 0.5, 0.5])
    phi = R[:, None] * np.cos(np.pi * V)
    norm = chroma / np.maximum(np.abs(chroma).sum(axis=0, keepdims=True), 1e-10)
    return phi @ norm


def key_name(key: int, mode: float) -> str:
    """``'A major'`` for ``(9, 1)``; ``''`` when the key is unknown.

    >>> key_name(9, 1), key_name(0, 0), key_name(-1, 1)
    ('A major', 'C minor', '')
    """
    if key is None or not np.isfinite(key) or key < 0:
        return ""
    return f"{_PITCHES[int(key)]} {'major' if mode == 1 else 'minor'}"
