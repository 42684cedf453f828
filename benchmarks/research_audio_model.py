"""Which musicnn embedding should the bundled audio model read? Issue 18, item 4.

Every candidate is judged by the SAME nested, artist-grouped procedure as the bundled model
(:func:`trackmood.model.audio_cv.cross_validate`: the same outer 5x5 stratified folds grouped by
artist, the same inner seeds; inside each outer training part an inner 5-fold grouped CV chooses
``C`` and, where the candidate leaves them open, the patch budget and whether tags are appended).
Inputs, each the mean over a budget of 3-s patches spread over the clip:

* ``msd``     -- MSD_musicnn's 200-d penultimate layer (the current bundled model's family),
* ``mtt``     -- MTT_musicnn's 200-d penultimate layer,
* ``msd+mtt`` -- both, concatenated (400-d; one shared log-mel front end),

as ``pen`` (penultimate only) or ``pen+tags`` (plus each graph's 50 mean tag probabilities), at
a budget of 5 or 9 patches, or with tags and budget left to the inner CV; with ``--extra`` also
the exact current recipe (msd, tags open, budget 2/3/5/9: the reference), ``pen+sd`` (mean and
standard deviation over the patches) and budget 15 (every non-overlapping patch of a 30-s clip). The last row leaves everything -- graphs, tags, budget --
to the inner CV, which is what the training command would do with all of them. The winner is a
candidate whose paired gain over the reference has an interval above 0; candidates that tie it
(interval spanning 0) at a lower cost are listed.

The expensive part runs once per (input, outer fold): inner scores over the C grid, the outer
predictions at that input's best C and the valence/energy heads; a candidate then takes, in each
outer fold, the input with the best inner score among its own -- as ``cross_validate`` does.

Printed per candidate: outer accuracy mean ± sd over the 25 outer folds, the artist-level
bootstrap 95 % interval, the valence and energy heads' ROC AUC (mean over outer folds), the
paired difference to the current recipe on the same folds (bootstrap over artists) and the
measured cost per track (CPU-s, one thread, at the candidate's largest budget).

Steps (per-patch embeddings cached in ``artifacts/research_audio/``, gitignored)::

    python benchmarks/research_audio_model.py embed msd     # ~0.5 CPU-s per clip (9 patches)
    python benchmarks/research_audio_model.py embed mtt     # (a second worker: --reverse)
    python benchmarks/research_audio_model.py cost [N]      # CPU-s per track, N clips
    python benchmarks/research_audio_model.py select --extra   # the table (~10 min, cached)
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
DATA = ROOT.parent / "shared" / "data" / "audio_4q"
CACHE = ROOT / "artifacts" / "research_audio"
#: Patch budgets whose patches are cached (their union: 18 patches on a 30-s clip; 15 = every
#: non-overlapping 3-s patch of a 30-s clip, i.e. 10 of them, and 15 on a long track).
BUDGETS = (2, 3, 5, 9, 15)


def _clips():
    from trackmood.model.audio_train import artist_groups, folder_labels
    from trackmood.moods import LabelMap

    pairs = folder_labels(DATA, label_map=LabelMap({}))
    files = [p for p, _ in pairs]
    return files, np.array([m for _, m in pairs]), artist_groups(DATA, files)


def _patches(path: Path, have=()):
    """Total frames, the patch starts of every budget not in ``have``, and their log-mel patches."""
    from trackmood.audio import embedding as E
    from trackmood.audio.decode import decode

    y = decode(path, sr=E.SR, loudness=False).y
    need = (E.PATCH_FRAMES - 1) * E.HOP
    if len(y) < need:
        y = np.concatenate([y, np.zeros(need - len(y), np.float32)])
    total = E.n_frames(len(y))
    starts = sorted({s for k in BUDGETS for s in E.patch_starts(total, k)} - set(have))
    return total, starts, np.stack([E.log_mel(y, s, E.PATCH_FRAMES) for s in starts])


def _load(out: Path) -> dict[str, tuple]:
    """A per-patch cache (``sha``, ``total``, ``owner``, ``start``, ``pen``, ``tags``; the format
    of :func:`trackmood.model.audio_train.load_embeddings`) as ``{sha: (total, starts, pen, tags)}``.
    """
    done = {}
    if out.exists():
        with np.load(out) as z:
            for i, sha in enumerate(z["sha"]):
                rows = z["owner"] == i
                done[str(sha)] = (int(z["total"][i]), z["start"][rows], z["pen"][rows],
                                  z["tags"][rows])  # fmt: skip
    return done


def _covers(entry) -> bool:
    """Whether a cached clip holds every patch of every budget in :data:`BUDGETS`."""
    from trackmood.audio import embedding as E

    if entry is None:
        return False
    need = {s for k in BUDGETS for s in E.patch_starts(entry[0], k)}
    return need <= set(entry[1].tolist())


def _load_graph(graph: str) -> dict[str, tuple]:
    """Every cache file of ``graph`` (``msd.npz``, ``msd-rev.npz``, ...) merged."""
    done = {}
    for f in sorted(CACHE.glob(f"{graph}*.npz")):
        if not f.name.endswith(".part.npz"):
            for sha, e in _load(f).items():
                if sha not in done or len(e[1]) > len(done[sha][1]):
                    done[sha] = e  # the entry with the most patches
    return done


def embed(graph: str, *, reverse: bool = False, seed: str | None = None) -> None:
    """Per-patch penultimate layer and tags of every clip under ``graph``, cached by content hash
    (resumable; ``seed``: another cache of the same graph in the same format to import first).
    """
    from trackmood.audio import embedding as E
    from trackmood.model.audio_train import _sha

    files, _, _ = _clips()
    CACHE.mkdir(parents=True, exist_ok=True)
    # a second worker can run from the end of the list into its own file
    out = CACHE / f"{graph}{'-rev' if reverse else ''}.npz"
    done = _load(out)
    if seed:
        done = {**_load(Path(seed)), **done}
    others = _load_graph(graph)
    t0, cpu0, n = time.time(), time.process_time(), 0
    for f in reversed(files) if reverse else files:
        sha = _sha(f)
        if _covers(done.get(sha)) or _covers(others.get(sha)):
            continue  # (an entry made for other budgets is completed)
        old = done.get(sha) or others.get(sha)  # a clip cached for fewer budgets: add the rest
        have = [] if old is None else old[1].tolist()
        total, starts, batch = _patches(f, have)
        r = E.run_patches(batch, graph)
        if old is None:
            done[sha] = (total, np.array(starts), r["penultimate"], r["tags"])
        else:
            done[sha] = (total, np.array(have + starts), np.vstack([old[2], r["penultimate"]]),
                         np.vstack([old[3], r["tags"]]))  # fmt: skip
        n += 1
        if n % 10 == 0:
            others = _load_graph(graph)  # what another worker has done meanwhile
        if n % 20 == 0:
            _save(out, done)
            print(
                f"{graph}: {len(done)}/{len(files)} clips, {time.time() - t0:.0f} s wall, "
                f"{time.process_time() - cpu0:.0f} CPU-s",
                file=sys.stderr,
                flush=True,
            )
    _save(out, done)
    print(f"{graph}: {len(done)} clips cached in {out}", file=sys.stderr)


def _save(out: Path, done: dict) -> None:
    names = sorted(done)
    owner = np.concatenate([[i] * len(done[n][1]) for i, n in enumerate(names)])
    tmp = out.with_suffix(".part.npz")
    np.savez(
        tmp,
        sha=np.array(names),
        total=np.array([done[n][0] for n in names]),
        owner=owner,
        start=np.concatenate([done[n][1] for n in names]),
        pen=np.vstack([done[n][2] for n in names]).astype(np.float32),
        tags=np.vstack([done[n][3] for n in names]).astype(np.float32),
    )
    tmp.replace(out)


def matrices(graph: str, shas: list[str]) -> dict:
    """``{(budget, 'pen'|'tags'): (n_clips, d)}``: means over each budget's patches."""
    from trackmood.audio import embedding as E

    done = _load_graph(graph)
    X = {}
    for k in BUDGETS:
        P, T, S = [], [], []
        for sha in shas:
            total, starts, pen, tags = done[sha]
            pick = [list(starts).index(s) for s in E.patch_starts(total, k)]
            P.append(pen[pick].mean(axis=0))
            T.append(tags[pick].mean(axis=0))
            S.append(pen[pick].std(axis=0))
        X[(k, "pen")], X[(k, "tags")] = np.array(P, float), np.array(T, float)
        X[(k, "sd")] = np.array(S, float)
    return X


