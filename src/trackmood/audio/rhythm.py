"""Tempo, beats and pulse from an onset-strength envelope, in numpy, in bounded memory.

:func:`global_tempo` and :func:`beat_track` reproduce librosa's ``feature.tempo`` (mean
autocorrelation tempogram, log-normal prior around 120 BPM) and ``beat.beat_track`` (Ellis' dynamic
program) without numba: librosa compiles its beat tracker at every start (seconds of start-up) and
its on-disk numba cache can be left half-written by concurrent processes (segfaults afterwards).

:func:`estimate_tempo` is the tempo trackmood reports: the same mean tempogram summed with its
value at the double period, a wide log-normal prior around 100 BPM, the best period refined by the
peaks at its multiples (settings chosen against Essentia on one half of the audio_4q clips split by
artist; ``benchmarks/bench_tempo_key.py``). The descriptors keep :func:`tempo`, which the audio
model was trained with.

Memory does not grow with the length beyond the envelope itself: the tempogram is averaged over
chunks of frames, and the dynamic program advances in blocks of half a beat period (every frame in a
block depends only on frames at least that far back, so a block is one vectorised step).

>>> import numpy as np
>>> env = np.zeros(43 * 20); env[::21] = 1.0        # an onset every 21 frames (~123 BPM)
>>> beats = beat_track(env, global_tempo(env))
>>> set(np.diff(beats)) == {21}
True
"""

from __future__ import annotations

import math

import numpy as np

from .dsp import HOP, fft_module, hann, moving_mean

SR = 22050
_TEMPOGRAM_CHUNK = 1024  # frames per tempogram chunk (~25 MB of FFT work at a time)


