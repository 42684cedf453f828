"""A pretrained music embedding: musicnn's MSD model (Pons & Serra 2019) run with onnxruntime.

The front end is computed here in numpy, as musicnn computes it (``musicnn/configuration.py`` and
``extractor.py``): mono audio at 16 kHz, a centred STFT (n_fft 512, Hann window, hop 256, zero
padding as librosa >= 0.10), power spectrogram through 96 Slaney mel filters (librosa's
defaults), rounded to float16 as musicnn does, then ``log10(10000 * mel + 1)`` in float32
(musicnn's extractor computes it in float16, which overflows on loud music). The network reads
3-s patches of 187 frames and gives, per patch, 50 tag probabilities (Last.fm tags of the Million
Song Dataset) and a 200-d penultimate layer.

**Bounded cost.** A track is analysed through at most ``max_patches`` patches: all of musicnn's
non-overlapping patches when there are that few, otherwise ``max_patches`` patches spread evenly
from the start to the end. Only the samples under those patches are transformed, so the network
and the front end cost the same for a 30-s clip and a 10-minute track (decoding a file still
reads only the patches' windows when it is long, by seeking; short files are decoded whole).

>>> import numpy as np
>>> y = np.sin(2 * np.pi * 440 * np.arange(16000 * 4) / 16000).astype(np.float32)
>>> out = embed_signal(y, 16000)
>>> out["embedding"].shape, out["tags"].shape, out["patches"]
((200,), (50,), 1)

**Two graphs.** musicnn's MagnaTagATune model (``mtt``, 50 MTT tags, also a 200-d penultimate
layer) ships beside the MSD one (``msd``, the default) and reads the same patches:
``run_patches(batch, "mtt")``. The bundled audio model reads only the MSD graph: the nested,
artist-grouped comparison in ``benchmarks/research_audio_model.py`` found no gain beyond noise
from adding the MTT embedding.

TensorFlow is never needed: the graphs were converted once by ``scripts/convert_musicnn.py``.
"""

from __future__ import annotations

import json
import threading
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

SR = 16000
N_FFT = 512
HOP = 256
N_MELS = 96
PATCH_FRAMES = 187
#: Default patch budget per track: the number the bundled audio model was selected with.
MAX_PATCHES = 9
PROVIDER = "audio:musicnn"
EMBEDDING_DIM = 200
ONNX_FILE = "msd_musicnn.onnx"
#: The musicnn graphs shipped: ``msd`` (Million Song Dataset tags, the default) and ``mtt``
#: (MagnaTagATune tags); name -> (folder under ``trackmood/models``, ONNX file). Both read the
#: same log-mel patches, so one front end serves both.
GRAPHS = {"msd": ("musicnn", ONNX_FILE), "mtt": ("musicnn-mtt", "mtt_musicnn.onnx")}


def model_dir(graph: str = "msd") -> Path:
    """The folder of a shipped ONNX graph, its licence, citation and reference values."""
    if graph not in GRAPHS:
        raise ValueError(f"unknown musicnn graph {graph!r}; expected one of {', '.join(GRAPHS)}")
    return Path(str(resources.files("trackmood") / "models" / GRAPHS[graph][0]))


@lru_cache(maxsize=2)
def tag_names(graph: str = "msd") -> tuple[str, ...]:
    """The graph's 50 tags (MSD or MagnaTagATune), in the order of its ``tags`` output."""
    return tuple(json.loads((model_dir(graph) / "musicnn.json").read_text())["tags"])


# -- front end ----------------------------------------------------------------------------------
def _hz_to_mel(f):
    """Slaney's mel scale (librosa ``htk=False``): linear below 1 kHz, logarithmic above."""
    f = np.asarray(f, dtype=np.float64)
    f_sp = 200.0 / 3
    min_log_hz, logstep = 1000.0, np.log(6.4) / 27.0
    mel = f / f_sp
    return np.where(
        f >= min_log_hz,
        min_log_hz / f_sp + np.log(np.maximum(f, 1e-10) / min_log_hz) / logstep,
        mel,
    )


def _mel_to_hz(m):
    m = np.asarray(m, dtype=np.float64)
    f_sp = 200.0 / 3
    min_log_hz, logstep = 1000.0, np.log(6.4) / 27.0
    min_log_mel = min_log_hz / f_sp
    return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), f_sp * m)


