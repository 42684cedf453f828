"""ReccoBeats: audio features by Spotify id, no key needed (``GET /v1/audio-features?ids=…``).

Its answer omits ids it does not know (no ``null`` placeholders) and names each result by its own
UUID, so results are mapped back through the Spotify id at the end of each item's ``href``. It
has no ``duration_ms`` or ``time_signature``. About 40 ids are answered per call; more are dropped
silently, so calls never carry more than :data:`BATCH`.

>>> spotify_id_from_href("https://open.spotify.com/track/00aqkszH1FdUiJJWvX6iEl?si=1")
'00aqkszH1FdUiJJWvX6iEl'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..errors import SourceError
from .http import HTTPFailure, RetryPolicy, with_retries

#: Most ids ReccoBeats answers in one call.
BATCH = 40

#: The values ReccoBeats gives, in the project's feature names.
FEATURES = (
    "acousticness",
    "danceability",
    "energy",
    "instrumentalness",
    "key",
    "liveness",
    "loudness",
    "mode",
    "speechiness",
    "tempo",
    "valence",
)

_HREF_ID = re.compile(r"/track/([0-9A-Za-z]{22})(?:[/?#]|$)")


def spotify_id_from_href(href: str | None) -> str | None:
    """The Spotify track id at the end of an ``href`` (``None`` if there is none)."""
    if not href:
        return None
    m = _HREF_ID.search(str(href))
    return m.group(1) if m else None


@dataclass
class ReccoBeatsClient:
    """A small client for ReccoBeats' audio features.

    Parameters
    ----------
    base_url : str
        ``https://api.reccobeats.com/v1`` or a compatible server (``TRACKMOOD_RECCOBEATS_URL``).
    policy : RetryPolicy, optional
        Rate-limit and retry behaviour (shared with Spotify calls).
    timeout : float
        Seconds to wait for one answer.
    """

    base_url: str
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    timeout: float = 10.0
    requests_made: int = 0
    _session: object = None

    def audio_features(self, ids: list[str]) -> dict[str, dict[str, float]]:
        """``{spotify_id: {feature: value}}`` for the ids ReccoBeats knows (at most :data:`BATCH`)."""
        import requests

        if len(ids) > BATCH:
            raise ValueError(f"at most {BATCH} ids per ReccoBeats call, got {len(ids)}")
        if not ids:
            return {}
        if self._session is None:
            self._session = requests.Session()
        url = f"{self.base_url.rstrip('/')}/audio-features"

        def once():
            self.requests_made += 1
            r = self._session.get(
                url,
                params={"ids": ",".join(ids)},
                timeout=self.timeout,
                headers={"Accept": "application/json"},
            )
            r.raise_for_status()
            return r.json()

        try:
            body = with_retries(
                once,
                what=f"reading audio features of {len(ids)} tracks",
                policy=self.policy,
                service="ReccoBeats",
            )
        except HTTPFailure as f:
            if f.status == 404:
                return {}
            raise SourceError(
                f"ReccoBeats answered {f.status} to GET /audio-features"
                f"{': ' + f.message if f.message else ''}"
            ) from None
        except ValueError:
            raise SourceError(
                "ReccoBeats answered something that is not JSON "
                f"(check TRACKMOOD_RECCOBEATS_URL={self.base_url!r})"
            ) from None
        content = body.get("content") if isinstance(body, dict) else None
        if not isinstance(content, list):
            raise SourceError(
                "ReccoBeats' answer has no 'content' list "
                f"(check TRACKMOOD_RECCOBEATS_URL={self.base_url!r})"
            )
        wanted = set(ids)
        out: dict[str, dict[str, float]] = {}
        for item in content:
            if not isinstance(item, dict):
                continue
            sid = spotify_id_from_href(item.get("href"))
            if sid not in wanted:
                continue
            values = {}
            for name in FEATURES:
                v = item.get(name)
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    values[name] = float(v)
            if values:
                out[sid] = values
        return out
