"""The four moods, their aliases, label maps for other datasets, and valence/energy quadrants.

>>> normalize_label("  happy ")
'Happy'
>>> LabelMap.parse(["Melancholic=Sad", "Romantic="]).apply("melancholic")
'Sad'
>>> quadrant("Calm")
'positive valence, low energy'
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import LabelError

#: The four moods in the order every model's ``classes_`` uses (alphabetical, as scikit-learn sorts).
MOODS: tuple[str, ...] = ("Calm", "Energetic", "Happy", "Sad")

#: Column names for the probability of each mood in prediction output.
PROBA_COLUMNS: tuple[str, ...] = tuple(f"p_{m.lower()}" for m in MOODS)

#: Russell's circumplex: (valence sign, energy sign) for each mood.
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


def quadrant(mood: str) -> str:
    """The valence/energy quadrant of ``mood`` as words, e.g. ``'negative valence, high energy'``."""
    valence, energy = QUADRANTS[normalize_label(mood)]
    return f"{valence} valence, {energy} energy"


def normalize_label(label: object) -> str:
    """Map ``label`` to one of :data:`MOODS` through :data:`ALIASES`, or raise :class:`LabelError`."""
    key = str(label).strip().lower()
    if key in ALIASES:
        return ALIASES[key]
    raise LabelError(
        f"unknown mood label {str(label)!r}; expected one of {', '.join(MOODS)} "
        "(map other labels with --label-map OLD=NEW, or OLD= to drop them)"
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
