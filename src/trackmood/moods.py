"""The four moods, their aliases, label maps for other datasets, their colours, and the
valence/energy quadrant of a track.

A mood is what the playlists behind a model's training data called it; it is *not* a fixed
region of valence and energy (data_moods' Calm tracks have the lowest mean valence of all four
moods). Each model card says what its moods mean (mean features per mood). The quadrant is
computed from a track's own valence and energy, when it has them.

>>> normalize_label("  happy ")
'Happy'
>>> LabelMap.parse(["Melancholic=Sad", "Romantic="]).apply("melancholic")
'Sad'
>>> quadrant_of(0.8, 0.3)
'positive valence, low energy'
>>> quadrants([0.8, 0.1], [0.3, 1.2]).tolist()
['positive valence, low energy', '']
>>> quadrant_of(0.2, None)
''
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import LabelError

#: The four moods in the order every model's ``classes_`` uses (alphabetical, as scikit-learn sorts).
MOODS: tuple[str, ...] = ("Calm", "Energetic", "Happy", "Sad")

#: Column names for the probability of each mood in prediction output.
PROBA_COLUMNS: tuple[str, ...] = tuple(f"p_{m.lower()}" for m in MOODS)

#: One colour per mood for every plot, the timeline, the map and badges: Calm green and Sad
#: indigo stay clearly apart (also in lightness, for colour-blind readers), as do Happy yellow
#: and Energetic vermilion.
MOOD_COLORS: dict[str, str] = {
    "Calm": "#009E73",
    "Energetic": "#D55E00",
    "Happy": "#F0C000",
    "Sad": "#5E3C99",
}


def palette_css() -> str:
    """:data:`MOOD_COLORS` as the CSS variables the web page colours moods with (``--calm`` ...).

    >>> palette_css().splitlines()[1]
    '  --calm: #009E73;'
    """
    lines = [f"  --{mood.lower()}: {colour};" for mood, colour in MOOD_COLORS.items()]
    return ":root {\n" + "\n".join(lines) + "\n}\n"


#: Case-insensitive aliases that always mean one of our moods.
ALIASES: dict[str, str] = {
    "calm": "Calm",
    "energetic": "Energetic",
    "happy": "Happy",
    "sad": "Sad",
    "q1": "Happy",
    "q2": "Energetic",
    "q3": "Sad",
    "q4": "Calm",
}


def quadrants(valence, energy) -> np.ndarray:
    """The quadrant of each track's own ``valence`` and ``energy`` (0-1, split at 0.5) as words,
    e.g. ``'negative valence, high energy'``; ``''`` where either is missing, not a number or
    outside 0-1. The one quadrant rule: every table, frame, record and endpoint uses it.

    >>> quadrants(np.array([0.9, 0.2, np.nan]), np.array([0.6, 0.1, 0.5])).tolist()
    ['positive valence, high energy', 'negative valence, low energy', '']
    """
    v = _numbers(valence)
    e = _numbers(energy)
    with np.errstate(invalid="ignore"):
        known = np.isfinite(v) & np.isfinite(e) & (v >= 0) & (v <= 1) & (e >= 0) & (e <= 1)
        code = (v >= 0.5) * 2 + (e >= 0.5)
    return _QUADRANT_WORDS[np.where(known, code, 4)]


#: Quadrant words by code ``2 * (valence >= 0.5) + (energy >= 0.5)``; code 4 is unknown.
_QUADRANT_WORDS = np.array(
    [f"{v} valence, {e} energy" for v in ("negative", "positive") for e in ("low", "high")] + [""],
    dtype=object,
)


def _numbers(values) -> np.ndarray:
    """``values`` as a float array; anything that is not a number becomes NaN."""
    try:
        return np.asarray(values, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        return np.array([number_or_nan(x) for x in np.asarray(values, dtype=object).reshape(-1)])


def number_or_nan(value) -> float:
    """``float(value)``, or NaN when it is missing or not a number."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def quadrant_of(valence, energy) -> str:
    """:func:`quadrants` of one track: ``''`` when either value is missing or not a number."""
    return str(quadrants([number_or_nan(valence)], [number_or_nan(energy)])[0])


def normalize_label(label: object) -> str:
    """Map ``label`` to one of :data:`MOODS` through :data:`ALIASES`, or raise :class:`LabelError`."""
    key = str(label).strip().lower()
    if key in ALIASES:
        return ALIASES[key]
    raise LabelError(
        f"unknown mood label {str(label)!r}; expected one of {', '.join(MOODS)}",
        label=str(label),
        param="label",
    )


@dataclass(frozen=True)
class LabelMap:
    """A user-given mapping of a dataset's labels onto :data:`MOODS`.

    ``mapping`` keys are lower-cased source labels; a value of ``None`` drops rows with that label.
    Labels not in the map fall back to :data:`ALIASES`.
    """

    mapping: dict[str, str | None] = field(default_factory=dict)

    @classmethod
    def parse(cls, items: list[str] | dict | None) -> LabelMap:
        """Build from ``["Old=New", "Drop="]`` strings or a ``{old: new_or_None}`` dict."""
        if not items:
            return cls({})
        pairs: list[tuple[object, str | None]]
        if isinstance(items, dict):
            pairs = list(items.items())
        else:
            pairs = []
            for item in items:
                for part in str(item).split(","):
                    if not part.strip():
                        continue
                    if "=" not in part:
                        raise LabelError(
                            f"label map entry {part!r} must look like OLD=NEW or OLD=",
                            param="label_map",
                        )
                    key, value = part.split("=", 1)
                    pairs.append((key, value))
        mapping: dict[str, str | None] = {}
        for old, new in pairs:
            new = (new or "").strip()
            mapping[str(old).strip().lower()] = normalize_label(new) if new else None
        return cls(mapping)

    def apply(self, label: object) -> str | None:
        """The mood for ``label``, ``None`` if it is dropped; raises :class:`LabelError` if unknown."""
        key = str(label).strip().lower()
        if key in self.mapping:
            return self.mapping[key]
        return normalize_label(label)

    def to_dict(self) -> dict[str, str | None]:
        return dict(self.mapping)
