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
>>> quadrant_of(0.2, None)
''
"""

from __future__ import annotations

from dataclasses import dataclass, field

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

#: Russell's circumplex as the 4Q audio data set labels it (Q1 Happy, Q2 Energetic, Q3 Sad,
#: Q4 Calm). Deprecated: only the audio labels follow it; use :func:`quadrant_of`.
QUADRANTS: dict[str, tuple[str, str]] = {
    "Happy": ("positive", "high"),
    "Energetic": ("negative", "high"),
    "Sad": ("negative", "low"),
    "Calm": ("positive", "low"),
}

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


def quadrant_of(valence, energy) -> str:
    """The quadrant of a track's own ``valence`` and ``energy`` (0-1, split at 0.5) as words,
    e.g. ``'negative valence, high energy'``; ``''`` when either is missing or not a number.
    """
    try:
        v, e = float(valence), float(energy)
    except (TypeError, ValueError):
        return ""
    if v != v or e != e:  # NaN
        return ""
    return (
        f"{'positive' if v >= 0.5 else 'negative'} valence, {'high' if e >= 0.5 else 'low'} energy"
    )


def quadrant(mood: str) -> str:
    """Deprecated: the 4Q data set's quadrant for ``mood``. A mood is not a fixed quadrant; use
    :func:`quadrant_of` with the track's valence and energy.
    """
    valence, energy = QUADRANTS[normalize_label(mood)]
    return f"{valence} valence, {energy} energy"


def normalize_label(label: object) -> str:
    """Map ``label`` to one of :data:`MOODS` through :data:`ALIASES`, or raise :class:`LabelError`."""
    key = str(label).strip().lower()
    if key in ALIASES:
        return ALIASES[key]
    raise LabelError(f"unknown mood label {str(label)!r}; expected one of {', '.join(MOODS)}")


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
        if isinstance(items, dict):
            pairs = items.items()
        else:
            pairs = []
            for item in items:
                for part in str(item).split(","):
                    if not part.strip():
                        continue
                    if "=" not in part:
                        raise LabelError(f"label map entry {part!r} must look like OLD=NEW or OLD=")
                    old, new = part.split("=", 1)
                    pairs.append((old, new))
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
