"""Audio features by Spotify id through a chain of providers with one interface, cached in the store.

The chain asks each provider in turn only for the ids still without features:

1. Spotify ``GET /audio-features`` (≤ 100 ids a call), where the app still has access; its bare
   ``403`` (closed to new and development-mode apps since 2024-11-27) switches it off for a week;
2. ReccoBeats (≤ 40 ids a call), with ``duration_ms`` taken from the Spotify item;
3. otherwise the track is kept, its features marked missing with the reason.

Every value is stored with its provider (``features.source``), every miss in ``feature_misses``,
each batch in one transaction: a rerun asks no provider again about an id it already answered.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from ..features import MODEL_FEATURE_NAMES

if TYPE_CHECKING:
    from ..store import Store
    from .reccobeats import ReccoBeatsClient
    from .spotify_api import SpotifyAPI

#: Features a provider must give for a track to count as done (duration may come from the item).
CORE = tuple(f for f in MODEL_FEATURE_NAMES if f != "duration_ms")
#: Everything kept from a provider.
KEEP = MODEL_FEATURE_NAMES + ("key", "mode", "time_signature")
#: How long a provider that refused the app (e.g. 403) is not asked again.
UNAVAILABLE_TTL = 7 * 24 * 3600.0


class ProviderUnavailable(Exception):
    """The provider refuses this app altogether (not just some ids)."""


class FeatureProvider(Protocol):
    """One source of audio features by Spotify id."""

    #: Stored as the source of every value it gives, e.g. ``'spotify'``, ``'reccobeats'``.
    name: str
    #: Most ids per call.
    batch_size: int

    def fetch(self, ids: list[str]) -> dict[str, dict[str, float]]:
        """Features of the ids it knows; unknown ids are left out. Raises
        :class:`ProviderUnavailable` if it will not answer this app at all.
        """


@dataclass
class SpotifyAudioFeatures:
    """Spotify's ``GET /audio-features?ids=`` (answers positional ``null`` for unknown ids)."""

    api: SpotifyAPI
    name: str = "spotify"
    batch_size: int = 100

    def fetch(self, ids: list[str]) -> dict[str, dict[str, float]]:
        from .spotify_api import SpotifyHTTPError

        try:
            body = self.api.get(
                "audio-features",
                ids=",".join(ids),
                what=f"reading audio features of {len(ids)} tracks",
            )
        except SpotifyHTTPError as e:
            if e.status in (401, 403):
                raise ProviderUnavailable(
                    f"Spotify audio-features answered {e.status} (closed to new and "
                    "development-mode apps since 2024-11-27)"
                ) from None
            raise
        out = {}
        for obj in body.get("audio_features") or []:
            if not obj or not obj.get("id"):
                continue
            values = {
                k: float(obj[k])
                for k in KEEP
                if isinstance(obj.get(k), (int, float)) and not isinstance(obj.get(k), bool)
            }
            if values:
                out[obj["id"]] = values
        return out


@dataclass
class ReccoBeatsFeatures:
    """ReccoBeats' ``GET /audio-features?ids=`` (omits unknown ids; mapped back by ``href``)."""

    client: ReccoBeatsClient
    name: str = "reccobeats"
    batch_size: int = 40

    def fetch(self, ids: list[str]) -> dict[str, dict[str, float]]:
        return self.client.audio_features(ids)


@dataclass
class TrackFeatures:
    """The features of one track (``values``/``sources``), or why there are none (``reason``)."""

    values: dict = field(default_factory=dict)
    sources: dict = field(default_factory=dict)
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return all(k in self.values and self.values[k] is not None for k in CORE)

    @property
    def provider(self) -> str | None:
        """The provider of the core features (``'spotify'``, ``'reccobeats'`` …)."""
        names = sorted({self.sources[k] for k in CORE if k in self.sources})
        return "+".join(names) if names else None


