"""The audio engine's content-hash cache, interrupt safety, process pool and Dask."""

from __future__ import annotations

import json

import pytest

from trackmood.engine import CACHE_NAMESPACE, executors, extract_many, file_hash, track_id
from trackmood.store import Store

from .audio_fixtures import click_track, text_as_mp3, write_wav


@pytest.fixture()
def folder(tmp_path):
    d = tmp_path / "music"
    d.mkdir()
    for i, bpm in enumerate((90, 100, 110, 120)):
        write_wav(d / f"t{i}.wav", click_track(bpm, 4.0, sr=22050, seed=i), 22050)
    return d


@pytest.fixture()
def counting(monkeypatch):
    calls = []
    real = executors.analyse_file

    def fake(path, **kw):
        calls.append(path)
        return real(path, **kw)

    monkeypatch.setattr(executors, "analyse_file", fake)
    return calls


def test_cache_hit_on_rerun_and_rename(folder, tmp_path, counting):
    store = Store(tmp_path / "lib.sqlite")
    first = list(extract_many([folder], workers=1, store=store))
    assert len(counting) == 4 and not any(r["cached"] for r in first)
    (folder / "t0.wav").rename(folder / "renamed.wav")
    second = list(extract_many([folder], workers=1, store=store))
    assert len(counting) == 4  # no work done twice
    assert all(r["cached"] for r in second)
    renamed = next(r for r in second if r["name"] == "renamed")
    assert renamed["id"] == track_id(file_hash(folder / "renamed.wav"))
    assert store.get_track(renamed["id"])["path"].endswith("renamed.wav")
    feats = store.get_features([renamed["id"]])[renamed["id"]]
    assert feats["tempo"][1] == "audio:librosa" and feats["energy_est"][1].startswith("estimate:")


def test_same_content_twice_is_extracted_once(folder, tmp_path, counting):
    (folder / "copy.wav").write_bytes((folder / "t1.wav").read_bytes())
    out = list(extract_many([folder], workers=1, store=None))
    assert len(out) == 5 and len(counting) == 4


def test_interrupted_batch_keeps_finished_work(folder, tmp_path, counting):
    store = Store(tmp_path / "lib.sqlite")
    gen = extract_many([folder], workers=1, store=store)
    done = [next(gen), next(gen)]
    gen.close()  # what Ctrl-C does to the loop
    assert len(store.kv_keys(CACHE_NAMESPACE)) == 2
    rest = list(extract_many([folder], workers=1, store=store))
    assert sum(r["cached"] for r in rest) == 2
    assert len(counting) == 4  # 2 before the interruption + the 2 left
    assert {r["path"] for r in done} <= {r["path"] for r in rest}


def test_bad_file_does_not_stop_the_batch(folder):
    text_as_mp3(folder)
    out = list(extract_many([folder], workers=2))
    errors = [r for r in out if "error" in r]
    assert len(out) == 5 and len(errors) == 1
    assert "notes.mp3: not an audio file" in errors[0]["error"]


def test_process_pool_matches_in_process(folder, tmp_path):
    one = {r["name"]: r["features"]["tempo"] for r in extract_many([folder], workers=1)}
    two = {r["name"]: r["features"]["tempo"] for r in extract_many([folder], workers=2)}
    assert one == pytest.approx(two)


def test_dask_local_cluster(folder, tmp_path):
    distributed = pytest.importorskip("distributed")
    store = Store(tmp_path / "lib.sqlite")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        out = list(extract_many([folder], scheduler=client, store=store))
        assert len(out) == 4 and all("features" in r for r in out)
        local = {r["name"]: r["features"]["tempo"] for r in extract_many([folder], workers=1)}
        assert {r["name"]: r["features"]["tempo"] for r in out} == pytest.approx(local)
        # scheduler given as an address works the same
        again = list(
            extract_many([folder], scheduler=cluster.scheduler_address, store=Store(":memory:"))
        )
        assert len(again) == 4
    assert len(store.kv_keys(CACHE_NAMESPACE)) == 4
    json.loads(store.kv_get(CACHE_NAMESPACE, store.kv_keys(CACHE_NAMESPACE)[0]))


def test_unreachable_scheduler_is_a_clear_error(folder):
    from trackmood.errors import SourceError

    with pytest.raises(SourceError, match="cannot reach the Dask scheduler"):
        list(extract_many([folder], scheduler="tcp://127.0.0.1:9"))


def test_missing_path_is_a_clear_error(tmp_path):
    from trackmood.errors import SourceError

    with pytest.raises(SourceError, match="nope: no such file or folder"):
        list(extract_many([tmp_path / "nope"]))


@pytest.mark.parametrize("sig", ["SIGINT", "SIGKILL"])
def test_killed_cli_keeps_finished_tracks(tmp_path, sig):
    import os
    import signal
    import sqlite3
    import subprocess
    import sys
    import time

    d = tmp_path / "music"
    d.mkdir()
    for i in range(8):
        write_wav(d / f"long{i}.wav", click_track(100 + 5 * i, 25.0, sr=22050, seed=i), 22050)
    db = tmp_path / "lib.sqlite"
    env = {**os.environ, "TRACKMOOD_DB": str(db)}
    cmd = [
        sys.executable,
        "-m",
        "trackmood",
        "extract",
        str(d),
        "-o",
        str(tmp_path / "f.csv"),
        "--workers",
        "2",
    ]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def finished():
        if not db.exists():
            return 0
        try:
            with sqlite3.connect(db, timeout=1) as c:
                return c.execute("SELECT count(*) FROM kv WHERE namespace='audio'").fetchone()[0]
        except sqlite3.OperationalError:
            return 0

    deadline = time.time() + 60
    while finished() < 1 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    if proc.poll() is not None:
        pytest.skip("the batch finished before it could be interrupted")
    proc.send_signal(getattr(signal, sig))
    _, err = proc.communicate(timeout=30)
    kept = finished()
    assert 1 <= kept < 8 or kept == 8
    assert not (tmp_path / "f.csv").exists()  # no half-written output
    if sig == "SIGINT":
        assert proc.returncode == 130 and b"finished file is kept" in err
    done = subprocess.run(cmd, check=False, env=env, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert finished() == 8
    import pandas as pd

    assert len(pd.read_csv(tmp_path / "f.csv")) == 8
