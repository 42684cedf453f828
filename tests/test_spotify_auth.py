"""Spotify credentials, client credentials and PKCE against the fake; token cache; no secrets shown."""

# ruff: noqa: F811  (pytest fixtures imported from tests.fakes)
import os
import stat

import pytest
from typer.testing import CliRunner

from tests.fakes import fake_spotify, login  # noqa: F401
from trackmood.cli import app
from trackmood.errors import SourceError
from trackmood.sources import spotify as S

runner = CliRunner()


def test_client_credentials_against_fake_and_cache_mode_0600(fake_spotify):
    fake_spotify.add_tracks(1)
    api = S.SpotifyAPI(S.client(user=False))
    tid = next(iter(fake_spotify.tracks))
    assert api.get(f"tracks/{tid}")["id"] == tid
    path = S.token_cache_path("app")
    assert path.exists()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert fake_spotify.requests("/api/token", status=200)
    # a second client reuses the cached token: no second token request
    S.SpotifyAPI(S.client(user=False)).get(f"tracks/{tid}")
    assert len(fake_spotify.requests("/api/token")) == 1


def test_pkce_login_through_fake_caches_user_token_0600(fake_spotify):
    manager = login(fake_spotify)
    path = S.token_cache_path("user")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    api = S.SpotifyAPI(S.client(user=True, manager=manager))
    assert api.me()["id"] == fake_spotify.user_id
    # the authorize URL went to the configured accounts base, with S256
    auth = fake_spotify.requests("/authorize")[0]["path"]
    assert "code_challenge_method=S256" in auth and "redirect_uri=http%3A%2F%2F127.0.0.1" in auth


def test_fake_rejects_wrong_pkce_verifier(fake_spotify):
    manager = S.auth_manager(user=True, open_browser=False)
    code = fake_spotify.authorize(manager.get_authorize_url())
    manager.code_verifier = "not-the-verifier-" * 3
    with pytest.raises(Exception, match="code_verifier"):
        manager.get_access_token(code, check_cache=False)


@pytest.mark.parametrize(
    "unset,user",
    [
        ("SPOTIPY_CLIENT_ID", False),
        ("SPOTIPY_CLIENT_SECRET", False),
        ("SPOTIPY_REDIRECT_URI", True),
        ("SPOTIPY_CLIENT_ID", True),
    ],
)
def test_missing_credentials_name_the_variable(fake_spotify, monkeypatch, unset, user):
    monkeypatch.delenv(unset)
    with pytest.raises(SourceError, match=f"set {unset}"):
        S.credentials(user=user)


def test_credentials_from_dotenv(fake_spotify, monkeypatch, tmp_path):
    secret = os.environ["SPOTIPY_CLIENT_SECRET"]
    monkeypatch.delenv("SPOTIPY_CLIENT_SECRET")
    (tmp_path / ".env").write_text(f"SPOTIPY_CLIENT_SECRET={secret}\n")
    assert S.credentials(user=False)["SPOTIPY_CLIENT_SECRET"] == secret


def test_localhost_redirect_is_rejected_with_advice(fake_spotify, monkeypatch):
    monkeypatch.setenv("SPOTIPY_REDIRECT_URI", "http://localhost:8888/callback")
    with pytest.raises(SourceError, match="127.0.0.1"):
        S.credentials(user=True)


def test_fake_authorize_rejects_localhost(fake_spotify):
    import requests

    url = (
        f"{fake_spotify.accounts_url}/authorize?client_id={fake_spotify.client_id}&response_type=code"
        "&redirect_uri=http://localhost:8765/callback&code_challenge_method=S256&code_challenge=x"
    )
    r = requests.get(url, allow_redirects=False, timeout=5)
    assert r.status_code == 400 and b"Insecure redirect URI" in r.content


def test_cli_missing_credentials_one_line(fake_spotify, monkeypatch):
    monkeypatch.delenv("SPOTIPY_CLIENT_SECRET")
    r = runner.invoke(app, ["collect", "--mood", "Happy", "--album", "a" * 22])
    assert r.exit_code == 4
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("trackmood: error: ")
    assert "SPOTIPY_CLIENT_SECRET" in lines[0]


def test_bad_secret_is_explained_and_never_printed(fake_spotify, monkeypatch):
    wrong = "wrong-secret-value-123456"
    monkeypatch.setenv("SPOTIPY_CLIENT_SECRET", wrong)
    r = runner.invoke(app, ["collect", "--mood", "Happy", "--album", "a" * 22])
    assert r.exit_code == 4
    assert "invalid_client" in r.stderr and "SPOTIPY_CLIENT_SECRET" in r.stderr
    assert wrong not in r.stderr + r.stdout
    assert fake_spotify.client_secret not in r.stderr + r.stdout


def test_secret_and_tokens_not_in_output_of_a_successful_run(fake_spotify, tmp_path):
    ids = fake_spotify.add_tracks(3)
    album = fake_spotify.add_album("A", ids)
    r = runner.invoke(
        app, ["collect", "--mood", "Calm", "--album", album, "-o", tmp_path / "d.csv"]
    )
    assert r.exit_code == 0, r.stderr
    text = r.stderr + r.stdout + (tmp_path / "d.csv").read_text()
    assert fake_spotify.client_secret not in text
    for token in fake_spotify.tokens:
        assert token not in text


def test_existing_world_readable_cache_becomes_0600(fake_spotify):
    path = S.token_cache_path("app")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("not json")
    path.chmod(0o644)
    fake_spotify.add_tracks(1)
    S.SpotifyAPI(S.client(user=False)).get(f"tracks/{next(iter(fake_spotify.tracks))}")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_revoked_token_says_how_to_log_in_again(fake_spotify):
    import requests
    import spotipy

    sp = spotipy.Spotify(auth="revoked-token", requests_session=requests.Session())
    sp.prefix = fake_spotify.api_url + "/"
    with pytest.raises(
        S.SpotifyHTTPError, match="401.*Invalid access token.*run `trackmood login`"
    ):
        S.SpotifyAPI(sp).get("me")


def test_split_without_redirect_uri(fake_spotify, monkeypatch):
    monkeypatch.delenv("SPOTIPY_REDIRECT_URI")
    r = runner.invoke(app, ["playlists", "split", "a" * 22])
    assert r.exit_code == 4 and "set SPOTIPY_REDIRECT_URI" in r.stderr and "127.0.0.1" in r.stderr