@lru_cache(maxsize=4)
def mel_filters(sr: int = SR, n_fft: int = N_FFT, n_mels: int = N_MELS) -> np.ndarray:
    """Slaney-normalised triangular mel filters ``(n_mels, 1 + n_fft // 2)``, 0 Hz to ``sr / 2``
    (the same matrix as ``librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels)``).
    """
    fft_hz = np.linspace(0, sr / 2, 1 + n_fft // 2)
    mel_hz = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(sr / 2), n_mels + 2))
    fdiff = np.diff(mel_hz)
    ramps = mel_hz[:, None] - fft_hz[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_hz[2 : n_mels + 2] - mel_hz[:n_mels]))[:, None]
    weights = weights.astype(np.float32)
    weights.setflags(write=False)
    return weights


@lru_cache(maxsize=2)
def _window(n_fft: int = N_FFT) -> np.ndarray:
    n = np.arange(n_fft)
    return (0.5 - 0.5 * np.cos(2 * np.pi * n / n_fft)).astype(np.float32)  # periodic Hann


def n_frames(n_samples: int) -> int:
    """Frames of musicnn's centred STFT for ``n_samples`` samples at 16 kHz."""
    return 1 + n_samples // HOP


def log_mel(
    y: np.ndarray,
    start_frame: int = 0,
    frames: int | None = None,
    *,
    offset: int = 0,
    length: int | None = None,
) -> np.ndarray:
    """Musicnn's log-mel spectrogram ``(frames, 96)`` of mono 16-kHz audio: frames
    ``start_frame .. start_frame + frames`` of the whole signal's centred STFT, reading only the
    samples under those frames.

    ``y`` holds the signal's samples from sample ``offset`` on (default: the whole signal);
    ``length`` is the whole signal's length (default ``offset + len(y)``); samples outside
    ``y`` count as silence.
    """
    y = np.asarray(y, dtype=np.float32)
    length = offset + len(y) if length is None else length
    if frames is None:
        frames = n_frames(length) - start_frame
    # the centred STFT's frame f covers samples [f*HOP - N_FFT/2, f*HOP + N_FFT/2), zero outside
    lo = start_frame * HOP - N_FFT // 2
    hi = (start_frame + frames - 1) * HOP + N_FFT // 2
    seg = np.zeros(hi - lo, np.float32)
    a, b = max(lo, offset, 0), min(hi, offset + len(y), length)
    if b > a:
        seg[a - lo : b - lo] = y[a - offset : b - offset]
    idx = np.arange(frames)[:, None] * HOP + np.arange(N_FFT)[None, :]
    spec = np.fft.rfft(seg[idx] * _window(), axis=1)
    power = (spec.real**2 + spec.imag**2).astype(np.float32)
    mel = power @ mel_filters().T
    # musicnn's extractor rounds the mel spectrogram to float16; it then also computes
    # 10000 * mel in float16, which overflows to inf above mel = 6.55 (loud music): here the
    # rounding is kept and the overflow is not.
    mel = np.minimum(mel, 65504.0).astype(np.float16).astype(np.float32)
    return np.log10(10000.0 * mel + 1.0)


def patch_starts(total_frames: int, max_patches: int = MAX_PATCHES) -> list[int]:
    """First frames of the patches analysed: musicnn's non-overlapping grid when it has at most
    ``max_patches`` patches, else ``max_patches`` patches spread evenly from start to end.

    >>> patch_starts(1876, 4)   # a 30-s clip
    [0, 563, 1126, 1689]
    >>> patch_starts(400, 8)    # 6.4 s: musicnn's own two patches
    [0, 187]
    """
    if max_patches < 1:
        raise ValueError(f"max_patches must be at least 1, got {max_patches}")
    available = total_frames // PATCH_FRAMES
    if available <= max_patches:
        return [i * PATCH_FRAMES for i in range(max(available, 1))]
    last = total_frames - PATCH_FRAMES
    return [int(round(v)) for v in np.linspace(0, last, max_patches)]


def patches(y: np.ndarray, max_patches: int = MAX_PATCHES) -> tuple[np.ndarray, list[int]]:
    """Log-mel patches ``(n, 187, 96)`` of mono 16-kHz ``y`` and their first frames; a signal
    shorter than one patch is zero-padded to 3 s.
    """
    y = np.asarray(y, dtype=np.float32)
    need = (PATCH_FRAMES - 1) * HOP
    if len(y) < need:
        y = np.concatenate([y, np.zeros(need - len(y), np.float32)])
    starts = patch_starts(n_frames(len(y)), max_patches)
    return np.stack([log_mel(y, s, PATCH_FRAMES) for s in starts]), starts


# -- the network --------------------------------------------------------------------------------
_lock = threading.Lock()