@dataclass
class FeatureChain:
    """Ask ``providers`` in order for ids without features; cache everything in ``store``.

    Parameters
    ----------
    providers : list of FeatureProvider
    store : trackmood.store.Store
    notify : callable, optional
        Told when a provider is switched off.
    progress : callable, optional
        ``progress(stage, done, total)`` after each call.
    """

    providers: list[FeatureProvider]
    store: Store
    notify: Callable[[str], None] | None = None
    progress: Callable[[str, int, int], None] | None = None
    calls: dict = field(default_factory=dict)

    def _unavailable(self, provider) -> str | None:
        raw = self.store.kv_get("provider-status", provider.name)
        if not raw:
            return None
        info = json.loads(raw)
        if time.time() - info.get("at", 0) > UNAVAILABLE_TTL:
            return None
        return info.get("reason")

    def fetch(
        self, ids: Iterable[str], *, durations: dict[str, float | None] | None = None
    ) -> dict[str, TrackFeatures]:
        """Features for every id: from the store if known, else from the first provider that has them."""
        ids = list(dict.fromkeys(ids))
        durations = durations or {}
        out: dict[str, TrackFeatures] = {}
        cached = self.store.get_features(ids)
        for tid, feats in cached.items():
            tf = TrackFeatures(
                {k: v for k, (v, _) in feats.items()}, {k: s for k, (_, s) in feats.items()}
            )
            if tf.ok:
                out[tid] = tf
        misses = self.store.get_misses([i for i in ids if i not in out])
        off_reasons: list[str] = []
        for provider in self.providers:
            todo = [i for i in ids if i not in out and provider.name not in misses.get(i, {})]
            if not todo:
                continue
            reason = self._unavailable(provider)
            if reason:
                off_reasons.append(reason)
                continue
            done = 0
            for start in range(0, len(todo), provider.batch_size):
                batch = todo[start : start + provider.batch_size]
                try:
                    found = provider.fetch(batch)
                    self.calls[provider.name] = self.calls.get(provider.name, 0) + 1
                except ProviderUnavailable as e:
                    self.calls[provider.name] = self.calls.get(provider.name, 0) + 1
                    self.store.kv_put(
                        "provider-status",
                        provider.name,
                        json.dumps({"reason": str(e), "at": time.time()}),
                    )
                    off_reasons.append(str(e))
                    if self.notify:
                        self.notify(f"{e}; using the next feature provider")
                    break
                found_rows, miss_rows = [], []
                for tid in batch:
                    values = found.get(tid)
                    if values and all(k in values for k in CORE):
                        sources = {k: provider.name for k in values}
                        dur = durations.get(tid)
                        if "duration_ms" not in values and dur:
                            values = {**values, "duration_ms": float(dur)}
                            sources["duration_ms"] = "spotify"
                        found_rows.append((tid, values, sources))
                        out[tid] = TrackFeatures(values, sources)
                    else:
                        why = (
                            f"not in {provider.name}'s catalogue"
                            if not values
                            else f"{provider.name} gave incomplete features"
                        )
                        miss_rows.append((tid, provider.name, why))
                        misses.setdefault(tid, {})[provider.name] = why
                self.store.put_provider_results(found_rows, miss_rows)
                done += len(batch)
                if self.progress:
                    self.progress(f"features from {provider.name}", done, len(todo))
        for tid in ids:
            if tid in out:
                tf = out[tid]
                duration = durations.get(tid)
                if "duration_ms" not in tf.values and duration:
                    tf.values["duration_ms"] = float(duration)
                    tf.sources["duration_ms"] = "spotify"
                continue
            reasons = [f"{p}: {r}" for p, r in misses.get(tid, {}).items()] + off_reasons
            out[tid] = TrackFeatures(
                reason="no audio features (" + "; ".join(reasons or ["no provider"]) + ")"
            )
        return out


def default_chain(
    api=None, *, store, notify=None, progress=None, config=None, policy=None
) -> FeatureChain:
    """Spotify audio-features (if ``api`` is given) → ReccoBeats, sharing the retry policy."""
    from .http import RetryPolicy
    from .reccobeats import ReccoBeatsClient
    from .spotify_auth import Config

    config = config or Config.from_env()
    policy = policy or (api.policy if api is not None else RetryPolicy(notify=notify))
    providers: list[FeatureProvider] = []
    if api is not None:
        providers.append(SpotifyAudioFeatures(api))
    providers.append(
        ReccoBeatsFeatures(
            ReccoBeatsClient(config.reccobeats_url, policy=policy, timeout=config.timeout)
        )
    )
    return FeatureChain(providers, store, notify=notify, progress=progress)
