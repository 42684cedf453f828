"""``trackmood serve`` as users run it (a real subprocess, real HTTP): off loopback it answers
only to the names it was started for (DNS rebinding), and changes need the token it printed.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from .test_web_api import FEATURES, TOKEN

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(tmp_path, *args: str, env: dict | None = None):
    """``trackmood serve --port FREE ARGS`` in a subprocess; yields ``(port, stderr lines,
    stdout lines)`` once it answers.
    """
    port = free_port()
    full_env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    full_env.pop("TRACKMOOD_TOKEN", None)
    full_env.update(env or {})
    proc = subprocess.Popen(
        [sys.executable, "-m", "trackmood", "serve", "--port", str(port)]
        + ["--db", str(tmp_path / "serve.sqlite"), "--log-level", "info", *args],
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    err: list[str] = []
    out: list[str] = []
    readers = [
        threading.Thread(target=lambda: err.extend(proc.stderr), daemon=True),
        threading.Thread(target=lambda: out.extend(proc.stdout), daemon=True),
    ]
    for t in readers:
        t.start()
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("server did not start: " + "".join(err))
            time.sleep(0.1)
        yield port, err, out
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        for t in readers:
            t.join(timeout=5)


def call(port: int, method: str, path: str, host: str, token: str | None = None, **kw):
    headers = {"Host": host, **kw.pop("headers", {})}
    if token is not None:
        headers["X-Trackmood-Token"] = token
    return httpx.request(
        method, f"http://127.0.0.1:{port}{path}", headers=headers, timeout=30, **kw
    )


def test_exposed_server_refuses_other_hosts_and_writes_without_the_token(tmp_path):
    with serve(tmp_path, "--host", "0.0.0.0", "--allow-host", "music.lan") as (port, err, out):
        printed = "".join(err)
        found = re.findall(r"token for changes \(the page sends it by itself\): (\S+)", printed)
        assert len(found) == 1, printed
        token = found[0]
        assert len(token) >= 32
        local = f"127.0.0.1:{port}"
        r = call(port, "POST", "/predict", local, token, json=[dict(FEATURES, id="t1")])
        assert r.status_code == 200, r.text
        tid = r.json()["predictions"][0]["id"]

        # a DNS-rebinding page: its requests carry its own name in Host
        for host in (
            f"evil.example:{port}",
            "evil.example",
            f"{socket.gethostname()}.evil.example",
        ):
            r = call(port, "GET", "/tracks", host)
            assert r.status_code == 421, r.text
            assert "evil.example" in r.json()["error"] and "tracks" not in r.text
            r = call(port, "PUT", f"/tracks/{tid}/label", host, token, json={"mood": "Sad"})
            assert r.status_code == 421  # even with the token
        # the names it was started for: its address, this machine's name, --allow-host
        for host in (local, f"localhost:{port}", socket.gethostname(), "music.lan", "MUSIC.LAN."):
            r = call(port, "GET", "/tracks", host)
            assert r.status_code == 200 and r.json()["total"] == 1, (host, r.text)
        # changes need the token, whatever the Host
        r = call(port, "PUT", f"/tracks/{tid}/label", "music.lan", json={"mood": "Sad"})
        assert r.status_code == 403 and "X-Trackmood-Token" in r.json()["error"]
        r = call(port, "PUT", f"/tracks/{tid}/label", "music.lan", "x" * 43, json={"mood": "Sad"})
        assert r.status_code == 403 and "wrong token" in r.json()["error"]
        r = call(port, "PUT", f"/tracks/{tid}/label", "music.lan", token, json={"mood": "Sad"})
        assert r.status_code == 200 and r.json()["label"] == "Sad", r.text
        # the page carries the token; a page fetched through a foreign name is refused
        page = call(port, "GET", "/", "music.lan").text
        assert f'<meta name="trackmood-token" content="{token}">' in page
        assert call(port, "GET", "/", "evil.example").status_code == 421
        # a cross-site form (no custom header can be added) cannot write
        r = call(
            port,
            "POST",
            "/predict/file",
            local,
            headers={"Origin": "http://evil.example"},
            files={"file": ("a.csv", b"energy\n0.5\n", "text/csv")},
        )
        assert r.status_code == 403
        time.sleep(0.3)  # let the access log of the last requests be written
    # the token is printed once, on stderr, and logged nowhere else
    assert "".join(err).count(token) == 1 and token not in "".join(out)


def test_loopback_server_with_a_given_token(tmp_path):
    with serve(tmp_path, env={"TRACKMOOD_TOKEN": TOKEN}) as (port, err, _out):
        assert TOKEN not in "".join(err)  # given by the user: not echoed into logs
        assert "token for changes: the one given" in "".join(err)
        r = call(port, "GET", "/tracks", f"evil.example:{port}")
        assert r.status_code == 421
        r = call(port, "GET", "/tracks", socket.gethostname())
        assert r.status_code == (200 if socket.gethostname() == "localhost" else 421)
        body = [dict(FEATURES, id="t1")]
        assert call(port, "POST", "/predict", f"localhost:{port}", json=body).status_code == 403
        r = call(port, "POST", "/predict", f"[::1]:{port}", TOKEN, json=body)
        assert r.status_code == 200, r.text
        r = call(
            port,
            "POST",
            "/predict",
            f"127.0.0.1:{port}",
            headers={"Authorization": f"Bearer {TOKEN}"},
            json=body,
        )
        assert r.status_code == 200


@pytest.mark.parametrize("token", ["short", "has space in it 1234567890"])
def test_serve_refuses_a_weak_token(tmp_path, token):
    r = subprocess.run(
        [sys.executable, "-m", "trackmood", "serve", "--db", str(tmp_path / "x.sqlite")],
        env={**os.environ, "PYTHONPATH": str(ROOT / "src"), "TRACKMOOD_TOKEN": token},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode != 0 and r.stderr.count("\n") == 1
    assert "16 to 256 characters" in r.stderr and token not in r.stderr
