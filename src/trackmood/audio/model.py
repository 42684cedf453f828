"""Train and evaluate the audio mood model on labeled audio folders (subfolder = label).

The model reads the descriptor vector of :mod:`trackmood.audio.extract` (``a_*`` columns) and is
exported as a :class:`~trackmood.model.runtime.NetRuntime` (standardisation + a soft-vote ensemble
of dense softmax networks), so predicting needs only numpy.

Evaluation is repeated stratified K-fold **grouped by artist** (scikit-learn's
``StratifiedGroupKFold``; no artist is in both the training and the test part of a fold) when the
folder has a ``metadata.csv`` with ``Song`` and ``Artist`` columns (the 4Q dataset's own metadata),
else grouped by file. Hyper-parameters are chosen inside each training part by an inner grouped CV
(nested CV), so the reported folds never take part in the choice.

The bundled model ``src/trackmood/models/audio`` is made by one command::

    python -m trackmood.audio.model ../shared/data/audio_4q

(equivalently ``trackmood train --audio ../shared/data/audio_4q -o src/trackmood/models/audio``).
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

from ..errors import DataError
from ..model.persistence import TrainedModel, bundled_dir, save_model
from ..model.runtime import Dense, NetRuntime
from ..moods import MOODS, LabelMap
from .extract import DESCRIPTORS

DATASET_NOTE = (
    "Trained on the 4-quadrant audio emotion dataset of Panda, Malheiro & Paiva, 'Novel audio "
    "features for music emotion recognition', IEEE Transactions on Affective Computing, 2018 "
    "(mir.dei.uc.pt): 30-second clips labeled by Russell quadrant from AllMusic mood tags "
    "(Q1 -> Happy, Q2 -> Energetic, Q3 -> Sad, Q4 -> Calm). The dataset is shared by its authors "
    "for research; its audio is not shipped with trackmood, only this model's weights. Use the "
    "model for research and education."
)
PUBLISHED = {
    "F1 standard features (Panda et al. 2018, 900 clips, 20x10-fold CV)": 0.67,
    "F1 novel features (Panda et al. 2018)": 0.764,
}

#: Inverse regularisation strengths tried by the inner CV.
C_GRID = (0.003, 0.01, 0.03)
#: Training crops: every clip also contributes its ``WINDOW``-second slices (the same slices a
#: ``--timeline 15`` reads) as extra training rows of the same label and artist group; slices
#: shorter than ``MIN_CROP`` seconds are not used. Test folds always score whole clips.
WINDOW = 15.0
MIN_CROP = 8.0
#: Ensemble members: (hidden units or None for logistic regression, L2 alpha or C).
# Trained on whole clips alone the MLPs added nothing over the linear model (0.679 vs 0.680);
# with the 15 s training crops (three times the rows) they add about two points.
ENSEMBLE_MLP = {"hidden": (64,), "alpha": 10.0, "members": 3, "max_iter": 300}


# -- data ---------------------------------------------------------------------------------------
def folder_labels(directory: str | Path, *, label_map: LabelMap) -> list[tuple[Path, str]]:
    """``(file, mood)`` for every audio file under each labeled subfolder of ``directory``."""
    from .decode import AUDIO_SUFFIXES

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
        files = sorted(
            q for q in sub.rglob("*") if q.is_file() and q.suffix.lower() in AUDIO_SUFFIXES
        )
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


def load_descriptors(
    directory: str | Path,
    *,
    label_map: LabelMap,
    cache: str | Path | None = None,
    store=None,
    workers: int | None = None,
    window: float | None = WINDOW,
    notify: Callable[[str], None] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Descriptor table of a labeled folder: ``path``, ``sha``, ``start``, ``mood``, ``group``, ``a_*``.

    One row per file with ``start`` NaN (the whole clip), plus, when ``window`` is given, one row
    per ``window``-second slice of at least :data:`MIN_CROP` seconds (``start`` = its offset): the
    training crops of :func:`cross_validate` and :func:`train_from_folder`.
    ``cache`` is a Parquet file reused for files whose content hash it already holds (and
    rewritten with the union); ``store`` is the library store's cache.
    """
    from .parallel import extract_many, file_hash

    pairs = folder_labels(directory, label_map=label_map)
    files = [p for p, _ in pairs]
    moods = {p.resolve(): m for p, m in pairs}
    groups = dict(zip([p.resolve() for p in files], artist_groups(directory, files), strict=False))
    cols = ["sha", "start", *DESCRIPTORS]
    cached = pd.DataFrame()
    if cache is not None and Path(cache).exists():
        cached = pd.read_parquet(cache)
        if not set(cols) <= set(cached.columns) or cached.attrs.get("window") not in (None, window):
            cached = pd.DataFrame()
    known = {} if cached.empty else {s: g for s, g in cached.groupby("sha", sort=False)}
    rows, todo = [], []
    for p in files:
        sha = file_hash(p)
        if sha in known:
            for r in known[sha][["start", *DESCRIPTORS]].to_dict("records"):
                rows.append({"path": str(p), "sha": sha, **r})
        else:
            todo.append(p)
    errors = []
    if todo:
        if notify:
            notify(
                f"extracting descriptors of {len(todo)} file(s) ({len(files) - len(todo)} cached)"
            )
        for res in extract_many(
            todo, workers=workers, store=store, progress=progress, window=window
        ):
            if "error" in res:
                errors.append(res["error"])
                continue
            rows.append(
                {
                    "path": res["path"],
                    "sha": res["sha"],
                    "start": np.nan,
                    **{k: res["features"][k] for k in DESCRIPTORS},
                }
            )
            for w in res.get("windows") or []:
                if w["end"] - w["start"] >= MIN_CROP and (
                    w["start"] > 0 or w["end"] * 1000 < res["features"]["duration_ms"] - 1
                ):
                    rows.append(
                        {
                            "path": res["path"],
                            "sha": res["sha"],
                            "start": float(w["start"]),
                            **{k: w[k] for k in DESCRIPTORS},
                        }
                    )
    for e in errors[:5]:
        if notify:
            notify(f"skipped: {e}")
    if not rows:
        raise DataError(f"{directory}: no file could be analysed ({len(errors)} failed)")
    df = pd.DataFrame(rows)
    df["mood"] = [moods[Path(p).resolve()] for p in df["path"]]
    df["group"] = [groups[Path(p).resolve()] for p in df["path"]]
    df = df.sort_values(["path", "start"], na_position="first").reset_index(drop=True)
    if cache is not None:
        Path(cache).parent.mkdir(parents=True, exist_ok=True)
        keep = pd.concat([cached[cols] if not cached.empty else None, df[cols]])
        keep = keep.drop_duplicates(["sha", "start"], keep="last")
        keep.attrs["window"] = window
        tmp = Path(str(cache) + ".part")
        keep.to_parquet(tmp, index=False)
        tmp.replace(cache)
    return df


