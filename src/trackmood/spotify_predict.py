"""Deprecated bridge: predict Spotify references until :mod:`trackmood.pipeline` replaces it.

:func:`predict_refs` is :class:`~trackmood.sources.spotify.SpotifySource` followed by the model,
split by whether a row has ``duration_ms`` (the model without duration where it is missing).
The source itself never predicts; once the pipeline lands, callers use it and this module goes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

#: Columns of the frame :func:`predict_refs` returns.
PREDICTION_COLUMNS = (
    "id",
    "name",
    "artist",
    "album",
    "mood",
    "p_calm",
    "p_energetic",
    "p_happy",
    "p_sad",
    "quadrant",
    "source",
    "reason",
)


def _provider(provenance: dict) -> str | None:
    names = sorted({v for k, v in provenance.items() if k != "duration_ms"})
    return "+".join(names) or None


def predict_frame_of(features, *, model=None, notify=None, store=None):
    """Predictions for a Spotify feature frame (rows with ``status`` ok), in its row order."""
    import pandas as pd

    from .predict import choose_model, predict_frame

    ok = features[features["status"] == "ok"]
    parts = []
    has_dur = ok["duration_ms"].notna()
    for mask in (has_dur, ~has_dur):
        part = ok[mask]
        if part.empty:
            continue
        cols = [c for c in part.columns if part[c].notna().all()]
        chosen = choose_model(cols, model, notify=notify)
        out = predict_frame(chosen, part.reset_index(drop=True), file="spotify")
        out.index = part.index
        out.attrs["model"] = chosen.name
        if store is not None:
            store.put_predictions(chosen.name, out.to_dict("records"))
        parts.append(out)
    if not parts:
        return None
    preds = pd.concat(parts).sort_index()
    preds.attrs["model"] = "+".join(p.attrs["model"] for p in parts)
    return preds


def predict_refs(
    refs: list[str],
    *,
    model: str | Path | None = None,
    notify: Callable[[str], None] | None = None,
    store=None,
    api=None,
    progress=None,
    refresh: bool = False,
    source_cls=None,
    require_features: bool = True,
):
    """Deprecated: predict the mood of Spotify tracks and playlists.

    Returns one row per track: ``id, name, artist, album, mood, p_calm … p_sad, quadrant, source,
    reason``; tracks whose features could not be had have an empty mood and a reason. When no
    track got features, :class:`~trackmood.errors.SourceError` (the CLI exits non-zero).
    ``source_cls`` is :class:`~trackmood.sources.spotify.SpotifySource` (passed in by its module,
    which hands this function out, so that neither imports the other at import time).
    """
    import pandas as pd

    from .errors import DataError
    from .sources.spotify_pages import parse_ref
    from .store import Store

    for ref in refs:  # as before the source took albums too (the pipeline will)
        kind = parse_ref(ref)[0]
        if kind not in ("track", "playlist"):
            raise DataError(f"predict takes tracks and playlists, not a Spotify {kind}", value=ref)
    store = store if store is not None else Store()
    if source_cls is None:
        raise TypeError("predict_refs needs source_cls=SpotifySource")
    source = source_cls(store, api=api, refresh=refresh)
    features = next(source.frames(refs, progress=progress, notify=notify))
    if require_features and len(features) and not (features["status"] == "ok").any():
        from .errors import SourceError

        raise SourceError(
            f"no track of the request got audio features ({len(features)} tried; first: "
            f"{features['id'].iloc[0]}: {features['reason'].iloc[0]})"
        )
    preds = predict_frame_of(features, model=model, notify=notify, store=store)
    out = features[["id", "name", "artist", "album"]].copy()
    for c in PREDICTION_COLUMNS[4:10]:
        out[c] = None if preds is None else preds[c].reindex(out.index)
    out["source"] = [
        _provider(p) if s == "ok" else None
        for p, s in zip(features["provenance"], features["status"], strict=True)
    ]
    out["reason"] = features["reason"]
    result = pd.DataFrame(out, columns=list(PREDICTION_COLUMNS)).reset_index(drop=True)
    result.attrs["model"] = None if preds is None else preds.attrs.get("model")
    return result
