"""Sort a playlist by mood: one new playlist per mood, filled with the tracks predicted to have it.

Idempotent and never blind: a mood playlist is found again among your playlists
(``GET /me/playlists``) by its name **and** the trackmood marker in its description, and only
tracks not yet in it are added (``POST /playlists/{id}/items``, ≤ 100 a call). Writes are not
retried on their own: after a create that failed or timed out, the playlist is looked up before
it is created again; after an add that failed, the playlist's current items are read and only
the missing ones are added. So a second run, a rerun after a crash, or a slow Spotify creates
nothing twice and adds nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .moods import MOODS

if TYPE_CHECKING:
    import pandas as pd


def mood_playlist_name(source_name: str, mood: str) -> str:
    """``'Road trip · Happy (trackmood)'``."""
    return f"{source_name} · {mood} (trackmood)"


def marker(source_id: str, mood: str) -> str:
    """The tag in a mood playlist's description that says trackmood made it, and from what."""
    return f"[trackmood:{source_id}:{mood}]"


def is_ours(description: str | None, source_id: str, mood: str) -> bool:
    """Whether a description carries the marker (or the wording of trackmood before markers)."""
    text = description or ""
    return marker(source_id, mood) in text or f"predicted {mood} by trackmood" in text


@dataclass
class MoodPlaylistPlan:
    """What happens (or would happen) to one mood playlist."""

    mood: str
    name: str
    playlist_id: str | None  # None: to be created
    uris: list[str] = field(default_factory=list)  # all tracks predicted with this mood
    to_add: list[str] = field(default_factory=list)  # those not yet in the playlist
    existed: bool = False

    def __post_init__(self):
        self.existed = self.playlist_id is not None

    @property
    def exists(self) -> bool:
        return self.playlist_id is not None

    def line(self, *, dry_run: bool) -> str:
        if self.existed:
            head = f"{self.name!r}: exists ({self.playlist_id})"
        elif dry_run:
            head = f"{self.name!r}: would create"
        else:
            head = f"{self.name!r}: created ({self.playlist_id})"
        added = "would be added" if dry_run else "added"
        return (
            f"{head}; {len(self.uris)} tracks predicted {self.mood}, "
            f"{len(self.to_add)} {added}, {len(self.uris) - len(self.to_add)} already there"
        )


@dataclass
class SplitResult:
    source_id: str
    source_name: str
    plans: list[MoodPlaylistPlan]
    predictions: pd.DataFrame  # the predictions frame of trackmood.pipeline.run
    created: list[str] = field(default_factory=list)
    added: int = 0
    dry_run: bool = False

    def lines(self) -> list[str]:
        out = [p.line(dry_run=self.dry_run) for p in self.plans]
        if len(self.predictions):
            left = self.predictions[self.predictions["mood"].isna()]
            skipped = left["reason"].fillna("").str.startswith("skipped:")
            if (~skipped).any():
                reasons = left.loc[~skipped, "reason"].fillna("no features")
                others = " (and other reasons)" if reasons.nunique() > 1 else ""
                out.append(f"{int((~skipped).sum())} tracks left out: {reasons.iloc[0]}{others}")
            if skipped.any():
                out.append(
                    f"{int(skipped.sum())} playlist items left out: not Spotify tracks "
                    "(local files, episodes or removed items)"
                )
        if not self.dry_run:
            out.append(f"created {len(self.created)} playlist(s), added {self.added} track(s)")
        return out


def _read_uris(api, playlist_id: str) -> set[str]:
    """Current track URIs of one of your playlists, read fresh (never from the page cache)."""
    from .sources.spotify import LIMITS

    uris: set[str] = set()
    page = api.get(
        f"playlists/{playlist_id}/items",
        limit=LIMITS["playlist_items"],
        offset=0,
        fields="items(item(uri),track(uri)),next",
        what="reading a mood playlist",
    )
    while True:
        for e in page.get("items") or []:
            obj = (e or {}).get("item") or (e or {}).get("track") or {}
            if obj.get("uri"):
                uris.add(obj["uri"])
        if not page.get("next"):
            return uris
        page = api.get(page["next"], what="reading a mood playlist")


def _my_playlists(api) -> list[dict]:
    """Playlists you own: ``[{'id', 'name', 'description'}]`` (read fresh, every page)."""
    from .sources.spotify import LIMITS

    me = api.me().get("id")
    out: list[dict] = []
    page = api.get(
        "me/playlists", limit=LIMITS["me_playlists"], offset=0, what="listing your playlists"
    )
    while True:
        for p in page.get("items") or []:
            if p and (p.get("owner") or {}).get("id") == me:
                out.append({k: p.get(k) for k in ("id", "name", "description")})
        if not page.get("next"):
            return out
        page = api.get(page["next"], what="listing your playlists")


def _find(playlists: list[dict], name: str, source_id: str, mood: str) -> str | None:
    for p in playlists:
        if p["name"] == name and is_ours(p.get("description"), source_id, mood):
            return p["id"]
    return None


def _pause(api, attempt: int) -> None:
    policy = api.policy
    policy._wait(
        min(policy.backoff * 2**attempt, policy.max_backoff),
        "checking what Spotify did before writing again",
    )


