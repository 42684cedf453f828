"""Key and mode: a harmonic pitch-class profile from spectral peaks, tuning correction, key profiles.

:func:`hpcp_frames` turns magnitude-spectrum frames into a 36-bin (a third of a semitone)
pitch-class profile per frame, in the manner of Gómez's HPCP: the spectral peaks between
``fmin`` and ``fmax`` (frequency refined by parabolic interpolation), each counted towards the
pitch classes of the fundamentals it may be a harmonic of (``f/h``, weight ``slope**(h-1)``),
spread over neighbouring bins by a squared-cosine window, each frame normalised to its maximum.
It also returns a tuning phasor per frame (the peaks' magnitude-weighted position within the
semitone, as a complex number), so that the tuning of any span of frames is estimated after the
fact and the profile rotated to it (:func:`fold`).

:func:`estimate` correlates the folded 12-bin profile with the 24 rotated key profiles.
The choices (peak range, harmonics, profiles) were made on one half of the ``audio_4q`` clips
split by artist and are measured on the other half and on generated music
(``benchmarks/bench_tempo_key.py``).

>>> import numpy as np
>>> sr, n_fft = 22050, 2048
>>> freqs = np.fft.rfftfreq(n_fft, 1 / sr)
>>> t = np.arange(n_fft) / sr
>>> y = sum(np.sin(2 * np.pi * 440 * 2 ** (s / 12) * t) for s in (0, 3, 7))   # A minor triad
>>> S = np.abs(np.fft.rfft(y * np.hanning(n_fft)))[:, None]
>>> h, ph = hpcp_frames(S, freqs)
>>> sorted(PITCHES[k] for k in np.argsort(fold(h.mean(axis=1), ph.sum()))[-3:])
['A', 'C', 'E']
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

PITCHES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
N_BINS = 36  # bins per octave (3 per semitone); bin 3 * p is the centre of pitch class p

# Krumhansl & Kessler (1982) probe-tone ratings, C major / C minor.
KRUMHANSL = (
    np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88]),
    np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17]),
)
# Temperley (1999, "What's key for key?") revised profiles.
TEMPERLEY = (
    np.array([5.0, 2.0, 3.5, 2.0, 4.5, 4.0, 2.0, 4.5, 2.0, 3.5, 1.5, 4.0]),
    np.array([5.0, 2.0, 3.5, 4.5, 2.0, 4.0, 2.0, 4.5, 3.5, 2.0, 1.5, 4.0]),
)
# Diatonic triads: tonic, subdominant and dominant chords of the key (1 per chord tone).
TRIADS = (
    np.array([2.0, 0, 1, 0, 1, 1, 0, 2, 0, 1, 0, 1]),
    np.array([2.0, 0, 1, 1, 0, 1, 0, 2, 1, 0, 0, 1]),  # minor with the dominant's leading tone
)


def _chordal(base: tuple[np.ndarray, np.ndarray], slope: float = 0.6) -> tuple[np.ndarray, ...]:
    """A profile of the key's three main triads (tonic, subdominant, dominant), each weighted by
    the ``base`` profile at its root, each chord tone with its first four harmonics (the octaves
    on the tone, the twelfth on its fifth; weights ``slope**(h-1)``): what the chroma of a
    polyphonic recording in that key looks like, rather than a listener's ratings.
    """
    out = []
    for prof, third in zip(base, (4, 3), strict=True):
        q = np.zeros(12)
        for root, t in ((0, third), (5, third), (7, 4)):  # minor: the dominant is major
            for tone in (root, root + t, root + 7):
                q[tone % 12] += prof[root] * (1 + slope + slope**3)
                q[(tone + 7) % 12] += prof[root] * slope**2
        out.append(q)
    return tuple(out)


PROFILES = {
    "krumhansl": KRUMHANSL,
    "temperley": TEMPERLEY,
    "triads": TRIADS,
    "temperley_chords": _chordal(TEMPERLEY),
    "krumhansl_chords": _chordal(KRUMHANSL),
}

#: The settings in use (chosen on the selection half; see the module docstring).
FMIN, FMAX = 40.0, 5000.0
HARMONICS, SLOPE = 4, 0.6
POWER = 1.0  # peaks count with their magnitude (not energy)
PROFILE = "temperley"
#: Weight of the fifth in the profile: ``p + FIFTH * roll(p, 7)`` models the third harmonic of
#: every chord tone, which the chroma of real instruments carries.
FIFTH = 0.0


def hpcp_frames(
    S: np.ndarray,
    freqs: np.ndarray,
    *,
    fmin: float = FMIN,
    fmax: float = FMAX,
    harmonics: int = HARMONICS,
    slope: float = SLOPE,
    power: float = POWER,
    width: float = 2.0,
) -> tuple[np.ndarray, np.ndarray]:
    """36-bin harmonic pitch-class profile per frame and the tuning phasor per frame.

    Parameters
    ----------
    S : ndarray, (n_bins, k)
        Magnitude spectra (columns are frames), ``freqs`` their bin frequencies in Hz.
    power : float
        Peaks count with their magnitude to this power (1: magnitude, 2: energy).
    width : float
        Half-width of the spreading window, in 36-bins (2 = 2/3 of a semitone).

    Returns
    -------
    (hpcp, phasor) : ``(36, k)`` float32 each frame with maximum 1 (0 for a frame without peaks),
    and ``(k,)`` complex64: the sum over peaks of ``weight * exp(2j*pi*semitones)``.
    """
    S = np.asarray(S)
    nb, k = S.shape
    hpcp = np.zeros((N_BINS, k), np.float32)
    phasor = np.zeros(k, np.complex64)
    lo = max(1, int(np.searchsorted(freqs, fmin)))
    hi = min(nb - 1, int(np.searchsorted(freqs, fmax)))
    if hi - lo < 3 or k == 0:
        return hpcp, phasor
    band = S[lo - 1 : hi + 1].astype(np.float64)
    db = np.log(np.maximum(band, 1e-10))
    mid = band[1:-1]
    floor = 1e-3 * band.max(axis=0, keepdims=True)  # -60 dB below the frame's strongest peak
    peak = (mid > band[:-2]) & (mid >= band[2:]) & (mid > floor) & (mid > 1e-7)
    b, f = np.nonzero(peak)
    if not len(b):
        return hpcp, phasor
    a, c, m = db[b, f], db[b + 2, f], db[b + 1, f]
    den = a - 2 * m + c
    p = np.where(np.abs(den) > 1e-12, 0.5 * (a - c) / np.where(den == 0, 1, den), 0.0)
    p = np.clip(p, -0.5, 0.5)
    hz = freqs[lo] + (b + p) * (freqs[1] - freqs[0])
    mag = np.exp(m - 0.25 * (a - c) * p)
    w = mag**power
    semis = 12.0 * np.log2(hz / 440.0) + 9.0  # pitch class of each peak, C = 0, in semitones
    phasor = np.bincount(f, weights=w * np.cos(2 * np.pi * semis), minlength=k) + 1j * np.bincount(
        f, weights=w * np.sin(2 * np.pi * semis), minlength=k
    )
    # every peak counts for the fundamentals it may be a harmonic of: accumulated on a fine grid
    # (FINE sub-bins per 36-bin), then spread by the window as one matrix product
    fine = np.zeros(N_BINS * FINE * k)
    for h in range(1, harmonics + 1):
        x = np.rint(FINE * 3.0 * (semis - 12.0 * np.log2(h))).astype(np.int64) % (N_BINS * FINE)
        fine += np.bincount(x * k + f, weights=w * slope ** (h - 1), minlength=N_BINS * FINE * k)
    hpcp = _spread(width) @ fine.reshape(N_BINS * FINE, k)
    top = hpcp.max(axis=0, keepdims=True)
    hpcp = (hpcp / np.where(top > 0, top, 1.0)).astype(np.float32)
    return hpcp, phasor.astype(np.complex64)


FINE = 10  # sub-bins per 36-bin on the accumulation grid (1.1 cents)


@lru_cache(maxsize=4)
def _spread(width: float) -> np.ndarray:
    """(36, 36 * FINE): the squared-cosine window of half-width ``width`` 36-bins, circular."""
    pos = np.arange(N_BINS * FINE) / FINE
    d = np.abs(np.arange(N_BINS)[:, None] - pos[None, :])
    d = np.minimum(d, N_BINS - d)
    return np.where(d < width, np.cos(0.5 * np.pi * d / width) ** 2, 0.0)


def tuning_offset(phasor_sum: complex) -> float:
    """Tuning deviation in semitones (-0.5 .. 0.5) from a summed tuning phasor."""
    if not np.isfinite(phasor_sum) or abs(phasor_sum) == 0:
        return 0.0
    return float(np.angle(phasor_sum) / (2 * np.pi))


def fold(hpcp36: np.ndarray, phasor_sum: complex = 0j) -> np.ndarray:
    """A 36-bin profile rotated by the tuning deviation and summed to 12 pitch classes."""
    shift = 3.0 * tuning_offset(phasor_sum)  # in 36-bins; positive: sharp
    x = np.asarray(hpcp36, dtype=float)
    i = int(np.floor(shift))
    frac = shift - i
    rot = (1 - frac) * np.roll(x, -i) + frac * np.roll(x, -i - 1)
    return _fold12(rot)


def _fold12(x36: np.ndarray) -> np.ndarray:
    # pitch class p gathers bins 3p-1, 3p, 3p+1 (centre weighted double)
    return 0.5 * np.roll(x36, 1)[::3] + x36[::3] + 0.5 * np.roll(x36, -1)[::3]


def _rotations(profile: str, fifth: float) -> np.ndarray:
    out = np.empty((2, 12, 12))
    for i, prof in enumerate(PROFILES[profile]):
        q = prof + fifth * np.roll(prof, 7)
        q = q - q.mean()
        q /= np.linalg.norm(q)
        out[i] = [np.roll(q, k) for k in range(12)]
    return out


_ROT: dict[tuple[str, float], np.ndarray] = {}


def correlations(chroma12: np.ndarray, profile: str = PROFILE, fifth: float = FIFTH) -> np.ndarray:
    """``(2, 12)`` Pearson correlations of a chroma with the major (row 0) and minor (row 1)
    profile rotated to each tonic.
    """
    rot = _ROT.get((profile, fifth))
    if rot is None:
        rot = _ROT[(profile, fifth)] = _rotations(profile, fifth)
    c = np.asarray(chroma12, dtype=float)
    c = c - c.mean()
    norm = np.linalg.norm(c)
    if norm < 1e-12:
        return np.zeros((2, 12))
    return rot @ (c / norm)


def estimate(
    chroma12: np.ndarray, profile: str = PROFILE, fifth: float = FIFTH
) -> tuple[int, int, float]:
    """``(tonic pitch class, mode 1 major / 0 minor, strength)``; ``(-1, 1, 0.0)`` for a flat
    chroma. Strength is the winning correlation (-1 .. 1).

    >>> estimate(TEMPERLEY[1])[:2]      # the C minor profile itself
    (0, 0)
    """
    r = correlations(chroma12, profile, fifth)
    if not np.any(r):
        return -1, 1, 0.0
    mode_row, tonic = np.unravel_index(int(np.argmax(r)), r.shape)
    return int(tonic), 1 - int(mode_row), float(r[mode_row, tonic])
