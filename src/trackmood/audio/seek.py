"""Read only some regions of an audio file, by seeking, at its own rate and channel layout: the
audio engine's reader for long tracks (excerpts and embedding patches) and the embedding's.

soundfile (WAV, FLAC, OGG, AIFF) seeks exactly; PyAV (MP3, M4A, Opus) seeks to a packet before
the region with a pre-roll (the first frames after a seek can decode wrong: MP3's bit
reservoir) and cuts the region out by the decoded frames' times, counted from the first decoded
sample as the whole-file decoder counts them. Anything unexpected answers ``None``: the caller
decodes the whole file, which gives the proper one-line error for a bad file.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from ..errors import SourceError

_PREROLL_S = 0.25


# -- reading regions by seeking (native rate, all channels) -------------------------------------
def _seek_soundfile(path: Path, plan, max_duration, above):
    import soundfile as sf

    with sf.SoundFile(os.fsencode(path)) as f:  # bytes: names that are not UTF-8 too
        rate, frames, channels = f.samplerate, f.frames, f.channels
        if not f.seekable() or frames <= 0 or frames / rate <= above:
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


def _seek_pyav(path: Path, plan, max_duration, above):
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
        if rate <= 0 or duration <= above:
            return None
        _check_length(path, duration, max_duration)
        channels = min(int(stream.channels or 1), 2)
        layout = "stereo" if channels == 2 else "mono"
        # times are from the first decoded sample (an MP3's encoder delay is skipped), as the
        # whole-file decoder counts them
        tb = stream.time_base
        if tb is None:  # no time base: no seeking by time
            return None
        zero = float(stream.start_time * tb) if stream.start_time else 0.0
        out = []
        for t0, t1 in plan(duration):
            # pre-roll: the first frames after a seek can decode wrong (MP3's bit reservoir)
            target = max(0.0, t0 + zero - _PREROLL_S)
            container.seek(int(target / tb), stream=stream)
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


def seek_regions(path: Path, plan, max_duration=None, *, above: float = 75.0):
    """``(rate, channels, duration, [(start s, (n, channels) float32)], decoder)``: the regions
    ``plan(duration)`` (``[(t0, t1)]`` seconds) read by seeking, at the file's own rate; or
    ``None`` when the file is not longer than ``above`` seconds, or cannot be read that way
    (then decode it whole).
    """
    from ..audio.decode import SOUNDFILE_FIRST

    try:
        if path.suffix.lower() in SOUNDFILE_FIRST:
            return _seek_soundfile(path, plan, max_duration, above)
        return _seek_pyav(path, plan, max_duration, above)
    except SourceError:
        raise
    except Exception:  # noqa: BLE001 - any trouble: the stream decoder gives the proper error
        return None