#: Threads of a session: 1 where tracks run in parallel outside (worker processes, a scan with
#: ``--workers 1``); the audio engine raises it for a single song analysed in its own process.
THREADS = 1


def session(graph: str = "msd"):
    """The graph's onnxruntime session, loaded once per thread count (see :data:`THREADS`)."""
    return _session(graph, THREADS)


@lru_cache(maxsize=4)
def _session(graph: str, threads: int):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    return ort.InferenceSession(
        str(model_dir(graph) / GRAPHS[graph][1]), opts, providers=["CPUExecutionProvider"]
    )


def run_patches(batch: np.ndarray, graph: str = "msd") -> dict[str, np.ndarray]:
    """Network outputs of the ``graph`` (``msd`` or ``mtt``) for log-mel patches
    ``(n, 187, 96)``: ``penultimate`` (n, 200), ``tags`` (n, 50) probabilities, ``logits`` (n, 50).
    """
    batch = np.ascontiguousarray(batch, dtype=np.float32)
    if batch.ndim != 3 or batch.shape[1:] != (PATCH_FRAMES, N_MELS):
        raise ValueError(
            f"patches must have shape (n, {PATCH_FRAMES}, {N_MELS}), got {batch.shape}"
        )
    sess = session(graph)
    with _lock:
        logits, tags, pen = sess.run(["logits", "tags", "penultimate"], {"patches": batch})
    return {"penultimate": pen, "tags": tags, "logits": logits}


def _resample(y: np.ndarray, sr: int) -> np.ndarray:
    if sr == SR:
        return np.asarray(y, dtype=np.float32)
    import soxr

    return soxr.resample(np.asarray(y, dtype=np.float32), sr, SR, quality="HQ")


