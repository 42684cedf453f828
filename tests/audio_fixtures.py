"""Audio made by the tests: click tracks at known tempi, sines at known levels, silence, and the
same signal in every supported container (soundfile writes WAV/FLAC/OGG; PyAV encodes
MP3/M4A/Opus with its bundled FFmpeg).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

DATA = Path(__file__).parents[1].parent / "shared" / "data"
AUDIO_4Q = DATA / "audio_4q"


def click_track(bpm: float, seconds: float = 20.0, sr: int = 44100, *, seed: int = 0) -> np.ndarray:
    """Short 2 kHz tone bursts every beat, with a little noise, mono float32."""
    rng = np.random.default_rng(seed)
    y = (0.002 * rng.standard_normal(int(seconds * sr))).astype(np.float32)
    n = int(0.01 * sr)
    click = (np.hanning(n) * np.sin(2 * np.pi * 2000 * np.arange(n) / sr)).astype(np.float32)
    for t in np.arange(0.1, seconds - 0.02, 60.0 / bpm):
        i = int(t * sr)
        y[i : i + n] += 0.5 * click
    return y


def sine(
    freq: float = 1000.0, dbfs: float = -30.0, seconds: float = 5.0, sr: int = 48000
) -> np.ndarray:
    """A sine whose peak is ``dbfs`` dB below full scale, mono float32."""
    t = np.arange(int(seconds * sr)) / sr
    return (10 ** (dbfs / 20) * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def music_like(seconds: float = 40.0, sr: int = 22050, *, seed: int = 1) -> np.ndarray:
    """A chord pad with a drum pulse whose character changes half-way (for timelines)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    y = np.zeros_like(t)
    for f in (220.0, 277.18, 329.63):
        y += 0.08 * np.sin(2 * np.pi * f * t)
    half = t >= seconds / 2
    beat = (np.mod(t, 0.4) < 0.03) & half
    y += 0.4 * beat * rng.standard_normal(len(t))
    return y.astype(np.float32)


def write_wav(path: Path, y: np.ndarray, sr: int, *, stereo: bool = False) -> Path:
    import soundfile as sf

    data = np.stack([y, y], axis=1) if stereo else y
    sf.write(str(path), data, sr)
    return path


def write_soundfile(
    path: Path, y: np.ndarray, sr: int, fmt: str, subtype: str | None = None
) -> Path:
    import soundfile as sf

    # in blocks: libsndfile's Vorbis encoder crashes (segfault) on one large write (~1 min)
    with sf.SoundFile(
        str(path), "w", sr, 1 if y.ndim == 1 else y.shape[1], format=fmt, subtype=subtype
    ) as f:
        for i in range(0, len(y), 16384):
            f.write(y[i : i + 16384])
    return path


def write_pyav(path: Path, y: np.ndarray, sr: int, codec: str, *, rate: int | None = None) -> Path:
    """Encode mono ``y`` with PyAV (``libmp3lame``, ``aac``, ``libopus``, ``flac``...)."""
    import av

    rate = rate or sr
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=rate)
        stream.layout = "mono"
        fmt = stream.codec_context.codec.audio_formats[0].name
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(y[None, :], dtype=np.float32), format="flt", layout="mono"
        )
        frame.sample_rate = sr
        resampler = av.AudioResampler(
            format=fmt, layout="mono", rate=rate, frame_size=stream.codec_context.frame_size or None
        )
        for f in resampler.resample(frame):
            for packet in stream.encode(f):
                container.mux(packet)
        for f in resampler.resample(None):
            for packet in stream.encode(f):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def every_format(folder: Path, y: np.ndarray, sr: int = 44100) -> dict[str, Path]:
    """The same signal as WAV, FLAC, OGG/Vorbis, MP3, M4A/AAC and Opus."""
    folder.mkdir(parents=True, exist_ok=True)
    return {
        "wav": write_wav(folder / "s.wav", y, sr),
        "flac": write_soundfile(folder / "s.flac", y, sr, "FLAC"),
        "ogg": write_soundfile(folder / "s.ogg", y, sr, "OGG", "VORBIS"),
        "mp3": write_pyav(folder / "s.mp3", y, sr, "libmp3lame"),
        "m4a": write_pyav(folder / "s.m4a", y, sr, "aac"),
        "opus": write_pyav(folder / "s.opus", y, sr, "libopus", rate=48000),
    }


def truncated_mp3(folder: Path, seconds: float = 20.0) -> Path:
    """An MP3 cut in half (its Xing header still declares the full length)."""
    full = write_pyav(folder / "full.mp3", click_track(120, seconds), 44100, "libmp3lame")
    data = full.read_bytes()
    out = folder / "truncated.mp3"
    out.write_bytes(data[: len(data) // 2])
    full.unlink()
    return out


def text_as_mp3(folder: Path) -> Path:
    out = folder / "notes.mp3"
    out.write_text("this is a shopping list, not a song\n" * 20)
    return out


def fourq_clips(per_quadrant: int = 1) -> list[Path]:
    """The first clips of each quadrant of the shared 4Q dataset (labels from the folder)."""
    out = []
    for q in ("Q1", "Q2", "Q3", "Q4"):
        out += sorted((AUDIO_4Q / q).glob("*.mp3"))[:per_quadrant]
    return out
