"""Mood timelines: the audio model applied to each window of a track, as rows and as a figure.

>>> rows = [{"start": 0.0, "end": 15.0, "mood": "Calm", "p_calm": .7, "p_energetic": .1,
...          "p_happy": .1, "p_sad": .1},
...         {"start": 15.0, "end": 30.0, "mood": "Happy", "p_calm": .2, "p_energetic": .1,
...          "p_happy": .6, "p_sad": .1}]
>>> fig = timeline_figure(rows, title="song")
>>> len(fig.axes)
1
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..moods import MOOD_COLORS, MOODS, PROBA_COLUMNS


def full_proba(proba: np.ndarray, classes) -> np.ndarray:
    """Probabilities in :data:`MOODS` order; moods a model was not trained on get 0."""
    out = np.zeros((proba.shape[0], len(MOODS)))
    for j, c in enumerate(classes):
        out[:, MOODS.index(c)] = proba[:, j]
    return out


def window_rows(windows: list[dict], model) -> list[dict]:
    """``[{start, end, mood, p_calm, p_energetic, p_happy, p_sad}]`` for descriptor windows."""
    if not windows:
        return []
    X = np.array([[w[f] for f in model.features] for w in windows], dtype=float)
    proba = full_proba(model.predict_proba(X), model.runtime.classes)
    rows = []
    for w, p in zip(windows, proba, strict=False):
        row = {"start": float(w["start"]), "end": float(w["end"]), "mood": MOODS[int(p.argmax())]}
        row.update({c: round(float(v), 4) for c, v in zip(PROBA_COLUMNS, p, strict=False)})
        rows.append(row)
    return rows


def timeline_figure(timeline: list[dict], *, title: str | None = None, width: float = 10.0):
    """A mood strip: one coloured bar per window, with the four probabilities as stacked areas.

    Parameters
    ----------
    timeline : list of dict
        Rows from :func:`window_rows` (``start``, ``end``, ``mood``, ``p_*``).
    title : str, optional
    width : float, default 10
        Figure width in inches.

    Returns
    -------
    matplotlib.figure.Figure
        Not shown; save it with ``fig.savefig(path)``.
    """
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    fig = Figure(figsize=(width, 2.2), layout="constrained")
    ax = fig.add_subplot()
    if timeline:
        edges = [r["start"] for r in timeline] + [timeline[-1]["end"]]
        bottom = np.zeros(len(timeline))
        for mood, col in zip(MOODS, PROBA_COLUMNS, strict=False):
            p = np.array([r[col] for r in timeline])
            ax.bar(
                edges[:-1],
                p,
                width=np.diff(edges),
                bottom=bottom,
                align="edge",
                color=MOOD_COLORS[mood],
                alpha=0.35,
                linewidth=0,
            )
            bottom += p
        for r in timeline:
            ax.bar(
                r["start"],
                0.18,
                width=r["end"] - r["start"],
                bottom=1.02,
                align="edge",
                color=MOOD_COLORS[r["mood"]],
                edgecolor="white",
                linewidth=1,
            )
            ax.text(
                (r["start"] + r["end"]) / 2, 1.11, r["mood"], ha="center", va="center", fontsize=7
            )
        ax.set_xlim(edges[0], edges[-1])
    ax.set_ylim(0, 1.22)
    ax.set_yticks([0, 0.5, 1.0])
    ax.set_ylabel("probability")
    ax.set_xlabel("time (s)")
    ax.legend(
        handles=[Patch(color=MOOD_COLORS[m], label=m) for m in MOODS],
        ncols=4,
        fontsize=7,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.35),
        frameon=False,
    )
    if title:
        ax.set_title(title, fontsize=9)
    return fig


def save_strip(timeline: list[dict], path: str | Path, *, title: str | None = None) -> Path:
    """Write :func:`timeline_figure` as a PNG at ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig = timeline_figure(timeline, title=title)
    fig.savefig(path, dpi=110)
    return path


def save_strips(
    tracks: list[tuple[str, list[dict]]], path: str | Path, *, width: float = 10.0
) -> Path:
    """One PNG with a mood strip per track (``(title, timeline rows)`` pairs), stacked."""
    from matplotlib.figure import Figure

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tracks = [t for t in tracks if t[1]] or tracks[:1]
    if len(tracks) == 1:
        timeline_figure(tracks[0][1], title=tracks[0][0], width=width).savefig(path, dpi=110)
        return path
    fig = Figure(figsize=(width, 0.9 * len(tracks) + 0.8), layout="constrained")
    axes = fig.subplots(len(tracks), 1, squeeze=False)[:, 0]
    end = max((t[1][-1]["end"] for t in tracks if t[1]), default=1.0)
    for ax, (title, rows) in zip(axes, tracks, strict=False):
        for r in rows:
            ax.barh(
                0,
                r["end"] - r["start"],
                left=r["start"],
                color=MOOD_COLORS[r["mood"]],
                edgecolor="white",
            )
        ax.set_xlim(0, end)
        ax.set_yticks([])
        ax.set_ylabel(str(title)[:28], rotation=0, ha="right", va="center", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[-1].set_xlabel("time (s)")
    from matplotlib.patches import Patch

    axes[0].legend(
        handles=[Patch(color=MOOD_COLORS[m], label=m) for m in MOODS],
        ncols=4,
        fontsize=7,
        loc="lower center",
        bbox_to_anchor=(0.5, 1.0),
        frameon=False,
    )
    fig.savefig(path, dpi=110)
    return path
