r"""Model cards: the facts a card carries, the Markdown people read, and text made safe to print.

A card is a JSON-compatible dict stored in ``model.json``. Everything read from a card is passed
through :func:`clean` first, so a crafted card cannot send terminal control sequences to the
screen of someone running ``trackmood info``.

>>> clean("ok\x1b[2J\x1b]0;title\x07 \x9b31mdone\x07")
'ok done'
"""

from __future__ import annotations

import json
import platform
import re
from importlib import metadata
from typing import TYPE_CHECKING

from .._fs import json_default
from ..moods import MOODS

if TYPE_CHECKING:
    import pandas as pd

TERMS_NOTE = (
    "Spotify Developer Terms §IV.2.a.i forbid using Spotify Content (including audio features "
    "obtained from the Spotify API) to train or feed machine-learning models. The bundled feature "
    "models were trained on public research tables that carry Spotify-derived features; they are "
    "shipped for research and education. Feed them features you measured yourself (trackmood "
    "extract) or obtained under terms that allow it."
)

#: The terms paragraph of a model a user trains (it says nothing about the bundled models' data).
USER_TERMS_NOTE = (
    "Trained with trackmood on the tables listed above. If they hold audio features obtained from "
    "the Spotify API, Spotify Developer Terms §IV.2.a.i forbid using them to train or feed "
    "machine-learning models; features you measured yourself (trackmood extract) carry no such "
    "restriction."
)