def embed_signal(
    y: np.ndarray, sr: int, *, max_patches: int = MAX_PATCHES, per_patch: bool = False
) -> dict:
    """The musicnn embedding of a mono signal ``y`` at ``sr`` Hz.

    Returns ``embedding`` (200-d mean of the patches' penultimate layer), ``tags`` (50 mean tag
    probabilities, names in :func:`tag_names`), ``duration`` (s), ``patches`` (number used),
    ``starts`` (patch start times, s), ``provider``; with ``per_patch`` also ``patch_embeddings``
    and ``patch_tags``.
    """
    y = np.asarray(y, dtype=np.float32)
    if y.ndim == 2:
        y = y.mean(axis=1 if y.shape[1] <= 8 else 0)
    if y.ndim != 1 or len(y) == 0:
        raise ValueError(f"expected a non-empty mono signal, got shape {np.shape(y)}")
    duration = len(y) / float(sr)
    if sr != SR:
        # resample only the samples the patches read (plus a margin for the filter)
        length = max(int(round(len(y) * SR / sr)), (PATCH_FRAMES - 1) * HOP)
        starts = patch_starts(n_frames(length), max_patches)
        pieces = []
        for s in starts:
            t0 = max(0.0, (s * HOP - N_FFT // 2) / SR - 0.05)
            t1 = ((s + PATCH_FRAMES - 1) * HOP + N_FFT // 2) / SR + 0.05
            seg = _resample(y[int(t0 * sr) : int(np.ceil(t1 * sr))], sr)
            off = int(t0 * sr) * SR // sr
            pieces.append(log_mel(seg, s, PATCH_FRAMES, offset=off, length=length))
        batch = np.stack(pieces)
    else:
        batch, starts = patches(y, max_patches)
    out = run_patches(batch)
    res = {
        "embedding": out["penultimate"].mean(axis=0).astype(np.float64),
        "tags": out["tags"].mean(axis=0).astype(np.float64),
        "duration": duration,
        "patches": len(starts),
        "starts": [s * HOP / SR for s in starts],
        "provider": PROVIDER,
    }
    if per_patch:
        res["patch_embeddings"] = out["penultimate"]
        res["patch_tags"] = out["tags"]
    return res


#: Files longer than this (seconds, as their header declares) are read window by window with
#: seeking (:mod:`.seek`); shorter ones, and files whose length or seeking is unknown, are decoded
#: whole.
SEEK_ABOVE_S = 75.0


def patch_plan(duration: float, max_patches: int):
    """``(starts, spans, length16)``: the patches' first frames, the time spans they read and
    the 16-kHz length of the track.
    """
    length16 = max(int(round(duration * SR)), (PATCH_FRAMES - 1) * HOP)
    starts = patch_starts(n_frames(length16), max_patches)
    spans = [
        (
            max(0.0, (s * HOP - N_FFT // 2) / SR - 0.05),
            ((s + PATCH_FRAMES - 1) * HOP + N_FFT // 2) / SR + 0.05,
        )
        for s in starts
    ]
    return starts, spans, length16


def cut_span(pieces, rate: int, t0: float, t1: float) -> tuple[float, np.ndarray] | None:
    """Mono samples of ``[t0, t1)`` from decoded ``pieces`` ``[(start s, mono)]``."""
    for start, y in pieces:
        end = start + len(y) / rate
        if start <= t0 + 1.5 / rate and t1 <= end + 0.06:
            a = max(0, int(round((t0 - start) * rate)))
            b = min(len(y), a + int(np.ceil((t1 - t0) * rate)))
            return start + a / rate, y[a:b]
    return None


def patch_batch(pieces, rate: int, duration: float, max_patches: int):
    """Log-mel patches ``(n, 187, 96)`` and their first frames, from decoded mono ``pieces``
    ``[(start s, samples at rate)]`` that cover the patches of a track of ``duration`` s.
    """
    starts, spans, length16 = patch_plan(duration, max_patches)
    batch = []
    for s, (t0, t1) in zip(starts, spans, strict=True):
        got = cut_span(pieces, rate, t0, min(t1, duration))
        if got is None:
            from ..errors import SourceError

            raise SourceError(f"patch at {t0:.1f} s was not decoded")
        first, seg = got
        off = int(round(first * SR))
        batch.append(log_mel(_resample(seg, rate), s, PATCH_FRAMES, offset=off, length=length16))
    return np.stack(batch), starts


def embed_pieces(pieces, rate: int, duration: float, max_patches: int) -> dict[str, float]:
    """The embedding columns (``mn_pen*``, ``mn_tag_*``, float32 values) of decoded pieces
    (see :func:`patch_batch`): what the audio engine computes from its one decode.
    """
    batch, _ = patch_batch(pieces, rate, duration, max_patches)
    out = run_patches(batch)
    vec = np.concatenate([out["penultimate"].mean(axis=0), out["tags"].mean(axis=0)])
    vec = vec.astype(np.float32)
    return dict(zip(feature_names(tags=True), map(float, vec), strict=True))


def embed_file(
    path: str | Path, *, max_patches: int = MAX_PATCHES, per_patch: bool = False
) -> dict:
    """:func:`embed_signal` of an audio file. A long file (over :data:`SEEK_ABOVE_S` seconds) is
    read only under its patches, by seeking; otherwise it is decoded once to mono 16 kHz by
    :func:`trackmood.audio.decode.decode`, which raises its one-line ``SourceError`` for bad files.
    """
    from .decode import decode
    from .seek import seek_regions

    path = Path(path)
    got = None
    if path.is_file():
        got = seek_regions(path, lambda d: patch_plan(d, max_patches)[1], above=SEEK_ABOVE_S)
    if got is None:
        d = decode(path, sr=SR, loudness=False)
        res = embed_signal(d.y, SR, max_patches=max_patches, per_patch=per_patch)
        res["duration"] = float(d.duration)
        res["read"] = "decoded"
        return res
    rate, _, duration, regions, _ = got
    mono = [(t0, b.mean(axis=1, dtype=np.float32)) for t0, b in regions]
    batch, starts = patch_batch(mono, rate, duration, max_patches)
    out = run_patches(batch)
    res = {
        "embedding": out["penultimate"].mean(axis=0).astype(np.float64),
        "tags": out["tags"].mean(axis=0).astype(np.float64),
        "duration": float(duration),
        "patches": len(starts),
        "starts": [s * HOP / SR for s in starts],
        "provider": PROVIDER,
        "read": "seek",
    }
    if per_patch:
        res["patch_embeddings"] = out["penultimate"]
        res["patch_tags"] = out["tags"]
    return res


def feature_names(tags: bool = True) -> list[str]:
    """Column names of the embedding features: ``mn_pen000..199`` then ``mn_tag_<tag>``."""
    names = [f"mn_pen{i:03d}" for i in range(EMBEDDING_DIM)]
    if tags:
        names += [f"mn_tag_{t.lower().replace(' ', '_').replace('-', '_')}" for t in tag_names()]
    return names


def features(res: dict, tags: bool = True) -> dict[str, float]:
    """An :func:`embed_signal` result as named feature values (see :func:`feature_names`)."""
    vals = list(res["embedding"]) + (list(res["tags"]) if tags else [])
    return {k: float(v) for k, v in zip(feature_names(tags), vals, strict=True)}
