"""Scan music folders into the library: analyse new or changed files only.

A file is unchanged when its size and modification time (nanoseconds) equal what the last scan
saw and it was predicted by the current model: then it costs one ``stat`` and no read (all the
rows under the scanned folders come from one query). New or changed files are hashed; a content
hash the library already knows (a moved, renamed or copied file) reuses its prediction; the rest
are analysed in parallel, and each result is committed as it arrives, so a killed scan resumes
where it stopped. Rows of files that are gone are marked ``missing`` and reported.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..moods import PROBA_COLUMNS
from . import catalog
from .analyse import analyse_iter, load

Progress = Callable[[str, int, int | None], None]


@dataclass
class ScanReport:
    """What a scan found and did; ``lines()`` is its summary for people."""

    found: int = 0
    unchanged: int = 0
    analysed: int = 0
    reused: int = 0
    repredicted: int = 0
    moved: list[tuple[str, str]] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def lines(self) -> list[str]:
        out = [
            f"{self.found} audio file(s): {self.unchanged} unchanged, {self.analysed} analysed, "
            + (f"{self.repredicted} predicted again by a new model, " if self.repredicted else "")
            + f"{self.reused} known by content ({len(self.moved)} moved), {len(self.failed)} failed, "
            f"{len(self.missing)} missing ({self.seconds:.1f} s)"
        ]
        out += [f"moved: {a} -> {b}" for a, b in self.moved[:20]]
        out += [f"failed: {e}" for e in self.failed[:20]]
        out += [f"missing: {p}" for p in self.missing[:20]]
        if len(self.missing) > 20:
            out.append(f"... and {len(self.missing) - 20} more missing")
        return out


def walk(
    paths: Iterable[str | Path], bad: list[str] | None = None
) -> tuple[dict[str, os.stat_result], list[str]]:
    """``({path: stat}, roots)``: the audio engine's finder (:func:`trackmood.engine.find_audio`,
    absolute paths): audio files under the folders (recursive, hidden names skipped) and files
    named directly; ``roots`` are the absolute folders and files given. Files that cannot be
    analysed (names that are not valid UTF-8) are left out, their one-line error appended to
    ``bad``.
    """
    from ..engine import find_audio

    found = find_audio(paths, absolute=True, utf8_only=True)
    if bad is not None:
        bad.extend(line for _, line in found.bad)
    return found.files, found.roots


def read_info(path: str) -> dict:
    """``artist``, ``title``, ``duration`` from the file's tags (``None`` where absent)."""
    from .tags import read_info as _read

    return _read(path)