def cost(n: int = 20) -> dict:
    """CPU-seconds per 30-s clip (one thread, warm sessions): decode + front end, each graph."""
    import os

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from trackmood.audio import embedding as E

    files, _, _ = _clips()
    files = files[:: max(1, len(files) // n)][:n]
    dummy = np.zeros((1, E.PATCH_FRAMES, E.N_MELS), np.float32)
    for g in ("msd", "mtt"):
        E.run_patches(dummy, g)  # load both sessions first
    res = {}
    for k in (5, 9, 15):
        front, graph_s = 0.0, {"msd": 0.0, "mtt": 0.0}
        for f in files:
            c0 = time.process_time()
            from trackmood.audio.decode import decode

            y = decode(f, sr=E.SR, loudness=False).y
            batch, _ = E.patches(y, k)
            front += time.process_time() - c0
            for g in graph_s:
                c0 = time.process_time()
                E.run_patches(batch, g)
                graph_s[g] += time.process_time() - c0
        m = len(files)
        res[k] = {"front": front / m, **{g: v / m for g, v in graph_s.items()}}
        print(
            f"budget {k:2d}: decode+log-mel {front / m:.3f}, MSD {graph_s['msd'] / m:.3f}, "
            f"MTT {graph_s['mtt'] / m:.3f} CPU-s per clip ({m} clips)",
            file=sys.stderr,
        )
    (CACHE / "cost.json").write_text(json.dumps(res, indent=1))
    return res


GRAPH_SETS = (("msd",), ("mtt",), ("msd", "mtt"))
BLOCK_NAMES = ("pen", "pen+tags")
#: Another pooling, tried after the main table: mean and standard deviation over the patches.
POOLING = ("pen+sd",)


def keys_X(Xg: dict) -> dict:
    """Every ``(budget, 'graphs:block')`` input matrix, e.g. ``(9, 'msd+mtt:pen+tags')``."""
    out = {}
    for graphs in GRAPH_SETS:
        if not set(graphs) <= set(Xg):
            continue
        for b in BLOCK_NAMES + POOLING:
            for k in BUDGETS if graphs == ("msd",) else BUDGETS[1:]:
                parts = [Xg[g][(k, "pen")] for g in graphs]
                if b == "pen+tags":
                    parts += [Xg[g][(k, "tags")] for g in graphs]
                if b == "pen+sd":
                    parts += [Xg[g][(k, "sd")] for g in graphs]
                out[(k, f"{'+'.join(graphs)}:{b}")] = np.hstack(parts)
    return out


def _fits(Zt, yt, grid):
    """Logistic regressions on standardised inputs along the C grid (ascending, warm-started:
    the same optima as separate fits, to the solver's tolerance, for less work).
    """
    from sklearn.linear_model import LogisticRegression

    m = LogisticRegression(C=grid[0], max_iter=3000, warm_start=True)
    out = []
    for C in grid:
        m.set_params(C=C)
        m.fit(Zt, yt)
        out.append((m.coef_.copy(), m.intercept_.copy(), m.classes_))
    return out


def _std(X, tr, te):
    mu, sd = X[tr].mean(axis=0), X[tr].std(axis=0)
    sd[sd < 1e-9] = 1.0
    return (X[tr] - mu) / sd, (X[te] - mu) / sd


def _decide(coef, icpt, Z):
    return Z @ coef.T + icpt


def _predict(d, cls):
    return cls[(d[:, 0] > 0).astype(int)] if d.shape[1] == 1 else cls[d.argmax(axis=1)]


def _inner_scores(X, y, inner, grid, binary):
    from sklearn.metrics import roc_auc_score

    sc = np.zeros(len(grid))
    for a, b in inner:
        Za, Zb = _std(X, a, b)
        for j, (c, i, cls) in enumerate(_fits(Za, y[a], grid)):
            d = _decide(c, i, Zb)
            if binary:
                sc[j] += roc_auc_score(y[b], d[:, 0]) if len(set(y[b])) == 2 else 0.5
            else:
                sc[j] += (_predict(d, cls) == y[b]).mean()
    return sc


def _key_fold(X, y, groups, tr, te, inner_seed):
    """One key on one outer fold: inner scores over the C grid, outer predictions at the key's
    best C, and the heads (C by inner AUC) scored on the outer part -- as cross_validate does.
    """
    from sklearn.metrics import roc_auc_score

    from trackmood.model.audio_cv import AXES, C_GRID, _inner

    grid = tuple(C_GRID)
    inner = _inner(y, groups, tr, seed=inner_seed, folds=5)
    scores = _inner_scores(X, y, inner, grid, binary=False)
    Zt, Ze = _std(X, tr, te)
    best = int(scores.argmax())
    c, i, cls = _fits(Zt, y[tr], grid[: best + 1])[-1]
    pred = _predict(_decide(c, i, Ze), cls)
    heads = {"energy": np.nan}  # energy (AUC 0.96, saturated) left out to save CPU
    for name, pos in AXES.items():
        if name != "valence":
            continue
        yb = np.isin(y, pos).astype(int)
        if len(set(yb[tr])) < 2:
            heads[name] = np.nan
            continue
        hin = _inner(yb, groups, tr, seed=inner_seed + 7, folds=5)
        hs = _inner_scores(X, yb, hin, grid, binary=True)
        hc, hi, _ = _fits(Zt, yb[tr], grid[: int(hs.argmax()) + 1])[-1]
        d = _decide(hc, hi, Ze)[:, 0]
        heads[name] = float(roc_auc_score(yb[te], d)) if len(set(yb[te])) == 2 else np.nan
    return scores, pred, heads


def outer_splits(y, groups, *, repeats=5, folds=5, seed=0):
    """The outer folds and inner seeds of :func:`trackmood.model.audio_cv.cross_validate`."""
    from sklearn.model_selection import StratifiedGroupKFold

    splits = [
        (r, tr, te)
        for r in range(repeats)
        for tr, te in StratifiedGroupKFold(
            n_splits=folds, shuffle=True, random_state=seed + r
        ).split(y, y, groups)
    ]
    return [(r, tr, te, seed + 100 * r + i) for i, (r, tr, te) in enumerate(splits)]


def all_keys(Xs, y, groups, splits, *, only=None, tag="", n_jobs=2) -> dict:
    """Every key on every outer fold (the expensive part), each key cached in
    ``artifacts/research_audio/keys/`` so that a rerun (or a run per graph) reuses it.
    """
    import pickle

    from joblib import Parallel, delayed

    kdir = CACHE / f"keys{tag}"
    kdir.mkdir(parents=True, exist_ok=True)
    res = {}
    for k in list(only or []) + sorted(set(Xs) - set(only or [])):
        f = kdir / f"{k[0]}_{k[1].replace(':', '_')}.pkl"
        if f.exists():
            res.update(pickle.loads(f.read_bytes()))
            continue
        if only is not None and k not in only:
            continue
        t0 = time.time()
        out = Parallel(n_jobs=n_jobs)(
            delayed(_key_fold)(Xs[k], y, groups, tr, te, s) for _r, tr, te, s in splits
        )
        got = {(k, i): o for i, o in enumerate(out)}
        f.write_bytes(pickle.dumps(got))
        res.update(got)
        print(f"  {k}: {time.time() - t0:.0f} s wall", file=sys.stderr, flush=True)
    return res


def family(res, keys, y, groups, splits, seed=0) -> dict:
    """The nested figure of one candidate: in each outer fold the key (and C) with the best inner
    score among ``keys`` is used -- exactly what cross_validate does with those keys.
    """
    from trackmood.model.audio_cv import AXES

    repeats = max(r for r, *_ in splits) + 1
    correct = np.zeros((repeats, len(y)))
    acc, heads, picks = [], {n: [] for n in AXES}, []
    for f, (r, _tr, te, _s) in enumerate(splits):
        best = max(keys, key=lambda k: (res[(k, f)][0].max(), -keys.index(k)))
        scores, pred, h = res[(best, f)]
        correct[r, te] = pred == y[te]
        acc.append(float((pred == y[te]).mean()))
        for n in AXES:
            heads[n].append(h[n])
        picks.append(best)
    per_clip = correct.mean(axis=0)
    return {
        "acc": float(np.mean(acc)),
        "sd": float(np.std(acc)),
        "ci": _boot(per_clip, groups, seed),
        "valence_auc": float(np.nanmean(heads["valence"])),
        "per_clip": per_clip,
        "picks": {str(k): picks.count(k) for k in sorted(set(picks))},
    }


def _boot(per_clip, groups, seed):
    rng = np.random.default_rng(seed)
    uniq, inv = np.unique(groups, return_inverse=True)
    s, n = np.bincount(inv, per_clip), np.bincount(inv)
    b = [
        s[p].sum() / n[p].sum()
        for p in (rng.integers(0, len(uniq), len(uniq)) for _ in range(2000))
    ]
    return [float(np.percentile(b, 2.5)), float(np.percentile(b, 97.5))]


def _cost_of(graphs, budget, costs) -> float:
    c = costs.get(str(budget))
    if not c:
        return float("nan")
    return c["front"] + sum(c[g] for g in graphs)


#: The inputs computed by default (a busy shared machine: budget 3 and MTT's tags at 5 left out;
#: ``select --extra`` adds msd at budgets 2/3 for the exact current recipe).
KEYS = [  # in the order they are computed: the core comparison first
    (9, "msd:pen"), (9, "msd+mtt:pen"), (9, "mtt:pen"),
    (9, "msd:pen+tags"), (9, "msd+mtt:pen+tags"),
    (5, "msd:pen"), (5, "msd+mtt:pen"), (5, "mtt:pen"),
    (5, "msd:pen+tags"), (5, "msd+mtt:pen+tags"), (9, "mtt:pen+tags"),
]  # fmt: skip
EXTRA = [(k, f"msd:{b}") for k in (2, 3) for b in BLOCK_NAMES]
SD_KEYS = [(9, "msd:pen+sd"), (9, "msd+mtt:pen+sd")]
#: Every non-overlapping patch of a 30-s clip (10; on a long track 15).
KEYS15 = [(15, "msd:pen"), (15, "mtt:pen"), (15, "msd+mtt:pen"), (15, "msd+mtt:pen+tags")]


def candidates() -> list[tuple[str, list]]:
    """(name, keys) of every candidate; the first one computed (the current recipe; without
    ``--extra`` its budget-5/9 approximation) is the reference the others are paired with.
    """
    both = [(k, f"msd+mtt:{b}") for k in (5, 9) for b in BLOCK_NAMES]
    return [
        ("current recipe: msd, tags open, budget 2/3/5/9", [(k, f"msd:{b}") for k in (2, 3, 5, 9)
                                                             for b in BLOCK_NAMES]),
        ("msd, tags open, budget 5/9 (~ current recipe)", [(k, f"msd:{b}") for k in (5, 9)
                                                            for b in BLOCK_NAMES]),
        *[(f"{kb.replace(':', ', ')}, budget {k}", [(k, kb)]) for k, kb in KEYS],
        ("msd+mtt, tags open, budget 5/9", both),
        *[(f"{kb.replace(':', ', ')} (mean and sd over patches), budget {k}", [(k, kb)])
          for k, kb in SD_KEYS],
        *[(f"{kb.replace(':', ', ')}, budget {k}", [(k, kb)]) for k, kb in KEYS15],
        ("ALL open: graphs, tags, budget 5/9 (inner CV picks)", list(KEYS)),
        ("ALL open, budget 15 too", list(KEYS) + KEYS15),
    ]  # fmt: skip


def select(
    seed: int = 0, *, repeats: int = 5, partial: bool = False, graphs=None, extra=False
) -> list[dict]:
    """The table. ``partial`` (a smoke test while embedding): only the clips cached so far."""
    from trackmood.model.audio_train import _sha

    files, y, groups = _clips()
    shas = [_sha(f) for f in files]
    if partial:
        have = set.intersection(
            *({s for s, e in _load_graph(g).items() if _covers(e)} for g in ("msd", "mtt"))
        )
        keep = np.array([s in have for s in shas])
        shas, y, groups = [s for s in shas if s in have], y[keep], groups[keep]
    need = {"msd", "mtt"} if graphs is None else {g for s in graphs for g in s.split("+")}
    Xg = {g: matrices(g, shas) for g in sorted(need)}
    Xs = keys_X(Xg)
    splits = outer_splits(y, groups, repeats=repeats, seed=seed)
    t0 = time.time()
    only = [
        k
        for k in KEYS + (EXTRA + SD_KEYS + KEYS15 if extra else [])
        if graphs is None or k[1].split(":")[0] in graphs
    ]
    res = all_keys(Xs, y, groups, splits, only=only, tag="-partial" if partial else "")
    have = {k for k, _ in res}
    print(f"{len(y)} clips, {len({k for k, _ in res})} inputs x {len(splits)} outer folds: "
          f"{time.time() - t0:.0f} s wall", file=sys.stderr)  # fmt: skip
    cpath = CACHE / "cost.json"
    costs = json.loads(cpath.read_text()) if cpath.exists() else {}
    rows, base = [], None
    for name, keys in candidates():
        if not set(keys) <= have:
            continue
        fam = family(res, sorted(keys), y, groups, splits, seed)
        if base is None:
            base = fam["per_clip"]
        graphs = sorted({g for _, kb in keys for g in kb.split(":")[0].split("+")})
        row = {
            "candidate": name,
            **{k: v for k, v in fam.items() if k != "per_clip"},
            "vs_current": _paired(fam["per_clip"] - base, groups, seed),
            "cost": _cost_of(graphs, max(k for k, _ in keys), costs),
        }
        rows.append(row)
        print(_fmt(row), flush=True)
    best = max(rows[1:], key=lambda r: r["acc"])
    print(f"\nbest nested figure: {best['candidate']} ({best['acc']:.1%})")
    # the winner: a paired gain over the reference whose interval excludes 0; ties (interval
    # spanning 0) that cost less are listed, since the same embedding at a smaller budget is a
    # setting, not a stronger model
    beats = [r for r in rows[1:] if r["vs_current"][1] > 0]
    cheaper = [r for r in rows[1:] if r["vs_current"][1] <= 0 <= r["vs_current"][2]
               and r["cost"] < rows[0]["cost"] - 0.05]  # fmt: skip
    if beats:
        win = max(beats, key=lambda r: r["acc"])
        print(f"WINNER: {win['candidate']} (beats the reference beyond noise)")
    else:
        print(f"WINNER: none beats the reference beyond noise ({rows[0]['candidate']})")
    for r in cheaper:
        print(f"  ties it at a lower cost: {r['candidate']} ({r['cost']:.2f} CPU-s)")
    for r in rows:
        if r["candidate"].startswith("ALL open"):
            print(f"the ALL-open selection's inner-CV picks per outer fold: {r['picks']}")
    (CACHE / "select.json").write_text(json.dumps(rows, indent=1))
    return rows


def _paired(d, groups, seed) -> list[float]:
    """Mean per-clip difference and its artist-bootstrap 95 % interval."""
    rng = np.random.default_rng(seed)
    uniq, inv = np.unique(groups, return_inverse=True)
    s, n = np.bincount(inv, d), np.bincount(inv)
    boot = [
        s[p].sum() / n[p].sum()
        for p in (rng.integers(0, len(uniq), len(uniq)) for _ in range(2000))
    ]
    return [float(d.mean()), float(np.percentile(boot, 2.5)), float(np.percentile(boot, 97.5))]


def _fmt(r) -> str:
    lo, hi = r["ci"]
    d, dlo, dhi = r["vs_current"]
    return (
        f"{r['candidate']:<52s} {r['acc']:.1%} ± {r['sd']:.1%} [{lo:.1%}-{hi:.1%}]  "
        f"valence AUC {r['valence_auc']:.3f}  "
        f"vs reference {d:+.1%} [{dlo:+.1%}, {dhi:+.1%}]  cost {r['cost']:.2f} CPU-s"
    )


def main(argv: list[str]) -> int:
    cmd = argv[0] if argv else "select"
    if cmd == "embed":
        seed = next((a.split("=", 1)[1] for a in argv if a.startswith("--seed=")), None)
        embed(argv[1], reverse="--reverse" in argv, seed=seed)
    elif cmd == "cost":
        cost(int(argv[1]) if len(argv) > 1 else 20)
    elif cmd == "select":
        graphs = next(
            (a.split("=", 1)[1].split(",") for a in argv if a.startswith("--graphs=")), None
        )
        select(
            repeats=1 if "--partial" in argv else 5,
            partial="--partial" in argv,
            graphs=graphs,
            extra="--extra" in argv,
        )
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
