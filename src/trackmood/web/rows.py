"""Prediction rows in the predictions schema, and the response payload around them."""

from __future__ import annotations

from ..moods import MOODS, PROBA_COLUMNS, quadrant

_QUADRANTS = {m: quadrant(m) for m in MOODS}


def row(**values) -> dict:
    """A prediction row with every field of :class:`~.schemas.Prediction` (``None`` if unset);
    ``confidence``, ``quadrant`` and ``status`` are filled from the mood when not given.
    """
    out = {
        "row": None,
        "id": None,
        "name": None,
        "artist": None,
        "album": None,
        "mood": None,
        "p_calm": None,
        "p_energetic": None,
        "p_happy": None,
        "p_sad": None,
        "confidence": None,
        "uncertain": None,
        "valence": None,
        "energy": None,
        "quadrant": None,
        "model": None,
        "status": None,
        "reason": None,
        "source": None,
    }
    out.update(values)
    set_mood(out, out["mood"])
    if out["status"] is None:
        out["status"] = "ok" if out["mood"] else ("invalid" if out["reason"] else None)
    return out


def set_mood(r: dict, mood) -> None:
    """Set ``mood`` and what follows from it and the ``p_*`` (confidence, quadrant)."""
    r["mood"] = mood if mood in MOODS else None
    if r["mood"]:
        r["quadrant"] = r["quadrant"] or _QUADRANTS[r["mood"]]
        probs = [r[c] for c in PROBA_COLUMNS]
        if r["confidence"] is None and all(p is not None for p in probs):
            r["confidence"] = max(probs)
        r["status"] = "ok"
        r["reason"] = None


def payload(model: str | None, rows: list[dict], messages: list[str]) -> dict:
    return {
        "model": model,
        "count": len(rows),
        "errors": sum(1 for r in rows if r["reason"]),
        "messages": messages,
        "predictions": rows,
    }
