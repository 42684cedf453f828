"""``trackmood label --suggest N``: uncertain tracks, spread over the library's embedding space,
every mood represented, none the user labelled already (real SQLite library, real subprocess).
"""

from __future__ import annotations

import re

import numpy as np

from trackmood.engine.cache import embedding_model
from trackmood.moods import MOODS

from .test_library_ls import make_library, run


def suggested_paths(res) -> list[str]:
    """The paths of the printed table, in order (the generated paths hold spaces)."""
    lines = res.stdout.splitlines()
    assert lines[0].split()[:2] == ["rank", "path"]
    found = [re.search(r"/music/Artist \d+/track \d+\.mp3", line) for line in lines[1:]]
    assert all(found), res.stdout
    return [m.group(0) for m in found]


def test_suggest_without_embeddings(tmp_path):
    from trackmood.store import Store

    db = tmp_path / "lib.sqlite"
    with Store(db) as s:
        rows = make_library(s, 400, labels=10)
    res = run("label", "--suggest", "20", db=db)
    assert res.returncode == 0, res.stderr
    got = suggested_paths(res)
    by_path = {r["path"]: r for r in rows}
    assert len(got) == 20 and len(set(got)) == 20
    picks = [by_path[p] for p in got]
    labelled = {r["path"] for r in rows[:10]}
    assert not labelled & set(got)
    assert {r["mood"] for r in picks} == set(MOODS)

    # spread: the picks are farther apart than random draws of 20 (in the fallback space)
    def spread(rs):
        P = np.array(
            [
                [r["p_calm"], r["p_energetic"], r["p_happy"], r["p_sad"], r["valence"], r["energy"]]
                for r in rs
            ]
        )
        d = np.linalg.norm(P[:, None] - P[None], axis=2)
        return d[np.triu_indices(len(rs), 1)].min()

    rng = np.random.default_rng(0)
    randoms = [
        spread([rows[i] for i in rng.choice(len(rows), 20, replace=False)]) for _ in range(50)
    ]
    assert spread(picks) > np.percentile(randoms, 95)


def test_suggest_spreads_over_the_embedding_space(tmp_path):
    """Five clusters of tracks; the model hesitates most on one of them. Twenty picks by
    uncertainty alone would all come from that cluster; the suggestions cover all five.
    """
    from trackmood.store import Store

    db = tmp_path / "lib.sqlite"
    rng = np.random.default_rng(3)
    with Store(db) as s:
        rows = make_library(s, 500)
        centres = rng.normal(scale=10, size=(5, 32))
        cluster = np.arange(500) % 5
        # cluster 0: near ties between two moods (most uncertain); the others confident
        files = []
        for r, c in zip(rows, cluster, strict=True):
            k = rng.integers(4)
            p = np.full(4, 0.02)
            if c == 0:
                p[k], p[(k + 1) % 4] = 0.49, 0.45
            else:
                p[k] = 0.94
            p = p / p.sum()
            r.update(
                dict(zip(("p_calm", "p_energetic", "p_happy", "p_sad"), p.tolist(), strict=True)),
                mood=MOODS[int(p.argmax())],
            )
            files.append(r)
        s.upsert_files(files)
        s.put_embeddings(
            embedding_model(9),
            [
                (r["sha"], centres[c] + rng.normal(size=32))
                for r, c in zip(rows, cluster, strict=True)
            ],
        )
    res = run("label", "--suggest", "20", db=db)
    assert res.returncode == 0, res.stderr
    got = suggested_paths(res)
    index = {r["path"]: i for i, r in enumerate(rows)}
    clusters = {int(cluster[index[p]]) for p in got}
    assert clusters == {0, 1, 2, 3, 4}, clusters
    assert cluster[index[got[0]]] == 0  # the first: where the model hesitates
    assert {rows[index[p]]["mood"] for p in got} == set(MOODS)


def test_suggest_on_an_empty_library_and_bad_use(tmp_path):
    db = tmp_path / "empty.sqlite"
    res = run("label", "--suggest", "5", db=db)
    assert res.returncode == 0 and res.stdout == "" and "scan a music folder" in res.stderr
    res = run("label", db=db)
    assert res.returncode == 2 and "TRACK" in res.stderr and "Traceback" not in res.stderr
