"""Filter banks and per-frame spectral measures, in plain numpy.

Nothing on the extraction path imports scipy (``scipy.signal`` alone took seconds of start-up for
one song on a loaded machine). The mel (Slaney) and chroma filter banks reproduce ``librosa.filters.mel`` and
``librosa.filters.chroma`` (ISC licence) with their default arguments, so the extractor does not
import librosa: importing it loads numba, whose compiled-function cache can be left half-written by
concurrent processes (numba issue 10128) and whose beat tracker recompiles at every start.
``tests/test_audio_rhythm.py`` checks both banks against librosa.

>>> mel, chroma, dct_m, freqs = filters(22050)
>>> mel.shape, chroma.shape, dct_m.shape, freqs.shape
((40, 1025), (12, 1025), (20, 40), (1025,))
"""

from __future__ import annotations

import itertools
from functools import lru_cache

import numpy as np

N_FFT = 2048
HOP = 512
N_MELS = 40
N_MFCC = 20


def hz_to_mel(f: np.ndarray | float) -> np.ndarray:
    """Slaney's mel scale: linear below 1 kHz, logarithmic above."""
    f = np.asanyarray(f, dtype=float)
    mels = f / (200.0 / 3)
    logstep = np.log(6.4) / 27.0
    above = f >= 1000.0
    return np.where(above, 15.0 + np.log(np.maximum(f, 1e-10) / 1000.0) / logstep, mels)


def mel_to_hz(m: np.ndarray) -> np.ndarray:
    m = np.asanyarray(m, dtype=float)
    logstep = np.log(6.4) / 27.0
    return np.where(m >= 15.0, 1000.0 * np.exp(logstep * (m - 15.0)), m * (200.0 / 3))


def mel_frequencies(n_mels: int, fmin: float = 0.0, fmax: float = 11025.0) -> np.ndarray:
    return mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels))


def mel_filters(sr: int, n_fft: int = N_FFT, n_mels: int = N_MELS) -> np.ndarray:
    """Slaney-normalised triangular mel filters, ``(n_mels, 1 + n_fft // 2)`` float32."""
    fftfreqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
    mel_f = mel_frequencies(n_mels + 2, 0.0, sr / 2.0)
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fftfreqs)
    weights = np.zeros((n_mels, len(fftfreqs)), dtype=np.float32)
    for i in range(n_mels):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        weights[i] = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_f[2 : n_mels + 2] - mel_f[:n_mels]))[:, None]
    return weights


def chroma_filters(sr: int, n_fft: int = N_FFT, n_chroma: int = 12) -> np.ndarray:
    """Gaussian chroma filters (Ellis), octave-weighted around C5, rows starting at C."""
    frequencies = np.linspace(0, sr, n_fft, endpoint=False)[1:]
    frqbins = n_chroma * np.log2(frequencies / (440.0 / 16))
    frqbins = np.concatenate(([frqbins[0] - 1.5 * n_chroma], frqbins))
    binwidth = np.concatenate((np.maximum(frqbins[1:] - frqbins[:-1], 1.0), [1]))
    D = np.subtract.outer(frqbins, np.arange(0, n_chroma, dtype="d")).T
    half = np.round(float(n_chroma) / 2)
    D = np.remainder(D + half + 10 * n_chroma, n_chroma) - half
    wts = np.exp(-0.5 * (2 * D / np.tile(binwidth, (n_chroma, 1))) ** 2)
    norms = np.sqrt((wts**2).sum(axis=0, keepdims=True))
    wts = wts / np.where(norms < np.finfo(float).tiny, 1.0, norms)
    wts *= np.tile(np.exp(-0.5 * (((frqbins / n_chroma - 5.0) / 2.0) ** 2)), (n_chroma, 1))
    wts = np.roll(wts, -3, axis=0)
    return np.ascontiguousarray(wts[:, : int(1 + n_fft / 2)], dtype=np.float32)


