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
from .moods import MOOD_COLORS, MOODS


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
    absent = cm.sum(axis=1) == 0  # a mood the table does not have: n/a, not a row of zeros
    data = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1) if normalize else cm.copy()
    data[absent] = np.nan
    fmt = "{:.2f}" if normalize else "{:.0f}"
    annot = np.array([["n/a" if np.isnan(v) else fmt.format(v) for v in row] for row in data])
    fig, ax = plt.subplots(figsize=(5.2, 4.4))
    sns.heatmap(
        data,
        annot=annot,
        fmt="",
        cmap="Blues",
        vmin=0,
        vmax=1 if normalize else None,
        xticklabels=classes,
        yticklabels=classes,
        ax=ax,
        cbar=True,
    )
    for i in np.flatnonzero(absent):  # heatmap leaves NaN cells blank: say why
        for j in range(data.shape[1]):
            ax.text(j + 0.5, i + 0.5, "n/a", ha="center", va="center", color="#555555")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def feature_limits(df: pd.DataFrame, feature: str) -> tuple[float, float]:
    """The x range of a feature's panel: its valid range, narrowed to the data it holds."""
    from .features import SCHEMA

    values = pd.to_numeric(df[feature], errors="coerce").dropna()
    lo, hi = (float(values.min()), float(values.max())) if len(values) else (0.0, 1.0)
    spec = SCHEMA.get(feature)
    if spec is not None:
        lo, hi = max(lo, float(spec.low)), min(hi, float(spec.high))
        if spec.low == 0 and spec.high == 1:
            lo, hi = 0.0, 1.0  # 0-1 features: the whole scale, so panels compare
    if hi <= lo:
        hi = lo + 1.0
    return lo, hi


def distributions_figure(df: pd.DataFrame, features):
    """Per-feature distributions by mood: one kernel-density panel per feature, each kept to the
    feature's range, with its own legend and axis labels, moods in :data:`MOOD_COLORS`.
    """
    import seaborn as sns

    from .features import SCHEMA

    plt = _plt()
    features = list(features)
    cols = min(5, max(1, len(features)))
    rows = int(np.ceil(len(features) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols, 2.9 * rows), squeeze=False)
    hue_order = [m for m in MOODS if m in set(df["mood"])]
    palette = {m: MOOD_COLORS.get(m, "#777777") for m in hue_order}
    for ax, feat in zip(axes.flat, features, strict=False):
        lo, hi = feature_limits(df, feat)
        sns.kdeplot(
            data=df,
            x=feat,
            hue="mood",
            hue_order=hue_order,
            palette=palette,
            common_norm=False,
            clip=(lo, hi),
            ax=ax,
            legend=True,
            warn_singular=False,
        )
        ax.set_xlim(lo, hi)
        unit = SCHEMA[feat].unit if feat in SCHEMA else ""
        ax.set_xlabel(f"{feat} ({unit})" if unit else feat)
        ax.set_ylabel("density")
        legend = ax.get_legend()
        if legend is not None:
            legend.set_title("mood")
            for text in legend.get_texts():
                text.set_fontsize(7)
    for ax in list(axes.flat)[len(features) :]:
        ax.axis("off")
    fig.tight_layout()
    return fig


def recall_figure(recall: dict[str, float], *, title: str = "Recall per mood"):
    """A bar chart of per-class recall."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(4.6, 3.2))
    names = list(recall)
    values = [_num(recall[n]) for n in names]
    ax.bar(
        names,
        [0 if v is None else v for v in values],
        color=[MOOD_COLORS.get(n, "#777777") for n in names],
    )
    ax.set_ylim(0, 1.08)
    ax.set_title(title)
    ax.set_xlabel("true mood")
    ax.set_ylabel("recall")
    for i, v in enumerate(values):
        ax.text(i, (v or 0) + 0.02, "n/a" if v is None else f"{v:.2f}", ha="center")
    fig.tight_layout()
    return fig


def _num(v):
    """``v`` as a float, ``None`` for a missing or NaN value (a class absent from the data)."""
    if v is None:
        return None
    v = float(v)
    return None if np.isnan(v) else v


def _pct(v) -> str:
    v = _num(v)
    return "n/a" if v is None else f"{100 * v:.1f} %"


def _recall_line(rec: dict, classes=MOODS) -> str:
    names = [c for c in classes if c in rec or c in MOODS]
    parts = []
    for c in names:
        v = _num(rec.get(c))
        parts.append(f"{c} {'n/a' if v is None else f'{v:.2f}'}")
    return "Recall per mood: " + ", ".join(parts)


def markdown(metrics: dict, means: pd.DataFrame | None = None) -> str:
    """The report text from a metrics dict (as written to ``metrics.json``)."""
    lines = [f"# Evaluation: {metrics.get('title', 'trackmood')}", ""]
    if metrics.get("headline"):
        lines += [f"**{metrics['headline']}**", ""]
    if metrics.get("note"):
        lines += [f"Note: {metrics['note']}.", ""]
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
            lines += [_recall_line(rec), ""]
        if cv:
            lines += [
                f"{cv['fits']} fits in {cv['seconds']:.1f} s. ± is the spread of single-fold "
                "accuracies (their standard deviation), not an uncertainty of the mean.",
                "",
            ]
    loto = metrics.get("leave_one_table_out")
    if loto:
        lines += [
            "## Leave-one-table-out",
            "",
            "Trained on all tables but one (ids of the held-out table removed from the training "
            "side), scored on the one left out.",
            "",
            "| held-out table | rows | accuracy | macro-F1 | " + " | ".join(MOODS) + " |",
            "|---" * (4 + len(MOODS)) + "|",
        ]
        for t in loto["tables"]:
            lines.append(
                f"| {t['table']} | {t['rows']} | {_pct(t['accuracy'])} | {t['macro_f1']:.3f} | "
                + " | ".join(_pct(t["recall"].get(m)) for m in MOODS)
                + " |"
            )
        lines += [f"| mean over tables | | {_pct(loto['accuracy_mean'])} | | |", ""]
        cal = (metrics.get("calibration") or {}).get("loto")
        if cal:
            lines += [
                f"Expected calibration error, mean over held-out tables: {cal['ece_raw']:.3f} "
                f"raw, {cal['ece_calibrated_nested']:.3f} after temperature scaling fitted on "
                "the other tables. Confidence below "
                f"{metrics['calibration']['uncertain_below']:.2f} marks a prediction uncertain: "
                f"confident part {_pct(cal['confident_accuracy_nested'])} right, uncertain part "
                f"{_pct(cal['uncertain_accuracy_nested'])} (nested).",
                "",
            ]
    cross = metrics.get("saved_model") or metrics.get("cross_dataset")
    if cross:
        left_out = (
            f" ({cross['excluded']} rows whose track ids are in its training data left out)"
            if cross.get("excluded")
            else ""
        )
        lines += [
            f"## Saved model on this data ({cross.get('scope', 'cross-dataset')})",
            "",
            f"Model `{cross['model']}`: accuracy {_pct(cross['accuracy'])}, macro-F1 "
            f"{cross['macro_f1']:.3f}, log-loss {cross['log_loss']:.3f} on {cross['rows']} "
            f"rows{left_out}.",
            "",
            _recall_line(cross["recall"], cross.get("classes", MOODS)),
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
