"""Build a labeled dataset from Spotify: playlists (and albums, artists, searches) per mood.

Track metadata comes from the playlist items themselves (no per-track calls); features come from
the provider chain (:mod:`trackmood.sources.provider`). Everything fetched is kept in the library
store as it arrives, so a killed run continues where it stopped when run again.

>>> pl, al = "37i9dQZF1DX3rxVfibe1L0", "4aawyAB9vmqN3uQ7FjRGTy"
>>> specs = parse_spec_args(["--mood", "Happy", pl, "--album", al, "--mood", "sad",
...                          "--search", "rainy day"])
>>> [(s.mood, s.kind, s.ref == pl or s.ref) for s in specs]
[('Happy', 'playlist', True), ('Happy', 'album', '4aawyAB9vmqN3uQ7FjRGTy'), ('Sad', 'search', 'rainy day')]
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from .errors import DataError
from .features import MODEL_FEATURE_NAMES
from .moods import normalize_label

#: Columns of the dataset written by ``trackmood collect`` (the project's dataset format).
DATASET_COLUMNS = (
    "id",
    "name",
    "artist",
    "album",
    *MODEL_FEATURE_NAMES,
    "key",
    "mode",
    "mood",
    "source",
)
KINDS = ("playlist", "album", "artist", "search")


@dataclass(frozen=True)
class Spec:
    """One thing to collect: a playlist, album, artist or search query, labeled with ``mood``."""

    mood: str
    kind: str
    ref: str

    @property
    def label_source(self) -> str:
        return f"{self.kind}:{self.ref}"


def parse_spec_args(args: list[str]) -> list[Spec]:
    """Parse ``--mood M PLAYLIST… [--album ID] [--artist ID] [--search Q]`` (repeatable, in order).

    Every playlist, album, artist or search takes the mood of the last ``--mood`` before it.
    """
    from .sources.spotify import parse_ref

    specs: list[Spec] = []
    mood: str | None = None
    i = 0
    while i < len(args):
        tok = str(args[i])
        opt, _, inline = tok.partition("=") if tok.startswith("--") else (tok, "", "")
        if opt in ("--mood", "--album", "--artist", "--search"):
            if inline:
                value = inline
            elif i + 1 < len(args):
                i += 1
                value = str(args[i])
            else:
                raise DataError(f"{opt} needs a value")
            if opt == "--mood":
                mood = normalize_label(value)
            else:
                if mood is None:
                    raise DataError(
                        f"{opt} {value!r} comes before any --mood; write --mood MOOD first"
                    )
                kind = opt[2:]
                ref = value if kind == "search" else parse_ref(value, default_kind=kind)[1]
                if kind != "search" and parse_ref(value, default_kind=kind)[0] != kind:
                    raise DataError(f"{opt} expects a Spotify {kind}", value=value)
                specs.append(Spec(mood, kind, ref))
        elif tok.startswith("-") and tok != "-":
            raise DataError(f"unknown option {tok!r}; see trackmood collect --help")
        else:
            if mood is None:
                raise DataError(
                    f"playlist {tok!r} comes before any --mood; write --mood MOOD first"
                )
            kind, pid = parse_ref(tok, default_kind="playlist")
            if kind != "playlist":
                raise DataError(f"expected a playlist (use --{kind} for a {kind})", value=tok)
            specs.append(Spec(mood, "playlist", pid))
        i += 1
    if not specs:
        raise DataError(
            "nothing to collect: give --mood MOOD PLAYLIST… (and/or --album, --artist, --search)"
        )
    return specs


@dataclass
class CollectReport:
    """What a collection did."""

    items: Counter = field(default_factory=Counter)  # items read per spec label
    skipped: Counter = field(default_factory=Counter)  # reason -> count
    duplicates_merged: int = 0
    conflicts: dict = field(default_factory=dict)  # id -> sorted moods
    names: dict = field(default_factory=dict)  # id -> "artist - name"
    missing: dict = field(default_factory=dict)  # id -> reason
    providers: Counter = field(default_factory=Counter)  # provider -> tracks
    rows_out: int = 0
    requests: int = 0
    pages_from_cache: int = 0

    def summary(self) -> str:
        skipped = ", ".join(f"{n} {why}" for why, n in self.skipped.most_common()) or "none"
        provs = ", ".join(f"{n} from {p}" for p, n in self.providers.most_common()) or "none"
        return (
            f"{sum(self.items.values())} items read from {len(self.items)} source(s) "
            f"({self.pages_from_cache} pages from the cache, {self.requests} requests); "
            f"skipped: {skipped}; {self.duplicates_merged} duplicates merged; "
            f"{len(self.conflicts)} tracks with conflicting moods dropped; "
            f"{len(self.missing)} without features; features: {provs}; {self.rows_out} rows"
        )

    def conflict_lines(self, limit: int = 10) -> list[str]:
        out = []
        for tid, moods in list(self.conflicts.items())[:limit]:
            out.append(
                f"conflicting moods for {tid} ({self.names.get(tid, '?')}): {', '.join(moods)}"
            )
        if len(self.conflicts) > limit:
            out.append(f"… and {len(self.conflicts) - limit} more tracks with conflicting moods")
        return out


def collect(
    specs: list[Spec],
    *,
    api=None,
    store=None,
    chain=None,
    search_limit: int = 50,
    refresh: bool = False,
    notify: Callable[[str], None] | None = None,
    progress: Callable[[str, int, int | None], None] | None = None,
):
    """Read every spec, label its tracks, fetch their features; return ``(dataset, report)``.

    Parameters
    ----------
    specs : list of Spec
        From :func:`parse_spec_args`.
    api : SpotifyAPI, optional
        Default: built from the environment (user login when a playlist is read).
    store : Store, optional
        Default ``Store()`` (``TRACKMOOD_DB``).
    chain : FeatureChain, optional
        Default :func:`~trackmood.sources.provider.default_chain`.
    search_limit : int
        Most tracks per ``--search``.
    refresh : bool
        Ignore cached pages.

    Returns
    -------
    (pandas.DataFrame, CollectReport)
        Rows in :data:`DATASET_COLUMNS` for tracks with one mood and features.
    """
    import pandas as pd

    from .sources.http import RetryPolicy
    from .sources.provider import default_chain
    from .sources.spotify import Reader, SpotifyAPI, client, skip_reason, terms_notice
    from .store import Store

    store = store if store is not None else Store()
    if api is None:
        api = SpotifyAPI(
            client(user=any(s.kind == "playlist" for s in specs)), policy=RetryPolicy(notify=notify)
        )
    terms_notice(store, notify, use="collect")
    reader = Reader(api, store, refresh=refresh)
    requests_before = api.requests_made
    report = CollectReport()
    tracks: dict[str, dict] = {}
    moods: dict[str, set] = {}
    labeled: list[tuple[str, str]] = []  # (id, mood) in order of appearance, with repeats
    for spec in specs:
        if spec.kind == "playlist":
            pages = reader.playlist(spec.ref)
        elif spec.kind == "album":
            pages = reader.album(spec.ref)
        elif spec.kind == "artist":
            pages = reader.artist(spec.ref)
        else:
            pages = reader.search(spec.ref, limit=search_limit)
        read = 0
        for page in pages:
            new_tracks, labels = [], []
            items = page["items"]
            if spec.kind == "search":
                items = items[: max(0, search_limit - read)]
            for t in items:
                read += 1
                why = skip_reason(t)
                if why:
                    report.skipped[why] += 1
                    continue
                if t["id"] not in tracks:
                    tracks[t["id"]] = t
                    new_tracks.append(t)
                labels.append((t["id"], spec.mood, spec.label_source))
                labeled.append((t["id"], spec.mood))
                moods.setdefault(t["id"], set()).add(spec.mood)
            store.add_labeled_tracks(
                [
                    {
                        "id": t["id"],
                        "name": t["name"],
                        "artist": t["artist"],
                        "album": t["album"],
                        "duration_ms": t.get("duration_ms"),
                        "uri": t.get("uri"),
                    }
                    for t in new_tracks
                ],
                labels,
            )
            if progress:
                progress(f"reading {spec.kind} {spec.ref}", read, page.get("total"))
        report.items[spec.label_source] += read

    for tid, ms in moods.items():
        if len(ms) > 1:
            report.conflicts[tid] = sorted(ms)
            t = tracks[tid]
            report.names[tid] = f"{t.get('artist') or '?'} - {t.get('name') or '?'}"
    ordered = [tid for tid in dict.fromkeys(t for t, _ in labeled) if tid not in report.conflicts]
    report.duplicates_merged = sum(1 for t, _ in labeled if t not in report.conflicts) - len(
        ordered
    )

    chain = chain or default_chain(api, store=store, notify=notify, progress=progress)
    results = chain.fetch(ordered, durations={t: tracks[t].get("duration_ms") for t in ordered})
    rows = []
    for tid in ordered:
        r = results[tid]
        if not r.ok:
            report.missing[tid] = r.reason
            continue
        t = tracks[tid]
        report.providers[r.provider] += 1
        rows.append(
            {
                "id": tid,
                "name": t["name"],
                "artist": t["artist"],
                "album": t["album"],
                **{k: r.values.get(k) for k in (*MODEL_FEATURE_NAMES, "key", "mode")},
                "mood": next(iter(moods[tid])),
                "source": r.provider,
            }
        )
    report.rows_out = len(rows)
    report.requests = (
        api.requests_made
        - requests_before
        + sum(getattr(getattr(p, "client", None), "requests_made", 0) for p in chain.providers)
    )
    report.pages_from_cache = reader.pages_from_cache
    return pd.DataFrame(rows, columns=list(DATASET_COLUMNS)), report