def scan(
    store,
    paths: Iterable[str | Path],
    *,
    model=None,
    workers: int | None = None,
    progress: Progress | None = None,
    force: bool = False,
    scheduler=None,
) -> ScanReport:
    """Bring the library up to date with the files under ``paths``.

    Parameters
    ----------
    store : trackmood.store.Store
    paths : folders and files
    model : optional
        Audio model (default: the library's default, else the bundled audio model); files
        predicted by another model are predicted again (from cached features).
    workers : int, optional
        Analysis processes (default all cores).
    progress : callable(stage, done, total), optional
    force : bool
        Analyse every file again, even unchanged ones.
    scheduler : str or distributed.Client, optional
        Analyse on a Dask cluster (``tcp://host:8786``) instead of local processes.
    """
    from ..engine import file_hash, track_id

    t0 = time.perf_counter()
    catalog.ensure(store)
    m = load(model, store=store)
    bad: list[str] = []
    found, roots = walk(paths, bad)
    known = catalog.files_under(store, roots)
    rep = ScanReport(found=len(found))
    rep.failed += bad
    todo, repredict = [], []
    for p, st in found.items():
        row = known.get(p)
        if (
            not force
            and row is not None
            and row["size"] == st.st_size
            and row["mtime_ns"] == st.st_mtime_ns
            and row["status"] != "missing"
            and (row["status"] in ("failed", "error") or row["model"] == m.name)
        ):
            rep.unchanged += 1
            continue
        if (
            row is not None
            and not force
            and (row["size"], row["mtime_ns"]) == (st.st_size, st.st_mtime_ns)
        ):
            repredict.append(row)  # same file, another model: predict from cached features
        else:
            todo.append(p)
    rep.repredicted = _repredict(store, m, repredict, todo)
    gone = [p for p, r in known.items() if p not in found and r["status"] != "missing"]

    # content hashes of new and changed files: known contents reuse their prediction. Only a
    # file as large as some analysed file can be one of them: the others are left to the
    # analysis, which hashes what it reads anyway.
    sizes = catalog.analysed_sizes(store) if todo and not force else set()
    candidates = [p for p in todo if found[p].st_size in sizes]
    shas: dict[str, str] = {}
    for i, p in enumerate(candidates):
        try:
            shas[p] = file_hash(p)
        except OSError:
            pass  # analysis reports it
        if progress:
            progress("hashing new or changed files", i + 1, len(candidates))
    same = {} if force else catalog.files_by_sha(store, set(shas.values()))
    reuse, analyse = [], []
    gone_set = set(gone)
    now = time.time()
    for p in todo:
        rows = same.get(shas.get(p, ""), [])
        # prefer the row of a file that is gone: that file was moved here
        old = next((r for r in rows if r["path"] in gone_set), rows[0] if rows else None)
        if old is not None and old["model"] == m.name:
            st = found[p]
            reuse.append(
                {
                    **old,
                    "path": p,
                    "size": st.st_size,
                    "mtime_ns": st.st_mtime_ns,
                    "status": "ok",
                    "seen_at": now,
                }
            )
            if old["path"] != p and old["path"] in gone_set:
                rep.moved.append((old["path"], p))
                gone_set.discard(old["path"])
        else:
            analyse.append(p)
    moved_from = {a for a, _ in rep.moved}
    catalog.upsert_files(store, reuse)
    catalog.delete_files(store, moved_from)
    rep.reused = len(reuse)

    for res in analyse_iter(
        analyse,
        store=store,
        model=m,
        workers=workers,
        scheduler=scheduler,
        progress=(lambda d, t: progress("analysing", d, t)) if progress else None,
    ):
        p = res["path"]
        seen = found.get(p)
        row = {
            "path": p,
            "size": seen.st_size if seen else None,
            "mtime_ns": seen.st_mtime_ns if seen else None,
            "sha": res.get("sha"),
            "track_id": res.get("id") or (track_id(res["sha"]) if res.get("sha") else None),
            # 'ok'; 'failed' when the file could not be analysed or its features were invalid
            "status": "ok" if res["status"] == "ok" else "failed",
            "error": res.get("reason"),
            "model": m.name,
            "seen_at": time.time(),
        }
        if res["status"] == "ok":
            info = read_info(p)
            if info.get("duration") is None and res.get("features"):
                dms = res["features"].get("duration_ms")
                info["duration"] = dms / 1000.0 if dms else None
            row.update(info)
            row.update({k: res[k] for k in ("mood", "confidence", *catalog.PROBA_COLUMNS)})
            row["analysed_at"] = time.time()
            rep.analysed += 1
        else:
            rep.failed.append(res.get("reason") or p)
        catalog.upsert_files(store, [row])  # one commit per file: a killed scan keeps it

    missing = [p for p in gone if p not in moved_from]
    if missing:
        store.mark_files_missing(missing)
    rep.missing = missing
    from .similar import update as update_similar_index

    update_similar_index(store)  # the similar-tracks index gains the new contents
    rep.seconds = time.perf_counter() - t0
    return rep


def _repredict(store, model, rows: list[dict], todo: list[str]) -> int:
    """Predict unchanged files again with ``model`` through the pipeline, from the features the
    audio engine cached by content hash (descriptors, and the embedding when the model reads
    it); files without them go to ``todo`` (analysed, one decode for both). Returns how many
    were predicted.
    """
    from ..engine import cache
    from ..pipeline import embed_patches
    from .analyse import predict_results

    patches = embed_patches(model)
    ready = []
    for row in rows:
        hit = cache.get(store, row["sha"], patches=patches) if row["sha"] else None
        if hit is None or "features" not in hit:
            todo.append(row["path"])
            continue
        res = {
            "id": row["track_id"],
            "name": row.get("title") or Path(row["path"]).stem,
            "path": row["path"],
            "sha": row["sha"],
            "features": hit["features"],
        }
        ready.append((row, res))
    if not ready:
        return 0
    preds = predict_results([r for _, r in ready], model, store=store)
    now = time.time()
    store.set_file_results(
        {
            "path": row["path"],
            "status": "ok" if p["status"] == "ok" else "failed",
            "error": p["reason"],
            "model": model.name,
            "mood": p["mood"],
            **{k: p[k] for k in PROBA_COLUMNS},
            "confidence": p["confidence"],
            "analysed_at": now,
        }
        for (row, _), p in zip(ready, preds, strict=True)
    )
    return len(ready)
