"""A broken library under the web app: a real SQLite file overwritten, made immutable, on a
read-only or a full file system (real tmpfs mounts). Requests that need it answer 503 with a
line naming the file and what to do; ``/health`` says the library is unavailable.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from trackmood.web import create_app

from .test_web_api import FEATURES, LOUD, web_client

CHECK = "trackmood library check"


def rows(n: int, prefix: str = "t") -> list[dict]:
    return [dict(FEATURES, id=f"{prefix}{i}", name=f"song {i}") for i in range(n)]


def assert_unavailable(r, db: Path, *words: str) -> None:
    assert r.status_code == 503, r.text[:300]
    message = r.json()["error"]
    assert "\n" not in message and str(db) in message, message
    assert "internal error" not in message
    for w in words:
        assert w in message, message


def assert_degraded(c, db: Path, *words: str) -> None:
    r = c.get("/health")
    assert r.status_code == 503, r.text
    body = r.json()
    assert body["status"] == "degraded" and body["library"].startswith("unavailable: ")
    assert str(db) in body["library"]
    for w in words:
        assert w in body["library"], body["library"]


@contextlib.contextmanager
def tmpfs(where: Path, *options: str):
    """A real tmpfs mounted at ``where`` (skips when mounting is not permitted)."""
    where.mkdir(parents=True, exist_ok=True)
    opts = ",".join(options) or "size=8m"
    r = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(where)], capture_output=True, text=True
    )
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root/CAP_SYS_ADMIN): {r.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def test_library_overwritten_while_the_server_runs(tmp_path):
    db = tmp_path / "lib.sqlite"
    with web_client(create_app(store_path=db)) as c:
        assert c.post("/predict", json=rows(20)).status_code == 200
        assert c.get("/health").json() == {
            "status": "ok",
            "version": c.get("/health").json()["version"],
            "model": "default",
            "library": "ok",
        }
        tid = c.get("/tracks").json()["tracks"][0]["id"]
        with open(db, "r+b") as fh:  # garbage over the SQLite header
            original = fh.read(4096)
            fh.seek(0)
            fh.write(os.urandom(4096))
        assert_unavailable(c.get("/tracks"), db, "damaged", CHECK)
        assert_unavailable(c.get(f"/tracks/{tid}"), db, "damaged", CHECK)
        assert_unavailable(c.put(f"/tracks/{tid}/label", json={"mood": "Sad"}), db, CHECK)
        assert_unavailable(c.delete(f"/tracks/{tid}"), db, CHECK)
        assert_unavailable(c.post("/predict", json=[LOUD]), db, CHECK)
        assert_degraded(c, db, "damaged", CHECK)
        # what does not need the library still works
        assert c.get("/model").status_code == 200
        r = c.post("/predict", json=[LOUD], params={"store": "false"})
        assert r.status_code == 200 and r.json()["predictions"][0]["mood"]
        with open(db, "r+b") as fh:  # put the header back: the library works again
            fh.write(original)
        assert c.get("/health").json()["library"] == "ok"
        assert c.get("/tracks").json()["total"] == 20


def test_library_damaged_at_start(tmp_path):
    db = tmp_path / "lib.sqlite"
    db.write_bytes(os.urandom(64 * 1024))  # not SQLite at all
    # the command refuses to start: one line, the file, what to do, exit 5
    r = CliRunner().invoke(__import__("trackmood.cli").cli.app, ["serve", "--db", str(db)])
    assert r.exit_code == 5, r.output
    assert r.output.count("\n") == 1 and str(db) in r.output and CHECK in r.output
    assert "Traceback" not in r.output
    # the app (Python API) starts degraded and says why
    with web_client(create_app(store_path=db)) as c:
        assert_degraded(c, db, "damaged")
        assert_unavailable(c.get("/tracks"), db, "damaged")
        assert_unavailable(c.post("/predict", json=rows(1)), db, "damaged")
        assert c.get("/").status_code == 200


def test_library_made_immutable_while_the_server_runs(tmp_path):
    if shutil.which("chattr") is None:
        pytest.skip("chattr is not installed (e2fsprogs)")
    db = tmp_path / "lib.sqlite"
    with web_client(create_app(store_path=db)) as c:
        assert c.post("/predict", json=rows(5)).status_code == 200
        files = [p for p in (db, Path(f"{db}-wal")) if p.exists()]
        r = subprocess.run(["chattr", "+i", *map(str, files)], capture_output=True, text=True)
        if r.returncode != 0:
            pytest.skip(f"this file system has no immutable flag: {r.stderr.strip()}")
        try:  # root ignores chmod; an immutable file stops root too
            r = c.post("/predict", json=rows(300, "u"))
            assert_unavailable(r, db, "is read-only", "writable")
            assert_degraded(c, db, "read-only")
        finally:
            subprocess.run(["chattr", "-i", *map(str, files)], check=True)
        assert c.get("/health").json()["library"] == "ok"
        assert c.post("/predict", json=rows(3, "v")).status_code == 200


def test_library_on_a_read_only_file_system(tmp_path):
    with tmpfs(tmp_path / "ro", "size=8m") as mnt:
        db = mnt / "lib.sqlite"
        with web_client(create_app(store_path=db)) as c:
            assert c.post("/predict", json=rows(5)).status_code == 200
        r = subprocess.run(["mount", "-o", "remount,ro", str(mnt)], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        with web_client(create_app(store_path=db)) as c:
            assert_degraded(c, db, "read-only file system")
            r = c.post("/predict", json=[LOUD])
            assert_unavailable(r, db, "read-only file system", "writable")
            got = c.get("/tracks")  # reading may still work; never a 500
            assert got.status_code in (200, 503), got.text
            if got.status_code == 503:
                assert_unavailable(got, db)


def test_library_on_a_full_disk(tmp_path):
    with tmpfs(tmp_path / "full", "size=2m") as mnt:
        db = mnt / "lib.sqlite"
        with web_client(create_app(store_path=db)) as c:
            assert c.post("/predict", json=rows(5)).status_code == 200
            filler = mnt / "filler"
            with open(filler, "wb", buffering=0) as fh:  # take every free byte of the disk
                with contextlib.suppress(OSError):
                    while True:
                        fh.write(b"\0" * 4096)
            r = c.post("/predict", json=rows(2000, "big"))
            assert_unavailable(r, db, "disk is full", "free some space")
            assert_degraded(c, db, "disk is full")
            filler.unlink()
            assert c.get("/health").json()["library"] == "ok"
            assert c.post("/predict", json=rows(10, "after")).status_code == 200
            assert c.get("/tracks", params={"limit": 1}).json()["total"] == 15
