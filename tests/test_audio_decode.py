"""Decoding every supported format, loudness, and one-line errors for bad files."""

from __future__ import annotations

import numpy as np
import pyloudnorm
import pytest

from trackmood.audio.decode import LoudnessMeter, decode
from trackmood.errors import SourceError

from .audio_fixtures import click_track, every_format, sine, text_as_mp3, truncated_mp3, write_wav


@pytest.fixture(scope="module")
def formats(tmp_path_factory):
    return every_format(tmp_path_factory.mktemp("formats"), click_track(120, 6.0))


@pytest.mark.parametrize("fmt", ["wav", "flac", "ogg", "mp3", "m4a", "opus"])
def test_every_format_decodes(formats, fmt):
    d = decode(formats[fmt])
    assert d.sr == 22050
    assert d.y.dtype == np.float32 and d.y.ndim == 1
    assert d.duration == pytest.approx(6.0, abs=0.1)
    assert len(d.y) == pytest.approx(6.0 * 22050, rel=0.02)
    # lossy codecs move loudness a little, not a lot
    assert d.loudness == pytest.approx(decode(formats["wav"]).loudness, abs=1.0)


def test_decoder_choice(formats):
    assert decode(formats["flac"]).decoder == "soundfile"
    assert decode(formats["m4a"]).decoder == "pyav"  # libsndfile cannot read M4A/AAC


def test_sine_minus_30_dbfs_reads_minus_30_lufs(tmp_path):
    y = sine(1000.0, -30.0, seconds=5.0, sr=48000)
    path = write_wav(tmp_path / "sine.wav", y, 48000, stereo=True)
    d = decode(path)
    assert d.loudness == pytest.approx(-30.0, abs=0.5)
    # agrees with pyloudnorm's reference implementation
    ref = pyloudnorm.Meter(48000).integrated_loudness(np.stack([y, y], axis=1).astype(float))
    assert d.loudness == pytest.approx(ref, abs=0.05)


@pytest.mark.parametrize("recursive", [True, False])
def test_meter_in_blocks_equals_whole(recursive):
    rng = np.random.default_rng(0)
    x = (0.1 * rng.standard_normal((44100 * 4, 2))).astype(np.float32)
    x[:44100] *= 0.01  # a quiet start exercises the gating
    whole = LoudnessMeter(44100, 2, recursive=recursive)
    whole.add(x)
    parts = LoudnessMeter(44100, 2, recursive=recursive)
    for i in range(0, len(x), 1000):
        parts.add(x[i : i + 1000])
    ref = pyloudnorm.Meter(44100).integrated_loudness(x.astype(float))
    assert parts.integrated() == pytest.approx(whole.integrated(), abs=1e-6)
    assert whole.integrated() == pytest.approx(ref, abs=0.1)


def test_silence_has_no_loudness(tmp_path):
    d = decode(write_wav(tmp_path / "silence.wav", np.zeros(44100 * 3, np.float32), 44100))
    assert d.loudness == -np.inf
    assert d.duration == pytest.approx(3.0)


def test_truncated_mp3_is_a_clear_error(tmp_path):
    path = truncated_mp3(tmp_path)
    with pytest.raises(
        SourceError, match=r"truncated.mp3: truncated or damaged: decoded .* of the 20.0 s"
    ):
        decode(path)


def test_text_renamed_mp3_is_a_clear_error(tmp_path):
    path = text_as_mp3(tmp_path)
    with pytest.raises(SourceError, match="notes.mp3: not an audio file") as e:
        decode(path)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize(
    "content,match", [(b"", "empty file"), (bytes(range(256)) * 40, "not a readable audio file")]
)
def test_garbage_files(tmp_path, content, match):
    path = tmp_path / "bad.flac"
    path.write_bytes(content)
    with pytest.raises(SourceError, match=match) as e:
        decode(path)
    assert "\n" not in str(e.value) and "bad.flac" in str(e.value)


def test_missing_file(tmp_path):
    with pytest.raises(SourceError, match="no such file"):
        decode(tmp_path / "nope.mp3")
