"""Frame-level analysis in a stream: blocks of decoded audio in, per-frame features out.

Every spectral measure is computed from one 2048-point STFT (hop 512, centred frames, Hann) of a
chunk of about 24 s of audio at a time, so the spectrogram of the whole track never exists; what is
kept per frame is 140 float32 numbers and a complex tuning phasor (~25 KB per second of audio,
~90 MB per hour; the 36-bin pitch-class profile of :mod:`.key` is 36 of them), which the
summaries and the timeline read. The only whole-track step, the 80 dB floor under the log-mel
bands, is applied at the end to the stored bands (MFCCs and onset strength are derived then).

``analyze(y)`` on a whole signal and ``FrameBuilder`` fed the same signal in any blocks give
identical frames.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .dsp import HOP, N_FFT, contrast, fft_module, filter_banks, filters, hann, mel_centers
from .key import hpcp_frames

SR = 22050
#: Frames per STFT chunk (~24 s at 22.05 kHz): bounds the spectrogram memory (~4 MB per array).
CHUNK_FRAMES = 1024


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
    peak: np.ndarray | None = None  # contrast bands' peak level (dB), rows as ``contrast``
    valley: np.ndarray | None = None  # contrast bands' valley level (dB)
    loudness: float = math.nan
    hpcp: np.ndarray | None = None  # (36, n) harmonic pitch-class profile per frame (see .key)
    tuning: np.ndarray | None = None  # (n,) complex tuning phasor per frame (see .key)

    @property
    def n_frames(self) -> int:
        return self.onset.shape[0]

    @property
    def duration(self) -> float:
        return self.n_samples / self.sr

    def frame_of(self, seconds: float) -> int:
        return round(seconds * self.sr / HOP)

    def summary(self, start: float = 0.0, end: float | None = None) -> dict[str, float]:
        """Measured columns plus the descriptor vector over ``[start, end)`` seconds."""
        from .descriptors import summarize

        a = max(0, self.frame_of(start))
        b = self.n_frames if end is None else min(self.n_frames, max(a + 1, self.frame_of(end)))
        return summarize(self, a, b, start, end)


class FrameBuilder:
    """Feed mono float blocks at ``sr`` with :meth:`add`; :meth:`finish` returns :class:`Frames`."""

    def __init__(self, sr: int = SR, *, chunk_frames: int = CHUNK_FRAMES):
        self.sr = sr
        self.chunk = chunk_frames
        self.n = 0
        self._buf = [np.zeros(N_FFT // 2, np.float32)]  # the centring pad
        self._buffered = N_FFT // 2
        # last magnitude column of the previous chunk (for flux)
        self._prev: np.ndarray | None = None
        self._parts: dict[str, list[np.ndarray]] = {}
        self._cut_at = 0  # samples before the current excerpt (see :meth:`cut`)
        self._frames = 0  # frames processed so far
        self._seams: list[int] = []  # first frame of each excerpt after the first

    def add(self, block: np.ndarray) -> None:
        block = np.asarray(block, dtype=np.float32).reshape(-1)
        if not len(block):
            return
        self.n += len(block)
        self._buf.append(block)
        self._buffered += len(block)
        span = N_FFT + (self.chunk - 1) * HOP
        if self._buffered >= span:
            buf = np.concatenate(self._buf)
            k = (1 + (len(buf) - N_FFT) // HOP) // self.chunk * self.chunk
            for a in range(0, k, self.chunk):
                self._process(buf[a * HOP : a * HOP + span], self.chunk)
            rest = buf[k * HOP :]
            self._buf, self._buffered = [rest], len(rest)

    def finish(self, *, loudness: float = math.nan) -> Frames:
        self._flush()
        self._buf = []
        return self._assemble(loudness)

    def cut(self) -> None:
        """End the current excerpt: what follows is analysed as a new signal (its own centred
        frames, no spectral flux or onset across the seam), in the same :class:`Frames`.
        """
        if self.n == self._cut_at:
            return
        self._flush()
        self._seams.append(self._frames)
        self._buf = [np.zeros(N_FFT // 2, np.float32)]
        self._buffered = N_FFT // 2
        self._prev = None

    def _flush(self) -> None:
        buf = np.concatenate(self._buf)
        n = self.n - self._cut_at
        self._cut_at = self.n
        if n < N_FFT:  # like analyze(): a very short signal is padded to one FFT
            buf = np.concatenate([buf, np.zeros(N_FFT - n, np.float32)])
        buf = np.concatenate([buf, np.zeros(N_FFT // 2, np.float32)])
        k = 1 + (len(buf) - N_FFT) // HOP
        for a in range(0, k, self.chunk):
            kk = min(self.chunk, k - a)
            self._process(buf[a * HOP : a * HOP + N_FFT + (kk - 1) * HOP], kk)

    # -- internals ------------------------------------------------------------------------------
    def _process(self, buf: np.ndarray, k: int) -> None:
        """Frames 0..k-1 of ``buf`` (frame j starts at ``j * HOP``)."""
        rfft = fft_module().rfft
        _, _, _, freqs = filters(self.sr)
        mel_fb, chroma_fb = filter_banks(self.sr)
        idx = np.lib.stride_tricks.sliding_window_view(buf, N_FFT)[::HOP][:k]
        win = hann(N_FFT).astype(np.float32)
        S = np.ascontiguousarray(np.abs(rfft(idx * win, axis=1)).T)  # (1025, k) float32
        P = S * S
        melspec = np.asarray(mel_fb @ P)
        rawmel = 10 * np.log10(np.maximum(melspec, 1e-10))
        total = S.sum(axis=0) + 1e-10
        centroid = (freqs[:, None] * S).sum(axis=0) / total
        bandwidth = np.sqrt(((freqs[:, None] - centroid) ** 2 * S).sum(axis=0) / total)
        cum = np.cumsum(P, axis=0)
        rolloff = freqs[np.argmax(cum >= 0.85 * cum[-1:], axis=0)]
        del cum
        flatness = np.exp(np.log(S + 1e-10).mean(axis=0)) / (S.mean(axis=0) + 1e-10)
        signs = np.signbit(idx[:, N_FFT // 4 : 3 * N_FFT // 4])
        zcr = (signs[:, 1:] != signs[:, :-1]).mean(axis=1)
        prev = S[:, :1] if self._prev is None else self._prev
        flux_full = np.sqrt((np.maximum(np.diff(S, axis=1, prepend=prev), 0) ** 2).sum(axis=0))
        flux = flux_full / (np.sqrt(P.sum(axis=0)) + 1e-6)
        self._prev = S[:, -1:].copy()
        rms = np.sqrt(np.einsum("ij,ij->i", idx, idx) / N_FFT)
        chroma = np.asarray(chroma_fb @ P)
        chroma /= np.maximum(chroma.max(axis=0, keepdims=True), 1e-10)
        con, peak, valley = contrast(S, freqs)
        hpcp, tuning = hpcp_frames(S, freqs)
        spectral = np.vstack([centroid, bandwidth, rolloff, flatness, zcr, flux])
        self._frames += k
        for name, arr in (
            ("rawmel", rawmel),
            ("spectral", spectral),
            ("rms", rms),
            ("chroma", chroma),
            ("contrast", con),
            ("peak", peak),
            ("valley", valley),
        ):
            self._parts.setdefault(name, []).append(arr.astype(np.float32, copy=False))
        self._parts.setdefault("hpcp", []).append(hpcp)
        self._parts.setdefault("tuning", []).append(tuning)

    def _take(self, name: str) -> np.ndarray:
        parts = self._parts.pop(name)
        out = np.concatenate(parts, axis=-1) if len(parts) > 1 else parts[0]
        parts.clear()
        return out

    def _assemble(self, loudness: float) -> Frames:
        _, _, dct_m, _ = filters(self.sr)
        logmel = self._take("rawmel")
        np.maximum(logmel, logmel.max() - 80.0, out=logmel)
        mfcc = dct_m @ logmel
        diff = np.empty_like(logmel)
        diff[:, 0] = 0.0
        np.subtract(logmel[:, 1:], logmel[:, :-1], out=diff[:, 1:])
        np.maximum(diff, 0.0, out=diff)
        diff[:, self._seams] = 0.0  # no onset across the seam between two excerpts
        onset = diff.mean(axis=0)
        mel_f = mel_centers(self.sr)
        band_onset = np.vstack(
            [
                diff[mel_f < 200].mean(axis=0),
                diff[(mel_f >= 200) & (mel_f < 2500)].mean(axis=0),
                diff[mel_f >= 2500].mean(axis=0),
            ]
        )
        del diff
        return Frames(
            sr=self.sr,
            n_samples=self.n,
            mfcc=mfcc,
            logmel=logmel,
            contrast=self._take("contrast"),
            spectral=self._take("spectral"),
            chroma=self._take("chroma"),
            rms=self._take("rms"),
            onset=onset,
            band_onset=band_onset,
            peak=self._take("peak"),
            valley=self._take("valley"),
            loudness=loudness,
            hpcp=self._take("hpcp"),
            tuning=self._take("tuning"),
        )


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
    fb = FrameBuilder(sr)
    fb.add(y)
    return fb.finish(loudness=loudness)