def split_rows(df: pd.DataFrame):
    """``(X, y, groups, crops)`` of a :func:`load_descriptors` table: whole-clip rows, and
    ``crops = (X_crop, clip_index)`` for the window rows (``None`` if there are none).
    """
    whole = df["start"].isna().to_numpy() if "start" in df else np.ones(len(df), bool)
    full = df[whole].reset_index(drop=True)
    X = full[list(DESCRIPTORS)].to_numpy(float)
    crops = None
    if (~whole).any():
        part = df[~whole]
        where = {p: i for i, p in enumerate(full["path"])}
        keep = part["path"].map(where).notna().to_numpy()
        crops = (
            part[list(DESCRIPTORS)].to_numpy(float)[keep],
            part["path"].map(where).to_numpy()[keep].astype(int),
        )
    return X, full["mood"].to_numpy(), full["group"].to_numpy(), crops


def _with_crops(X, y, idx, crops):
    """Training rows of the clips ``idx``: their whole-clip rows plus their crop rows."""
    if crops is None:
        return X[idx], y[idx]
    Xc, owner = crops
    sel = np.isin(owner, idx)
    return np.vstack([X[idx], Xc[sel]]), np.concatenate([y[idx], y[owner[sel]]])


# -- estimators ---------------------------------------------------------------------------------
def _standardize(X: np.ndarray):
    mu = X.mean(axis=0)
    sd = X.std(axis=0)
    sd[sd < 1e-9] = 1.0
    return mu, 1.0 / sd