# ESC sequences (CSI, OSC/DCS/APC/PM strings, two-byte escapes), then single C0/C1 controls.
_ESC = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b[\]PX^_].*?(?:\x07|\x1b\\|$)"
    r"|\x1b[@-Z\\-_]?"
    r"|\x9b[0-?]*[ -/]*[@-~]"
    r"|[\x90\x9d\x98\x9e\x9f].*?(?:\x07|\x9c|\x1b\\|$)",
    re.DOTALL,
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean(value):
    """``value`` with terminal control sequences removed from every string (recursively)."""
    if isinstance(value, str):
        return _CONTROL.sub("", _ESC.sub("", value))
    if isinstance(value, dict):
        return {clean(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    return value


def library_versions() -> dict[str, str]:
    """Versions of the libraries a model depends on (for the card)."""
    out = {"python": platform.python_version()}
    for name in ("trackmood", "numpy", "scikit-learn", "pandas", "tensorflow-cpu", "keras"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def pool_card(report) -> dict:
    """What pooling did, for the card (a :class:`~trackmood.datasets.PoolReport`)."""
    return {
        "rows_in": report.rows_in,
        "label_map_dropped": report.label_dropped,
        "duplicates_merged": report.duplicates_merged,
        "conflicting_ids_dropped": len(report.conflicts),
        "rows_out": report.rows_out,
        "incomplete_rows_skipped": {k: len(v) for k, v in report.incomplete.items()},
        "summary": report.summary(),
    }


#: Features whose per-mood means define the moods in a card (those present are used).
DEFINING = ("valence", "energy", "danceability", "acousticness", "tempo", "loudness")


def mood_definitions(df: pd.DataFrame, features) -> dict:
    """What each mood means in the training data: row count and mean of each feature per mood.

    Valence and energy are included when the table has them, even if the model does not use them.
    """
    cols = [f for f in dict.fromkeys([*DEFINING, *features]) if f in df.columns]
    out = {}
    for mood in MOODS:
        part = df[df["mood"] == mood]
        if len(part):
            out[mood] = {"rows": len(part)} | {
                c: round(float(part[c].astype(float).mean()), 4) for c in cols
            }
    return out


def _pct(v) -> str:
    return "n/a" if v is None else f"{100 * v:.1f} %"


def _loto_lines(loto: dict) -> list[str]:
    lines = [
        "| held-out table | rows | accuracy | macro-F1 | trained on rows | overlap removed |",
        "|---|---|---|---|---|---|",
    ]
    for t in loto.get("tables", []):
        lines.append(
            f"| {t['table']} | {t['rows']} | {_pct(t['accuracy'])} | {t['macro_f1']:.3f} | "
            f"{t['train_rows']} | {t['overlap_removed']} |"
        )
    lines.append(
        f"| **mean over tables** | | **{_pct(loto.get('accuracy_mean'))}** | "
        f"{loto.get('macro_f1_mean', 0):.3f} | | |"
    )
    return lines


def _definition_lines(defs: dict) -> list[str]:
    cols = sorted({k for v in defs.values() for k in v if k != "rows"}, key=DEFINING_ORDER)
    lines = [
        "| mood | rows | " + " | ".join(cols) + " |",
        "|---" * (len(cols) + 2) + "|",
    ]
    for mood, v in defs.items():
        cells = [f"{v[c]:.3g}" if c in v else "n/a" for c in cols]
        lines.append(f"| {mood} | {v['rows']} | " + " | ".join(cells) + " |")
    return lines


def DEFINING_ORDER(name: str):  # noqa: N802 - a sort key
    return (DEFINING.index(name) if name in DEFINING else len(DEFINING), name)


def card_markdown(card: dict) -> str:
    """The model card as Markdown, for people (control sequences removed)."""
    card = clean(card)
    lines = [f"# Model card: {card.get('name', 'model')}", ""]
    if card.get("description"):
        lines += [card["description"], ""]
    lines += [
        "## Inputs",
        "",
        ", ".join(card.get("features", [])) or "(see model.json)",
        "",
        "## Classes",
        "",
        ", ".join(card.get("classes", [])),
        "",
    ]
    if card.get("mood_definitions"):
        lines += [
            "## What the moods mean here",
            "",
            "Mean feature values per mood in this model's training data: the moods are what these "
            "playlists called them, not fixed regions of valence and energy.",
            "",
            *_definition_lines(card["mood_definitions"]),
            "",
        ]
    if card.get("training_files"):
        lines += [
            "## Training data",
            "",
            "| file | sha256 | rows | label map |",
            "|---|---|---|---|",
        ]
        for f in card["training_files"]:
            lm = f.get("label_map") or {}
            lm_text = ", ".join(f"{k}→{v or 'dropped'}" for k, v in lm.items()) or "as labelled"
            lines.append(
                f"| {f.get('file')} | {str(f.get('sha256', ''))[:16]}… | {f.get('rows', '')} "
                f"| {lm_text} |"
            )
        lines.append("")
    metrics = card.get("metrics") or {}
    headline = []
    cv = metrics.get("cv")
    if isinstance(cv, dict) and "accuracy_mean" in cv:
        headline.append(
            f"- {cv.get('protocol', 'stratified CV')}: **{_pct(cv['accuracy_mean'])}** "
            f"(± {100 * cv['accuracy_std']:.1f} = spread of single folds), macro-F1 "
            f"{cv['macro_f1_mean']:.3f}"
        )
    loto = metrics.get("leave_one_table_out")
    if not (isinstance(loto, dict) and "accuracy_mean" in loto):
        loto = None
    if loto:
        headline.append(
            f"- leave-one-table-out (trained on the other tables, never on a scored track): "
            f"**{_pct(loto['accuracy_mean'])}** mean over {len(loto['tables'])} tables"
        )
    if headline:
        lines += ["## Accuracy", "", *headline, ""]
        if loto:
            lines += [*_loto_lines(loto), ""]
    cal = card.get("calibration")
    if cal:
        ind, lo = cal.get("in_domain", {}), cal.get("loto", {})
        lines += [
            "## Calibration and the uncertain answer",
            "",
            f"{cal.get('method', '')}. Temperature {cal['temperature']:.2f}; predictions with "
            f"confidence below **{card.get('uncertain_below', cal['uncertain_below']):.2f}** are "
            "marked uncertain.",
            "",
            "| data | ECE before | ECE after | confident share | confident accuracy | "
            "uncertain accuracy |",
            "|---|---|---|---|---|---|",
        ]
        if ind:
            lines.append(
                f"| in-domain (out-of-fold) | {ind['ece_raw']:.3f} | {ind['ece_calibrated']:.3f} "
                f"| {_pct(ind['confident_share'])} | {_pct(ind['confident_accuracy'])} | "
                f"{_pct(ind['uncertain_accuracy'])} |"
            )
        if lo:
            lines.append(
                f"| leave-one-table-out (nested) | {lo['ece_raw']:.3f} | "
                f"{lo['ece_calibrated_nested']:.3f} | {_pct(lo['confident_share_nested'])} | "
                f"{_pct(lo['confident_accuracy_nested'])} | "
                f"{_pct(lo['uncertain_accuracy_nested'])} |"
            )
        lines.append("")
    if metrics:
        lines += [
            "## Metrics (all)",
            "",
            "```json",
            json.dumps(metrics, indent=1, default=json_default),
            "```",
            "",
        ]
    if card.get("versions"):
        lines += (
            ["## Library versions", ""] + [f"- {k} {v}" for k, v in card["versions"].items()] + [""]
        )
    if card.get("command"):
        lines += ["## Reproduce", "", f"```\n{card['command']}\n```", ""]
    lines += ["## Data and terms", "", card.get("terms", TERMS_NOTE), ""]
    return "\n".join(lines)
