"""The audio engine: each file decoded once for descriptors and embedding, a content cache that
answers a renamed file, names that are not UTF-8, long tracks on a bounded budget, and a real
Dask cluster giving the moods of the local run.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from trackmood import pipeline
from trackmood.audio import decode as decode_mod
from trackmood.audio import embedding as embedding_mod
from trackmood.engine import Engine, find_audio, read
from trackmood.store import Store

from .audio_fixtures import click_track, music_like, write_soundfile, write_wav

SRC = str(Path(__file__).parents[1] / "src")


@pytest.fixture()
def folder(tmp_path):
    d = tmp_path / "music"
    d.mkdir()
    for i, bpm in enumerate((90, 120)):
        write_wav(d / f"t{i}.wav", click_track(bpm, 6.0, sr=22050, seed=i), 22050)
    # a long track: read by seeking, on the excerpt budget
    write_soundfile(d / "long.flac", click_track(100, 150.0, sr=22050, seed=5), 22050, "FLAC")
    return d


@pytest.fixture()
def decodes(monkeypatch):
    """Every decode of a file: whole (``open_stream``), by seeking (``seek_regions`` that read),
    and the embedding's own readers, which the engine must never use.
    """
    calls: list[tuple[str, str]] = []
    real_open, real_seek = decode_mod.open_stream, read.seek_regions

    def open_stream(path, **kw):
        calls.append(("whole", Path(path).name))
        return real_open(path, **kw)

    def seek_regions(path, plan, max_duration=None, **kw):
        got = real_seek(path, plan, max_duration, **kw)
        if got is not None:
            calls.append(("seek", Path(path).name))
        return got

    def forbidden(*a, **k):
        calls.append(("embedding reader", str(a[0])))
        raise AssertionError("the embedding read the file on its own")

    monkeypatch.setattr(decode_mod, "open_stream", open_stream)
    monkeypatch.setattr(read, "seek_regions", seek_regions)
    monkeypatch.setattr(embedding_mod, "embed_file", forbidden)
    monkeypatch.setattr(decode_mod, "decode", forbidden)
    return calls


def test_each_file_is_decoded_once_for_descriptors_and_embedding(folder, decodes):
    out = list(Engine(workers=1, patches=9).results([folder]))
    assert len(out) == 3 and all("features" in r for r in out), out
    assert sorted(decodes) == [("seek", "long.flac"), ("whole", "t0.wav"), ("whole", "t1.wav")]
    for r in out:
        f = r["features"]
        assert len([k for k in f if k.startswith("mn_pen")]) == 200  # the embedding
        assert "a_mfcc00_mean" in f and f["duration_ms"] > 0  # the descriptors
    long = next(r for r in out if r["name"] == "long")
    assert long["read"] == "excerpts" and long["features"]["duration_ms"] == pytest.approx(1.5e5)
    assert long["features"]["tempo"] == pytest.approx(100, abs=1.5)


def test_renamed_file_is_answered_from_the_cache_without_decoding(folder, tmp_path, decodes):
    store = Store(tmp_path / "lib.sqlite")
    first = {r["name"]: r for r in Engine(store=store, workers=1, patches=9).results([folder])}
    assert len(decodes) == 3
    (folder / "t0.wav").rename(folder / "renamed.wav")
    again = {r["name"]: r for r in Engine(store=store, workers=1, patches=9).results([folder])}
    assert len(decodes) == 3  # nothing decoded again
    assert again["renamed"]["cached"] and again["renamed"]["path"].endswith("renamed.wav")
    # the embedding comes back from the float32 store exactly as it was computed
    same = [json.dumps(r["features"], sort_keys=True) for r in (again["renamed"], first["t0"])]
    assert same[0] == same[1]
    shas = [r["sha"] for r in first.values()]
    assert len(store.get_embeddings("musicnn-v2-p9", shas)) == 3


def test_names_that_are_not_utf8_are_analysed_and_shown_escaped_or_skipped_by_the_library(
    tmp_path,
):
    d = tmp_path / "music"
    d.mkdir()
    write_wav(d / "fine.wav", music_like(6.0), 22050)
    raw = os.fsencode(str(d)) + b"/caf\xe9 \xff.wav"
    with open(raw, "wb") as f:
        f.write((d / "fine.wav").read_bytes())
    # the library keeps paths as text: such a name is skipped there, with its reason
    found = find_audio([d], utf8_only=True)
    assert [Path(p).name for p in found.paths] == ["fine.wav"]
    assert found.bad[0][1].endswith("caf\\xe9 \\xff.wav: the file name is not valid UTF-8; "
                                    "rename the file")  # fmt: skip
    # predict analyses it like any other file and shows its name escaped
    assert len(find_audio([d]).paths) == 2
    store = Store(tmp_path / "lib.sqlite")
    result = pipeline.run([str(d)], store=store, workers=1)
    rows = result.predictions.set_index("name")
    assert rows.loc["fine", "status"] == "ok"
    bad = rows.loc["caf\\xe9 \\xff"]
    assert bad["status"] == "ok" and bad["mood"] == rows.loc["fine", "mood"]
    assert "\\xe9" in bad["path"] and bad["path"].isprintable()


def test_long_track_memory_does_not_grow_with_its_length(tmp_path):
    """Peak RSS of analysing a 3-minute and a 12-minute track in fresh processes."""
    code = (
        "import sys, json\n"
        "from trackmood.engine import analyse_file\n"
        "r = analyse_file(sys.argv[1], patches=9)\n"
        "hwm = next(int(l.split()[1]) for l in open('/proc/self/status') "
        "if l.startswith('VmHWM'))\n"
        "print(json.dumps({'mb': hwm / 1024, 'read': r.get('read'), 'err': r.get('error')}))\n"
    )
    peaks = {}
    for minutes in (3, 12):
        path = tmp_path / f"{minutes}.flac"
        import soundfile as sf

        with sf.SoundFile(str(path), "w", 22050, 1, format="FLAC") as f:
            for m in range(minutes):
                f.write(music_like(60.0, sr=22050, seed=m))
        env = {**os.environ, "PYTHONPATH": SRC}
        out = subprocess.run(
            [sys.executable, "-c", code, str(path)], env=env, capture_output=True, text=True
        )
        assert out.returncode == 0, out.stderr
        got = json.loads(out.stdout)
        assert got["err"] is None and got["read"] == "excerpts"
        peaks[minutes] = got["mb"]
    # whole-track analysis grows by ~18 KB per second of frames plus the decoded signal
    # (~4 MB per minute at 22 kHz): 10 more minutes would add over 40 MB
    assert peaks[12] - peaks[3] < 15, peaks


# -- a real Dask cluster: scheduler + 2 workers on loopback -------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_dask_cluster_scan_gives_the_moods_of_the_local_run(tmp_path):
    pytest.importorskip("distributed")
    from trackmood.library import catalog
    from trackmood.library.scan import scan

    music = tmp_path / "music"
    music.mkdir()
    for i, bpm in enumerate((70, 95, 128, 150)):
        y = click_track(bpm, 8.0, sr=22050, seed=i) + 0.5 * music_like(8.0, seed=i)
        write_wav(music / f"clip{i}.wav", y.astype(np.float32), 22050)
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    dask = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
    procs = [
        subprocess.Popen(
            [*dask, "--host", "127.0.0.1", "--port", str(port), "--dashboard-address", ":0"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    ]
    try:
        for _ in range(2):
            procs.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "distributed.cli.dask_worker",
                        address,
                        "--nthreads",
                        "1",
                        "--host",
                        "127.0.0.1",
                        "--no-dashboard",
                    ],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )  # fmt: skip
            )
        from distributed import Client

        deadline = time.monotonic() + 60
        while True:
            try:
                with Client(address, timeout="5s") as client:
                    client.wait_for_workers(2, timeout=60)
                    pids = set(client.run(os.getpid).values())
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        assert len(pids) == 2 and os.getpid() not in pids
        remote = Store(tmp_path / "remote.sqlite")
        rep = scan(remote, [music], scheduler=address)
        assert rep.analysed == 4 and not rep.failed, rep.lines()
        local = Store(tmp_path / "local.sqlite")
        scan(local, [music], workers=1)
        moods = [
            {Path(r["path"]).name: (r["mood"], round(r["confidence"], 4)) for r in catalog.analysed(s)}
            for s in (remote, local)
        ]  # fmt: skip
        assert moods[0] == moods[1] and len(moods[0]) == 4
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def test_a_single_song_lets_the_network_use_every_core_and_workers_1_stays_one_thread(tmp_path):
    from trackmood.audio import embedding
    from trackmood.engine.executors import InProcess, make_executor

    one, _ = make_executor(jobs=1)
    assert isinstance(one, InProcess) and one.threads == (os.cpu_count() or 1)
    scan_one, _ = make_executor(workers=1, jobs=40)
    assert isinstance(scan_one, InProcess) and scan_one.threads == 1
    seen = []
    real = embedding.run_patches

    def spy(batch, graph="msd"):
        seen.append(embedding.THREADS)
        return real(batch, graph)

    write_wav(tmp_path / "a.wav", music_like(6.0), 22050)
    embedding.run_patches = spy
    try:
        for _i, res in InProcess(threads=2).imap([str(tmp_path / "a.wav")], patches=9):
            assert "features" in res, res
    finally:
        embedding.run_patches = real
    assert seen == [2] and embedding.THREADS == 1  # restored after the run
