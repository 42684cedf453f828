"""A personal audio model: the user's labels learnt together with the bundled model's training data.

What is compared, honestly, on the user's own labels only:

* **bundled**: the bundled ``audio`` model's accuracy on every labeled track (it never saw them),
  scored through the pipeline;
* **personal**: K-fold cross-validated accuracy (stratified when every mood has K labels): each
  fold's model is fitted on the base data plus the labels of the other folds and scored on the
  held-out labels.

Both read the same inputs: the musicnn embedding the bundled audio model reads (its card's
``embedding``), cached in the library (float32 vectors by content hash, as
:mod:`trackmood.engine.cache` keeps it) and computed for labeled files that lack it. The
personal model is the audio model's recipe with nothing tuned on the labels: standardisation +
multinomial logistic regression (``C`` fixed at the bundled model's value) and logistic
valence/energy heads, fitted on the embeddings of the base data and of the labeled tracks; each
user label is repeated so that all of them together weigh about as much as one mood of the base
data. Its card copies the bundled ``embedding`` key, so the pipeline embeds audio for it. It is
saved next to the library file and becomes the library's default model (used by ``scan``) only
when its cross-validated accuracy is higher than the bundled model's.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import DataError
from ..moods import MOODS
from . import catalog
from .labels import user_labels

if TYPE_CHECKING:
    from .rescore import RescoreReport

#: Fewest labeled, analysed tracks a personal model is trained on.
MIN_LABELS = 4
#: The logistic regression's strength (the bundled audio model's choice).
C = 0.01


@dataclass
class PersonalReport:
    labels: int
    label_counts: dict
    skipped: int
    base: str
    base_rows: int
    base_overlap: int
    folds: int
    personal_accuracy: float
    bundled_accuracy: float
    adopted: bool
    model_path: str | None = None
    model_name: str | None = None
    per_fold: list = field(default_factory=list)
    rescore: RescoreReport | None = None  # once the library was re-scored

    def lines(self) -> list[str]:
        counts = ", ".join(f"{m} {n}" for m, n in self.label_counts.items())
        out = [
            f"your labels: {self.labels} analysed track(s) ({counts})"
            + (
                f"; {self.skipped} labeled track(s) without audio features skipped"
                if self.skipped
                else ""
            ),
            f"base data: {self.base} ({self.base_rows} rows"
            + (
                f"; {self.base_overlap} of your labeled tracks left out of it"
                if self.base_overlap
                else ""
            )
            + ")",
            f"bundled audio model on your labels: accuracy {self.bundled_accuracy:.3f}",
            f"personal model, {self.folds}-fold cross-validated on your labels: accuracy "
            f"{self.personal_accuracy:.3f}",
        ]
        if self.adopted:
            out.append(f"the personal model is now this library's default: {self.model_path}")
            if self.rescore is not None:
                out.append(self.rescore.line())
        else:
            out.append("the personal model is not better: the library's default is unchanged")
        return out


def _embedding_spec(model) -> tuple[int, str]:
    """``(max_patches, blocks)`` of an audio model that reads the musicnn embedding."""
    from ..pipeline import embed_patches

    k = embed_patches(model)
    if not k:
        raise DataError(f"model {model.name!r} does not read the musicnn embedding")
    block = "pen+tags" if any(f.startswith("mn_tag") for f in model.features) else "pen"
    return k, block


def labeled_embeddings(store, model) -> tuple[np.ndarray, np.ndarray, int]:
    """``(X, y, skipped)``: the ``model.features`` of the user-labeled tracks, from the library's
    embedding cache, embedding the files that are not cached yet (``skipped``: no file to read).
    """
    from ..engine import Engine, cache

    k, _ = _embedding_spec(model)
    catalog.ensure(store)
    rows, ys, skipped = [], [], 0
    for tid, mood in sorted(user_labels(store).items()):
        feats = None
        files = store.file_shas(tid)
        cached = cache.embeddings(store, [sha for sha, _ in files], k)
        for sha, _path in files:
            if sha in cached:
                feats = cached[sha]
                break
        for _sha, path in files if feats is None else ():
            if not Path(path).is_file():
                continue
            res = next(Engine(store=store, workers=1, patches=k).results([path]))
            if "features" in res:
                feats = res["features"]
                break
        if feats is None or any(f not in feats for f in model.features):
            skipped += 1
            continue
        rows.append([feats[f] for f in model.features])
        ys.append(mood)
    X = np.array(rows, dtype=float).reshape(len(rows), len(model.features))
    return X, np.array(ys, dtype=object), skipped


class Eta:
    """``progress(done, total)`` that tells ``notify`` how far it is and how long is left (at
    most every ``every`` seconds, and at the end).
    """

    def __init__(self, what: str, notify: Callable[[str], None] | None, every: float = 2.0):
        import time

        self.what, self.notify, self.every = what, notify, every
        self.t0 = time.monotonic()
        self.last = -1e9

    def __call__(self, done: int, total: int) -> None:
        import time

        now = time.monotonic()
        if self.notify is None or (done < total and now - self.last < self.every):
            return
        self.last = now
        spent = now - self.t0
        left = spent / done * (total - done) if done else float("nan")
        eta = f", about {_duration(left)} left" if done < total and done else ""
        self.notify(f"{self.what}: {done}/{total} ({_duration(spent)} so far{eta})")


def _duration(seconds: float) -> str:
    if seconds != seconds:
        return "?"
    seconds = int(round(seconds))
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def folder_embeddings(folder, model, *, store=None, notify=None) -> tuple[np.ndarray, np.ndarray]:
    """``(X, y)``: the ``model.features`` (the musicnn embedding) of a labeled audio folder's
    clips, cached in the store by content hash like every library file's embedding: a second
    run reads them all from the store (no audio decoded). Shows progress and an ETA.
    """
    from ..engine import Engine, cache
    from ..engine.files import file_hash
    from ..model.audio_train import folder_labels
    from ..moods import LabelMap

    k, _ = _embedding_spec(model)
    pairs = folder_labels(folder, label_map=LabelMap())
    shas = [file_hash(p) for p, _ in pairs]
    found = cache.embeddings(store, shas, k) if store is not None else {}
    todo = [str(p) for (p, _), sha in zip(pairs, shas, strict=True) if sha not in found]
    if notify and todo:
        notify(
            f"embedding {len(todo)} base clip(s) with musicnn ({len(found)} cached in "
            "the library; a second run reads them all from it)"
        )
    if todo:
        eta = Eta("embedding base clips", notify)
        done0, total = len(pairs) - len(todo), len(pairs)
        engine = Engine(store=store, patches=k)
        for res in engine.results(todo, progress=lambda d, _t: eta(done0 + d, total)):
            if res.get("sha") and "features" in res:
                found[res["sha"]] = res["features"]
    results = [{"features": found.get(sha, {})} for sha in shas]
    keep = [i for i, r in enumerate(results) if all(f in r["features"] for f in model.features)]
    if notify and len(keep) < len(results):
        notify(f"skipped {len(results) - len(keep)} base clip(s) that could not be analysed")
    if not keep:
        raise DataError(f"{folder}: no clip could be analysed")
    X = np.array([[results[i]["features"][f] for f in model.features] for i in keep], dtype=float)
    y = np.array([pairs[i][1] for i in keep], dtype=object)
    return X, y


def base_embeddings(base, model, *, store=None, notify=None) -> tuple[np.ndarray, np.ndarray, str]:
    """``(X, y, description)`` of the base data in ``model.features``: a labeled audio folder (one
    subfolder per mood or quadrant, as the bundled model was trained on; its embeddings cached in
    the library by content hash, see :func:`folder_embeddings`) or a table with ``mood`` and
    those columns.
    """
    features = list(model.features)
    if base is None:
        return np.empty((0, len(features))), np.array([], dtype=object), "none"
    base = Path(base)
    if base.is_dir():
        X, y = folder_embeddings(base, model, store=store, notify=notify)
        return X, y, str(base)
    if not base.exists():
        raise DataError(f"{base}: no such folder or table")
    import pandas as pd

    try:
        df = pd.read_csv(base) if base.suffix.lower() == ".csv" else pd.read_parquet(base)
    except Exception as e:  # noqa: BLE001 - any unreadable table is one clear error
        raise DataError(f"cannot read the table ({type(e).__name__}: {e})", file=base) from None
    missing = [c for c in ("mood", *features) if c not in df.columns]
    if missing:
        raise DataError(
            f"missing column(s) {', '.join(missing[:5])}"
            + (f" and {len(missing) - 5} more" if len(missing) > 5 else ""),
            file=base,
        )
    from ..moods import normalize_label

    y = np.array([normalize_label(m) for m in df["mood"]], dtype=object)
    return np.nan_to_num(df[features].to_numpy(float)), y, str(base)


def _heads(X, y) -> dict:
    from ..model.audio_cv import AXES, fit_logistic

    heads = {}
    for name, pos in AXES.items():
        side = np.isin(y, pos).astype(int)
        if side.all() or not side.any():
            continue
        _, _, hc, hi, _ = fit_logistic(X, side, C=C)
        heads[name] = {"coef": hc.ravel().tolist(), "intercept": float(hi.ravel()[0]), "C": C}
    return heads


def _fit(Xb, yb, Xu, yu, features, share: float = 1 / len(MOODS), base=None):
    """The personal model.

    With base data: the base model (the bundled recipe on ``Xb``; pass ``base``, the output of
    :func:`fit_base`, to reuse it) followed by a translation of its mood scores learnt from the
    user's labels (:mod:`.translate`), composed into one linear layer. Without base data: the
    recipe on the labels alone. The valence/energy heads learn from the base rows plus the
    labels, each label repeated so that all of them weigh about ``share`` of the base data.
    """
    from ..model.audio_train import _runtime
    from ..model.runtime import Dense, NetRuntime
    from .translate import choose_strength, translation

    reps = max(1, round(share * len(yb) / max(1, len(yu))))
    X = np.vstack([Xb, np.repeat(Xu, reps, axis=0)])
    y = np.concatenate([yb, np.repeat(yu, reps)])
    heads = _heads(X, y)
    if len(yb) == 0 or len(set(yb)) < 3 or not set(yu) <= set(yb):
        return _runtime(X, y, C=C, features=list(features), heads=heads)
    mu, scale, coef, icpt, classes = base if base is not None else fit_base(Xb, yb)
    k = len(classes)
    if len(yu):
        Z = ((Xu - mu) * scale) @ coef.T + icpt
        yi = np.array([list(classes).index(m) for m in yu])
        A, c = translation(Z, yi, k, strength=choose_strength(Z, yi, k))
        coef, icpt = A @ coef, A @ icpt + c
    from ..audio import embedding as emb

    rt = NetRuntime(
        features=list(features),
        classes=list(classes),
        log_mask=np.zeros(len(features), bool),
        shift=mu,
        scale=scale,
        members=[[Dense(coef.T.copy(), np.asarray(icpt).copy(), "identity")]],
    )
    rt.meta["heads"] = heads
    rt.meta["provider"] = emb.PROVIDER
    return rt


def fit_base(Xb, yb):
    """The base model's linear layer: ``(mu, 1/sd, coef, intercept, classes)``."""
    from ..model.audio_cv import fit_logistic

    return fit_logistic(Xb, yb, C=C)


