"""Sort a playlist by mood: one new playlist per mood, filled with the tracks predicted to have it.

Idempotent: mood playlists are found again by name among your playlists (``GET /me/playlists``)
and only tracks not yet in them are added (``POST /playlists/{id}/items``, ≤ 100 a call), so a
second run, or a rerun after a crash, creates nothing twice and adds nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .moods import MOODS


def mood_playlist_name(source_name: str, mood: str) -> str:
    """``'Road trip · Happy (trackmood)'``."""
    return f"{source_name} · {mood} (trackmood)"


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
    predictions: object  # the DataFrame from predict_refs
    created: list[str] = field(default_factory=list)
    added: int = 0
    dry_run: bool = False

    def lines(self) -> list[str]:
        out = [p.line(dry_run=self.dry_run) for p in self.plans]
        if len(self.predictions):
            left = self.predictions[self.predictions["mood"].isna()]
            skipped = left["reason"].fillna("").str.startswith("skipped:")
            if (~skipped).any():
                out.append(
                    f"{int((~skipped).sum())} tracks left out: no audio features "
                    f"(e.g. {left.loc[~skipped, 'reason'].iloc[0]})"
                )
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


def _my_playlists(api) -> dict[str, str]:
    """``{name: id}`` of playlists you own (first one wins for a repeated name)."""
    from .sources.spotify import LIMITS

    me = api.me().get("id")
    out: dict[str, str] = {}
    page = api.get(
        "me/playlists", limit=LIMITS["me_playlists"], offset=0, what="listing your playlists"
    )
    while True:
        for p in page.get("items") or []:
            if p and (p.get("owner") or {}).get("id") == me and p.get("name") not in out:
                out[p["name"]] = p["id"]
        if not page.get("next"):
            return out
        page = api.get(page["next"], what="listing your playlists")


def split_playlist(
    playlist: str,
    *,
    model=None,
    dry_run: bool = False,
    api=None,
    store=None,
    public: bool = False,
    notify: Callable[[str], None] | None = None,
    progress=None,
) -> SplitResult:
    """Predict every track of ``playlist`` and put each into the playlist of its mood.

    Parameters
    ----------
    playlist : str
        Playlist id, URI or URL (one you own or collaborate on).
    model : str or Path, optional
        Model for :func:`~trackmood.sources.spotify.predict_refs`.
    dry_run : bool
        Only report what would be created and added.
    api : SpotifyAPI, optional
        Default: user login (PKCE) from the environment.
    public : bool
        Make new mood playlists public (default private).
    """
    from .errors import DataError
    from .sources.http import RetryPolicy
    from .sources.spotify import (
        LIMITS,
        SpotifyAPI,
        SpotifyHTTPError,
        client,
        explain_playlist_error,
        parse_ref,
        predict_refs,
    )
    from .store import Store

    kind, pid = parse_ref(playlist, default_kind="playlist")
    if kind != "playlist":
        raise DataError("playlists split takes a playlist", value=playlist)
    store = store if store is not None else Store()
    api = api or SpotifyAPI(client(user=True), policy=RetryPolicy(notify=notify))
    try:
        meta = api.get(f"playlists/{pid}", fields="name,owner(id)", what=f"reading playlist {pid}")
    except SpotifyHTTPError as e:
        raise explain_playlist_error(e, pid) from None
    source_name = meta.get("name") or pid
    preds = predict_refs(
        [f"spotify:playlist:{pid}"],
        model=model,
        notify=notify,
        store=store,
        api=api,
        progress=progress,
    )
    existing = _my_playlists(api)
    plans = []
    for mood in MOODS:
        ids = preds.loc[preds["mood"] == mood, "id"].tolist()
        if not ids:
            continue
        uris = list(dict.fromkeys(f"spotify:track:{i}" for i in ids))
        name = mood_playlist_name(source_name, mood)
        target = existing.get(name)
        have = _read_uris(api, target) if target else set()
        plans.append(MoodPlaylistPlan(mood, name, target, uris, [u for u in uris if u not in have]))
    result = SplitResult(pid, source_name, plans, preds, dry_run=dry_run)
    if dry_run:
        return result
    for plan in plans:
        if not plan.exists:
            created = api.post(
                "me/playlists",
                {
                    "name": plan.name,
                    "public": public,
                    "collaborative": False,
                    "description": f"Tracks of '{source_name}' predicted {plan.mood} by trackmood",
                },
                what=f"creating playlist {plan.name!r}",
            )
            plan.playlist_id = created["id"]
            result.created.append(created["id"])
        step = LIMITS["add_items"]
        for start in range(0, len(plan.to_add), step):
            chunk = plan.to_add[start : start + step]
            api.post(
                f"playlists/{plan.playlist_id}/items",
                {"uris": chunk},
                what=f"adding tracks to {plan.name!r}",
            )
            result.added += len(chunk)
    return result
