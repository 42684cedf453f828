"""Evaluation reports: tables and seaborn/matplotlib figures, written as a folder.

Plot functions return a :class:`matplotlib.figure.Figure` (Agg backend) and never show it.
:func:`write_report` writes ``report.md``, the PNGs and ``metrics.json`` into a temporary folder
and renames it into place, so an interrupted run leaves no half-written report.

>>> import pandas as pd
>>> df = pd.DataFrame({"energy": [0.2, 0.8, 0.4], "mood": ["Calm", "Energetic", "Calm"]})
>>> grouped_means(df, ["energy"]).round(2).to_dict()
{'energy': {'Calm': 0.3, 'Energetic': 0.8}}
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ._fs import atomic_dir, json_default
from .moods import MOODS


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def grouped_means(df: pd.DataFrame, features) -> pd.DataFrame:
    """The original's table: mean of each feature by mood (rows in :data:`MOODS` order)."""
    means = df.groupby("mood")[list(features)].mean()
    order = [m for m in MOODS if m in means.index] + [m for m in means.index if m not in MOODS]
    return means.loc[order]


def confusion_figure(cm, classes, *, title: str = "Confusion matrix", normalize: bool = True):
    """A seaborn heatmap of a confusion matrix (rows: true mood, columns: predicted)."""
    import seaborn as sns

    plt = _plt()
    cm = np.asarray(cm, dtype=float)
    data = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1) if normalize else cm
    fig, ax = plt.subplots(figsize=(5.2, 4.4))
    sns.heatmap(
        data,
        annot=True,
        fmt=".2f" if normalize else ".0f",
        cmap="Blues",
        vmin=0,
        vmax=1 if normalize else None,
        xticklabels=classes,
        yticklabels=classes,
        ax=ax,
        cbar=True,
    )
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def distributions_figure(df: pd.DataFrame, features):
    """Per-feature distributions by mood (kernel density plots, one panel per feature)."""
    import seaborn as sns

    plt = _plt()
    features = list(features)
    cols = 5
    rows = int(np.ceil(len(features) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.6 * rows), squeeze=False)
    hue_order = [m for m in MOODS if m in set(df["mood"])]
    for ax, feat in zip(axes.flat, features, strict=False):
        sns.kdeplot(
            data=df,
            x=feat,
            hue="mood",
            hue_order=hue_order,
            common_norm=False,
            ax=ax,
            legend=ax is axes.flat[0],
            warn_singular=False,
        )
        ax.set_ylabel("")
    for ax in list(axes.flat)[len(features) :]:
        ax.axis("off")
    fig.tight_layout()
    return fig


def recall_figure(recall: dict[str, float], *, title: str = "Recall per mood"):
    """A bar chart of per-class recall."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(4.6, 3.2))
    names = list(recall)
    ax.bar(names, [recall[n] for n in names], color="#4c72b0")
    ax.set_ylim(0, 1)
    ax.set_title(title)
    for i, n in enumerate(names):
        ax.text(i, recall[n] + 0.02, f"{recall[n]:.2f}", ha="center")
    fig.tight_layout()
    return fig


def _pct(v) -> str:
    return "–" if v is None else f"{100 * v:.1f} %"


def markdown(metrics: dict, means: pd.DataFrame | None = None) -> str:
    """The report text from a metrics dict (as written to ``metrics.json``)."""
    lines = [f"# Evaluation: {metrics.get('title', 'trackmood')}", ""]
    data = metrics.get("data", {})
    if data:
        lines += [
            f"Data: {', '.join(data.get('files', []))} — {data.get('rows')} rows "
            f"({', '.join(f'{k} {v}' for k, v in data.get('class_counts', {}).items())}).",
            "",
            f"Pooling: {data.get('pool', '')}",
            "",
        ]
    cv = metrics.get("cv")
    ho = metrics.get("holdout")
    pub = metrics.get("published")
    if cv or ho:
        lines += [
            "## Accuracy",
            "",
            "| protocol | accuracy | macro-F1 | log-loss |",
            "|---|---|---|---|",
        ]
        if cv:
            lines.append(
                f"| {cv['repeats']}×{cv['folds']} stratified CV ({metrics.get('kind')}) | "
                f"{_pct(cv['accuracy_mean'])} ± {100 * cv['accuracy_std']:.1f} | "
                f"{cv['macro_f1_mean']:.3f} | {cv['log_loss_mean']:.3f} |"
            )
        if ho:
            lines.append(
                f"| 80/20 split, original protocol ({metrics.get('kind')}) | "
                f"{_pct(ho['accuracy'])} | {ho['macro_f1']:.3f} | {ho['log_loss']:.3f} |"
            )
        if pub:
            lines.append(
                f"| seed project, published: CV / test | {_pct(pub['cv_accuracy'])} / "
                f"{_pct(pub['test_accuracy'])} | – | – |"
            )
            lines += ["", f"Beside ours, the {pub['note']}."]
        lines.append("")
        rec = (cv or {}).get("recall_mean") or (ho or {}).get("recall")
        if rec:
            lines += ["Recall per mood: " + ", ".join(f"{k} {v:.2f}" for k, v in rec.items()), ""]
        if cv:
            lines += [
                f"{cv['fits']} fits in {cv['seconds']:.1f} s. ± is the standard deviation across "
                "folds.",
                "",
            ]
    cross = metrics.get("cross_dataset")
    if cross:
        lines += [
            "## Saved model on this data (cross-dataset)",
            "",
            f"Model `{cross['model']}`: accuracy {_pct(cross['accuracy'])}, macro-F1 "
            f"{cross['macro_f1']:.3f}, log-loss {cross['log_loss']:.3f} on {cross['rows']} rows.",
            "",
            "Recall per mood: " + ", ".join(f"{k} {v:.2f}" for k, v in cross["recall"].items()),
            "",
        ]
    figures = metrics.get("figures", {})
    if figures:
        lines += ["## Figures", ""] + [f"![{k}]({v})" for k, v in figures.items()] + [""]
    if means is not None:
        lines += ["## Mean of each feature by mood", "", _md_table(means), ""]
    return "\n".join(lines)


def _md_table(df: pd.DataFrame) -> str:
    head = "| mood | " + " | ".join(map(str, df.columns)) + " |"
    rule = "|---" * (len(df.columns) + 1) + "|"
    body = [
        "| " + str(i) + " | " + " | ".join(f"{v:.4g}" for v in row) + " |"
        for i, row in zip(df.index, df.to_numpy(), strict=False)
    ]
    return "\n".join([head, rule] + body)


def write_report(
    out: str | Path,
    metrics: dict,
    *,
    figures: dict | None = None,
    means: pd.DataFrame | None = None,
) -> Path:
    """Write ``report.md``, ``<name>.png`` for each figure, ``grouped_means.csv`` and ``metrics.json``.

    The folder is assembled in a temporary sibling and renamed into place (replacing an old one).
    """
    plt = _plt()
    out = Path(out)
    with atomic_dir(out) as tmp:
        names = {}
        for key, fig in (figures or {}).items():
            fig.savefig(tmp / f"{key}.png", dpi=110)
            plt.close(fig)
            names[key] = f"{key}.png"
        metrics = dict(metrics, figures=names)
        if means is not None:
            means.to_csv(tmp / "grouped_means.csv")
            metrics["grouped_means"] = {
                m: {k: float(v) for k, v in row.items()} for m, row in means.iterrows()
            }
        (tmp / "metrics.json").write_text(
            json.dumps(metrics, indent=1, default=json_default) + "\n"
        )
        (tmp / "report.md").write_text(markdown(metrics, means))
    return out