def bundled_moods(model, X: np.ndarray) -> np.ndarray:
    """The moods ``model`` predicts, through the pipeline, for rows of ``model.features``."""
    import pandas as pd

    from ..predictions import score

    frame = pd.DataFrame(X, columns=list(model.features))
    frame["status"], frame["reason"] = "ok", None
    return score(frame, model)["mood"].to_numpy(dtype=object)


def _predict(runtime, X) -> np.ndarray:
    return np.asarray(runtime.classes, dtype=object)[runtime.predict_proba(X).argmax(axis=1)]


def cross_validated_accuracy(
    Xb, yb, Xu, yu, *, features, folds: int, seed: int = 0
) -> tuple[float, int]:
    """Pooled accuracy over K held-out folds of the user's labels; ``(accuracy, K)``."""
    from sklearn.model_selection import KFold, StratifiedKFold

    counts = {m: int((yu == m).sum()) for m in set(yu)}
    k = min(folds, len(yu))
    if min(counts.values()) >= k:
        splits = StratifiedKFold(k, shuffle=True, random_state=seed).split(Xu, yu)
    else:
        splits = KFold(k, shuffle=True, random_state=seed).split(Xu)
    pred = np.empty(len(yu), dtype=object)
    base = fit_base(Xb, yb) if len(set(yb)) >= 3 else None
    for tr, te in splits:
        if len(set(yu[tr]) | set(yb)) < 2:
            pred[te] = yu[tr][0]  # one class to learn from: it is the only answer
            continue
        pred[te] = _predict(_fit(Xb, yb, Xu[tr], yu[tr], features, base=base), Xu[te])
    return float((pred == yu).mean()), k