@lru_cache(maxsize=4)
def filters(sr: int):
    """``(mel, chroma, dct, freqs)`` for ``sr`` (dense float32 matrices)."""
    mel = mel_filters(sr)
    chroma = chroma_filters(sr)
    chroma[chroma < 1e-3 * chroma.max()] = 0.0  # negligible tails
    dct_m = dct_matrix(N_MFCC, N_MELS).astype(np.float32)
    freqs = np.fft.rfftfreq(N_FFT, 1 / sr).astype(np.float32)
    return mel, chroma, dct_m, freqs


def dct_matrix(n_out: int, n_in: int) -> np.ndarray:
    """Orthonormal DCT-II (``scipy.fft.dct(np.eye(n_in), norm="ortho", axis=0)[:n_out]``)."""
    k = np.arange(n_out)[:, None]
    m = np.cos(np.pi * k * (2 * np.arange(n_in)[None, :] + 1) / (2 * n_in)) * np.sqrt(2.0 / n_in)
    m[0] /= np.sqrt(2.0)
    return m


@lru_cache(maxsize=4)
def _sparse_banks(sr: int):
    from scipy import sparse

    mel, chroma, _, _ = filters(sr)
    return sparse.csr_matrix(mel), sparse.csr_matrix(chroma)


def filter_banks(sr: int):
    """``(mel, chroma)`` as CSR matrices once scipy.sparse is loaded (batches), else dense: the
    sparse products are ~10x cheaper, but importing scipy.sparse costs more than one song's worth.
    """
    import sys

    if "scipy.sparse" in sys.modules:
        return _sparse_banks(sr)
    mel, chroma, _, _ = filters(sr)
    return mel, chroma


def fft_module():
    """``scipy.fft`` once something has imported it (batches load scipy.signal), else
    ``numpy.fft``: scipy's is ~3x faster on float32 frames, numpy's costs no import for one song.
    """
    import sys

    return sys.modules.get("scipy.fft") or np.fft


@lru_cache(maxsize=8)
def hann(n: int) -> np.ndarray:
    """Periodic Hann window (``scipy.signal.get_window("hann", n)``), float64."""
    return 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)


def moving_mean(x: np.ndarray, size: int, axis: int = -1) -> np.ndarray:
    """Mean over ``size`` neighbours along ``axis``, edges extended by their nearest value
    (``scipy.ndimage.uniform_filter1d(x, size, mode="nearest")``), float64.

    >>> moving_mean(np.array([1.0, 2.0, 3.0, 10.0]), 3).tolist()
    [1.3333333333333333, 2.0, 5.0, 7.666666666666667]
    """
    x = np.moveaxis(np.asarray(x, dtype=float), axis, -1)
    left, right = size // 2, size - 1 - size // 2
    pad = [(0, 0)] * (x.ndim - 1) + [(left, right)]
    c = np.cumsum(np.pad(x, pad, mode="edge"), axis=-1)
    c = np.concatenate([np.zeros(c.shape[:-1] + (1,)), c], axis=-1)
    return np.moveaxis((c[..., size:] - c[..., :-size]) / size, -1, axis)


@lru_cache(maxsize=4)
def mel_centers(sr: int) -> np.ndarray:
    return mel_frequencies(N_MELS + 2, 0.0, sr / 2.0)[1:-1]


def contrast(
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


def tonnetz(chroma: np.ndarray) -> np.ndarray:
    """Tonal centroid features (Harte et al. 2006) from chroma, as librosa.feature.tonnetz."""
    dim_map = np.linspace(0, 12, num=12, endpoint=False)
    scale = np.asarray([7.0 / 6, 7.0 / 6, 3.0 / 2, 3.0 / 2, 2.0 / 3, 2.0 / 3])
    V = scale[:, None] * dim_map[None, :]
    V[::2] -= 0.5
    R = np.array([1, 1, 1, 1, 0.5, 0.5])
    phi = R[:, None] * np.cos(np.pi * V)
    norm = chroma / np.maximum(np.abs(chroma).sum(axis=0, keepdims=True), 1e-10)
    return phi @ norm