def fit_runtime(
    X: np.ndarray,
    y: np.ndarray,
    *,
    C: float = 0.01,
    seed: int = 0,
    members: int = ENSEMBLE_MLP["members"],
    hidden=ENSEMBLE_MLP["hidden"],
    alpha: float = ENSEMBLE_MLP["alpha"],
    features=DESCRIPTORS,
) -> NetRuntime:
    """Standardised multinomial logistic regression (strength ``C``) soft-voted with ``members``
    small MLPs (``hidden`` ReLU units, L2 ``alpha``, different seeds); as a :class:`NetRuntime`.
    """
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier

    classes = sorted(set(y))
    mu, scale = _standardize(X)
    Z = (X - mu) * scale
    nets: list[list[Dense]] = []
    lr = LogisticRegression(C=C, max_iter=2000).fit(Z, y)
    assert list(lr.classes_) == classes
    nets.append([Dense(lr.coef_.T.copy(), lr.intercept_.copy(), "identity")])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for m in range(members):
            mlp = MLPClassifier(
                hidden_layer_sizes=hidden,
                alpha=alpha,
                max_iter=ENSEMBLE_MLP["max_iter"],
                early_stopping=False,
                random_state=seed * 1000 + m,
            ).fit(Z, y)
            layers = [
                Dense(W.copy(), b.copy(), "relu")
                for W, b in zip(mlp.coefs_[:-1], mlp.intercepts_[:-1], strict=False)
            ]
            layers.append(Dense(mlp.coefs_[-1].copy(), mlp.intercepts_[-1].copy(), "identity"))
            nets.append(layers)
    # half the vote to the linear model, half shared by the MLPs
    weights = np.array([0.5] + [0.5 / members] * members) if members else np.array([1.0])
    return NetRuntime(
        features=list(features),
        classes=list(classes),
        log_mask=np.zeros(len(features), bool),
        shift=mu,
        scale=scale,
        members=nets,
        weights=weights,
    )


