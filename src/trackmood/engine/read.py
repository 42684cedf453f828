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

import sys
from pathlib import Path

import numpy as np

from ..audio.embedding import cut_span, embed_pieces, patch_plan
from ..audio.seek import seek_regions

#: Tracks up to this long (seconds) are analysed whole.
FULL_BELOW = 120.0
#: Excerpts per longer track, and their length (seconds): chosen on 20 four-minute tracks
#: (``benchmarks/bench_engine.py``) against the whole-track values: 4 x 15 s agreed on the tempo of
#: 90 % and the key of 55 %, 6 x 12 s 90 % / 80 %, 5 x 20 s 100 % / 90 % (0.8 CPU-s per track).
EXCERPTS = 5
EXCERPT_S = 20.0
#: Regions closer than this (seconds) are decoded as one.
_JOIN_S = 1.0


def excerpt_spans(duration: float, n: int = EXCERPTS, length: float = EXCERPT_S):
    """``[(t0, t1)]``: ``n`` excerpts of ``length`` seconds centred on ``(i + 0.5) / n`` of the
    track.

    >>> excerpt_spans(240.0, 4, 15.0)
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


def _resample(y: np.ndarray, rate: int, to: int) -> np.ndarray:
    if rate == to:
        return np.asarray(y, dtype=np.float32)
    import soxr

    return soxr.resample(np.asarray(y, dtype=np.float32), rate, to, quality="HQ")


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

    read = seek_regions(path, plan, max_duration, above=FULL_BELOW)
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
        got = cut_span(mono, rate, t0, t1)
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
    spans = (
        []
        if declared is None or keep_all or not patches
        else merge(patch_plan(declared, patches)[1])
    )
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
