"""What ``tag --fields`` writes beyond the mood, from a file's analysis: BPM, key, valence, energy.

The values are the library's audio results for the file's track (read with
:func:`trackmood.library.catalog.measures`): ``tempo`` and its confidence, ``key`` (pitch class,
-1 unknown), ``mode`` (1 major, 0 minor) and its confidence, ``valence`` and ``energy`` (0–1
estimates). Only what is measured well enough is written:

* BPM when the tempo confidence is at least :data:`MIN_TEMPO_CONFIDENCE`, as an integer rounded
  half up (``127.5`` → ``128``), as ID3 ``TBPM`` asks;
* the key when the key confidence is at least :data:`MIN_KEY_CONFIDENCE` and a key was found, in
  ID3v2.4 ``TKEY`` notation (``C``, ``F#``, ``Bbm``: at most three characters, ``b``/``#`` for
  half keys, ``m`` for minor, spelled as key signatures are) or, for DJ software, Camelot
  (``8A``) or Open Key (``1m``). ``o`` (ID3's "off key") is never written: a key trackmood could
  not find is not the same as music without one;
* valence and energy (0–1, three decimals) whenever the model estimated them.

>>> key_name(9, 0), key_name(6, 1), key_name(10, 0)
('Am', 'F#', 'Bbm')
>>> key_name(9, 0, "camelot"), key_name(0, 1, "openkey")
('8A', '1d')
>>> bpm_text(127.5), bpm_text(126.5), bpm_text(99.49)
('128', '127', '99')
"""

from __future__ import annotations

import math

#: The fields ``tag --fields`` accepts, in the order they are listed.
FIELD_NAMES = ("mood", "bpm", "key", "valence", "energy")
DEFAULT_FIELDS = ("mood",)
NOTATIONS = ("standard", "camelot", "openkey")

#: Lowest tempo confidence (the beat tracker's autocorrelation at the beat period, 0–1) at which
#: BPM is written. Measured with the estimator of December 2026 on 160 ``audio_4q`` clips (40 per
#: quadrant): 51 % of the clips pass, and 83 % of those BPMs agree with Essentia's
#: RhythmExtractor2013 (within 4 %, no octave allowance; all clips: 66 %). Generated audio without
#: a pulse stays below 0.12.
MIN_TEMPO_CONFIDENCE = 0.3
#: Lowest key confidence (correlation of the chroma with the best Krumhansl–Kessler key profile,
#: 0–1) at which the key is written. It keeps out audio without a key (noise, drums, a bare tone:
#: 0.34–0.48 on generated clips) but does not tell a right key from a wrong one: on the same 160
#: clips 52 % pass, and 46 % of those agree with Essentia's KeyExtractor (all clips: 41 %).
MIN_KEY_CONFIDENCE = 0.6
#: Names the analysis gives the tempo's confidence (the first one present is used).
TEMPO_CONFIDENCE = ("tempo_confidence", "beat_confidence")

MAJOR = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
MINOR = ("Cm", "C#m", "Dm", "Ebm", "Em", "Fm", "F#m", "Gm", "G#m", "Am", "Bbm", "Bm")


class FieldError(ValueError):
    """An unknown ``--fields`` name or ``--key-notation``."""


def parse_fields(text: str | None) -> tuple[str, ...]:
    """``"mood,bpm"`` → ``("mood", "bpm")`` (case and spaces ignored, duplicates dropped)."""
    if text is None or not text.strip():
        return DEFAULT_FIELDS
    names = [n.strip().lower() for n in text.split(",") if n.strip()]
    bad = [n for n in names if n not in FIELD_NAMES]
    if bad:
        raise FieldError(
            f"unknown tag field {', '.join(repr(b) for b in bad)}; "
            f"valid fields: {', '.join(FIELD_NAMES)} (--fields)"
        )
    return tuple(dict.fromkeys(names))


def check_notation(notation: str) -> str:
    n = notation.strip().lower().replace(" ", "").replace("-", "")
    if n not in NOTATIONS:
        raise FieldError(
            f"unknown key notation {notation!r}; valid: {', '.join(NOTATIONS)} (--key-notation)"
        )
    return n


def _camelot_number(key: int, mode: int) -> int:
    major = key if mode == 1 else (key + 3) % 12  # a minor key shares its relative major's number
    return (major * 7 + 7) % 12 + 1


def key_name(key: int, mode: int, notation: str = "standard") -> str:
    """The key (pitch class 0 = C, mode 1 major / 0 minor) in ``notation``."""
    key, mode = int(key) % 12, int(mode)
    if notation == "camelot":
        return f"{_camelot_number(key, mode)}{'B' if mode == 1 else 'A'}"
    if notation == "openkey":
        return f"{(_camelot_number(key, mode) - 8) % 12 + 1}{'d' if mode == 1 else 'm'}"
    return MAJOR[key] if mode == 1 else MINOR[key]


def bpm_text(tempo: float) -> str:
    """The tempo as the integer BPM tags hold, rounded half up."""
    return str(int(math.floor(float(tempo) + 0.5)))


def _finite(v) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def measured_values(
    measures: dict | None, fields, notation: str = "standard"
) -> tuple[dict[str, list[str]], list[str]]:
    """``({logical field: [value]}, notes)``: the BPM/key/valence/energy values to write for one
    file (``measures``: ``{name: value}`` of its analysis), and why a requested one is not.
    Logical fields: ``bpm``, ``key``, ``valence``, ``energy``.
    """
    m = measures or {}
    out: dict[str, list[str]] = {}
    notes: list[str] = []
    if "bpm" in fields:
        tempo = _finite(m.get("tempo"))
        conf = next((_finite(m[c]) for c in TEMPO_CONFIDENCE if c in m), None)
        if tempo is None or tempo <= 0:
            notes.append("no tempo measured: BPM not written")
        elif conf is None or conf < MIN_TEMPO_CONFIDENCE:
            shown = "unknown" if conf is None else f"{conf:.2f}"
            notes.append(f"tempo confidence {shown} below {MIN_TEMPO_CONFIDENCE}: BPM not written")
        else:
            out["bpm"] = [bpm_text(tempo)]
    if "key" in fields:
        key, mode = _finite(m.get("key")), _finite(m.get("mode"))
        conf = _finite(m.get("key_confidence"))
        if key is None or key < 0 or mode is None:
            notes.append("no key found: key not written")
        elif conf is None or conf < MIN_KEY_CONFIDENCE:
            shown = "unknown" if conf is None else f"{conf:.2f}"
            notes.append(f"key confidence {shown} below {MIN_KEY_CONFIDENCE}: key not written")
        else:
            out["key"] = [key_name(int(key), int(mode), notation)]
    for name in ("valence", "energy"):
        if name in fields:
            v = _finite(m.get(name))
            if v is None:
                notes.append(f"no {name} estimate (the model has none): {name} not written")
            else:
                out[name] = [f"{min(1.0, max(0.0, v)):.3f}"]
    return out, notes
