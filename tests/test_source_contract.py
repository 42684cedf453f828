"""Every source through the same assertions (tests/contract.py): a table with a bad row, a
generated audio file, and an audio file that cannot be decoded.

To add a source: a case here that feeds it references and calls ``check_feature_frames``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from trackmood.errors import DataError
from trackmood.sources.audio import AudioSource
from trackmood.sources.table import TableSource

from .audio_fixtures import click_track, text_as_mp3, write_wav
from .contract import check_feature_frames

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "tracks.csv"


def _table_with_bad_row(tmp_path, suffix=".csv"):
    df = pd.read_csv(EXAMPLE)
    df["energy"] = df["energy"].astype(object)
    df.loc[2, "energy"] = None  # the source passes it on; the pipeline flags it
    p = tmp_path / f"tracks{suffix}"
    if suffix == ".parquet":
        df.to_parquet(p)
    else:
        df.to_csv(p, index=False)
    return p, len(df)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_table_source(tmp_path, suffix):
    path, n = _table_with_bad_row(tmp_path, suffix)
    stages = []
    frames = TableSource(chunksize=2).frames([str(path)], progress=lambda *a: stages.append(a))
    df = check_feature_frames(frames, [None] * n)
    assert df["provenance"].iloc[0]["energy"] == f"file:{path.name}"
    assert "energy" not in df["provenance"].iloc[2]  # the empty cell has no provider
    assert (df["status"] == "ok").all()  # the table source does not validate ranges
    assert stages[-1][1] == n  # progress(stage, done, total) reached every row


def test_table_source_unreadable_file(tmp_path):
    p = tmp_path / "empty.csv"
    p.write_text("")
    with pytest.raises(DataError, match="empty.csv: file is empty"):
        list(TableSource().frames([str(p)]))


def test_audio_source_good_and_failing_file(tmp_path):
    song = write_wav(tmp_path / "song.wav", click_track(120, 6.0, sr=22050), 22050)
    bad = text_as_mp3(tmp_path)
    notes, stages = [], []
    src = AudioSource(workers=1)
    refs = [str(song), str(bad)]
    df = check_feature_frames(
        src.frames(refs, progress=lambda *a: stages.append(a), notify=notes.append), refs
    )
    good, failed = df.iloc[0], df.iloc[1]
    assert good["status"] == "ok" and good["id"].startswith("audio:")
    assert abs(good["tempo"] - 120) < 3 and good["provenance"]["tempo"] == "audio:librosa"
    assert pd.isna(good["valence"])  # Spotify-only columns stay empty, with no provider
    assert failed["status"] == "failed" and "not an audio file" in failed["reason"]
    assert stages[-1][1:] == (2, 2)
    assert any("notes.mp3" in n for n in notes)


def test_audio_source_windows_for_a_timeline(tmp_path):
    song = write_wav(tmp_path / "song.wav", click_track(120, 12.0, sr=22050), 22050)
    df = check_feature_frames(AudioSource(workers=1, window=5).frames([str(song)]), [song])
    wins = df["windows"].iloc[0]
    assert [(w["start"], w["end"]) for w in wins] == [(0.0, 5.0), (5.0, 12.0)]


def test_audio_source_empty_folder_is_an_error(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "readme.txt").write_text("no music here")
    with pytest.raises(DataError, match="no audio files in this folder"):
        list(AudioSource(workers=1).frames([str(tmp_path / "docs")]))
