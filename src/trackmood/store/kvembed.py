"""The musicnn embedding cache, once JSON in ``kv``, kept as float32 rows of ``embeddings``.

Callers that still speak the key-value form (``kv_get("musicnn", "<version>:<patches>:<sha>")``
with a JSON ``{feature: value}`` object) are served from the ``embeddings`` table: the key names
the embedding model ``musicnn:<version>:<patches>`` and the content hash, and the feature names
are kept once per model in ``embedding_columns``.

>>> parse_key("1:9:ab12")
('musicnn:1:9', 'ab12')
>>> key_of("musicnn:1:9", "ab12")
'1:9:ab12'
>>> names, blob = encode({"mn_pen000": 0.5, "mn_pen001": -1.0})
>>> decode(names, blob)
{'mn_pen000': 0.5, 'mn_pen001': -1.0}
"""

from __future__ import annotations

import array
import sys

#: The kv namespace of the musicnn embeddings (``trackmood.audio.embed_many.NAMESPACE``).
NAMESPACE = "musicnn"
_PREFIX = "musicnn:"


def parse_key(key: str) -> tuple[str, str] | None:
    """``(embedding model, sha)`` of a kv key ``<version>:<patches>:<sha>``, else ``None``."""
    parts = key.split(":")
    if len(parts) != 3 or not all(parts):
        return None
    return f"{_PREFIX}{parts[0]}:{parts[1]}", parts[2]


def key_of(model: str, sha: str) -> str | None:
    """The kv key of ``sha``'s embedding of ``model`` (``None`` for other models)."""
    if not model.startswith(_PREFIX):
        return None
    return f"{model[len(_PREFIX) :]}:{sha}"


def encode(values: dict) -> tuple[list[str], bytes]:
    """``(names, float32 little-endian bytes)`` of a ``{feature: value}`` object."""
    if not isinstance(values, dict) or not values:
        raise ValueError("not an embedding object")
    vec = array.array("f", [float(v) for v in values.values()])
    if sys.byteorder != "little":
        vec.byteswap()
    return list(values), vec.tobytes()


def decode(names: list[str], blob: bytes) -> dict[str, float]:
    """The ``{feature: value}`` object of a stored vector."""
    vec = array.array("f")
    vec.frombytes(blob)
    if sys.byteorder != "little":
        vec.byteswap()
    return dict(zip(names, vec.tolist(), strict=True))