def tempogram_mean(onset: np.ndarray, sr: int = SR, *, chunk: int = _TEMPOGRAM_CHUNK) -> np.ndarray:
    """Mean over frames of librosa's autocorrelation tempogram (8 s Hann window, centred,
    linear-ramp padding, each column normalised by its maximum). Shape ``(win,)``.
    """
    fft = fft_module()
    rfft, irfft = fft.rfft, fft.irfft

    win = int(np.floor(8.0 * sr / HOP))
    n = len(onset)
    x = np.pad(np.asarray(onset, dtype=float), (win // 2, win // 2), mode="linear_ramp")
    frames = np.lib.stride_tricks.sliding_window_view(x, win)
    window = hann(win)
    n_pad = 1 << int(np.ceil(np.log2(2 * win - 1)))
    total = np.zeros(win)
    for a in range(0, n, chunk):
        block = frames[a : min(n, a + chunk)] * window
        ac = irfft(np.abs(rfft(block, n=n_pad, axis=1)) ** 2, n=n_pad, axis=1)[:, :win]
        peak = np.abs(ac).max(axis=1, keepdims=True)
        ac /= np.where(peak < np.finfo(float).tiny, 1.0, peak)
        total += ac.sum(axis=0)
    return total / max(n, 1)


def global_tempo(onset: np.ndarray, sr: int = SR) -> float:
    """Librosa's default tempo estimate (BPM) for an onset envelope."""
    tg = tempogram_mean(onset, sr)
    win = len(tg)
    bpms = np.zeros(win)
    bpms[0] = np.inf
    bpms[1:] = 60.0 * sr / (HOP * np.arange(1.0, win))
    with np.errstate(divide="ignore"):
        logprior = -0.5 * ((np.log2(bpms) - np.log2(120.0)) / 1.0) ** 2
    logprior[: int(np.argmax(bpms < 320.0))] = -np.inf
    return float(bpms[int(np.argmax(np.log1p(1e6 * tg) + logprior))])


def _bpm_of_lag(lag: float, sr: int = SR) -> float:
    return 60.0 * sr / (HOP * lag) if lag > 0 else math.nan


def _refine(tg: np.ndarray, lag: int) -> float:
    """Sub-frame position of the tempogram peak at ``lag`` (parabolic interpolation)."""
    if lag < 1 or lag + 1 >= len(tg):
        return float(lag)
    a, b, c = tg[lag - 1], tg[lag], tg[lag + 1]
    den = a - 2 * b + c
    return float(lag + (0.5 * (a - c) / den if den < 0 else 0.0))


def _window_acf(win: int) -> np.ndarray:
    w = hann(win)
    ac = np.correlate(w, w, mode="full")[win - 1 :]
    return np.maximum(ac / ac[0], 1e-3)


def period_from_multiples(tg: np.ndarray, lag: float, *, reach: float = 0.8) -> float:
    """The beat period (frames) refined by the tempogram peaks at its multiples ``k * lag``
    (up to ``reach`` of the window): a least-squares line through the peak positions, each found
    near its expected place and refined to a fraction of a frame. The k-th multiple pins the
    period k times more finely than the first peak alone.
    """
    win = len(tg)
    # the autocorrelation of a Hann-windowed frame tapers with the lag like the window's own
    # autocorrelation; divided by it, the peaks at long lags are no longer pulled shorter
    tg = np.asarray(tg, dtype=float) / _window_acf(win)
    ks, pos, wts = [], [], []
    k = 1
    period = lag
    while k * period < reach * win and k <= 16:
        centre = k * period
        half = 1.5 + 0.02 * centre
        lo, hi = int(np.floor(centre - half)), int(np.ceil(centre + half))
        lo, hi = max(1, lo), min(win - 2, hi)
        if hi <= lo:
            break
        i = lo + int(np.argmax(tg[lo : hi + 1]))
        if lo < i < hi and tg[i] > 0:
            ks.append(k)
            pos.append(_refine(tg, i))
            wts.append(float(tg[i]))
            kk, pp, ww = np.array(ks, float), np.array(pos), np.array(wts)
            period = float((ww * kk * pp).sum() / (ww * kk * kk).sum())
        k += 1
    return period


def estimate_tempo(
    onset: np.ndarray,
    sr: int = SR,
    *,
    prior_bpm: float = 100.0,
    prior_octaves: float = 1.5,
    harmonics: int = 2,
    comb: int = 0,
    refine: bool = True,
    octave: float = 0.5,
    octave_bpm: float = 120.0,
) -> float:
    """Global tempo (BPM) of an onset envelope: the mean autocorrelation tempogram, summed over
    the period's first ``harmonics`` multiples (weights 1/h; or, with ``comb``, the plain mean of
    its first ``comb`` multiples), weighted by a log-normal prior around ``prior_bpm``
    (``prior_octaves`` wide); the pulse at half the best lag taken instead when its tempogram
    value is at least ``octave`` times as high and it is nearer ``octave_bpm`` (0: never); the
    period refined by the peaks at its multiples (``refine``).
    NaN for an envelope without onsets. The defaults were chosen on the selection half of the
    audio_4q clips (``benchmarks/bench_tempo_key.py --select``).

    >>> env = np.zeros(43 * 30); env[::20] = 1.0      # an onset every 20 frames: 129.2 BPM
    >>> round(estimate_tempo(env), 1)
    129.2
    """
    onset = np.asarray(onset, dtype=float)
    if len(onset) < 16 or not np.any(onset > 1e-6):
        return math.nan
    tg = tempogram_mean(onset, sr)
    win = len(tg)
    lags = np.arange(win, dtype=float)
    bpms = np.full(win, np.inf)
    bpms[1:] = 60.0 * sr / (HOP * lags[1:])
    score = np.array(tg, dtype=float)
    if comb > 1:  # mean of the tempogram at the lag's first ``comb`` multiples inside the window
        total_, count = np.zeros(win), np.zeros(win)
        for h in range(1, comb + 1):
            ok = lags * h < win
            total_ += np.where(ok, tg[np.minimum(win - 1, lags.astype(int) * h)], 0.0)
            count += ok
        score = total_ / np.maximum(count, 1)
    elif harmonics > 1:
        for h in range(2, harmonics + 1):
            idx = np.minimum(win - 1, lags.astype(int) * h)
            ok = lags * h < win
            score = score + np.where(ok, tg[idx], 0.0) / h
    with np.errstate(divide="ignore"):
        logprior = -0.5 * ((np.log2(bpms) - np.log2(prior_bpm)) / prior_octaves) ** 2
    valid = (bpms >= 30.0) & (bpms <= 320.0)
    total = np.where(valid, np.log1p(1e6 * np.maximum(score, 0.0)) + logprior, -np.inf)
    lag = int(np.argmax(total))
    if octave and lag >= 4:
        # the summed score likes the slower of two octaves; the pulse at half the lag is taken
        # instead when it is nearly as strong and its tempo is nearer ``octave_bpm``
        half = int(np.argmax(tg[lag // 2 - 1 : lag // 2 + 2])) + lag // 2 - 1
        fast, slow = bpms[half], bpms[lag]
        nearer = abs(math.log2(fast / octave_bpm)) < abs(math.log2(slow / octave_bpm))
        if fast <= 320.0 and nearer and tg[half] >= octave * tg[lag]:
            lag = half
    period = period_from_multiples(tg, float(lag)) if refine else _refine(tg, lag)
    return _bpm_of_lag(period, sr)


def beat_track(onset: np.ndarray, bpm: float, sr: int = SR, *, tightness: float = 100.0):
    """Beat frames for an onset envelope at tempo ``bpm`` (librosa's dynamic program, trimmed)."""
    onset = np.asarray(onset, dtype=float)
    n = len(onset)
    if n == 0 or not onset.any() or not np.isfinite(bpm) or bpm <= 0:
        return np.zeros(0, dtype=int)
    fpb = float(np.round(sr / HOP * 60.0 / bpm))
    norm = onset / (onset.std(ddof=1) + np.finfo(float).tiny)
    # local score: same-mode convolution with a Gaussian of the beat period (librosa's loop
    # leaves out the first sample for the first K//2 + 1 outputs; kept for identical beats)
    window = np.exp(-0.5 * (np.arange(-fpb, fpb + 1) * 32.0 / fpb) ** 2)
    K = len(window)
    local = np.convolve(norm, window, mode="full")[K // 2 : K // 2 + n]
    head = min(n, K - K // 2)
    local[:head] -= window[np.arange(head) + K // 2] * norm[0]
    # dynamic program over predecessors at lags round(fpb/2) .. 2 fpb
    lo = max(1, round(fpb / 2))
    lags = np.arange(lo, int(2 * fpb) + 1)
    penalty = tightness * (np.log(lags) - np.log(fpb)) ** 2
    cum = np.empty(n)
    back = np.full(n, -1, dtype=np.int64)
    for s in range(0, n, lo):
        idx = np.arange(s, min(n, s + lo))
        loc = idx[:, None] - lags[None, :]
        ok = loc >= 0
        scores = np.where(ok, cum[np.maximum(loc, 0)] - penalty, -np.inf)
        best = scores.argmax(axis=1)
        best_score = scores[np.arange(len(idx)), best]
        found = np.isfinite(best_score)
        cum[idx] = local[idx] + np.where(found, best_score, 0.0)
        back[idx] = np.where(found, loc[np.arange(len(idx)), best], -1)
    # leading frames below 1 % of the best local score start no chain
    thresh = 0.01 * local.max()
    first = int(np.argmax(local >= thresh)) if (local >= thresh).any() else n
    back[:first] = -1
    # last beat: the last local maximum of the cumulative score above half their median
    peaks = np.zeros(n, dtype=bool)
    if n > 1:
        peaks[1:-1] = (cum[1:-1] > cum[:-2]) & (cum[1:-1] >= cum[2:])
        peaks[-1] = cum[-1] > cum[-2]
    if not peaks.any():
        return np.zeros(0, dtype=int)
    med = np.median(cum[peaks])
    strong = np.flatnonzero(peaks & (cum >= 0.5 * med))
    tail = int(strong[-1]) if len(strong) else n - 1
    chain = []
    i = tail
    while i >= 0:
        chain.append(i)
        i = int(back[i])
    beats = np.array(chain[::-1], dtype=int)
    # trim weak leading/trailing beats: below half the RMS of the smoothed beat strengths
    smooth = np.convolve(local[beats], np.hanning(5))[2 : n + 2]
    threshold = 0.5 * math.sqrt(float((smooth**2).mean())) if len(smooth) else 0.0
    mask = np.zeros(n, dtype=bool)
    mask[beats] = True
    above = np.flatnonzero(local > threshold)
    if not len(above):
        return np.zeros(0, dtype=int)
    mask[: above[0]] = False
    mask[above[-1] + 1 :] = False
    return np.flatnonzero(mask)


def acf(x: np.ndarray) -> np.ndarray:
    """Linear autocorrelation via FFT (lags 0 .. len-1)."""
    n = 1 << int(np.ceil(np.log2(max(2, 2 * len(x)))))
    f = np.fft.rfft(x, n)
    return np.fft.irfft(f * np.conj(f), n)[: len(x)]


def tempo(onset: np.ndarray, sr: int = SR) -> tuple[float, float, dict]:
    """Tempo (BPM: beat tracking, then least squares through the beat times, which undoes the
    tracker's coarse tempo grid), beat confidence (autocorrelation at the beat period) and
    pulse statistics.
    """
    stats = {"pulse_max": 0.0, "pulse_half": 0.0, "pulse_double": 0.0, "regularity": 0.0}
    if len(onset) < 16 or not np.any(onset > 1e-6):
        return math.nan, 0.0, stats
    fps = sr / HOP
    beats = beat_track(onset, global_tempo(onset, sr), sr)
    times = beats.astype(float) / fps
    bpm = math.nan
    period = math.nan
    if len(times) >= 4:
        ibi = np.diff(times)
        med = np.median(ibi)
        k = np.concatenate([[0], np.cumsum(np.maximum(1, np.round(ibi / med)))])
        A = np.vstack([k, np.ones_like(k)]).T
        period = float(np.linalg.lstsq(A, times, rcond=None)[0][0])
        if period > 0:
            bpm = 60.0 / period
        stats["regularity"] = float(max(0.0, 1.0 - np.std(ibi) / (med + 1e-9)))
    x = onset - onset.mean()
    ac = np.correlate(x, x, mode="full")[len(x) - 1 :] if len(x) < 4096 else acf(x)
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
    return bpm, conf, stats


def pulse(env: np.ndarray, sr: int = SR) -> float:
    """Max normalised autocorrelation of an onset envelope between 40 and 240 BPM."""
    if len(env) < 16 or not np.any(env > 1e-9):
        return 0.0
    x = env - env.mean()
    ac = acf(x)
    ac = ac / (ac[0] + 1e-12)
    fps = sr / HOP
    lo, hi = int(fps * 60 / 240), min(len(ac) - 1, int(fps * 60 / 40))
    return float(max(0.0, ac[lo:hi].max())) if hi > lo else 0.0


def onset_rate(onset: np.ndarray, sr: int = SR) -> float:
    """Number of onsets: local maxima above an adaptive threshold (mean + 1 std over ~1.5 s)."""
    if len(onset) < 3 or onset.max() <= 1e-6:
        return 0.0
    w = max(3, int(1.5 * sr / HOP))
    mean = moving_mean(onset, w)
    sq = moving_mean(onset * onset, w)
    thr = mean + np.sqrt(np.maximum(sq - mean * mean, 0)) + 0.05 * onset.max()
    peak = (onset[1:-1] > onset[:-2]) & (onset[1:-1] >= onset[2:]) & (onset[1:-1] > thr[1:-1])
    idx = np.flatnonzero(peak)  # at most one onset per 50 ms
    if len(idx) == 0:
        return 0.0
    gap = max(1, int(0.05 * sr / HOP))
    keep = np.concatenate([[True], np.diff(idx) >= gap])
    return float(keep.sum())


def mod4hz(rms: np.ndarray, sr: int = SR) -> float:
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
