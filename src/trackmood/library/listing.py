"""The library as a table: the columns of ``trackmood library ls`` and ``label --suggest``.

>>> rows = [{"path": "/m/a.mp3", "track_id": "audio:1", "artist": None, "title": "A",
...          "mood": "Calm", "confidence": 0.41, "uncertain": True, "valence": 0.3,
...          "energy": 0.2, "label": None, "model": "audio", "margin": 0.05}]
>>> list(list_frame(rows).columns)
['path', 'track_id', 'artist', 'title', 'mood', 'confidence', 'uncertain', 'valence', 'energy', 'label', 'model']
"""

from __future__ import annotations

import pandas as pd

from ..paths import display

LS_COLUMNS = (
    "path",
    "track_id",
    "artist",
    "title",
    "mood",
    "confidence",
    "uncertain",
    "valence",
    "energy",
    "label",
    "model",
)


def list_frame(rows: list[dict], *, for_table: bool = False) -> pd.DataFrame:
    """One row per library file in :data:`LS_COLUMNS` (paths escaped for a terminal table)."""
    frame = pd.DataFrame([{c: r.get(c) for c in LS_COLUMNS} for r in rows], columns=LS_COLUMNS)
    frame["uncertain"] = frame["uncertain"].astype(bool)
    for c in ("confidence", "valence", "energy"):
        frame[c] = pd.to_numeric(frame[c], errors="coerce")
    if for_table:
        frame["path"] = frame["path"].map(display)
    return frame


def suggest_frame(rows: list[dict]) -> pd.DataFrame:
    """The suggested tracks, best first: rank, path, the model's hesitation, valence/energy."""
    return pd.DataFrame(
        [
            {
                "rank": i + 1,
                "path": display(r["path"]),
                "mood": r.get("mood"),
                "why": r.get("why"),
                "valence": r.get("valence"),
                "energy": r.get("energy"),
            }
            for i, r in enumerate(rows)
        ],
        columns=["rank", "path", "mood", "why", "valence", "energy"],
    )