def _choose_C(X, y, groups, idx, *, crops=None, seed: int, folds: int = 5, grid=C_GRID) -> float:
    """The ``C`` of the logistic part with the best grouped inner-CV accuracy over the clips
    ``idx`` (trained with their crops, scored on whole clips; linear part only, which is what
    ``C`` controls; the MLPs' settings are fixed).
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedGroupKFold

    idx = np.asarray(idx)
    folds = _max_folds(y[idx], groups[idx], folds)
    if folds < 2:
        return grid[len(grid) // 2]
    cv = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    scores = np.zeros(len(grid))
    for tr, te in cv.split(X[idx], y[idx], groups[idx]):
        Xt, yt = _with_crops(X, y, idx[tr], crops)
        mu, sc = _standardize(Xt)
        for i, C in enumerate(grid):
            m = LogisticRegression(C=C, max_iter=3000).fit((Xt - mu) * sc, yt)
            scores[i] += (m.predict((X[idx[te]] - mu) * sc) == y[idx[te]]).mean()
    return float(grid[int(scores.argmax())])


def _max_folds(y, groups, folds: int) -> int:
    counts = pd.Series(y).value_counts()
    n_groups = len(set(groups))
    return int(max(0, min(folds, counts.min(), n_groups)))


def _fold(X, y, groups, tr, te, *, crops, seed: int, r: int, members: int):
    C = _choose_C(X, y, groups, tr, crops=crops, seed=seed + 100 + r)
    rt = fit_runtime(*_with_crops(X, y, tr, crops), C=C, seed=seed + r, members=members)
    return te, rt.predict(X[te]), C


def cross_validate(
    X: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    *,
    crops=None,
    repeats: int = 5,
    folds: int = 10,
    seed: int = 0,
    members: int = ENSEMBLE_MLP["members"],
    n_jobs: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Repeated stratified K-fold grouped by ``groups`` with nested choice of ``C``.

    ``X`` holds one row per clip; ``crops = (X_crop, clip_index)`` (see :func:`split_rows`) adds
    each training clip's crops to the training part. Test folds score whole clips only, and no
    artist's clips or crops are on both sides.

    Returns accuracy and macro-F1 (mean ± std over the ``repeats × folds`` test folds, and over
    repeats of the pooled predictions), per-class F1 and the confusion matrix summed over repeats.
    Folds run on ``n_jobs`` processes (default all cores); the figures do not depend on it.
    """
    import os

    from joblib import Parallel, delayed
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score
    from sklearn.model_selection import StratifiedGroupKFold

    folds = _max_folds(y, groups, folds)
    if folds < 2:
        raise DataError(
            f"too little labeled audio to cross-validate ({len(y)} files, "
            f"{len(set(groups))} artist groups); need at least 2 per label"
        )
    classes = sorted(set(y))
    fold_acc, fold_f1, rep_acc, rep_f1, chosen = [], [], [], [], []
    cm = np.zeros((len(classes), len(classes)), int)
    total, step = repeats * folds, 0
    splits = [
        (r, tr, te)
        for r in range(repeats)
        for tr, te in StratifiedGroupKFold(
            n_splits=folds, shuffle=True, random_state=seed + r
        ).split(X, y, groups)
    ]
    n_jobs = n_jobs or os.cpu_count() or 1
    runner = Parallel(n_jobs=n_jobs, return_as="generator") if n_jobs > 1 else None
    jobs = (
        delayed(_fold)(X, y, groups, tr, te, crops=crops, seed=seed, r=r, members=members)
        for r, tr, te in splits
    )
    results = iter(runner(jobs) if runner else (f(*a, **k) for f, a, k in jobs))
    for _r in range(repeats):
        pred = np.empty(len(y), dtype=object)
        for _ in range(folds):
            te, p, C = next(results)
            chosen.append(C)
            pred[te] = p
            fold_acc.append(accuracy_score(y[te], p))
            fold_f1.append(f1_score(y[te], p, average="macro", labels=classes, zero_division=0))
            step += 1
            if progress:
                progress(step, total)
        rep_acc.append(accuracy_score(y, pred))
        rep_f1.append(f1_score(y, pred, average="macro"))
        cm += confusion_matrix(y, pred, labels=classes)
    per_class = np.diag(cm) * 2 / (cm.sum(axis=0) + cm.sum(axis=1))
    return {
        "cv": f"{repeats}x{folds}-fold stratified, grouped by artist, nested choice of C"
        + (f", trained with {WINDOW:g} s crops" if crops is not None else ""),
        "n": len(y),
        "groups": len(set(groups)),
        "crops": 0 if crops is None else len(crops[1]),
        "accuracy_mean": float(np.mean(fold_acc)),
        "accuracy_std": float(np.std(fold_acc)),
        "macro_f1_mean": float(np.mean(fold_f1)),
        "macro_f1_std": float(np.std(fold_f1)),
        "accuracy_pooled_mean": float(np.mean(rep_acc)),
        "accuracy_pooled_std": float(np.std(rep_acc)),
        "macro_f1_pooled_mean": float(np.mean(rep_f1)),
        "macro_f1_pooled_std": float(np.std(rep_f1)),
        "f1_per_class": {c: float(v) for c, v in zip(classes, per_class, strict=False)},
        "confusion": {"labels": classes, "matrix": cm.tolist()},
        "C_chosen": {
            str(c): int(n) for c, n in zip(*np.unique(chosen, return_counts=True), strict=False)
        },
        "published_reference": PUBLISHED,
    }


