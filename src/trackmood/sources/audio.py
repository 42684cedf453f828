"""The user's own audio files as a feature source, and the table of ``trackmood extract``.

A thin adapter of the audio engine (:class:`trackmood.engine.Engine`: one finder, one hash, each
file decoded once for descriptors and embedding, the content-keyed cache, local processes or a
Dask cluster). The source measures features only: the pipeline picks the model, predicts (also
per timeline window) and writes predictions.

>>> AudioSource.kind
'audio'
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import ClassVar

from ..errors import DataError
from ..paths import as_text
from .base import FAILED, OK, Notify, Progress

#: Provider of the audio model's descriptors (``a_*``).
SOURCE = "audio:librosa"
#: The first column of the musicnn embedding (``AudioSource(embed_patches=...)``).
EMBEDDED = "mn_pen000"


def _clean(v):
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else v


def check_folders(refs: Sequence[str]) -> None:
    """Refuse a folder that holds no audio file (it would give an empty table)."""
    from ..audio.decode import AUDIO_SUFFIXES
    from ..engine import has_audio

    for ref in refs:
        p = Path(ref).expanduser()
        if p.is_dir() and not has_audio(p):
            raise DataError(
                f"no audio files in this folder (looked for {', '.join(sorted(AUDIO_SUFFIXES))})",
                file=ref,
            )


class AudioSource:
    """Audio files and folders (recursive) → one feature frame, one row per file, input order.

    Parameters
    ----------
    store : trackmood.store.Store, optional
        Cache of finished analyses (and where measured features are kept); ``None``: no cache.
    workers : int, optional
        Local processes (default all cores); ``1`` analyses in this process.
    scheduler : str, distributed.Client or trackmood.engine.WorkerPool, optional
        Run the analysis on a Dask cluster, or on a pool the caller owns (the web app's).
    window : float, optional
        Also give each file's descriptors per ``window``-second slice, in column ``windows``
        (a list of ``{start, end, a_*...}``): the pipeline turns them into a mood timeline.
    embed_patches : int, optional
        Also the musicnn embedding (``mn_*``) with this patch budget, from the same decode.
    lock : optional
        Held around the engine's cache reads and writes (the web app's library lock).
    names : dict, optional
        ``{path: name}``: show and keep these files under another name (the web app's uploads
        under the client's file name, never our temporary path).
    """

    kind: ClassVar[str] = "audio"

    def __init__(
        self,
        *,
        store=None,
        workers: int | None = None,
        scheduler=None,
        window=None,
        embed_patches: int | None = None,
        lock=None,
        names: dict[str, str] | None = None,
    ):
        self.store, self.workers, self.scheduler, self.window = store, workers, scheduler, window
        self.embed_patches = embed_patches
        self.lock = lock
        self.names = names or {}

    def engine(self, *, record: bool = False):
        from ..engine import Engine

        return Engine(
            store=self.store,
            workers=self.workers,
            scheduler=self.scheduler,
            window=self.window,
            patches=self.embed_patches,
            record=record,
            lock=self.lock,
        )

    def results(self, refs, *, progress=None, notify=None, record: bool = False) -> list[dict]:
        """Engine results in input order (folders sorted)."""
        check_folders(refs)

        def tick(done, total):
            if progress:
                progress("analysing audio", done, total)

        out = self.engine(record=record).ordered(refs, progress=tick, notify=notify)
        for res in out:
            name = self.names.get(res["path"])
            if name is not None:
                if "error" in res:
                    res["error"] = str(res["error"]).replace(res["path"], name)
                res["path"] = res["name"] = name
        return out

    def frames(
        self,
        refs: Sequence[str],
        *,
        progress: Progress | None = None,
        notify: Notify | None = None,
    ) -> Iterator:
        results = self.results(refs, progress=progress, notify=notify)
        yield results_frame(results, window=self.window, notify=notify)


def results_frame(results: list[dict], *, window: float | None = None, notify=None):
    """Extraction results (``{"id", "name", "path", "features"/"error", ...}``, as
    :meth:`trackmood.engine.Engine.results` gives them) → one feature frame of the contract,
    one row per result; with ``window``, each file's descriptor windows in column ``windows``.
    """
    import numpy as np
    import pandas as pd

    from ..audio.extract import (
        DESCRIPTORS,
        EMPTY,
        ESTIMATE_SOURCE,
        ESTIMATED,
        MEASURED,
        MEASURED_SOURCE,
    )

    prov = {
        **dict.fromkeys(MEASURED, MEASURED_SOURCE),
        **dict.fromkeys(ESTIMATED, ESTIMATE_SOURCE),
        **dict.fromkeys(DESCRIPTORS, SOURCE),
    }
    columns = ["id", "name", "path", *MEASURED, *ESTIMATED, *EMPTY, *DESCRIPTORS]
    if any("features" in r and EMBEDDED in r["features"] for r in results):
        from ..audio.embedding import PROVIDER, feature_names

        embedded = feature_names(tags=True)
        columns += embedded
        prov.update(dict.fromkeys(embedded, PROVIDER))
    rows = []
    for r in results:
        name, path = as_text(r["name"]), as_text(r["path"])  # names that are not UTF-8: escaped
        row = {"id": r["id"], "name": name, "path": path, "decoder": r.get("decoder")}
        if "features" in r:
            f = r["features"]
            row.update({k: f.get(k) for k in columns[3:]})
            row["provenance"] = {k: v for k, v in prov.items() if _clean(f.get(k)) is not None}
            row["status"], row["reason"] = OK, None
            if window:
                row["windows"] = r.get("windows") or []
        else:
            row["provenance"] = {}
            row["status"], row["reason"] = FAILED, as_text(r["error"])
            if notify:
                notify(f"skipped: {r['error']}")
        rows.append(row)
    extra = ["decoder", "provenance", "status", "reason"] + (["windows"] if window else [])
    num = columns[3:]
    # the numbers as one float block (not ~600 columns converted one by one)
    block = np.array([[_number(row.get(k)) for k in num] for row in rows], dtype=float)
    block = block.reshape(len(rows), len(num))
    parts = [
        pd.DataFrame([{k: row.get(k) for k in columns[:3]} for row in rows], columns=columns[:3]),
        pd.DataFrame(block, columns=num),
        pd.DataFrame([{k: row.get(k) for k in extra} for row in rows], columns=extra),
    ]
    return pd.concat(parts, axis=1)


def _number(v) -> float:
    """A feature value as a float; ``nan`` when empty or not a number."""
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def extract_table(
    paths: list[str],
    *,
    workers: int | None = None,
    scheduler=None,
    store=None,
    progress: Progress | None = None,
    notify: Notify | None = None,
):
    """The features table of ``trackmood extract``: ``id, path, name``, the Spotify-style columns
    (measured; ``*_est`` flagged estimates; Spotify-only columns left empty), ``a_*``
    descriptors, ``decoder`` and ``error``.
    """
    import pandas as pd

    from ..audio.extract import DESCRIPTORS, EMPTY, ESTIMATED, MEASURED

    source = AudioSource(store=store, workers=workers, scheduler=scheduler)
    cols = ["id", "path", "name", *MEASURED, *ESTIMATED, *EMPTY, *DESCRIPTORS, "decoder", "error"]
    rows = []
    for r in source.results(paths, progress=progress, notify=notify, record=True):
        row = {"id": r["id"], "path": as_text(r["path"]), "name": as_text(r["name"])}
        row["error"] = as_text(r.get("error"))
        if "features" in r:
            row.update(
                {k: r["features"].get(k) for k in (*MEASURED, *ESTIMATED, *EMPTY, *DESCRIPTORS)}
            )
            row["decoder"] = r.get("decoder")
        rows.append(row)
    df = pd.DataFrame(rows, columns=cols)
    num = [*MEASURED, *ESTIMATED, *EMPTY, *DESCRIPTORS]
    df[num] = df[num].apply(pd.to_numeric, errors="coerce")
    return df
