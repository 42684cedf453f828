"""The musicnn embedding: ONNX graph against the original TensorFlow model's recorded outputs,
the numpy front end against librosa and musicnn's own front end, and the per-track budget.
"""

from __future__ import annotations

import importlib.util
import json
import time
from pathlib import Path

import numpy as np
import pytest

from trackmood.audio import embedding as E

from .audio_fixtures import music_like, write_wav

ROOT = Path(__file__).parents[1]


def _convert_script():
    spec = importlib.util.spec_from_file_location(
        "convert_musicnn", ROOT / "scripts" / "convert_musicnn.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _reference(graph: str) -> dict:
    with np.load(E.model_dir(graph) / "reference.npz", allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def test_conversion_script_targets_the_shipped_folders():
    """Each model the conversion script knows lands where the runtime looks for it."""
    conv = _convert_script()
    assert set(conv.MODELS) == {"MSD_musicnn", "MTT_musicnn"}
    for name, folder in conv.MODELS.items():
        graph = name[:3].lower()
        assert Path(folder).parts == ("src", "trackmood", "models", E.GRAPHS[graph][0])
        assert E.model_dir(graph).name == E.GRAPHS[graph][0]
        meta = json.loads((ROOT / folder / "musicnn.json").read_text())
        assert meta["model"] == name and len(meta["tags"]) == 50
        assert (ROOT / folder / f"{name.lower()}.onnx").is_file()
        assert E.GRAPHS[graph][1] == f"{name.lower()}.onnx"


def test_shipped_files():
    d = E.model_dir()
    size = (d / E.ONNX_FILE).stat().st_size
    assert 1e6 < size < 10e6
    assert (
        "ISC" in (d / "LICENSE").read_text() or "Permission to use" in (d / "LICENSE").read_text()
    )
    assert "Pons" in (d / "CITATION.md").read_text()
    tags = E.tag_names()
    assert len(tags) == 50 and "happy" in tags and "sad" in tags and "chill" in tags


def test_shipped_mtt_files():
    """The MagnaTagATune graph ships beside the MSD one, with its own licence, citation and tags."""
    d = E.model_dir("mtt")
    assert d != E.model_dir("msd")
    size = (d / E.GRAPHS["mtt"][1]).stat().st_size
    assert 1e6 < size < 10e6
    assert "ISC" in (d / "LICENSE").read_text() and "MTT_musicnn" in (d / "LICENSE").read_text()
    citation = (d / "CITATION.md").read_text()
    assert "Pons" in citation and "MagnaTagATune" in citation
    tags = E.tag_names("mtt")
    assert len(tags) == 50 and {"guitar", "classical", "slow", "techno", "beat"} <= set(tags)
    assert "female vocalists" not in tags and "female vocalists" in E.tag_names("msd")
    with pytest.raises(ValueError, match="unknown musicnn graph"):
        E.model_dir("vgg")


@pytest.mark.parametrize("graph", ["msd", "mtt"])
@pytest.mark.parametrize("which", ["mel", "random"])
def test_onnx_matches_tensorflow_reference(graph, which):
    ref = _reference(graph)
    out = E.run_patches(ref[f"{which}_patches"], graph)
    for key in ("penultimate", "logits", "tags"):
        want = ref[f"{which}_{key}"]
        np.testing.assert_allclose(out[key], want, rtol=1e-4, atol=1e-4 * np.abs(want).max())
    assert out["penultimate"].shape[1] == 200 and out["tags"].shape[1] == 50


def test_the_two_graphs_differ_on_the_same_patches():
    """Both references hold the same inputs (the front end is shared); the outputs differ, so
    each graph is really its own checkpoint.
    """
    msd, mtt = _reference("msd"), _reference("mtt")
    np.testing.assert_array_equal(msd["mel_patches"], mtt["mel_patches"])
    a = E.run_patches(msd["mel_patches"], "msd")["penultimate"]
    b = E.run_patches(msd["mel_patches"], "mtt")["penultimate"]
    assert np.abs(a - b).max() > 0.1


@pytest.mark.parametrize("graph", ["msd", "mtt"])
def test_front_end_matches_musicnn_front_end(graph):
    """The recorded patches came from musicnn.extractor.batch_data (librosa) in the TF env."""
    ref = _reference(graph)
    y = _convert_script().reference_signal()
    got, starts = E.patches(y, max_patches=8)
    assert starts == [0, 187]  # 7 s: musicnn's own two non-overlapping patches
    np.testing.assert_allclose(got, ref["mel_patches"], atol=2e-3)
    # and the network's answer on our patches is the TF model's answer on musicnn's
    out = E.run_patches(got, graph)
    np.testing.assert_allclose(out["penultimate"], ref["mel_penultimate"], atol=5e-3)


def test_front_end_against_librosa():
    librosa = pytest.importorskip("librosa")
    np.testing.assert_allclose(
        E.mel_filters(), librosa.filters.mel(sr=16000, n_fft=512, n_mels=96), atol=1e-7
    )
    y = music_like(5.0, sr=16000, seed=3)
    mel = librosa.feature.melspectrogram(y=y, sr=16000, n_fft=512, hop_length=256, n_mels=96).T
    want = np.log10(10000.0 * mel.astype(np.float64) + 1.0)
    got = E.log_mel(y)
    assert got.shape == want.shape == (1 + len(y) // 256, 96)
    # float16 rounding of the mel values (as musicnn) moves the log by < 1e-3
    np.testing.assert_allclose(got, want, atol=2e-3)


def test_window_equals_full_computation():
    y = music_like(12.0, sr=16000, seed=4)
    full = E.log_mel(y)
    for start in (0, 100, len(full) - 187):
        np.testing.assert_allclose(E.log_mel(y, start, 187), full[start : start + 187], atol=1e-6)
    # a segment given with its offset reads the same frames
    seg = y[20000:90000]
    np.testing.assert_allclose(
        E.log_mel(seg, 100, 187, offset=20000, length=len(y)), full[100:287], atol=1e-6
    )


def test_patch_starts_budget():
    assert E.patch_starts(100, 8) == [0]
    assert E.patch_starts(187 * 3 + 5, 8) == [0, 187, 374]
    starts = E.patch_starts(10 * 60 * 16000 // 256, 9)
    assert len(starts) == 9 and starts[0] == 0 and starts[-1] == 10 * 60 * 16000 // 256 - 187
    with pytest.raises(ValueError):
        E.patch_starts(1000, 0)


def test_budget_holds_for_a_long_track():
    y = np.tile(music_like(20.0, sr=16000, seed=5), 30)  # 10 minutes
    E.embed_signal(y[: 16000 * 4], 16000)  # session loaded outside the timing
    t = time.process_time()
    out = E.embed_signal(y, 16000, max_patches=8)
    cpu = time.process_time() - t
    assert out["patches"] == 8 and abs(out["duration"] - 600.0) < 1e-6
    assert out["starts"][-1] > 590.0 - 3.1
    assert cpu < 1.0, f"{cpu:.2f} CPU-s for a 10-min track"


def test_short_and_silent_signals():
    out = E.embed_signal(np.zeros(8000, np.float32), 16000)
    assert out["patches"] == 1 and np.isfinite(out["embedding"]).all()
    assert np.all((out["tags"] >= 0) & (out["tags"] <= 1))
    with pytest.raises(ValueError):
        E.embed_signal(np.zeros(0, np.float32), 16000)


def test_other_rates_resample_only_the_patches():
    import soxr

    y16 = music_like(40.0, sr=16000, seed=6)
    y44 = soxr.resample(y16, 16000, 44100)
    a = E.embed_signal(y44, 44100, max_patches=5)
    b = E.embed_signal(soxr.resample(y44, 44100, 16000), 16000, max_patches=5)
    assert a["starts"] == b["starts"]
    np.testing.assert_allclose(a["embedding"], b["embedding"], atol=0.02)


def test_embed_file(tmp_path):
    y = music_like(10.0, sr=44100, seed=7)
    path = write_wav(tmp_path / "song.wav", y, 44100, stereo=True)
    out = E.embed_file(path, max_patches=4)
    assert out["patches"] == 3 and abs(out["duration"] - 10.0) < 1e-3
    assert out["provider"] == "audio:musicnn"
    direct = E.embed_signal(y, 44100, max_patches=4)
    np.testing.assert_allclose(out["embedding"], direct["embedding"], atol=0.05)
    feats = E.features(out)
    assert len(feats) == 250 and list(feats)[:2] == ["mn_pen000", "mn_pen001"]


def test_embed_file_errors(tmp_path):
    from trackmood.errors import SourceError

    bad = tmp_path / "notes.mp3"
    bad.write_text("not audio at all")
    with pytest.raises(SourceError, match="notes.mp3"):
        E.embed_file(bad)


@pytest.mark.parametrize("fmt", ["wav", "mp3"])
def test_long_files_are_read_by_seeking(tmp_path, monkeypatch, fmt):
    from .audio_fixtures import write_pyav

    y = np.concatenate([music_like(30.0, sr=44100, seed=i) for i in range(3)])  # 90 s
    path = (
        write_wav(tmp_path / "long.wav", y, 44100, stereo=True)
        if fmt == "wav"
        else write_pyav(tmp_path / "long.mp3", y, 44100, "libmp3lame")
    )
    seek = E.embed_file(path, max_patches=5, per_patch=True)
    monkeypatch.setattr(E, "SEEK_ABOVE_S", 1e9)
    whole = E.embed_file(path, max_patches=5, per_patch=True)
    assert (seek["read"], whole["read"]) == ("seek", "decoded")
    assert seek["starts"] == whole["starts"] and seek["starts"][-1] > 80.0
    assert abs(seek["duration"] - whole["duration"]) < 0.05
    np.testing.assert_allclose(seek["patch_embeddings"], whole["patch_embeddings"], atol=0.02)


def test_budget_holds_for_a_long_file(tmp_path):
    y = np.tile(music_like(20.0, sr=16000, seed=8), 30)  # 10 minutes
    path = write_wav(tmp_path / "ten.wav", y, 16000)
    E.session()
    t = time.process_time()
    out = E.embed_file(path, max_patches=8)
    cpu = time.process_time() - t
    assert out["read"] == "seek" and out["patches"] == 8 and abs(out["duration"] - 600) < 0.01
    assert cpu < 1.0, f"{cpu:.2f} CPU-s for a 10-min file"
