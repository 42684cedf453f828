"""The audio worker pool: a worker that dies (a segfault) costs one file, not the server; the
library lock is not held while audio is analysed.
"""

from __future__ import annotations

import os
import signal
import threading
import time

import httpx

from trackmood.web import create_app
from trackmood.web.workers import AudioPool

from .test_web_api import AUTH, fake_extract, wav_bytes, web_client
from .test_web_hostile import real_server

CRASH = b"CRASH-ME"


def crashy_extract(path, *, window=None):
    """The fake analysis, but a file holding ``CRASH-ME`` kills its worker with SIGSEGV."""
    with open(path, "rb") as fh:
        if CRASH in fh.read():
            os.kill(os.getpid(), signal.SIGSEGV)
    return fake_extract(path, window=window)


def hanging_extract(path, *, window=None):
    """A file holding ``HANG`` never finishes (a decoder stuck in a loop)."""
    with open(path, "rb") as fh:
        if b"HANG" in fh.read():
            time.sleep(600)
    return fake_extract(path, window=window)


def slow_extract(path, *, window=None):
    time.sleep(3)
    return fake_extract(path, window=window)


def test_pool_survives_a_segfault(tmp_path):
    good, bad = tmp_path / "good.wav", tmp_path / "bad.wav"
    good.write_bytes(wav_bytes(0.1))
    bad.write_bytes(wav_bytes(0.1) + CRASH)
    pool = AudioPool(workers=1, analyser=crashy_extract)
    try:
        first = pool.analyse([str(good)])
        assert "features" in first[0]
        out = pool.analyse([str(bad), str(good)])
        assert "features" in out[1]  # the other file of the batch is still analysed
        assert "crashed" in out[0]["error"] and "SIGSEGV" in out[0]["error"]
        assert "retried alone in a fresh process" in out[0]["error"]
        assert pool.crashes >= 2  # the first try and the retry in a fresh pool
        again = pool.analyse([str(good)])
        assert "features" in again[0] and again[0]["pid"] != first[0]["pid"]
    finally:
        pool.shutdown()


def test_pool_replaces_a_stuck_worker(tmp_path):
    stuck, good = tmp_path / "stuck.wav", tmp_path / "good.wav"
    stuck.write_bytes(wav_bytes(0.1) + b"HANG")
    good.write_bytes(wav_bytes(0.1))
    pool = AudioPool(workers=1, analyser=hanging_extract, timeout=8)
    try:
        t0 = time.monotonic()
        out = pool.analyse([str(stuck)])
        assert "took longer than 8 s" in out[0]["error"]
        assert time.monotonic() - t0 < 60
        assert "features" in pool.analyse([str(good)])[0]  # a fresh worker took over
    finally:
        pool.shutdown()


def test_server_survives_a_crashing_upload(tmp_path):
    analyser = "tests.test_web_workers:crashy_extract"
    with real_server(tmp_path, analyser=analyser) as (base, proc):
        with httpx.Client(base_url=base, timeout=120, headers=AUTH) as c:
            ok = ("files", ("fine.wav", wav_bytes(0.2), "audio/wav"))
            r = c.post("/predict/audio", files=[ok])
            assert r.status_code == 200 and r.json()["predictions"][0]["mood"], r.text
            bad = ("files", ("boom.wav", wav_bytes(0.2) + CRASH, "audio/wav"))
            r = c.post("/predict/audio", files=[bad])
            assert r.status_code == 200, r.text
            p = r.json()["predictions"][0]
            assert p["mood"] is None and p["status"] == "failed"
            assert p["reason"].startswith("boom.wav: the audio analysis crashed")
            assert "SIGSEGV" in p["reason"] and "upload-" not in p["reason"]
            assert r.json()["errors"] == 1 and r.json()["model"] == "audio"
            assert proc.poll() is None  # the server is alive
            assert c.get("/health").json()["status"] == "ok"
            other = ("files", ("next.wav", wav_bytes(0.3, freq=330.0), "audio/wav"))
            r = c.post("/predict/audio", files=[other])
            assert r.status_code == 200 and r.json()["predictions"][0]["status"] == "ok"
            assert c.get("/tracks").json()["total"] == 2  # the crashed file is not in the library


def test_library_is_not_locked_while_audio_is_analysed(tmp_path):
    app = create_app(store_path=tmp_path / "lock.sqlite", audio_analyser=slow_extract)
    with web_client(app) as c:
        c.app.state.trackmood.pool.warm()
        time.sleep(2)  # the worker is up
        result = {}

        def upload():
            files = [("files", ("slow.wav", wav_bytes(0.1), "audio/wav"))]
            result["r"] = c.post("/predict/audio", files=files)

        t = threading.Thread(target=upload)
        t.start()
        time.sleep(1.0)  # the analysis (3 s) is under way
        t0 = time.perf_counter()
        assert c.get("/tracks").status_code == 200
        waited = time.perf_counter() - t0
        assert t.is_alive()  # still analysing while the library answered
        t.join(timeout=60)
        assert waited < 1.0, waited
        assert result["r"].status_code == 200 and result["r"].json()["predictions"][0]["mood"]
