"""Reports read right: panels keep to each feature's range with legend and labels, absent moods
are n/a, Calm and Sad have clearly different colours; the quadrant comes from valence and energy.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_rgb

from trackmood import report as R
from trackmood.features import SCHEMA
from trackmood.moods import MOOD_COLORS, MOODS, quadrant_of

sys.path.insert(0, str(Path(__file__).parent))
from test_train_evaluate import FEATS, toy_table


@pytest.mark.parametrize(
    "valence,energy,expected",
    [
        (0.9, 0.9, "positive valence, high energy"),
        (0.1, 0.9, "negative valence, high energy"),
        (0.1, 0.1, "negative valence, low energy"),
        (0.5, 0.49, "positive valence, low energy"),
        (None, 0.5, ""),
        (0.5, float("nan"), ""),
        ("x", 0.5, ""),
    ],
)
def test_quadrant_of(valence, energy, expected):
    assert quadrant_of(valence, energy) == expected


def test_calm_and_sad_colours_differ_clearly():
    assert set(MOOD_COLORS) == set(MOODS)
    rgb = {m: np.array(to_rgb(c)) for m, c in MOOD_COLORS.items()}
    dists = [np.abs(rgb[a] - rgb[b]).sum() for a in MOODS for b in MOODS if a < b]
    assert np.abs(rgb["Calm"] - rgb["Sad"]).sum() > 0.5 and min(dists) > 0.3


def test_distribution_panels_keep_to_range_with_legend_and_labels(tmp_path):
    df = pd.read_csv(toy_table(tmp_path / "a.csv")).rename(columns={"length": "duration_ms"})
    fig = R.distributions_figure(df, FEATS)
    axes = [ax for ax in fig.axes if ax.get_visible() and ax.axison]
    assert len(axes) == len(FEATS)
    for ax, feat in zip(axes, FEATS, strict=True):
        assert ax.get_xlabel().startswith(feat) and ax.get_ylabel() == "density"
        legend = ax.get_legend()
        assert legend is not None and {t.get_text() for t in legend.get_texts()} == set(MOODS)
        lo, hi = ax.get_xlim()
        values = df[feat]
        if (SCHEMA[feat].low, SCHEMA[feat].high) == (0, 1):
            assert (lo, hi) == (0.0, 1.0)  # a 0-1 feature never spills past its scale
        else:
            assert lo >= values.min() - 1e-9 and hi <= values.max() + 1e-9
        for line in ax.get_lines():
            x = np.asarray(line.get_xdata(), dtype=float)
            assert x.min() >= lo - 1e-9 and x.max() <= hi + 1e-9
    colours = {
        t.get_text(): h.get_color()
        for t, h in zip(
            axes[0].get_legend().get_texts(), axes[0].get_legend().legend_handles, strict=True
        )
    }
    assert to_rgb(colours["Calm"]) == to_rgb(MOOD_COLORS["Calm"])
    assert to_rgb(colours["Sad"]) == to_rgb(MOOD_COLORS["Sad"])


def test_absent_mood_is_na_not_zeros():
    cm = [[5, 1, 0, 0], [0, 4, 2, 0], [1, 0, 6, 0], [0, 0, 0, 0]]  # no Sad tracks in the table
    fig = R.confusion_figure(cm, list(MOODS))
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts[-4:] == ["n/a"] * 4 and "0.83" in texts
    fig = R.recall_figure({"Calm": 0.8, "Energetic": 0.5, "Happy": 0.6, "Sad": float("nan")})
    assert "n/a" in [t.get_text() for t in fig.axes[0].texts]
    text = R.markdown(
        {
            "title": "t",
            "cross_dataset": {
                "model": "m",
                "accuracy": 0.7,
                "macro_f1": 0.6,
                "log_loss": 0.8,
                "rows": 10,
                "recall": {"Calm": 0.8, "Energetic": 0.5, "Happy": 0.6},
                "classes": list(MOODS),
            },
        }
    )
    assert "Sad n/a" in text and "Sad 0.00" not in text
