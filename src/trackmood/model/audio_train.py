"""Train and evaluate the audio mood model on labeled audio folders (subfolder = label).

The model reads the musicnn embedding of :mod:`trackmood.audio.embedding` (the mean over a fixed
budget of 3-s patches of the MSD model's 200-d penultimate layer, optionally with its 50 tag
probabilities): a standardised multinomial logistic regression, exported as a
:class:`~trackmood.model.runtime.NetRuntime`, so predicting needs only onnxruntime and numpy.
Two logistic heads on the same inputs estimate **valence** and **energy** (0-1), trained on
Russell's axes (energy: Happy + Energetic vs Sad + Calm, i.e. Q1+Q2 vs Q3+Q4; valence:
Happy + Calm vs Energetic + Sad, i.e. Q1+Q4 vs Q2+Q3).

Evaluation is **nested**, repeated stratified K-fold **grouped by artist** (no artist on both
sides; artists from the folder's ``metadata.csv``, else one group per file). Every choice --
the input blocks, the patch budget and ``C`` -- is made by an inner grouped CV inside each outer
training part. The outer folds give accuracy mean ± sd over folds and an artist-level bootstrap
95 % interval; the heads' ROC AUC comes from the same outer folds.

The bundled model ``src/trackmood/models/audio`` is made by one command::

    python -m trackmood.model.audio_train ../shared/data/audio_4q
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from ..audio import embedding as emb
from ..engine.files import file_hash as _sha  # the one content hash
from ..errors import DataError
from ..moods import MOODS, LabelMap
from .audio_cv import (
    AXES,
    BLOCKS,
    BUDGETS,
    C_GRID,
    choose,
    choose_head_C,
    cross_validate,
    fit_logistic,
)
from .persistence import TrainedModel, bundled_dir, load_model, save_model
from .runtime import Dense, NetRuntime

DATASET_NOTE = (
    "Trained on the 4-quadrant audio emotion dataset of Panda, Malheiro & Paiva, 'Novel audio "
    "features for music emotion recognition', IEEE Transactions on Affective Computing, 2018 "
    "(mir.dei.uc.pt): 30-second clips labeled by Russell quadrant from AllMusic mood tags "
    "(Q1 -> Happy, Q2 -> Energetic, Q3 -> Sad, Q4 -> Calm). The dataset is shared by its authors "
    "for research; its audio is not shipped with trackmood, only this model's weights. Use the "
    "model for research and education."
)
MUSICNN_NOTE = (
    "Embedding: musicnn MSD_musicnn (Jordi Pons and Xavier Serra, 'musicnn: Pre-trained "
    "convolutional neural networks for music audio tagging', ISMIR 2019 Late-Breaking/Demo), "
    "ISC licence, converted to ONNX by scripts/convert_musicnn.py; see "
    "trackmood/models/musicnn/LICENSE and CITATION.md."
)
PUBLISHED = {
    "F1 standard features (Panda et al. 2018, 900 clips, 20x10-fold CV)": 0.67,
    "F1 novel features (Panda et al. 2018)": 0.764,
}
#: What the four moods mean for this model (Russell quadrants of AllMusic mood tags).
MEANINGS = {
    "Happy": "Q1: positive valence, high arousal (AllMusic tags such as happy, exuberant, cheerful)",
    "Energetic": "Q2: negative valence, high arousal (angry, tense, aggressive, anxious)",
    "Sad": "Q3: negative valence, low arousal (sad, melancholy, gloomy)",
    "Calm": "Q4: positive valence, low arousal (calm, relaxed, serene, tender)",
}


# -- data ---------------------------------------------------------------------------------------
def folder_labels(directory: str | Path, *, label_map: LabelMap) -> list[tuple[Path, str]]:
    """``(file, mood)`` for every audio file under each labeled subfolder of ``directory`` (found
    by the audio engine's one finder: the same suffixes and hidden-name rule as a scan).
    """
    from ..engine.files import find_audio

    directory = Path(directory)
    if not directory.is_dir():
        raise DataError(f"{directory}: not a folder; expected one subfolder of audio per label")
    out = []
    subs = sorted(p for p in directory.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not subs:
        raise DataError(
            f"{directory}: no label subfolders (expected e.g. Happy/, Sad/ or Q1/..Q4/)"
        )
    for sub in subs:
        mood = label_map.apply(sub.name)
        if mood is None:
            continue
        files = [Path(q) for q in find_audio([sub]).paths]
        out += [(f, mood) for f in files]
    if not out:
        raise DataError(f"{directory}: no audio files in the label subfolders")
    return out


def artist_groups(directory: str | Path, files: list[Path]) -> np.ndarray:
    """Artist of each file from ``metadata.csv`` (``Song`` = file stem, ``Artist``); files without
    metadata get their own group.
    """
    meta = Path(directory) / "metadata.csv"
    mapping: dict[str, str] = {}
    if meta.exists():
        df = pd.read_csv(meta, usecols=lambda c: c in ("Song", "Artist"))
        if {"Song", "Artist"} <= set(df.columns):
            mapping = {
                str(s): str(a).strip().lower()
                for s, a in zip(df["Song"], df["Artist"], strict=False)
            }
    return np.array([mapping.get(f.stem, f"file:{f.stem}") for f in files])


def _clip_patches(path: Path, budgets) -> tuple[int, list[int], np.ndarray, np.ndarray]:
    """Total frames, the union of the budgets' patch starts, and their network outputs."""
    from ..audio.decode import decode

    y = decode(path, sr=emb.SR, loudness=False).y
    need = (emb.PATCH_FRAMES - 1) * emb.HOP
    if len(y) < need:
        y = np.concatenate([y, np.zeros(need - len(y), np.float32)])
    total = emb.n_frames(len(y))
    starts = sorted({s for k in budgets for s in emb.patch_starts(total, k)})
    out = emb.run_patches(np.stack([emb.log_mel(y, s, emb.PATCH_FRAMES) for s in starts]))
    return total, starts, out["penultimate"], out["tags"]


def load_embeddings(
    directory: str | Path,
    *,
    label_map: LabelMap,
    cache: str | Path | None = None,
    budgets=BUDGETS,
    notify: Callable[[str], None] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Per-clip musicnn embeddings of a labeled folder for every patch budget in ``budgets``.

    Returns ``files``, ``mood``, ``group``, ``sha`` and ``X[(k, block)]`` (one row per clip: the
    mean over the budget-``k`` patches of the penultimate layer, with the mean tag probabilities
    appended for block ``pen+tags``). ``cache`` is an ``.npz`` of per-patch outputs keyed by the
    files' content hashes, reused and rewritten with the union.
    """
    from ..errors import SourceError

    pairs = folder_labels(directory, label_map=label_map)
    files = [p for p, _ in pairs]
    groups = artist_groups(directory, files)
    known: dict[str, tuple] = {}
    if cache is not None and Path(cache).exists():
        with np.load(cache, allow_pickle=False) as z:
            for i, s in enumerate(z["sha"]):
                rows = z["owner"] == i
                known[str(s)] = (
                    int(z["total"][i]),
                    z["start"][rows].tolist(),
                    z["pen"][rows],
                    z["tags"][rows],
                )
    clips, keep, errors = [], [], []
    shas = [_sha(p) for p in files]
    todo = sum(s not in known for s in shas)
    if notify and todo:
        notify(f"embedding {todo} file(s) with musicnn ({len(files) - todo} cached)")
    for i, (p, sha) in enumerate(zip(files, shas, strict=True)):
        entry = known.get(sha)
        need = None
        if entry is not None:
            need = {s for k in budgets for s in emb.patch_starts(entry[0], k)}
        if entry is None or need is None or not need <= set(entry[1]):
            try:
                entry = _clip_patches(p, budgets)
            except SourceError as e:
                errors.append(str(e))
                continue
            known[sha] = entry
        clips.append((sha, entry))
        keep.append(i)
        if progress:
            progress(i + 1, len(files))
    for msg in errors[:5]:
        if notify:
            notify(f"skipped: {msg}")
    if not clips:
        raise DataError(f"{directory}: no file could be analysed ({len(errors)} failed)")
    if cache is not None:
        _write_cache(cache, known)
    X = {}
    for k in budgets:
        pen, tags = [], []
        for _, (total, starts, P, T) in clips:
            rows = [starts.index(s) for s in emb.patch_starts(total, k)]
            pen.append(P[rows].mean(axis=0))
            tags.append(T[rows].mean(axis=0))
        pen_x, tags_x = np.array(pen, float), np.array(tags, float)
        X[(k, "pen")] = pen_x
        X[(k, "pen+tags")] = np.hstack([pen_x, tags_x])
    return {
        "files": [files[i] for i in keep],
        "mood": np.array([pairs[i][1] for i in keep]),
        "group": groups[keep],
        "sha": [s for s, _ in clips],
        "X": X,
    }


def _write_cache(cache, known: dict) -> None:
    shas = sorted(known)
    owner, start, pen, tags, total = [], [], [], [], []
    for i, s in enumerate(shas):
        t, st, P, T = known[s]
        total.append(t)
        owner += [i] * len(st)
        start += list(st)
        pen.append(P)
        tags.append(T)
    Path(cache).parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(str(cache) + ".part.npz")
    np.savez(
        tmp,
        sha=np.array(shas),
        total=np.array(total),
        owner=np.array(owner),
        start=np.array(start),
        pen=np.vstack(pen).astype(np.float32),
        tags=np.vstack(tags).astype(np.float32),
    )
    tmp.replace(cache)


# -- the contract -------------------------------------------------------------------------------
def _runtime(X, y, *, C: float, features: list[str], heads: dict) -> NetRuntime:
    mu, scale, coef, icpt, classes = fit_logistic(X, y, C=C)
    rt = NetRuntime(
        features=features,
        classes=list(classes),
        log_mask=np.zeros(len(features), bool),
        shift=mu,
        scale=scale,
        members=[[Dense(coef.T.copy(), icpt.copy(), "identity")]],
    )
    rt.meta["heads"] = heads
    rt.meta["provider"] = emb.PROVIDER
    return rt


def train_from_folder(
    directory: str | Path,
    *,
    label_map: LabelMap,
    out: Path | None = None,
    seed: int = 0,
    notify: Callable[[str], None] | None = None,
    repeats: int = 5,
    folds: int = 5,
    cache: str | Path | None = None,
    progress: Callable[[int, int], None] | None = None,
    **_ignored,
) -> TrainedModel:
    """Train the audio model on ``directory`` (one subfolder of audio per label), evaluate it with
    nested ``repeats x folds`` CV grouped by artist, and save it to ``out`` if given.

    ``cache`` is an ``.npz`` of per-patch embeddings (see :func:`load_embeddings`);
    ``repeats=0`` skips the evaluation.
    """
    t0 = time.time()
    data = load_embeddings(
        directory, label_map=label_map, cache=cache, notify=notify, progress=progress
    )
    y, groups = data["mood"], data["group"]
    labels = sorted(set(y))
    if len(labels) < 2:
        raise DataError(
            f"{directory}: need at least two labels, found {', '.join(labels) or 'none'}"
        )
    metrics: dict = {}
    if repeats > 0:
        if notify:
            notify(f"nested CV ({repeats}x{folds}-fold outer, grouped by artist) on {len(y)} clips")
        metrics = cross_validate(data["X"], y, groups, repeats=repeats, folds=folds, seed=seed)
        metrics["published_reference"] = PUBLISHED
        if notify:
            notify(
                f"outer accuracy {metrics['accuracy_mean']:.3f} ± {metrics['accuracy_std']:.3f} "
                f"(95% bootstrap {metrics['accuracy_ci95'][0]:.3f}-{metrics['accuracy_ci95'][1]:.3f})"
            )
    idx = np.arange(len(y))
    k, block, C = choose(data["X"], y, groups, idx, seed=seed)
    X = data["X"][(k, block)]
    features = emb.feature_names(tags=block == "pen+tags")
    heads = {}
    for name, pos in AXES.items():
        yb = np.isin(y, pos)
        if yb.all() or not yb.any():
            continue
        hC = choose_head_C(X, yb.astype(int), groups, idx, seed=seed + 7)
        _, _, hc, hi, _ = fit_logistic(X, yb.astype(int), C=hC)
        heads[name] = {"coef": hc.ravel().tolist(), "intercept": float(hi.ravel()[0]), "C": hC}
    runtime = _runtime(X, y, C=C, features=features, heads=heads)
    if list(runtime.classes) != [m for m in MOODS if m in labels]:
        raise DataError(f"labels {labels} do not map onto moods {MOODS}")
    card = _card(
        directory, data, metrics, choice={"max_patches": k, "blocks": block, "C": C}, seed=seed
    )
    card["train_seconds"] = round(time.time() - t0, 1)
    model = TrainedModel(runtime, card)
    if out is not None:
        save_model(model, out)
        model.path = Path(out)
        if notify:
            notify(f"saved audio model to {out}")
    return model


def recipe(directory, *, label_map, seed: int = 0, notify=None, progress=None, **kw):
    """The ``audio`` recipe's trainer (registered as ``trackmood.model.audio_train:recipe``)."""
    return train_from_folder(
        directory, label_map=label_map, seed=seed, notify=notify, progress=progress, **kw
    )


# -- prediction ---------------------------------------------------------------------------------
def predict_embedding(res, model: TrainedModel | str | None = None) -> dict:
    """Mood probabilities, valence and energy (0-1) from :func:`~trackmood.audio.embedding.embed_file`
    results (one dict, or a list of them), with the model's patch budget in ``max_patches``.

    Returns ``proba`` ``(n, 4)``, ``classes``, ``mood``, ``valence``, ``energy`` (arrays, or
    scalars for one dict; NaN when the model has no head) and ``provider`` ``"audio:musicnn"``.
    """
    m = model if isinstance(model, TrainedModel) else load_model(model or "audio")
    one = isinstance(res, dict)
    items = [res] if one else list(res)
    n_pen = emb.EMBEDDING_DIM
    want_tags = len(m.features) > n_pen
    X = np.array(
        [
            np.concatenate([r["embedding"], r["tags"]]) if want_tags else r["embedding"]
            for r in items
        ],
        dtype=float,
    )
    return predict_vectors(X, m, squeeze=one)


def predict_vectors(X: np.ndarray, model: TrainedModel, *, squeeze: bool = False) -> dict:
    """:func:`predict_embedding` on rows of embedding features (``model.features`` order)."""
    X = np.atleast_2d(np.asarray(X, dtype=float))
    rt = model.runtime
    proba = rt.predict_proba(X)
    out = {
        "classes": list(rt.classes),
        "proba": proba,
        "mood": np.asarray(rt.classes)[proba.argmax(axis=1)],
        "provider": rt.meta.get("provider", emb.PROVIDER),
    }
    found = rt.axes(X)
    for name in AXES:
        out[name] = found.get(name, np.full(len(X), np.nan))
    if squeeze:
        for key in ("proba", "mood", *AXES):
            out[key] = out[key][0]
        out["proba"] = dict(zip(out["classes"], map(float, out["proba"]), strict=True))
    return out


def max_patches(model: TrainedModel | None = None) -> int:
    """The patch budget the model was selected with (what :func:`embed_file` should use)."""
    m = model or load_model("audio")
    return int(m.card.get("embedding", {}).get("max_patches", emb.MAX_PATCHES))


def _card(directory, data: dict, metrics: dict, *, choice: dict, seed: int) -> dict:
    import onnxruntime
    import sklearn

    listing = hashlib.sha256("\n".join(sorted(data["sha"])).encode()).hexdigest()
    counts = pd.Series(data["mood"]).value_counts().sort_index().to_dict()
    block = "200-d penultimate layer" + (
        " and 50 tag probabilities" if choice["blocks"] == "pen+tags" else ""
    )
    figures = ""
    if metrics:
        lo, hi = metrics["accuracy_ci95"]
        auc = metrics["heads_roc_auc"]
        figures = (
            f" Out of sample ({metrics['cv']}): accuracy {metrics['accuracy_mean']:.1%} ± "
            f"{metrics['accuracy_std']:.1%} over the outer folds (95 % bootstrap interval over "
            f"artists {lo:.1%}-{hi:.1%}); ROC AUC of the energy head "
            f"{auc['energy']['mean']:.3f}, of the valence head {auc['valence']['mean']:.3f}."
        )
    return {
        "name": "audio",
        "kind": "audio",
        "description": (
            "Mood from the audio itself: a standardised multinomial logistic regression "
            f"(C={choice['C']:g}) on musicnn's MSD embedding ({block}, mean over "
            f"{choice['max_patches']} 3-s patches spread over the track), with logistic valence "
            "and energy heads. Runs on onnxruntime + numpy. What the moods mean here: "
            + "; ".join(f"{m} = {MEANINGS[m]}" for m in sorted(set(data["mood"])) if m in MEANINGS)
            + ". Valence and energy (0-1) are the heads' probabilities of the positive side of "
            "Russell's axes (energy: Happy + Energetic = Q1+Q2; valence: Happy + Calm = Q1+Q4)."
            + figures
            + " "
            + MUSICNN_NOTE
        ),
        "features": emb.feature_names(tags=choice["blocks"] == "pen+tags"),
        "classes": sorted(set(data["mood"])),
        "moods": MEANINGS,
        "label_counts": {k: int(v) for k, v in counts.items()},
        "training_files": [
            {
                "file": f"{Path(directory).name}/ ({len(data['sha'])} audio clips)",
                "sha256": listing,
                "rows": len(data["sha"]),
            }
        ],
        "embedding": {
            "provider": emb.PROVIDER,
            "onnx": f"models/musicnn/{emb.ONNX_FILE}",
            "max_patches": choice["max_patches"],
            "blocks": choice["blocks"],
        },
        "hyperparameters": {
            **choice,
            "seed": seed,
            "C_grid": list(C_GRID),
            "budgets": list(BUDGETS),
            "blocks_tried": list(BLOCKS),
            "heads": {k: f"{'+'.join(v)} vs rest" for k, v in AXES.items()},
        },
        "metrics": metrics,
        "dataset": DATASET_NOTE,
        "terms": DATASET_NOTE + " " + MUSICNN_NOTE,
        "versions": {
            "python": sys.version.split()[0],
            "numpy": np.__version__,
            "scikit-learn": sklearn.__version__,
            "onnxruntime": onnxruntime.__version__,
        },
        "trained_at": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": "python -m trackmood.model.audio_train ../shared/data/audio_4q",
    }


def main(argv: list[str] | None = None) -> int:
    """``python -m trackmood.model.audio_train DIR [OUT]``: train and write the bundled audio model."""
    import argparse

    ap = argparse.ArgumentParser(
        prog="python -m trackmood.model.audio_train", description=main.__doc__
    )
    ap.add_argument("directory")
    ap.add_argument("out", nargs="?", default=str(bundled_dir() / "audio"))
    ap.add_argument("--cache", default="artifacts/audio_4q_musicnn.npz")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    def say(msg):
        print(f"trackmood: {msg}", file=sys.stderr, flush=True)

    model = train_from_folder(
        args.directory,
        label_map=LabelMap({}),
        out=Path(args.out),
        seed=args.seed,
        notify=say,
        repeats=args.repeats,
        folds=args.folds,
        cache=args.cache,
    )
    print(json.dumps(model.card["metrics"], indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
