"""Collecting a 1,000-track playlist with features: requests and wall time, ours vs the original's.

Run: ``python benchmarks/bench_spotify.py [--tracks 1000] [--latency 0.05]``.

Everything runs against the local fake of Spotify + ReccoBeats (``tests/fakes``) with a fixed
latency per request. The target is the floor: 20 item pages + 10 audio-feature calls (an app that
still has audio-features), or 20 pages + 25 ReccoBeats calls (a development-mode app, plus the one
refused audio-features call), plus one ``fields=snapshot_id`` check per playlist (cached pages are
used only while the playlist is unchanged), and no fixed sleeps. A rerun costs only that check; a
rerun after tracks were added reads the pages again and asks features only for the new tracks.

The original's method (``sp.track(id)`` and ``sp.audio_features(id)`` for every track, with a
0.6 s sleep after each track, after paging the playlist 100 at a time) is measured on a sample of
tracks against the same fake without its sleeps, and its full cost is **computed** as
requests × latency + tracks × 0.6 s rather than sleeping for ten minutes.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fakes import FakeSpotify


def _env(fake: FakeSpotify, db: Path) -> None:
    os.environ.update(fake.env())
    os.environ["TRACKMOOD_DB"] = str(db)


def run_ours(n: int, latency: float, *, access: bool) -> dict:
    from trackmood.collect import collect, parse_spec_args
    from trackmood.sources import spotify as S
    from trackmood.store import Store

    with (
        FakeSpotify(latency=latency, audio_features_access=access) as fake,
        tempfile.TemporaryDirectory() as tmp,
    ):
        _env(fake, Path(tmp) / "library.sqlite")
        pid = fake.add_playlist(fake.add_tracks(n), name="Big")
        manager = S.auth_manager(user=True, open_browser=False)
        manager.get_access_token(fake.authorize(manager.get_authorize_url()))
        store = Store()
        store.kv_put("notice", "spotify-terms:collect", "{}")
        api = S.SpotifyAPI(S.client(user=True, manager=manager))
        fake.clear_log()
        t = time.perf_counter()
        df, report = collect(parse_spec_args(["--mood", "Happy", pid]), api=api, store=store)
        wall = time.perf_counter() - t
        log = fake.requests()
        counts = {
            "item pages": sum("/items" in e["path"] for e in log),
            "audio-features": sum(e["path"].startswith("/v1/audio-features") for e in log),
            "ReccoBeats": sum(e["path"].startswith("/reccobeats/") for e in log),
            "snapshot checks": sum(e["path"].endswith("fields=snapshot_id") for e in log),
            "other": sum(
                not any(k in e["path"] for k in ("/items", "/audio-features", "snapshot_id"))
                for e in log
            ),
        }
        fake.clear_log()
        t = time.perf_counter()
        collect(parse_spec_args(["--mood", "Happy", pid]), api=api, store=store)
        rerun = time.perf_counter() - t
        rerun_requests = len(fake.requests())
        fake.playlists[pid]["entries"].extend(fake.add_tracks(10))  # the playlist changes
        fake.clear_log()
        t = time.perf_counter()
        df2, _ = collect(parse_spec_args(["--mood", "Happy", pid]), api=api, store=store)
        changed = time.perf_counter() - t
        return {
            "changed_requests": len(fake.requests()),
            "changed_wall": changed,
            "changed_rows": len(df2),
            "rows": len(df),
            "requests": len(log),
            "wall": wall,
            "counts": counts,
            "rerun_requests": rerun_requests,
            "rerun_wall": rerun,
            "providers": dict(report.providers),
        }


def run_original_sample(sample: int, latency: float) -> dict:
    """The original's per-track calls for ``sample`` tracks (sleeps left out), through spotipy."""
    import requests
    import spotipy

    with FakeSpotify(latency=latency, audio_features_access=True) as fake:
        ids = fake.add_tracks(sample)
        sp = spotipy.Spotify(auth="unused", requests_session=requests.Session(), retries=0)
        token = "bench-token"
        fake.tokens[token] = {"user": None, "scope": "", "expires_at": time.time() + 3600}
        sp.set_auth(token)
        sp.prefix = fake.api_url + "/"
        t = time.perf_counter()
        for tid in ids:
            sp.track(tid)
            sp._get("audio-features/?ids=" + tid)  # what sp.audio_features(id) sends
        wall = time.perf_counter() - t
        return {"requests": len(fake.requests()), "wall": wall}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tracks", type=int, default=1000)
    ap.add_argument(
        "--latency", type=float, default=0.05, help="seconds per request (default 0.05)"
    )
    ap.add_argument(
        "--sample", type=int, default=20, help="tracks measured for the original's method"
    )
    args = ap.parse_args()
    n, lat = args.tracks, args.latency

    pages100 = -(-n // 100)
    orig_requests = 2 * n + pages100
    orig_wall = orig_requests * lat + n * 0.6
    sample = run_original_sample(args.sample, lat)
    per_track = sample["wall"] / args.sample

    print(
        f"Collecting a {n}-track playlist with audio features; fake Spotify/ReccoBeats, "
        f"{lat * 1000:.0f} ms per request\n"
    )
    print(f"{'method':<46} {'requests':>9} {'wall time':>11}")
    print("-" * 68)
    print(
        f"{'original: 2 calls/track + 0.6 s sleep (computed)':<46} {orig_requests:>9} "
        f"{orig_wall:>10.1f}s"
    )
    print(
        f"{'  measured sample: ' + str(args.sample) + ' tracks, no sleeps':<46} "
        f"{sample['requests']:>9} {sample['wall']:>10.2f}s  "
        f"(→ {per_track * n + n * 0.6 + pages100 * lat:.0f} s for {n} with sleeps)"
    )
    floors = {True: (-(-n // 50), -(-n // 100), 0), False: (-(-n // 50), 1, -(-n // 40))}
    for access in (True, False):
        r = run_ours(n, lat, access=access)
        label = (
            "trackmood, app with audio-features"
            if access
            else "trackmood, dev-mode app (→ ReccoBeats)"
        )
        c = r["counts"]
        print(
            f"{label:<46} {r['requests']:>9} {r['wall']:>10.2f}s  "
            f"({c['item pages']} pages + {c['snapshot checks']} snapshot check + "
            f"{c['audio-features']} audio-features + {c['ReccoBeats']} ReccoBeats + "
            f"{c['other']} other; {r['rows']} rows)"
        )
        pages, af, rb = floors[access]
        print(
            f"{'  target (floor)':<46} {pages + 1 + af + rb:>9} {'':>11}  "
            f"({pages} pages + 1 snapshot check + {af} audio-features + {rb} ReccoBeats; "
            "no fixed sleeps)"
        )
        print(
            f"{'  rerun, playlist unchanged':<46} {r['rerun_requests']:>9} "
            f"{r['rerun_wall']:>10.2f}s  (the snapshot check only)"
        )
        print(
            f"{'  rerun after 10 tracks were added':<46} {r['changed_requests']:>9} "
            f"{r['changed_wall']:>10.2f}s  (check + pages again + features of the new tracks; "
            f"{r['changed_rows']} rows)"
        )
    print(
        "\nThe original's full wall time is computed (requests × latency + tracks × 0.6 s), "
        "not slept; token requests are excluded from all counts."
    )


if __name__ == "__main__":
    main()
