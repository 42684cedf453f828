"""`trackmood login`/`logout` against the fake accounts service: headless PKCE (authorize → code →
token with the verifier checked), state, refusal, timeout; token caches per client id;
invalid_grant; commands without a login say to run `trackmood login`.
"""

# ruff: noqa: F811  (pytest fixtures imported from tests.fakes)
import json
import os
import stat
import subprocess
import sys
import threading
import time

import pytest
from typer.testing import CliRunner

from tests.fakes import fake_spotify, login  # noqa: F401
from trackmood.cli import app
from trackmood.errors import SourceError
from trackmood.sources import spotify as S
from trackmood.sources import spotify_auth as A

runner = CliRunner()


def _authorize_url(messages):
    for m in messages:
        for line in m.splitlines():
            if "/authorize?" in line:
                return line.strip()
    raise AssertionError(f"no authorize URL in {messages}")


@pytest.mark.timeout(60)
def test_headless_login_command_end_to_end(fake_spotify):
    env = {**os.environ, "DISPLAY": "", "WAYLAND_DISPLAY": ""}
    proc = subprocess.Popen(
        [sys.executable, "-m", "trackmood", "login", "--no-browser", "--timeout", "30"],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen = []
    while True:  # the URL is printed before anything is read
        line = proc.stderr.readline()
        assert line, "".join(seen)
        seen.append(line)
        if "/authorize?" in line:
            break
    url = line.strip()
    assert url.startswith(fake_spotify.accounts_url + "/authorize?")
    assert "code_challenge_method=S256" in url and "state=" in url
    # the user opens it elsewhere, agrees, and pastes where the browser was sent
    redirected = fake_spotify.redirect_for(url)
    proc.stdin.write(redirected + "\n")
    proc.stdin.close()
    # read on through the same buffered reader: communicate() would skip what it read ahead
    err = "".join(seen) + proc.stderr.read()
    proc.wait(timeout=30)
    assert proc.returncode == 0, err
    said = " ".join(err.split())  # a message may wrap at the terminal's width
    assert "paste here the whole URL" in said and "logged in" in said
    assert "feed Spotify's data into trackmood's mood model" in said  # the terms notice
    assert fake_spotify.requests("/api/token", status=200)
    path = A.token_cache_path("user")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert fake_spotify.client_id not in path.name  # keyed by a hash of the client id
    # the cached login now serves the API, in another process (this one)
    assert S.SpotifyAPI(S.client(user=True)).me()["id"] == fake_spotify.user_id
    assert fake_spotify.client_secret not in proc.stdout.read() + err


def _login_with(fake, answer, **kw):
    said = []

    def read_line():
        return answer(_authorize_url(said))

    info = A.login(say=said.append, read_line=read_line, open_browser=False, **kw)
    return info, said


def test_login_function_checks_state_and_pkce_verifier(fake_spotify):
    info, said = _login_with(fake_spotify, fake_spotify.redirect_for, timeout=10)
    assert info["cache"] == A.token_cache_path("user") and A.has_user_login()
    assert any("page itself may fail to load" in m for m in said)
    # a redirect belonging to another attempt (different state) is refused before any token call
    other = A.auth_manager(user=True).get_authorize_url(state="someone-elses")
    fake_spotify.clear_log()
    with pytest.raises(SourceError, match="another login attempt"):
        _login_with(fake_spotify, lambda url: fake_spotify.redirect_for(other), timeout=10)
    assert not fake_spotify.requests("/api/token")


def test_login_refused_by_the_user(fake_spotify):
    fake_spotify.deny_authorization = True
    with pytest.raises(SourceError, match="did not authorize.*access_denied.*not to agree"):
        _login_with(fake_spotify, fake_spotify.redirect_for, timeout=10)
    assert not A.has_user_login()


def test_login_times_out_with_a_clear_message(fake_spotify):
    never = threading.Event()
    t0 = time.monotonic()
    with pytest.raises(SourceError, match=r"no redirected URL within 0 s; nothing changed"):
        A.login(say=lambda m: None, read_line=lambda: never.wait(5) or "", timeout=0.3)
    assert time.monotonic() - t0 < 3


def test_cli_login_eof_and_garbage_are_one_line_errors(fake_spotify):
    r = runner.invoke(app, ["login", "--no-browser", "--timeout", "5"], input="")
    assert r.exit_code == 4 and "no redirected URL was given" in r.stderr.splitlines()[-1]
    r = runner.invoke(app, ["login", "--no-browser", "--timeout", "5"], input="hello\n")
    assert r.exit_code == 4 and "no authorization code" in r.stderr.splitlines()[-1]
    assert "Spotify Developer Terms §IV.2.a.i" in r.stderr  # shown by every login


def test_logout_forgets_this_apps_tokens(fake_spotify):
    login(fake_spotify)
    assert A.has_user_login()
    r = runner.invoke(app, ["logout"])
    assert r.exit_code == 0 and "removed 1" in r.stderr
    assert not A.has_user_login()
    r = runner.invoke(app, ["logout"])
    assert r.exit_code == 0 and "no cached Spotify login" in r.stderr


def test_commands_needing_a_user_say_run_login_when_not_on_a_terminal(fake_spotify):
    pid = fake_spotify.add_playlist(fake_spotify.add_tracks(2))
    for args in (["playlists", "split", pid], ["collect", "--mood", "Calm", pid]):
        r = runner.invoke(app, args)
        assert r.exit_code == 4, r.stderr
        lines = [x for x in r.stderr.splitlines() if x.strip()]
        assert lines[-1].startswith("trackmood: error: ") and "run `trackmood login`" in lines[-1]
    assert not fake_spotify.requests("/authorize")  # no flow was started


def test_token_caches_are_kept_per_client_id(fake_spotify, monkeypatch):
    tid = fake_spotify.add_track()
    S.SpotifyAPI(S.client()).get(f"tracks/{tid}")
    login(fake_spotify)
    first_app, first_user = A.token_cache_path("app"), A.token_cache_path("user")
    assert first_app.exists() and first_user.exists()
    # switching to another app (e.g. after QUOTA_EXCEEDED) never reuses the first app's tokens
    monkeypatch.setenv("SPOTIPY_CLIENT_ID", "another-app-client-id")
    assert A.token_cache_path("app") != first_app and not A.has_user_login()
    fake_spotify.clear_log()
    with pytest.raises(SourceError, match="invalid_client"):
        S.SpotifyAPI(S.client()).get(f"tracks/{tid}")
    assert fake_spotify.requests("/api/token")  # it asked for a token of its own
    with pytest.raises(A.LoginRequired, match="run `trackmood login`"):
        S.SpotifySource().user_api()


def test_expired_or_revoked_refresh_token_says_invalid_grant_and_login(fake_spotify):
    pid = fake_spotify.add_playlist(fake_spotify.add_tracks(2))
    login(fake_spotify)
    path = A.token_cache_path("user")
    token = json.loads(path.read_text())
    token["expires_at"] = 0  # the access token expired: spotipy refreshes it
    path.write_text(json.dumps(token))
    fake_spotify.revoke_refresh_tokens()
    r = runner.invoke(app, ["playlists", "split", pid])
    assert r.exit_code == 4
    line = [x for x in r.stderr.splitlines() if x.strip()][-1]
    assert "invalid_grant" in line and "expired or was revoked" in line
    assert "run `trackmood login`" in line and "SPOTIPY_CLIENT_SECRET" not in line


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.timeout(60)
def test_login_with_a_browser_catches_the_redirect(fake_spotify):
    from pathlib import Path

    redirect = f"http://127.0.0.1:{_free_port()}/callback"
    fake_spotify.redirect_uris.add(redirect)
    browser = Path(__file__).parent / "fakes" / "browser.py"
    env = {
        **os.environ,
        "SPOTIPY_REDIRECT_URI": redirect,
        "DISPLAY": ":99",
        "BROWSER": f"{sys.executable} {browser} %s",
    }
    env.pop("SSH_CONNECTION", None)
    env.pop("SSH_TTY", None)
    r = subprocess.run(
        [sys.executable, "-m", "trackmood", "login", "--timeout", "30"],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=50,
    )
    assert r.returncode == 0, r.stderr
    assert "/authorize?" in r.stderr  # printed even when a browser opens
    assert "waiting up to 30 s for the browser" in r.stderr and "paste" not in r.stderr
    assert A.has_user_login()
