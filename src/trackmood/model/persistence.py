"""Save and load trained models without executing code from the file, with a model card.

A saved model is a folder: ``model.json`` (the network's structure and its card, plain JSON),
``weights.npz`` (numpy arrays, read with ``allow_pickle=False``) and ``MODEL_CARD.md``
(the card for people). Nothing in it is ever unpickled or imported.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from .._fs import atomic_dir, json_default
from ..errors import ModelError
from .cards import TERMS_NOTE, card_markdown, clean
from .runtime import NetRuntime

__all__ = ["BUNDLED", "TERMS_NOTE", "TrainedModel", "card_markdown", "load_model", "save_model"]

#: Names of the models shipped inside the package, in order of preference for feature tables.
BUNDLED = ("default", "default-noduration", "original", "audio")

#: Largest total size of the arrays a model folder may declare (the bundled ones are < 1 MB).
MAX_WEIGHT_BYTES = 64 << 20
#: Most arrays a weights file may hold.
MAX_ARRAYS = 10_000


@dataclass
class TrainedModel:
    """A loaded model: the numpy runtime plus its card (a dict, JSON-compatible)."""

    runtime: NetRuntime
    card: dict = field(default_factory=dict)
    path: Path | None = None
    #: Hashes of the track ids it was trained on (:func:`id_hash`), written to ``training_ids.txt``.
    id_hashes: list[str] | None = None

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


#: The file beside ``model.json`` holding :func:`id_hash` of every training track id.
ID_FILE = "training_ids.txt"


def id_hash(track_id) -> str:
    """First 12 hex digits of the SHA-1 of a track id: what a model folder keeps of its training
    ids (enough to recognise them, without shipping the ids themselves).

    >>> id_hash("abc")
    'a9993e364706'
    """
    import hashlib

    return hashlib.sha1(str(track_id).encode("utf-8")).hexdigest()[:12]


def read_id_hashes(model: TrainedModel) -> set[str] | None:
    """The training-id hashes of a loaded model folder, or ``None`` if it does not record them."""
    if model.path is None or not (Path(model.path) / ID_FILE).is_file():
        return None
    try:
        lines = (Path(model.path) / ID_FILE).read_text(encoding="ascii").split()
    except (OSError, UnicodeDecodeError) as e:
        raise ModelError(clean(f"{model.path / ID_FILE}: cannot be read ({e})")) from None
    return {h for h in lines if len(h) == 12 and all(c in "0123456789abcdef" for c in h)}


def bundled_dir() -> Path:
    return Path(str(resources.files("trackmood") / "models"))


def save_model(
    model: TrainedModel | NetRuntime, path: str | Path, *, card: dict | None = None
) -> Path:
    """Write ``model`` to the folder ``path`` atomically (a temp folder renamed into place)."""
    if isinstance(model, NetRuntime):
        model = TrainedModel(model, card or {})
    elif card is not None:
        model = TrainedModel(model.runtime, card, model.path, model.id_hashes)
    path = Path(path)
    spec, arrays = model.runtime.to_spec()
    with atomic_dir(path) as tmp:
        (tmp / "model.json").write_text(
            json.dumps({"network": spec, "card": model.card}, indent=1, default=json_default) + "\n"
        )
        # numpy's stub types **kwds as if a key could be its allow_pickle flag
        np.savez(tmp / "weights.npz", **arrays)  # type: ignore[arg-type]
        (tmp / "MODEL_CARD.md").write_text(card_markdown(model.card))
        if model.id_hashes:
            (tmp / ID_FILE).write_text(
                "# sha1(track id)[:12] of every track id this model was trained on; "
                "trackmood evaluate leaves these rows out\n"
                + "\n".join(sorted(set(model.id_hashes)))
                + "\n"
            )
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
            "or a folder written by 'trackmood train'",
            param="model",
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
        check_weights(path / "weights.npz")
        with np.load(path / "weights.npz", allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        runtime = NetRuntime.from_spec(doc["network"], arrays)
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as e:
        raise ModelError(
            clean(f"{path}: not a valid trackmood model ({type(e).__name__}: {e})")
        ) from None
    return TrainedModel(runtime, clean(doc.get("card", {})), path)


def check_weights(path: Path, *, limit: int = MAX_WEIGHT_BYTES) -> None:
    """Refuse a weights file whose arrays declare more than ``limit`` bytes in all, before any is
    read: only the ``.npy`` headers inside the zip are parsed (shape x dtype).

    Raises :class:`ValueError` (reported by :func:`load_model` as a :class:`ModelError`).
    """
    from numpy.lib import format as npy

    total = 0
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        if len(names) > MAX_ARRAYS:
            raise ValueError(f"{len(names)} arrays in the weights file (at most {MAX_ARRAYS})")
        for name in names:
            with zf.open(name) as fh:
                version = npy.read_magic(fh)
                if version == (1, 0):
                    shape, _, dtype = npy.read_array_header_1_0(fh, max_header_size=10_000)
                else:
                    shape, _, dtype = npy.read_array_header_2_0(fh, max_header_size=10_000)
            if dtype.hasobject:
                raise ValueError(f"array {name!r} holds Python objects")
            size = int(np.prod(shape, dtype=object)) * dtype.itemsize
            total += size
            if total > limit:
                raise ValueError(
                    f"array {name!r} declares shape {tuple(shape)} of {dtype}: the weights would "
                    f"take more than {limit >> 20} MB (refused before reading them)"
                )
