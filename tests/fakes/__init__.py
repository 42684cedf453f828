"""Local fakes of remote services, for tests and benchmarks.

Test modules import the ``fake_spotify`` fixture from here (``from fakes import fake_spotify``).
"""

from __future__ import annotations

import pytest

from .spotify_server import EPISODE, LOCAL, NULL, FakeSpotify, make_id

__all__ = ["EPISODE", "LOCAL", "NULL", "FakeSpotify", "fake_spotify", "login", "make_id"]


@pytest.fixture
def fake_spotify(monkeypatch, tmp_path):
    """A running fake with trackmood's environment pointed at it (fast backoff, no .env around)."""
    with FakeSpotify() as fake:
        for key, value in fake.env().items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("TRACKMOOD_RETRY_BACKOFF", "0.01")
        monkeypatch.delenv("TRACKMOOD_MAX_RETRY_AFTER", raising=False)
        monkeypatch.delenv("TRACKMOOD_HTTP_TIMEOUT", raising=False)
        monkeypatch.chdir(tmp_path)
        yield fake


def login(fake: FakeSpotify):
    """Log in as the fake's user through the real PKCE exchange (no browser); the token is cached
    where trackmood looks for it. Returns the auth manager.
    """
    from trackmood.sources import spotify as S

    manager = S.auth_manager(user=True, open_browser=False)
    code = fake.authorize(manager.get_authorize_url())
    manager.get_access_token(code)
    return manager
