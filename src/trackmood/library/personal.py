"""A personal audio model: the user's labels learnt together with the bundled model's training data.

What is compared, honestly, on the user's own labels only:

* **bundled**: the bundled ``audio`` model's accuracy on every labeled track (it never saw them);
* **personal**: K-fold cross-validated accuracy (stratified when every mood has K labels): each
  fold's model is fitted on the base data plus the labels of the other folds and scored on the
  held-out labels.

The personal model is the audio model's linear part (standardisation + multinomial logistic
regression, ``C`` fixed at the bundled recipe's middle value: nothing is tuned on the labels)
fitted on the descriptors (``a_*``) of the base data and of the labeled tracks; each user label is
repeated so that all of them together weigh about as much as one mood of the base data. It is
saved next to the library file and becomes the library's default model (used by ``scan``) only
when its cross-validated accuracy is higher than the bundled model's.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..moods import MOODS
from . import catalog
from .labels import user_labels

#: Fewest labeled, analysed tracks a personal model is trained on.
MIN_LABELS = 4
#: The logistic regression's strength (the middle of the bundled recipe's grid).
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
        else:
            out.append("the personal model is not better: the library's default is unchanged")
        return out


def labeled_descriptors(store) -> tuple[np.ndarray, np.ndarray, int]:
    """``(X, y, skipped)``: descriptors of the user-labeled tracks whose features are cached."""
    from ..audio.extract import DESCRIPTORS
    from ..audio.parallel import CACHE_NAMESPACE, cache_key

    catalog.ensure(store)
    labels = user_labels(store)
    rows, ys, skipped = [], [], 0
    for tid, mood in sorted(labels.items()):
        feats = None
        for r in store.conn.execute(
            "SELECT sha FROM lib_files WHERE track_id=? AND sha IS NOT NULL", (tid,)
        ):
            raw = store.kv_get(CACHE_NAMESPACE, cache_key(r[0]))
            if raw is not None:
                feats = json.loads(raw)["features"]
                break
        if feats is None:
            skipped += 1
            continue
        rows.append([feats.get(k, np.nan) for k in DESCRIPTORS])
        ys.append(mood)
    X = np.nan_to_num(np.array(rows, dtype=float).reshape(len(rows), len(DESCRIPTORS)))
    return X, np.array(ys, dtype=object), skipped


def base_descriptors(base, *, store=None, notify=None) -> tuple[np.ndarray, np.ndarray, str]:
    """``(X, y, description)`` of the base data: a labeled audio folder (one subfolder per mood or
    quadrant, as the bundled model was trained on) or a table with ``mood`` and ``a_*`` columns.
    """
    from ..audio.extract import DESCRIPTORS

    if base is None:
        return np.empty((0, len(DESCRIPTORS))), np.array([], dtype=object), "none"
    base = Path(base)
    if base.is_dir():
        from ..audio.model import load_descriptors
        from ..moods import LabelMap

        df = load_descriptors(base, label_map=LabelMap(), store=store, window=None, notify=notify)
    elif base.exists():
        import pandas as pd

        try:
            df = pd.read_csv(base) if base.suffix.lower() == ".csv" else pd.read_parquet(base)
        except Exception as e:  # noqa: BLE001 - any unreadable table is one clear error
            raise DataError(f"cannot read the table ({type(e).__name__}: {e})", file=base) from None
        missing = [c for c in ("mood", *DESCRIPTORS) if c not in df.columns]
        if missing:
            raise DataError(
                f"missing column(s) {', '.join(missing[:5])}"
                + (f" and {len(missing) - 5} more" if len(missing) > 5 else ""),
                file=base,
            )
    else:
        raise DataError(f"{base}: no such folder or table")
    if "start" in df.columns:
        df = df[df["start"].isna()]
    from ..moods import normalize_label

    y = np.array([normalize_label(m) for m in df["mood"]], dtype=object)
    X = np.nan_to_num(df[list(DESCRIPTORS)].to_numpy(float))
    return X, y, str(base)


def _fit(Xb, yb, Xu, yu):
    from ..audio.model import fit_runtime

    reps = max(1, round(len(yb) / len(MOODS) / max(1, len(yu))))
    X = np.vstack([Xb, np.repeat(Xu, reps, axis=0)])
    y = np.concatenate([yb, np.repeat(yu, reps)])
    return fit_runtime(X, y, C=C, members=0)


def _predict(runtime, X) -> np.ndarray:
    return np.asarray(runtime.classes, dtype=object)[runtime.predict_proba(X).argmax(axis=1)]


def cross_validated_accuracy(Xb, yb, Xu, yu, *, folds: int, seed: int = 0) -> tuple[float, int]:
    """Pooled accuracy over K held-out folds of the user's labels; ``(accuracy, K)``."""
    from sklearn.model_selection import KFold, StratifiedKFold

    counts = {m: int((yu == m).sum()) for m in set(yu)}
    k = min(folds, len(yu))
    if min(counts.values()) >= k:
        splits = StratifiedKFold(k, shuffle=True, random_state=seed).split(Xu, yu)
    else:
        splits = KFold(k, shuffle=True, random_state=seed).split(Xu)
    pred = np.empty(len(yu), dtype=object)
    for tr, te in splits:
        if len(set(yu[tr]) | set(yb)) < 2:
            pred[te] = yu[tr][0]  # one class to learn from: it is the only answer
            continue
        pred[te] = _predict(_fit(Xb, yb, Xu[tr], yu[tr]), Xu[te])
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
    from ..audio.model import fit_runtime  # noqa: F401  (fails early without scikit-learn)
    from ..model.persistence import TrainedModel, load_model, save_model
    from .analyse import predict_features

    Xu, yu, skipped = labeled_descriptors(store)
    if len(yu) < MIN_LABELS:
        raise DataError(
            f"a personal model needs at least {MIN_LABELS} labeled tracks with audio features; "
            f"the library has {len(yu)}"
            + (f" ({skipped} labeled but not analysed)" if skipped else "")
        )
    Xb, yb, base_text = base_descriptors(base, store=store, notify=notify)
    # a labeled track that is also in the base data would be scored on what it was trained on
    mine = {tuple(np.round(r, 6)) for r in Xu}
    keep = np.array([tuple(np.round(r, 6)) not in mine for r in Xb], dtype=bool)
    overlap = int((~keep).sum())
    Xb, yb = Xb[keep], yb[keep]
    if len(set(yu) | set(yb)) < 2:
        raise DataError("a personal model needs labels of at least two moods")
    bundled = load_model("audio")
    from ..audio.extract import DESCRIPTORS

    feats = [dict(zip(DESCRIPTORS, row, strict=True)) for row in Xu]
    bundled_pred = np.asarray(MOODS, dtype=object)[predict_features(bundled, feats).argmax(axis=1)]
    bundled_acc = float((bundled_pred == yu).mean())
    if notify:
        notify(f"cross-validating a personal model on {len(yu)} labels")
    acc, k = cross_validated_accuracy(Xb, yb, Xu, yu, folds=folds, seed=seed)
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
    runtime = _fit(Xb, yb, Xu, yu)
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%S")
    name = f"personal-{stamp}"
    card = {
        "name": name,
        "kind": "audio",
        "description": "Personal audio mood model: the user's labels with the base data "
        f"({base_text}); logistic regression on the audio descriptors, C={C}.",
        "features": list(runtime.features),
        "classes": list(runtime.classes),
        "label_counts": rep.label_counts,
        "metrics": {
            "cv": f"{k}-fold on the user's labels",
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
    return rep
