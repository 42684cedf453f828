"""Decode a file once and analyse what was decoded twice: the descriptors (22.05 kHz frames) and
the musicnn embedding (16 kHz log-mel patches), in the same process.

**Bounded cost.** A track up to :data:`FULL_BELOW` seconds (a clip) is decoded and analysed whole,
as a stream. A longer one is read by seeking, only where it is analysed: :data:`EXCERPTS`
excerpts of :data:`EXCERPT_S` seconds spread evenly over the track (descriptors, tempo, key,
loudness) and the embedding's ``max_patches`` 3-s patches. Each region is decoded once at the
file's own rate; the excerpts are resampled to 22.05 kHz for the descriptors, the patches to
16 kHz for the network. So cost and memory are those of ~1.5 minutes of audio whatever the
track's length (``duration_ms`` comes from the header). A timeline (``window``) needs every
window, so it decodes the whole file, still as a stream; a file that cannot be read by seeking
is too.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np

from ..errors import SourceError

#: Tracks up to this long (seconds) are analysed whole.
FULL_BELOW = 75.0
#: Excerpts per longer track, and their length (seconds).
EXCERPTS = 4
EXCERPT_S = 15.0
#: Regions closer than this (seconds) are decoded as one.
_JOIN_S = 1.0
_PREROLL_S = 0.25


def excerpt_spans(duration: float, n: int = EXCERPTS, length: float = EXCERPT_S):
    """``[(t0, t1)]``: ``n`` excerpts of ``length`` seconds centred on ``(i + 0.5) / n`` of the
    track.

    >>> excerpt_spans(240.0)
    [(22.5, 37.5), (82.5, 97.5), (142.5, 157.5), (202.5, 217.5)]
    """
    out = []
    for i in range(n):
        c = (i + 0.5) * duration / n
        t0 = min(max(0.0, c - length / 2), max(0.0, duration - length))
        out.append((round(t0, 6), round(min(duration, t0 + length), 6)))
    return out


def merge(spans, gap: float = _JOIN_S):
    """Sorted spans with those closer than ``gap`` joined."""
    out: list[list[float]] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1] + gap:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


# -- reading regions by seeking (native rate, all channels) -------------------------------------
def _seek_soundfile(path: Path, plan, max_duration):
    import soundfile as sf

    with sf.SoundFile(str(path)) as f:
        rate, frames, channels = f.samplerate, f.frames, f.channels
        if not f.seekable() or frames <= 0 or frames / rate <= FULL_BELOW:
            return None
        duration = frames / rate
        _check_length(path, duration, max_duration)
        out = []
        for t0, t1 in plan(duration):
            a = int(t0 * rate)
            f.seek(a)
            block = f.read(int(math.ceil(t1 * rate)) - a, dtype="float32", always_2d=True)
            out.append((a / rate, block))
    return rate, channels, duration, out, "soundfile"


def _seek_pyav(path: Path, plan, max_duration):
    import av

    av.logging.set_level(av.logging.PANIC)
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        rate = int(stream.rate or stream.codec_context.sample_rate or 0)
        if stream.duration and stream.time_base:
            duration = float(stream.duration * stream.time_base)
        elif container.duration:
            duration = container.duration / 1e6
        else:
            return None
        if rate <= 0 or duration <= FULL_BELOW:
            return None
        _check_length(path, duration, max_duration)
        channels = min(int(stream.channels or 1), 2)
        layout = "stereo" if channels == 2 else "mono"
        # times are from the first decoded sample (an MP3's encoder delay is skipped), as the
        # whole-file decoder counts them
        zero = float(stream.start_time * stream.time_base) if stream.start_time else 0.0
        out = []
        for t0, t1 in plan(duration):
            # pre-roll: the first frames after a seek can decode wrong (MP3's bit reservoir)
            target = max(0.0, t0 + zero - _PREROLL_S)
            container.seek(int(target / stream.time_base), stream=stream)
            resampler = av.AudioResampler(format="flt", layout=layout, rate=rate)
            parts, first, got = [], None, 0
            for frame in container.decode(stream):
                if first is None:
                    if frame.time is None:
                        return None
                    first = float(frame.time) - zero
                for o in resampler.resample(frame):
                    parts.append(o.to_ndarray().reshape(-1, channels))
                    got += len(parts[-1])
                if first + got / rate >= t1:
                    break
            if first is None or first > t0 + 0.05 or not parts:
                return None  # the seek landed far from the region: decode the whole file
            y = np.concatenate(parts)
            a = max(0, int(round((t0 - first) * rate)))
            block = y[a : a + int(math.ceil((t1 - t0) * rate))]
            out.append((first + a / rate, np.ascontiguousarray(block, dtype=np.float32)))
    return rate, channels, duration, out, "pyav"


def _check_length(path, duration: float, max_duration) -> None:
    if max_duration and duration > max_duration + 1.0:
        from ..audio.decode import _too_long

        raise SourceError(_too_long(path, duration, max_duration))


def seek_regions(path: Path, plan, max_duration=None):
    """``(rate, channels, duration, [(start s, (n, channels) float32)], decoder)`` read by
    seeking, or ``None`` when the file is short, or cannot be read that way (decode it whole).
    """
    from ..audio.decode import SOUNDFILE_FIRST

    try:
        if path.suffix.lower() in SOUNDFILE_FIRST:
            return _seek_soundfile(path, plan, max_duration)
        return _seek_pyav(path, plan, max_duration)
    except SourceError:
        raise
    except Exception:  # noqa: BLE001 - any trouble: the stream decoder gives the proper error
        return None


# -- the embedding from decoded pieces ---------------------------------------------------------
def _resample(y: np.ndarray, rate: int, to: int) -> np.ndarray:
    if rate == to:
        return np.asarray(y, dtype=np.float32)
    import soxr

    return soxr.resample(np.asarray(y, dtype=np.float32), rate, to, quality="HQ")


def patch_plan(duration: float, max_patches: int):
    """``(starts, spans, length16)``: the patches' first frames, the time spans they read and
    the 16-kHz length of the track.
    """
    from ..audio import embedding as E

    length16 = max(int(round(duration * E.SR)), (E.PATCH_FRAMES - 1) * E.HOP)
    starts = E.patch_starts(E.n_frames(length16), max_patches)
    spans = [
        (
            max(0.0, (s * E.HOP - E.N_FFT // 2) / E.SR - 0.05),
            ((s + E.PATCH_FRAMES - 1) * E.HOP + E.N_FFT // 2) / E.SR + 0.05,
        )
        for s in starts
    ]
    return starts, spans, length16


def _cut(pieces, rate: int, t0: float, t1: float) -> tuple[float, np.ndarray] | None:
    """Mono samples of ``[t0, t1)`` from decoded ``pieces`` ``[(start s, mono)]``."""
    for start, y in pieces:
        end = start + len(y) / rate
        if start <= t0 + 1.5 / rate and t1 <= end + 0.06:
            a = max(0, int(round((t0 - start) * rate)))
            b = min(len(y), a + int(math.ceil((t1 - t0) * rate)))
            return start + a / rate, y[a:b]
    return None


def embed_pieces(pieces, rate: int, duration: float, max_patches: int) -> dict[str, float]:
    """The musicnn embedding columns (``mn_pen*``, ``mn_tag_*``, float32 values) from decoded
    mono ``pieces`` ``[(start s, samples at rate)]`` that cover the patches of the track.
    """
    from ..audio import embedding as E

    starts, spans, length16 = patch_plan(duration, max_patches)
    batch = []
    for s, (t0, t1) in zip(starts, spans, strict=True):
        got = _cut(pieces, rate, t0, min(t1, duration))
        if got is None:
            raise SourceError(f"patch at {t0:.1f} s was not decoded")
        first, seg = got
        seg16 = _resample(seg, rate, E.SR)
        off = int(round(first * E.SR))
        batch.append(E.log_mel(seg16, s, E.PATCH_FRAMES, offset=off, length=length16))
    out = E.run_patches(np.stack(batch))
    vec = np.concatenate([out["penultimate"].mean(axis=0), out["tags"].mean(axis=0)])
    vec = vec.astype(np.float32)
    return dict(zip(E.feature_names(tags=True), map(float, vec), strict=True))


# -- one file -----------------------------------------------------------------------------------
def analyse(path, *, window=None, max_duration=None, patches: int | None = None) -> dict:
    """Decode ``path`` once; its descriptors (and, with ``patches``, embedding) from that audio.

    Returns ``{"path", "features", "decoder", "read"}`` (+ ``"windows"``), or for input with no
    mood to find ``{"path", "skip", "error", "decoder"}``. Raises :class:`SourceError` for a file
    that cannot be decoded.
    """
    path = Path(path)
    got = None
    if not window and path.is_file():
        got = _excerpts(path, max_duration, patches)
    if got is None:
        got = _whole(path, window, max_duration, patches)
    return got


def _excerpts(path: Path, max_duration, patches):
    from ..audio.extract import SR, screen
    from ..audio.frames import FrameBuilder
    from ..audio.loudness import LoudnessMeter

    def plan(duration):
        spans = excerpt_spans(duration)
        if patches:
            spans += patch_plan(duration, patches)[1]
        return merge([(a, min(b, duration)) for a, b in spans])

    read = seek_regions(path, plan, max_duration)
    if read is None:
        return None
    rate, channels, duration, regions, decoder = read
    meter = LoudnessMeter(rate, channels, recursive="scipy.signal" in sys.modules)
    mono = []
    for start, block in regions:
        meter.add(block)
        m = block.mean(axis=1, dtype=np.float32) if block.shape[1] > 1 else block[:, 0]
        mono.append((start, np.nan_to_num(m)))
    builder = FrameBuilder(SR)
    for t0, t1 in excerpt_spans(duration):
        got = _cut(mono, rate, t0, t1)
        if got is None:
            return None
        builder.add(_resample(got[1], rate, SR))
        builder.cut()
    frames = builder.finish(loudness=meter.integrated())
    feats = frames.summary()
    feats["duration_ms"] = round(duration * 1000.0, 1)
    bad = screen(feats, duration)
    if bad is not None:
        return {"path": str(path), "skip": bad[0], "error": f"{path}: {bad[1]}", "decoder": decoder}
    if patches:
        feats.update(embed_pieces(mono, rate, duration, patches))
    return {"path": str(path), "features": feats, "decoder": decoder, "read": "excerpts"}


def _whole(path: Path, window, max_duration, patches):
    from ..audio.decode import open_stream
    from ..audio.extract import DESCRIPTORS as _D
    from ..audio.extract import SR, screen, windows
    from ..audio.frames import FrameBuilder

    stream = open_stream(path, sr=SR, max_duration=max_duration)
    builder = FrameBuilder(SR)
    declared = stream.declared_seconds
    keep_all = declared is None or declared <= FULL_BELOW * 1.5
    spans = [] if keep_all or not patches else merge(patch_plan(declared, patches)[1])
    kept: list[tuple[float, np.ndarray]] = []  # 22.05-kHz audio under the patches
    n = 0
    for block in stream:
        builder.add(block)
        if patches:
            t_a, t_b = n / SR, (n + len(block)) / SR
            if keep_all:
                kept.append((t_a, block))
            else:
                for a, b in spans:
                    if a < t_b and b > t_a:
                        i, j = max(0, int((a - t_a) * SR)), min(len(block), int((b - t_a) * SR) + 1)
                        kept.append((t_a + i / SR, block[i:j]))
        n += len(block)
    frames = builder.finish(loudness=stream.loudness)
    feats = frames.summary()
    feats["duration_ms"] = round(stream.duration * 1000.0, 1)
    bad = screen(feats, stream.duration)
    if bad is not None:
        return {
            "path": str(path),
            "skip": bad[0],
            "error": f"{path}: {bad[1]}",
            "decoder": stream.decoder,
        }
    result = {"path": str(path), "features": feats, "decoder": stream.decoder, "read": "whole"}
    if patches:
        duration = n / SR
        pieces = _join(kept, SR)
        feats.update(embed_pieces(pieces, SR, duration, patches))
    if window:
        wins = []
        for start, end in windows(stream.duration, float(window)):
            s = frames.summary(start, end)
            wins.append({"start": round(start, 3), "end": round(end, 3), **{k: s[k] for k in _D}})
        result["windows"] = wins
    return result


def _join(kept, rate: int):
    """Contiguous pieces ``[(start, samples)]`` joined into runs."""
    out: list[tuple[float, list]] = []
    for start, y in kept:
        if out and abs(out[-1][0] + sum(len(p) for p in out[-1][1]) / rate - start) < 0.5 / rate:
            out[-1][1].append(y)
        else:
            out.append((start, [y]))
    return [(s, np.concatenate(parts)) for s, parts in out]
