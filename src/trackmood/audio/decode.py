"""Decode audio files to mono float32 at a fixed rate, measuring integrated loudness on the way.

Two decoders, chosen per format by measurement (``benchmarks/bench_audio.py``):

* **soundfile** (libsndfile) for WAV, FLAC, OGG/Vorbis and AIFF: the cheapest path, clean errors;
* **PyAV** (FFmpeg bundled in the wheel) for MP3, M4A/AAC and Opus, which libsndfile reads only
  partly (no M4A/AAC at all) or noisily (libmpg123 prints warnings to the C stderr on damaged MP3s).

If the preferred decoder cannot open a file, the other one is tried. The file is read in blocks;
each block feeds an ITU-R BS.1770-4 loudness meter at the file's own rate and channel layout
(K-weighting with pyloudnorm's filter coefficients, gating on 100 ms segments, so memory stays
small) and is then downmixed and resampled (soxr, streaming) to ``sr``. :func:`open_stream` hands
the blocks out one by one, so a file of any length decodes in the memory of one block.

>>> import numpy as np, soundfile as sf, tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "sine.wav")
>>> t = np.arange(48000 * 3) / 48000
>>> sine = 10 ** (-30 / 20) * np.sin(2 * np.pi * 1000 * t)   # -30 dBFS, in both channels
>>> sf.write(path, np.stack([sine, sine], axis=1), 48000)
>>> d = decode(path)
>>> d.sr, round(d.duration, 2), round(d.loudness, 1)
(22050, 3.0, -30.0)

(BS.1770 sums the channels: the same sine in mono reads -33.0 LUFS.)
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import SourceError
from .loudness import LoudnessMeter, k_weighting

__all__ = [
    "AUDIO_SUFFIXES",
    "Decoded",
    "DecodeStream",
    "LoudnessMeter",
    "decode",
    "format_seconds",
    "k_weighting",
    "open_stream",
]

#: File suffixes the decoders are asked to read (others are skipped when scanning folders).
AUDIO_SUFFIXES = frozenset(
    {
        ".mp3",
        ".flac",
        ".ogg",
        ".oga",
        ".opus",
        ".wav",
        ".m4a",
        ".aac",
        ".mp4",
        ".aiff",
        ".aif",
        ".wma",
        ".webm",
    }
)
SOUNDFILE_FIRST = frozenset({".wav", ".flac", ".ogg", ".oga", ".aiff", ".aif"})
#: The analysis rate: everything the extractor measures lives below 11 kHz.
TARGET_SR = 22050
_BLOCK = 1 << 16
#: Up to this length (s) loudness is K-weighted by FFT convolution, which needs no scipy import
#: (start-up of one song); longer files, and any file once scipy.signal is loaded (batches), use
#: the recursive filter (cheaper per sample).
FFT_METER_SECONDS = 150.0


@dataclass
class Decoded:
    """A decoded file: mono ``y`` at ``sr`` plus what was measured while decoding."""

    y: np.ndarray
    sr: int
    duration: float  # seconds, from the decoded samples at the native rate
    loudness: float  # integrated loudness, LUFS (BS.1770-4); ``-inf`` if every block is gated
    native_sr: int
    channels: int
    decoder: str


def _soundfile_blocks(path: Path) -> tuple[int, int, int | None, Generator[np.ndarray, None, None]]:
    import soundfile as sf

    try:
        info = sf.info(os.fsencode(path))  # bytes: names that are not UTF-8 too
    except (sf.LibsndfileError, RuntimeError) as e:
        raise _Unreadable(str(e)) from None
    declared = info.frames if info.frames and info.frames > 0 else None

    def gen():
        try:
            with sf.SoundFile(os.fsencode(path)) as f:
                while True:
                    block = f.read(_BLOCK, dtype="float32", always_2d=True)
                    if not len(block):
                        break
                    yield block
        except (sf.LibsndfileError, RuntimeError) as e:
            raise _Damaged(str(e)) from None

    return info.samplerate, info.channels, declared, gen()


def _pyav_blocks(path: Path) -> tuple[int, int, int | None, Generator[np.ndarray, None, None]]:
    import av

    av.logging.set_level(av.logging.PANIC)
    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError, UnicodeDecodeError) as e:
        raise _Unreadable(_av_reason(e)) from None
    if not container.streams.audio:
        container.close()
        raise _Unreadable("no audio stream")
    stream = container.streams.audio[0]
    rate = int(stream.rate or stream.codec_context.sample_rate or 0)
    channels = min(int(stream.channels or 1), 2)
    if rate <= 0:
        container.close()
        raise _Unreadable("unknown sample rate")
    declared = None
    if stream.duration and stream.time_base:
        declared = round(float(stream.duration * stream.time_base) * rate)
    elif container.duration:
        declared = round(container.duration / 1e6 * rate)
    layout = "stereo" if channels == 2 else "mono"

    def gen():
        resampler = av.AudioResampler(format="flt", layout=layout, rate=rate)
        pending, size = [], 0
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    pending.append(out.to_ndarray().reshape(-1, channels))
                    size += pending[-1].shape[0]
                if size >= _BLOCK:  # PyAV frames are ~1k samples: batch them
                    yield np.concatenate(pending)
                    pending, size = [], 0
            for out in resampler.resample(None):
                pending.append(out.to_ndarray().reshape(-1, channels))
            if pending:
                yield np.concatenate(pending)
        except (av.FFmpegError, ValueError) as e:
            raise _Damaged(_av_reason(e)) from None
        finally:
            container.close()

    return rate, channels, declared, gen()


def _av_reason(e: Exception) -> str:
    text = getattr(e, "strerror", None) or str(e)
    return str(text).split(":")[0].strip() or type(e).__name__


class _Unreadable(Exception):
    """The decoder cannot open the file at all (try the other one)."""


class _Damaged(Exception):
    """The decoder opened the file but failed part-way."""


def decode(
    path: str | Path,
    *,
    sr: int = TARGET_SR,
    loudness: bool = True,
    max_seconds: float | None = None,
    max_duration: float | None = None,
) -> Decoded:
    """Decode ``path`` to mono float32 at ``sr`` and measure its integrated loudness.

    The whole signal is returned in memory; :func:`open_stream` gives it block by block instead.

    Parameters
    ----------
    path : str or Path
        An audio file (MP3, FLAC, OGG/Vorbis, Opus, WAV, M4A/AAC, AIFF).
    sr : int, default 22050
        Output sample rate.
    loudness : bool, default True
        Measure BS.1770 integrated loudness at the native rate while decoding.
    max_seconds : float, optional
        Stop after this much audio.
    max_duration : float, optional
        Refuse a file longer than this many seconds (:class:`SourceError`).

    Returns
    -------
    Decoded

    Raises
    ------
    SourceError
        One line naming the file: missing, not audio, damaged, truncated, empty, too long.
    """
    stream = open_stream(
        path, sr=sr, loudness=loudness, max_seconds=max_seconds, max_duration=max_duration
    )
    parts = list(stream)
    y = np.concatenate(parts) if parts else np.zeros(0, np.float32)
    return Decoded(
        y=y,
        sr=sr,
        duration=stream.duration,
        loudness=stream.loudness,
        native_sr=stream.native_sr,
        channels=stream.channels,
        decoder=stream.decoder,
    )


def format_seconds(seconds: float) -> str:
    """``'3 h 05 min'``, ``'12 min 30 s'``, ``'4.2 s'``.

    >>> format_seconds(3 * 3600 + 300), format_seconds(750), format_seconds(4.23)
    ('3 h 05 min', '12 min 30 s', '4.2 s')
    """
    if seconds >= 3600:
        h, m = divmod(round(seconds / 60), 60)
        return f"{h} h {m:02d} min"
    if seconds >= 60:
        m, s = divmod(round(seconds), 60)
        return f"{m} min {s:02d} s"
    return f"{seconds:.1f} s"


def open_stream(
    path: str | Path,
    *,
    sr: int = TARGET_SR,
    loudness: bool = True,
    max_seconds: float | None = None,
    max_duration: float | None = None,
) -> DecodeStream:
    """Open ``path`` for block-wise decoding: iterate the returned :class:`DecodeStream` for mono
    float32 blocks at ``sr`` (about 3 s each); after the last block its ``duration`` and
    ``loudness`` are set. Memory stays that of one block whatever the file's length.

    Errors that need no decoding (missing, not audio, header longer than ``max_duration``) are
    raised here; the others while iterating. All are one-line :class:`SourceError`.
    """
    path = Path(path)
    if not path.exists():
        raise SourceError(f"{path}: no such file")
    if path.is_dir():
        raise SourceError(f"{path}: is a folder, not an audio file")
    if path.stat().st_size == 0:
        raise SourceError(f"{path}: empty file (0 bytes)")
    with open(path, "rb") as f:
        head = f.read(64)
    if all(32 <= b < 127 or b in (9, 10, 13) for b in head):
        raise SourceError(f"{path}: not an audio file (it starts with plain text)")
    suffix = path.suffix.lower()
    order = [("soundfile", _soundfile_blocks), ("pyav", _pyav_blocks)]
    if suffix not in SOUNDFILE_FIRST:
        order.reverse()
    reasons = []
    for name, opener in order:
        try:
            rate, channels, declared, blocks = opener(path)
        except _Unreadable as e:
            reasons.append(f"{name}: {e}")
            continue
        if max_duration and declared and declared / rate > max_duration + 1.0:
            blocks.close()
            raise SourceError(_too_long(path, declared / rate, max_duration))
        return DecodeStream(
            path,
            name,
            rate,
            channels,
            declared,
            blocks,
            sr=sr,
            loudness=loudness,
            max_seconds=max_seconds,
            max_duration=max_duration,
        )
    raise SourceError(f"{path}: not a readable audio file ({'; '.join(reasons)})")


def _too_long(path, seconds: float, limit: float, *, at_least: bool = False) -> str:
    what = "more than " + format_seconds(seconds) if at_least else format_seconds(seconds)
    return (
        f"{path}: {what} long, over the maximum of {format_seconds(limit)} "
        f"(max_duration={limit:g} s)"
    )


class DecodeStream:
    """Mono float32 blocks at ``sr``; ``duration`` (s) and ``loudness`` (LUFS) once exhausted."""

    def __init__(
        self,
        path,
        decoder,
        rate,
        channels,
        declared,
        blocks,
        *,
        sr,
        loudness,
        max_seconds,
        max_duration,
    ):
        self.path, self.decoder, self.native_sr, self.channels = path, decoder, rate, channels
        self.sr = sr
        self.declared = declared
        self.duration = math.nan
        self.loudness = math.nan
        self._blocks = blocks
        # short input: the FFT filter (no scipy import); long or unknown: the recursive one
        short = declared is not None and declared / rate <= FFT_METER_SECONDS
        recursive = not short or "scipy.signal" in sys.modules
        self._meter = LoudnessMeter(rate, channels, recursive=recursive) if loudness else None
        self._max_seconds, self._max_duration = max_seconds, max_duration

    @property
    def declared_seconds(self) -> float | None:
        return self.declared / self.native_sr if self.declared else None

    def __iter__(self) -> Iterator[np.ndarray]:
        import soxr

        rate, sr, channels, path = self.native_sr, self.sr, self.channels, self.path
        resampler = (
            soxr.ResampleStream(rate, sr, 1, dtype="float32", quality="HQ") if rate != sr else None
        )
        n_native = 0
        limit = int(self._max_seconds * rate) if self._max_seconds else None
        refuse = int((self._max_duration + 1.0) * rate) if self._max_duration else None
        try:
            for block in self._blocks:
                if limit is not None and n_native + len(block) > limit:
                    block = block[: limit - n_native]
                if not len(block):
                    break
                n_native += len(block)
                if refuse is not None and n_native > refuse:
                    raise SourceError(
                        _too_long(path, n_native / rate, self._max_duration, at_least=True)
                    )
                if self._meter is not None:
                    self._meter.add(block)
                mono = (
                    block.mean(axis=1, dtype=np.float32)
                    if channels > 1
                    else block[:, 0].astype(np.float32)
                )
                out = resampler.resample_chunk(mono) if resampler else mono
                np.nan_to_num(out, copy=False)
                if len(out):
                    yield out
                if limit is not None and n_native >= limit:
                    break
        except _Damaged as e:
            raise SourceError(
                f"{path}: damaged audio, decoding failed part-way ({self.decoder}: {e})"
            ) from None
        finally:
            self._blocks.close()
        if resampler is not None:
            out = resampler.resample_chunk(np.zeros(0, np.float32), last=True)
            np.nan_to_num(out, copy=False)
            if len(out):
                yield out
        if n_native == 0:
            raise SourceError(f"{path}: no audio in the file (0 samples decoded)")
        declared = self.declared
        if declared and limit is None and n_native < 0.9 * declared - 0.5 * rate:
            raise SourceError(
                f"{path}: truncated or damaged: decoded {n_native / rate:.1f} s of the "
                f"{declared / rate:.1f} s its header declares"
            )
        self.duration = n_native / rate
        self.loudness = self._meter.integrated() if self._meter else math.nan