def _create(api, plan: MoodPlaylistPlan, *, source_id: str, source_name: str, public: bool, notify):
    """Create the playlist of ``plan``; after an unclear answer, look it up before trying again."""
    from .errors import SourceError
    from .sources.spotify import UncertainWrite

    body = {
        "name": plan.name,
        "public": public,
        "collaborative": False,
        "description": f"Tracks of '{source_name}' predicted {plan.mood} by trackmood "
        f"{marker(source_id, plan.mood)}",
    }
    attempts = api.policy.attempts
    for attempt in range(attempts):
        try:
            return api.post("me/playlists", body, what=f"creating playlist {plan.name!r}")["id"]
        except UncertainWrite as e:
            if notify:
                notify(f"{e}; looking for it before creating it again")
            for look in range(2):  # a new playlist may take a moment to be listed
                _pause(api, attempt + look)
                found = _find(_my_playlists(api), plan.name, source_id, plan.mood)
                if found:
                    return found
    raise SourceError(
        f"Spotify gave no clear answer {attempts} times while creating playlist {plan.name!r} "
        "and it is not among your playlists; run the same command again later"
    )


def _add(api, plan: MoodPlaylistPlan, *, notify) -> int:
    """Add ``plan.to_add`` in chunks; after an unclear answer, add only what is still missing."""
    from .errors import SourceError
    from .sources.spotify import LIMITS, UncertainWrite

    playlist_id = plan.playlist_id
    if playlist_id is None:  # created (or found) before anything is added
        raise ValueError(f"playlist {plan.name!r} has no id yet")
    step, remaining, added, unclear = LIMITS["add_items"], list(plan.to_add), 0, 0
    while remaining:
        chunk = remaining[:step]
        try:
            api.post(
                f"playlists/{playlist_id}/items",
                {"uris": chunk},
                what=f"adding tracks to {plan.name!r}",
            )
        except UncertainWrite as e:
            unclear += 1
            if unclear >= api.policy.attempts:
                raise SourceError(
                    f"Spotify gave no clear answer {unclear} times while adding tracks to "
                    f"{plan.name!r}; run the same command again later (it adds only what is "
                    "missing)"
                ) from None
            if notify:
                notify(f"{e}; comparing with the playlist before adding again")
            _pause(api, unclear - 1)
            have = _read_uris(api, playlist_id)
            added += sum(1 for u in chunk if u in have)
            remaining = [u for u in remaining if u not in have]
            continue
        added += len(chunk)
        remaining = remaining[step:]
    return added


def split_playlist(
    playlist: str,
    *,
    model=None,
    dry_run: bool = False,
    api=None,
    store=None,
    public: bool = False,
    refresh: bool = False,
    notify: Callable[[str], None] | None = None,
    progress=None,
) -> SplitResult:
    """Predict every track of ``playlist`` and put each into the playlist of its mood.

    Parameters
    ----------
    playlist : str
        Playlist id, URI or URL (one you own or collaborate on).
    model : str or Path, optional
        Bundled model name or saved model folder.
    dry_run : bool
        Only report what would be created and added.
    api : SpotifyAPI, optional
        Default: the cached user login (``trackmood login``).
    public : bool
        Make new mood playlists public (default private).
    refresh : bool
        Read the playlist's pages again even if its snapshot is unchanged.

    Raises :class:`~trackmood.errors.SourceError` when no track got features (nothing is written).
    """
    from . import pipeline
    from .errors import DataError, SourceError
    from .sources.spotify import SpotifyHTTPError, SpotifySource, explain_playlist_error, parse_ref
    from .store import Store

    kind, pid = parse_ref(playlist, default_kind="playlist")
    if kind != "playlist":
        raise DataError("playlists split takes a playlist", value=playlist)
    store = store if store is not None else Store()
    api = api or SpotifySource(store).user_api(notify)
    try:
        meta = api.get(f"playlists/{pid}", fields="name,owner(id)", what=f"reading playlist {pid}")
    except SpotifyHTTPError as e:
        raise explain_playlist_error(e, pid) from None
    source_name = meta.get("name") or pid
    source = SpotifySource(store, api=api, refresh=refresh)
    preds = pipeline.run(
        [f"spotify:playlist:{pid}"],
        model=model,
        notify=notify,
        store=store,
        progress=progress,
        sources={"spotify": source},
    ).predictions
    if not preds["mood"].notna().any():
        reasons = preds["reason"].dropna()
        raise SourceError(
            f"no track of playlist {source_name!r} got audio features"
            + (
                f" ({len(preds)} items; first: {reasons.iloc[0]})"
                if len(reasons)
                else " (it is empty)"
            )
            + "; nothing created"
        )
    existing = _my_playlists(api)
    plans = []
    for mood in MOODS:
        ids = preds.loc[preds["mood"] == mood, "id"].tolist()
        if not ids:
            continue
        uris = list(dict.fromkeys(f"spotify:track:{i}" for i in ids))
        name = mood_playlist_name(source_name, mood)
        target = _find(existing, name, pid, mood)
        have = _read_uris(api, target) if target else set()
        plans.append(MoodPlaylistPlan(mood, name, target, uris, [u for u in uris if u not in have]))
    result = SplitResult(pid, source_name, plans, preds, dry_run=dry_run)
    if dry_run:
        return result
    for plan in plans:
        if not plan.exists:
            plan.playlist_id = _create(
                api, plan, source_id=pid, source_name=source_name, public=public, notify=notify
            )
            result.created.append(plan.playlist_id)
        result.added += _add(api, plan, notify=notify)
    return result
