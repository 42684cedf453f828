"""A real MPD for tests: its own config in a temporary folder, a free loopback port, null audio."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_mpd(home: Path, music: Path) -> tuple[subprocess.Popen, int]:
    """Start ``mpd`` over ``music`` (state in ``home``) and wait until it answers; returns the
    process (the caller kills it) and its port.
    """
    (home / "playlists").mkdir(parents=True)
    port = free_port()
    conf = home / "mpd.conf"
    conf.write_text(
        f'music_directory "{music}"\nplaylist_directory "{home / "playlists"}"\n'
        f'db_file "{home / "db"}"\nstate_file "{home / "state"}"\n'
        f'log_file "{home / "log"}"\nbind_to_address "127.0.0.1"\nport "{port}"\n'
        'audio_output {\n  type "null"\n  name "null"\n}\n'
    )
    proc = subprocess.Popen(
        ["mpd", "--no-daemon", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, port
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise AssertionError(f"mpd did not start: {proc.stderr.read()!r}") from None
            time.sleep(0.1)