def train_personal(
    store,
    *,
    base=None,
    folds: int = 5,
    seed: int = 0,
    out: str | Path | None = None,
    notify: Callable[[str], None] | None = None,
) -> PersonalReport:
    """Train, compare and (only if better) adopt a personal model; see the module docstring.

    Parameters
    ----------
    store : trackmood.store.Store
    base : folder or table, optional
        The bundled model's training data (its audio is not shipped with trackmood).
    folds : int
        Cross-validation folds over the user's labels.
    out : folder, optional
        Where to save the model (default ``personal-model`` beside the library file).
    """
    from ..model.persistence import TrainedModel, save_model
    from ..predictions import audio_model

    bundled = audio_model("audio")
    features = list(bundled.features)
    Xu, yu, skipped = labeled_embeddings(store, bundled)
    if len(yu) < MIN_LABELS:
        raise DataError(
            f"a personal model needs at least {MIN_LABELS} labeled tracks with audio features; "
            f"the library has {len(yu)}"
            + (f" ({skipped} labeled but not analysed)" if skipped else "")
        )
    Xb, yb, base_text = base_embeddings(base, bundled, store=store, notify=notify)
    # a labeled track that is also in the base data would be scored on what it was trained on
    mine = {tuple(np.round(r, 5)) for r in Xu}
    keep = np.array([tuple(np.round(r, 5)) not in mine for r in Xb], dtype=bool)
    overlap = int((~keep).sum())
    Xb, yb = Xb[keep], yb[keep]
    if len(set(yu) | set(yb)) < 2:
        raise DataError("a personal model needs labels of at least two moods")
    bundled_acc = float((bundled_moods(bundled, Xu) == yu).mean())
    if notify:
        notify(f"cross-validating a personal model on {len(yu)} labels")
    acc, k = cross_validated_accuracy(Xb, yb, Xu, yu, features=features, folds=folds, seed=seed)
    rep = PersonalReport(
        labels=len(yu),
        label_counts={m: int((yu == m).sum()) for m in MOODS if (yu == m).any()},
        skipped=skipped,
        base=base_text,
        base_rows=len(yb),
        base_overlap=overlap,
        folds=k,
        personal_accuracy=acc,
        bundled_accuracy=bundled_acc,
        adopted=acc > bundled_acc,
    )
    if not rep.adopted:
        return rep
    runtime = _fit(Xb, yb, Xu, yu, features)
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%S")
    name = f"personal-{stamp}"
    card = {
        "name": name,
        "kind": "audio",
        "description": "Personal audio mood model: the user's labels with the base data "
        f"({base_text}); logistic regression on the bundled model's musicnn embedding, "
        f"C={C}, with valence/energy heads.",
        "features": list(runtime.features),
        "classes": list(runtime.classes),
        "embedding": dict(bundled.card["embedding"]),
        "label_counts": rep.label_counts,
        "metrics": {
            "protocol": f"{k}-fold CV on the user's labels",
            "personal_accuracy": acc,
            "bundled_accuracy": bundled_acc,
            "labels": len(yu),
            "base_rows": len(yb),
        },
        "trained_at": stamp,
    }
    if out is None:
        if store.path == ":memory:":
            raise DataError("an in-memory library has no folder for a personal model; give out=")
        out = Path(store.path).parent / "personal-model"
    save_model(TrainedModel(runtime, card), out)
    catalog.set_default_model(store, str(Path(out).resolve()))
    rep.model_path, rep.model_name = str(out), name
    from .rescore import rescore_library

    rep.rescore = rescore_library(store, audio_model(str(Path(out).resolve())), notify=None)
    return rep
