"""Hardening of audio extraction: no numba cache to corrupt, crashed workers, input with no mood to
find, length limits and memory that does not grow with the length.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from trackmood.audio.extract import DESCRIPTORS
from trackmood.audio.parallel import CRASH_HOOK, extract_many, extract_one

from .audio_fixtures import click_track, music_like, write_soundfile, write_wav

SRC = str(Path(__file__).parents[1] / "src")
HEAVY = ("numba", "librosa", "scipy.signal", "scipy.ndimage", "dask", "distributed", "matplotlib")


def _env(tmp_path: Path, **extra) -> dict:
    path = os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path, "TRACKMOOD_DB": str(tmp_path / "lib.sqlite"), **extra}


@pytest.fixture()
def folder(tmp_path):
    d = tmp_path / "music"
    d.mkdir()
    for i, bpm in enumerate((90, 100, 110, 120)):
        write_wav(d / f"t{i}.wav", click_track(bpm, 4.0, sr=22050, seed=i), 22050)
    return d


# -- issue 9.1: the numba cache race cannot happen any more ----------------------------------------


def test_extraction_imports_no_numba_librosa_or_scipy_signal(folder, tmp_path):
    code = (
        "import sys; from trackmood.audio.parallel import extract_one; "
        f"r = extract_one({str(folder / 't0.wav')!r}, window=2.0); assert 'features' in r, r; "
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=_env(tmp_path), capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_parallel_first_run_from_empty_numba_cache_then_single_predict(folder, tmp_path):
    cache = tmp_path / "numba-cache"
    cache.mkdir()
    env = _env(tmp_path, NUMBA_CACHE_DIR=str(cache))
    cmd = [sys.executable, "-m", "trackmood"]
    out = tmp_path / "f.csv"
    first = subprocess.run(
        [*cmd, "extract", str(folder), "-o", str(out), "--workers", "2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert first.returncode == 0, first.stderr
    assert len(out.read_text().splitlines()) == 5
    second = subprocess.run(
        [*cmd, "predict", str(folder / "t3.wav")], env=env, capture_output=True, timeout=300
    )
    assert second.returncode == 0, second.stderr  # was -11 (SIGSEGV) after a racy first run
    assert list(cache.iterdir()) == []  # nothing was compiled, so nothing can be half-written


# -- a crashed worker: retried once alone, then reported as a crash --------------------------------


def test_worker_that_segfaults_is_retried_alone_then_reported(folder, monkeypatch):
    monkeypatch.setenv(CRASH_HOOK, "segv:t2")
    told = []
    out = {r["name"]: r for r in extract_many([folder], workers=2, notify=told.append)}
    assert len(out) == 4
    bad = out.pop("t2")
    assert "features" not in bad
    assert bad["error"].startswith(
        str(folder / "t2.wav") + ": the audio analysis crashed its worker"
    )
    assert "killed by SIGSEGV" in bad["error"] and "retried alone" in bad["error"]
    assert "decoder" not in bad["error"] and "\n" not in bad["error"]
    assert bad["crash"] == "killed by SIGSEGV"
    assert all("features" in r for r in out.values())  # the others are fine
    assert any("worker process died" in t for t in told)


def test_worker_that_dies_once_is_retried_and_succeeds(folder, tmp_path, monkeypatch):
    marker = tmp_path / "crashed-once"
    monkeypatch.setenv(CRASH_HOOK, f"t1:once={marker}")
    out = list(extract_many([folder], workers=2))
    assert marker.exists()  # it did die once
    assert len(out) == 4 and all("features" in r for r in out)


# -- issue 9.9: no mood for silence, noise or a blip -----------------------------------------------


def _skip(result):
    assert "features" not in result and "windows" not in result
    assert "\n" not in result["error"]
    return result["skip"], result["error"]


def test_digital_silence_is_skipped_as_silent(tmp_path):
    path = write_wav(tmp_path / "silence.wav", np.zeros(44100 * 30, np.float32), 44100)
    kind, error = _skip(extract_one(str(path), window=10))
    assert kind == "silent"
    assert error.startswith(f"{path}: silent") and "-inf LUFS" in error


def test_near_silence_is_skipped(tmp_path):
    rng = np.random.default_rng(0)
    hum = (1e-4 * rng.standard_normal(22050 * 10)).astype(np.float32)  # -80 dBFS hiss
    kind, _ = _skip(extract_one(str(write_wav(tmp_path / "hiss.wav", hum, 22050))))
    assert kind == "silent"


def test_half_second_clip_is_too_short(tmp_path):
    path = write_wav(tmp_path / "blip.wav", music_like(0.5), 22050)
    kind, error = _skip(extract_one(str(path)))
    assert kind == "too short" and "0.50 s" in error


def test_white_noise_is_not_music(tmp_path):
    y = (0.2 * np.random.default_rng(1).standard_normal(22050 * 15)).astype(np.float32)
    kind, error = _skip(extract_one(str(write_wav(tmp_path / "noise.wav", y, 22050))))
    assert kind == "noise" and "spectral flatness" in error


def test_music_like_signal_still_gets_features(tmp_path):
    path = write_wav(tmp_path / "song.wav", music_like(12.0), 22050)
    out = extract_one(str(path))
    assert "skip" not in out and "error" not in out
    assert all(np.isfinite(out["features"][k]) for k in DESCRIPTORS)


def test_skips_come_through_extract_many_unscored_and_cached(tmp_path):
    from trackmood.store import Store

    d = tmp_path / "in"
    d.mkdir()
    write_wav(d / "quiet.wav", np.zeros(22050 * 5, np.float32), 22050)
    write_wav(d / "song.wav", music_like(8.0), 22050)
    store = Store(tmp_path / "lib.sqlite")
    out = {r["name"]: r for r in extract_many([d], workers=1, store=store)}
    assert out["quiet"]["skip"] == "silent" and "features" not in out["quiet"]
    assert "features" in out["song"] and "skip" not in out["song"]
    (d / "quiet.wav").rename(d / "hush.wav")
    again = {r["name"]: r for r in extract_many([d], workers=1, store=store, window=2.0)}
    assert again["hush"]["cached"] and again["hush"]["skip"] == "silent"
    assert again["hush"]["error"].startswith(f"{d / 'hush.wav'}: silent")
    assert "features" not in again["hush"] and "windows" not in again["hush"]


# -- issue 9.6: length limit and bounded memory ----------------------------------------------------


def test_file_over_max_duration_is_one_clear_error(tmp_path):
    path = write_wav(tmp_path / "long.wav", music_like(20.0), 22050)
    out = extract_one(str(path), max_duration=10)
    assert "features" not in out
    assert out["error"] == (f"{path}: 20.0 s long, over the maximum of 10.0 s (max_duration=10 s)")
    res = list(extract_many([path], workers=1, max_duration=None))
    assert "features" in res[0]


def test_stream_without_declared_length_is_cut_at_max_duration(tmp_path, monkeypatch):
    from trackmood.audio import decode

    path = write_wav(tmp_path / "long.wav", music_like(20.0), 22050)
    real = decode._soundfile_blocks

    def undeclared(p):
        rate, channels, _, blocks = real(p)
        return rate, channels, None, blocks

    monkeypatch.setattr(decode, "_soundfile_blocks", undeclared)
    out = extract_one(str(path), max_duration=10)
    assert out["error"].startswith(f"{path}: more than 1") and "maximum of 10.0 s" in out["error"]


_PEAK = """
import sys
import scipy.signal  # the same loudness filter (and baseline) for short and long files
from trackmood.audio.parallel import extract_one
r = extract_one(sys.argv[1], window=30.0)
assert "features" in r, r
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM"))
print(hwm // 1024, len(r["windows"]))
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc (Linux)")
def test_peak_memory_does_not_grow_with_length(tmp_path):
    one = np.tile(music_like(60.0, sr=22050), 1)
    peaks = {}
    for minutes in (1, 4):
        path = write_soundfile(tmp_path / f"m{minutes}.flac", np.tile(one, minutes), 22050, "FLAC")
        r = subprocess.run(
            [sys.executable, "-c", _PEAK, str(path)],
            env=_env(tmp_path),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert r.returncode == 0, r.stderr
        mb, n_windows = map(int, r.stdout.split())
        assert n_windows == 2 * minutes  # the timeline covers the whole file
        peaks[minutes] = mb
    # whole-signal analysis grew by ~100 MB per audio-minute (signal + several spectrograms);
    # streaming keeps ~1-2 MB of frame features per minute
    assert peaks[4] - peaks[1] < 30, peaks