# -- the contract -------------------------------------------------------------------------------
def train_from_folder(
    directory: str | Path,
    *,
    label_map: LabelMap,
    out: Path | None = None,
    seed: int = 0,
    notify: Callable[[str], None] | None = None,
    repeats: int = 5,
    folds: int = 10,
    workers: int | None = None,
    cache: str | Path | None = None,
    store=None,
    progress: Callable[[int, int], None] | None = None,
) -> TrainedModel:
    """Train the audio model on ``directory`` (one subfolder of audio per label), evaluate it with
    ``repeats × folds`` stratified CV grouped by artist, and save it to ``out`` if given.

    Parameters
    ----------
    directory : str or Path
        Subfolders are labels, mapped by ``label_map`` (``Q1..Q4`` and mood names work as they are).
    label_map : LabelMap
        Extra label mapping; ``OLD=`` drops a subfolder.
    out : Path, optional
        Save the model folder here (``model.json``, ``weights.npz``, ``MODEL_CARD.md``).
    seed : int, default 0
    notify : callable(str), optional
        Progress messages.
    repeats, folds : int, default 5, 10
        Cross-validation; ``repeats=0`` skips it.
    workers : int, optional
        Extraction processes (default all cores).
    cache : str or Path, optional
        Parquet cache of descriptors keyed by content hash.
    store : Store, optional
        Library store used as extraction cache.

    Returns
    -------
    TrainedModel
    """
    t0 = time.time()
    df = load_descriptors(
        directory,
        label_map=label_map,
        cache=cache,
        store=store,
        workers=workers,
        notify=notify,
        progress=progress,
    )
    X, y, groups, crops = split_rows(df)
    labels = sorted(set(y))
    if len(labels) < 2:
        raise DataError(
            f"{directory}: need at least two labels, found {', '.join(labels) or 'none'}"
        )
    metrics: dict = {}
    if repeats > 0:
        if notify:
            notify(
                f"cross-validating ({repeats}x{folds}-fold, grouped by artist) on {len(y)} clips"
            )
        metrics = cross_validate(X, y, groups, crops=crops, repeats=repeats, folds=folds, seed=seed)
        if notify:
            notify(
                f"CV accuracy {metrics['accuracy_mean']:.3f} ± {metrics['accuracy_std']:.3f}, "
                f"macro-F1 {metrics['macro_f1_mean']:.3f} ± {metrics['macro_f1_std']:.3f}"
            )
    C = _choose_C(X, y, groups, np.arange(len(y)), crops=crops, seed=seed)
    runtime = fit_runtime(*_with_crops(X, y, np.arange(len(y)), crops), C=C, seed=seed)
    if list(runtime.classes) != [m for m in MOODS if m in labels]:
        raise DataError(f"labels {labels} do not map onto moods {MOODS}")
    card = _card(
        directory, df[df["start"].isna()], metrics, C=C, seed=seed, seconds=time.time() - t0
    )
    model = TrainedModel(runtime, card)
    if out is not None:
        save_model(model, out)
        model.path = Path(out)
        if notify:
            notify(f"saved audio model to {out}")
    return model


def _card(
    directory, df: pd.DataFrame, metrics: dict, *, C: float, seed: int, seconds: float
) -> dict:
    import sklearn

    from .. import __version__ as tm_version  # noqa: F401  (present in the package)

    listing = hashlib.sha256("\n".join(sorted(df["sha"])).encode()).hexdigest()
    counts = df["mood"].value_counts().sort_index().to_dict()
    versions = {
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
    }
    try:
        import librosa

        versions["librosa"] = librosa.__version__
    except ImportError:  # pragma: no cover
        pass
    return {
        "name": "audio",
        "kind": "audio",
        "description": (
            "Mood from the audio itself: a standardised multinomial logistic regression"
            + (
                f" soft-voted with {ENSEMBLE_MLP['members']} small MLPs"
                if ENSEMBLE_MLP["members"]
                else ""
            )
            + f" on {len(DESCRIPTORS)} audio "
            "descriptors (MFCC, log-mel, spectral contrast with its peak and valley levels, "
            "spectral shape, chroma/tonnetz, key clarity and major/minor strength over "
            "5 s windows, interval content, loudness dynamics, onset and rhythm "
            "statistics) extracted by 'trackmood extract'; trained on whole clips "
            f"plus their {WINDOW:g}-second slices."
        ),
        "features": list(DESCRIPTORS),
        "classes": sorted(set(df["mood"])),
        "label_counts": {k: int(v) for k, v in counts.items()},
        "training_files": [
            {
                "file": f"{Path(directory).name}/ ({len(df)} audio clips)",
                "sha256": listing,
                "rows": len(df),
            }
        ],
        "hyperparameters": {
            "C": C,
            "mlp": ENSEMBLE_MLP,
            "seed": seed,
            "C_grid": list(C_GRID),
            "crop_window_s": WINDOW,
            "min_crop_s": MIN_CROP,
        },
        "metrics": metrics,
        "dataset": DATASET_NOTE,
        "terms": DATASET_NOTE,
        "versions": versions,
        "trained_at": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "train_seconds": round(seconds, 1),
        "command": "python -m trackmood.audio.model ../shared/data/audio_4q",
    }


def main(argv: list[str] | None = None) -> int:
    """``python -m trackmood.audio.model DIR [OUT]``: train and write the bundled audio model."""
    import argparse

    ap = argparse.ArgumentParser(prog="python -m trackmood.audio.model", description=main.__doc__)
    ap.add_argument("directory")
    ap.add_argument("out", nargs="?", default=str(bundled_dir() / "audio"))
    ap.add_argument("--cache", default="artifacts/audio_4q_descriptors.parquet")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--folds", type=int, default=10)
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
    print(
        json.dumps(
            {k: v for k, v in model.card["metrics"].items() if k not in ("confusion",)}, indent=1
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
