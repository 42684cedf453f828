"""Save and load trained models without executing code from the file, with a model card.

A saved model is a folder: ``model.json`` (the network's structure and its card, plain JSON),
``weights.npz`` (numpy arrays, read with ``allow_pickle=False``) and ``MODEL_CARD.md``
(the card for people). Nothing in it is ever unpickled or imported.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from .._fs import atomic_dir, json_default
from ..errors import ModelError
from .runtime import NetRuntime

#: Names of the models shipped inside the package, in order of preference for feature tables.
BUNDLED = ("default", "default-noduration", "original", "audio")

TERMS_NOTE = (
    "Spotify Developer Terms §IV.2.a.i forbid using Spotify Content (including audio features "
    "obtained from the Spotify API) to train or feed machine-learning models. The bundled feature "
    "models were trained on public research tables that carry Spotify-derived features; they are "
    "shipped for research and education. Feed them features you measured yourself (trackmood "
    "extract) or obtained under terms that allow it."
)


@dataclass
class TrainedModel:
    """A loaded model: the numpy runtime plus its card (a dict, JSON-compatible)."""

    runtime: NetRuntime
    card: dict = field(default_factory=dict)
    path: Path | None = None

    @property
    def name(self) -> str:
        return self.card.get("name", self.path.name if self.path else "model")

    @property
    def features(self) -> list[str]:
        return list(self.runtime.features)

    @property
    def classes_(self) -> np.ndarray:
        return np.asarray(self.runtime.classes)

    def predict_proba(self, X) -> np.ndarray:
        return self.runtime.predict_proba(np.asarray(X, dtype=float))

    def predict(self, X) -> np.ndarray:
        return self.runtime.predict(np.asarray(X, dtype=float))


def bundled_dir() -> Path:
    return Path(str(resources.files("trackmood") / "models"))


def save_model(
    model: TrainedModel | NetRuntime, path: str | Path, *, card: dict | None = None
) -> Path:
    """Write ``model`` to the folder ``path`` atomically (a temp folder renamed into place)."""
    if isinstance(model, NetRuntime):
        model = TrainedModel(model, card or {})
    elif card is not None:
        model = TrainedModel(model.runtime, card, model.path)
    path = Path(path)
    spec, arrays = model.runtime.to_spec()
    with atomic_dir(path) as tmp:
        (tmp / "model.json").write_text(
            json.dumps({"network": spec, "card": model.card}, indent=1, default=json_default) + "\n"
        )
        np.savez(tmp / "weights.npz", **arrays)
        (tmp / "MODEL_CARD.md").write_text(card_markdown(model.card))
    return path


def resolve_model_path(name_or_path: str | Path | None) -> Path:
    """A bundled model name (``default``, ``original``, ...) or a saved model folder."""
    if name_or_path is None:
        name_or_path = "default"
    text = str(name_or_path)
    if text in BUNDLED or (bundled_dir() / text / "model.json").exists():
        path = bundled_dir() / text
        if not (path / "model.json").exists():
            raise ModelError(
                f"bundled model {text!r} is not installed; train it with "
                f"'trackmood train' (see README, 'Reproduce')"
            )
        return path
    path = Path(text)
    if path.is_file() and path.name == "model.json":
        path = path.parent
    if not (path / "model.json").exists():
        raise ModelError(
            f"no model at {text!r}: expected a bundled name ({', '.join(BUNDLED)}) "
            "or a folder written by 'trackmood train'"
        )
    return path


def load_model(name_or_path: str | Path | None = None) -> TrainedModel:
    """Load a bundled or saved model; never executes code from the files.

    Examples
    --------
    >>> from trackmood import load_model
    >>> model = load_model("default")
    >>> model.classes_.tolist()
    ['Calm', 'Energetic', 'Happy', 'Sad']
    """
    path = resolve_model_path(name_or_path)
    try:
        doc = json.loads((path / "model.json").read_text())
        with np.load(path / "weights.npz", allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        runtime = NetRuntime.from_spec(doc["network"], arrays)
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ModelError(f"{path}: not a valid trackmood model ({type(e).__name__}: {e})") from None
    return TrainedModel(runtime, doc.get("card", {}), path)


def card_markdown(card: dict) -> str:
    """The model card as Markdown, for people."""
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
    if card.get("training_files"):
        lines += ["## Training data", "", "| file | sha256 | rows |", "|---|---|---|"]
        for f in card["training_files"]:
            lines.append(
                f"| {f.get('file')} | {str(f.get('sha256', ''))[:16]}… | {f.get('rows', '')} |"
            )
        lines.append("")
    if card.get("metrics"):
        lines += [
            "## Metrics",
            "",
            "```json",
            json.dumps(card["metrics"], indent=1, default=json_default),
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
