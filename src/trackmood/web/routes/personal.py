"""``POST /library/personal``: learn a personal model from the user's labels (the page's "Learn
from my labels" button; ``trackmood library train-personal`` without ``--base``).

It runs :func:`trackmood.library.personal.train_personal` on the library, synchronously (a few
dozen labels take seconds: the labels' embeddings are read from the store, nothing is decoded
for tracks the scan analysed), holding the app's lock (one SQLite connection). The model is
adopted only when it beats the bundled one on the user's labels; then the library is re-scored
from its stored embeddings and the page shows the new moods at once. Too few labels answer 422
with the reason; a second request while one is training answers 409.
"""

from __future__ import annotations

import threading

from fastapi import APIRouter

from ..deps import State
from ..errors import ApiError
from ..schemas import ErrorBody
from ..util import json_response

router = APIRouter(tags=["library"])


def _training_lock(state) -> threading.Lock:
    # one per app; dict.setdefault is atomic, so two first requests share one lock
    return state.__dict__.setdefault("personal_training", threading.Lock())


def summary(rep) -> str:
    """One line for the page: what was compared and what happened."""
    pct = lambda x: f"{100 * x:.0f} %"  # noqa: E731
    vs = f"{pct(rep.personal_accuracy)} vs {pct(rep.bundled_accuracy)} on your {rep.labels} labels"
    if not rep.adopted:
        return f"Personal model not better ({vs}): kept the bundled model."
    changed = rep.rescore.changed if rep.rescore is not None else 0
    return f"Personal model adopted: {vs}; {changed} track(s) changed mood."


@router.post(
    "/library/personal",
    responses={409: {"model": ErrorBody}, 422: {"model": ErrorBody}},
)
def train_personal_model(state: State):
    """Train a personal model on the library's labels (cross-validated against the bundled
    model on them); adopt it only if better, then re-score the library from stored embeddings.
    """
    from ...library.personal import train_personal

    busy = _training_lock(state)
    if not busy.acquire(blocking=False):
        raise ApiError(409, "a personal model is already being trained; wait for it to finish")
    try:
        with state.lock:
            rep = train_personal(state.locked_store())
    finally:
        busy.release()
    rescore = rep.rescore
    return json_response(
        {
            "labels": rep.labels,
            "label_counts": rep.label_counts,
            "skipped": rep.skipped,
            "folds": rep.folds,
            "personal_accuracy": rep.personal_accuracy,
            "bundled_accuracy": rep.bundled_accuracy,
            "adopted": rep.adopted,
            "model": rep.model_name,
            "rescored": rescore.rescored if rescore is not None else 0,
            "changed": rescore.changed if rescore is not None else 0,
            "without_embedding": rescore.without_embedding if rescore is not None else 0,
            "summary": summary(rep),
            "lines": rep.lines(),
        }
    )
