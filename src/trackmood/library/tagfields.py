"""The tag fields trackmood writes and one interface over ID3, Vorbis comments and MP4 atoms
(:class:`Tagged`), the plan of a change, the per-file report, and the helpers shared by tagging
(:mod:`.tags`) and undo (:mod:`.tag_undo`).

Fields by format (the journal and :class:`Tagged` use the names before the colon):

* ``MOOD``: ID3 ``TMOO``, Vorbis ``MOOD``, MP4 ``----:com.apple.iTunes:MOOD``;
* ``BPM``: ID3 ``TBPM``, Vorbis ``BPM``, MP4 ``tmpo`` (an integer atom);
* ``INITIALKEY``: ID3 ``TKEY``, Vorbis ``INITIALKEY``, MP4 ``----:com.apple.iTunes:initialkey``;
* ``TRACKMOOD_*``: ID3 ``TXXX:TRACKMOOD_*``, Vorbis ``TRACKMOOD_*``,
  MP4 ``----:com.apple.iTunes:TRACKMOOD_*``.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field

from ..moods import PROBA_COLUMNS
from . import catalog
from .safe_write import TagError, common_suffix
from .tagvalues import DEFAULT_FIELDS, measured_values

MOOD = "MOOD"
OURS = "TRACKMOOD_MOOD"
MODEL = "TRACKMOOD_MODEL"
PROBA_FIELDS = tuple(f"TRACKMOOD_{c.upper()}" for c in PROBA_COLUMNS)
BPM = "BPM"
KEY = "INITIALKEY"
#: What trackmood wrote into ``BPM`` / ``INITIALKEY`` (a later run may replace its own value).
OUR_BPM = "TRACKMOOD_BPM"
OUR_KEY = "TRACKMOOD_KEY"
VALENCE = "TRACKMOOD_VALENCE"
ENERGY = "TRACKMOOD_ENERGY"
#: Standard fields that other tools write too, with trackmood's record of its own value.
SHARED = {MOOD: OURS, BPM: OUR_BPM, KEY: OUR_KEY}
FIELDS = (MOOD, OURS, MODEL, *PROBA_FIELDS, BPM, OUR_BPM, KEY, OUR_KEY, VALENCE, ENERGY)
#: ``tag --fields`` name → the tag fields it writes.
FIELD_GROUPS = {
    "mood": (MOOD, OURS, MODEL, *PROBA_FIELDS),
    "bpm": (BPM, OUR_BPM),
    "key": (KEY, OUR_KEY),
    "valence": (VALENCE,),
    "energy": (ENERGY,),
}
#: Standard frames of the shared fields in ID3, and MP4 atoms that are not freeform TRACKMOOD_*.
ID3_FRAMES = {MOOD: "TMOO", BPM: "TBPM", KEY: "TKEY"}
#: How reports name the shared fields; a note that begins with :data:`KEPT` kept one of them.
LABELS = {MOOD: "MOOD", BPM: "BPM", KEY: "key"}
KEPT = "kept its own"
MP4_ATOMS = {BPM: "tmpo", KEY: "----:com.apple.iTunes:initialkey"}
#: Where other tools keep these values; read to respect them, never written.
ELSEWHERE: dict[str, dict[str, tuple[str, ...]]] = {
    "id3": {MOOD: ("TXXX:MOOD",), BPM: ("TXXX:BPM",), KEY: ("TXXX:INITIALKEY", "TXXX:KEY")},
    "vorbis": {BPM: ("TEMPO",), KEY: ("KEY",)},
    "mp4": {BPM: ("----:com.apple.iTunes:BPM",), KEY: ("----:com.apple.iTunes:KEY",)},
}
#: Pseudo-field: the ID3 version a file had before the first change (``None``: no ID3 tag).
ID3_VERSION = "_ID3_VERSION"
#: Pseudo-field: how to rebuild the original bytes. old = [base64 of the original's bytes before
#: the part the new file shares with it, original sha]; new = [length of the new file's bytes
#: before that part, new sha]. Absent when that head is over :data:`MAX_HEAD` bytes.
RESTORE = "_RESTORE"
MAX_HEAD = 4 << 20
MP4_PREFIX = "----:com.apple.iTunes:"


# -- one tag interface over the three tag systems -------------------------------------------
class Tagged:
    """A file opened with mutagen: ``get(field)`` / ``set(field, values or None)`` / ``save()``."""

    def __init__(self, path: str, cls=None):
        import mutagen
        from mutagen.flac import FLAC
        from mutagen.id3 import ID3FileType
        from mutagen.mp4 import MP4
        from mutagen.ogg import OggFileType

        self.path = path
        try:
            f = cls(path) if cls is not None else mutagen.File(path)
        except Exception as e:  # noqa: BLE001 - mutagen raises many types for damaged files
            raise TagError(f"cannot read its tags ({type(e).__name__}: {e})") from None
        if f is None:
            raise TagError("not a tagged audio format mutagen knows")
        self.file = f
        self.had_id3 = None
        if isinstance(f, MP4):
            self.kind = "mp4"
        elif isinstance(f, FLAC | OggFileType):
            self.kind = "vorbis"
        elif isinstance(f, ID3FileType) or type(f).__name__ in ("WAVE", "AIFF"):
            self.kind = "id3"
            if f.tags is not None:
                self.had_id3 = f"2.{f.tags.version[1]}"
        else:
            raise TagError(f"tags of {type(f).__name__} files are not supported")
        if f.tags is None:
            f.add_tags()

    def get(self, name: str) -> list[str] | None:
        if self.kind == "id3":
            return self._raw(ID3_FRAMES.get(name, f"TXXX:{name}"))
        if self.kind == "vorbis":
            return self._raw(name)
        return self._raw(MP4_ATOMS.get(name, MP4_PREFIX + name))

    def _raw(self, key: str) -> list[str] | None:
        """The values under the format's own ``key`` (frame id, comment name, atom), as text."""
        t = self.file.tags
        if self.kind == "id3":
            vals = [str(v) for fr in t.getall(key) for v in fr.text]
        elif self.kind == "vorbis":
            vals = list(t.get(key, []) if key in t else [])
        else:
            vals = [
                bytes(v).decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
                for v in t.get(key, [])
            ]
        return vals or None

    def elsewhere(self, name: str) -> list[str] | None:
        """A value of ``name`` that other taggers keep in another place (ID3 ``TXXX:MOOD`` as
        foobar2000 writes it, Vorbis ``KEY`` as Picard writes it …); never written.
        """
        for key in ELSEWHERE[self.kind].get(name, ()):
            if vals := self._raw(key):
                return vals
        return None

    def other_mood(self) -> list[str] | None:
        """A mood some taggers keep elsewhere (ID3 ``TXXX:MOOD``, e.g. foobar2000's); never written."""
        return self.elsewhere(MOOD)

    def set(self, name: str, values: list[str] | None) -> None:
        t = self.file.tags
        if self.kind == "id3":
            from mutagen import id3

            if name in ID3_FRAMES:
                frame = ID3_FRAMES[name]
                t.delall(frame)
                if values:
                    t.add(getattr(id3, frame)(encoding=3, text=list(values)))
            else:
                t.delall(f"TXXX:{name}")
                if values:
                    t.add(id3.TXXX(encoding=3, desc=name, text=list(values)))
        elif self.kind == "vorbis":
            if name in t:
                del t[name]
            if values:
                t[name] = list(values)
        else:
            from mutagen.mp4 import AtomDataType, MP4FreeForm

            key = MP4_ATOMS.get(name, MP4_PREFIX + name)
            if key in t:
                del t[key]
            if values and key == "tmpo":
                t[key] = [int(v) for v in values]
            elif values:
                t[key] = [MP4FreeForm(v.encode(), dataformat=AtomDataType.UTF8) for v in values]

    def save(self, id3_version: str | None = "2.4") -> None:
        f = self.file
        if self.kind == "id3":
            if id3_version is None and len(f.tags) == 0:
                f.tags.delete(self.path)  # there was no ID3 tag before trackmood's
                return
            f.save(v2_version=3 if id3_version == "2.3" else 4)
        else:
            f.save()


def read_info(path: str) -> dict:
    """``artist``, ``title``, ``duration`` (seconds) from the file; ``None`` where absent."""
    import mutagen

    try:
        f = mutagen.File(path, easy=True)
    except Exception:  # noqa: BLE001 - unreadable tags: the playlist uses the file name
        return {"artist": None, "title": None, "duration": None}
    if f is None:
        return {"artist": None, "title": None, "duration": None}
    tags = f.tags or {}

    def first(k):
        try:
            v = tags.get(k)
        except (KeyError, ValueError):
            return None
        return str(v[0]) if v else None

    length = getattr(getattr(f, "info", None), "length", None)
    return {"artist": first("artist"), "title": first("title"), "duration": length}


# -- planning and writing -------------------------------------------------------------------
@dataclass
class FileResult:
    path: str
    status: str  # 'written', 'unchanged', 'kept', 'would write', 'restored', 'error'
    changes: dict = field(default_factory=dict)  # field -> (old, new)
    message: str = ""

    def line(self) -> str:
        from ..paths import display

        parts = [
            f"{LABELS[k]}: {_show(o)} -> {_show(n)}"
            for k, (o, n) in self.changes.items()
            if k in LABELS
        ]
        ours = [k for k in self.changes if k in FIELDS and k not in LABELS]
        if ours:
            parts.append(f"{len(ours)} trackmood field(s)")
        tail = f" ({self.message})" if self.message else ""
        return (
            f"{self.status}: {display(self.path)}"
            + (": " + "; ".join(parts) if parts else "")
            + tail
        )


def _show(v) -> str:
    return "(none)" if v is None else "/".join(v)


@dataclass
class TagReport:
    run: str
    files: list[FileResult] = field(default_factory=list)
    #: temporary files of an interrupted run removed before this one
    cleaned: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[FileResult]:
        return [f for f in self.files if f.status == "error"]

    def summary(self) -> str:
        counts: dict[str, int] = {}
        for f in self.files:
            counts[f.status] = counts.get(f.status, 0) + 1
        text = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no files"
        return f"{len(self.files)} file(s): {text}"


def desired_values(row: dict) -> dict[str, list[str]]:
    """The trackmood fields for one analysed catalog row."""
    out = {MOOD: [row["mood"]], OURS: [row["mood"]], MODEL: [str(row["model"])]}
    for f, c in zip(PROBA_FIELDS, PROBA_COLUMNS, strict=True):
        out[f] = [f"{float(row[c]):.4f}"]
    return out


def plan(
    t: Tagged,
    row: dict,
    *,
    overwrite: bool,
    fields=DEFAULT_FIELDS,
    measures: dict | None = None,
    notation: str = "standard",
) -> tuple[dict, str]:
    """``({field: (old, new)}, note)``: what writing ``row``'s prediction (and, for ``fields``
    beyond ``mood``, its analysis ``measures``: see :mod:`.tagvalues`) changes in ``t``.

    A ``MOOD``, ``BPM`` or key the file has that trackmood did not write (its ``TRACKMOOD_MOOD``,
    ``TRACKMOOD_BPM``, ``TRACKMOOD_KEY`` differ), also one kept in another place by other
    taggers, is kept unless ``overwrite``; the note says so, and why a requested value is not
    written (not measured well enough).
    """
    want = desired_values(row) if "mood" in fields else {}
    values, skipped = measured_values(measures, fields, notation)
    for name, value in values.items():
        for tag in FIELD_GROUPS[name]:
            want[tag] = value
    current = {k: t.get(k) for k in want}
    notes = []
    for shared, mark in SHARED.items():
        if shared not in want:
            continue
        current.setdefault(mark, t.get(mark))
        theirs = current[shared] or t.elsewhere(shared)
        ours = theirs is None or (current[shared] is not None and current[shared] == current[mark])
        if not ours and not overwrite:
            notes.append(f"{KEPT} {LABELS[shared]} {_show(theirs)}")
            del want[shared], want[mark]
    notes += skipped
    changes = {k: (current[k], v) for k, v in want.items() if current[k] != v}
    return changes, "; ".join(notes)


def carry_cache(store, old_sha: str | None, new_sha: str) -> None:
    """Let the analysis caches answer for the new content hash too (the audio is the same).

    The audio engine's cache (:mod:`trackmood.engine.cache`): every descriptor entry whose key
    holds the old hash is copied with the new one, and so is every stored embedding.
    """
    from ..engine.cache import CACHE_NAMESPACE

    if not old_sha or old_sha == new_sha:
        return
    store.carry_content(old_sha, new_sha, (CACHE_NAMESPACE,))


def _record(store, path: str, st: os.stat_result, sha: str) -> None:
    """The library's record of the file after a replace: the next scan sees it unchanged."""
    if catalog.get_file(store, path) is not None:
        catalog.update_file(store, path, size=st.st_size, mtime_ns=st.st_mtime_ns, sha=sha)


def _restore_info(original: str, new: str, old_sha: str, new_sha: str) -> tuple | None:
    shared = common_suffix(original, new)
    head = os.path.getsize(original) - shared
    if head > MAX_HEAD:
        return None
    with open(original, "rb") as f:
        data = f.read(head)
    return (
        [base64.b64encode(data).decode("ascii"), old_sha],
        [str(os.path.getsize(new) - shared), new_sha],
    )


def _failed(e: Exception, doing: str) -> TagError:
    if isinstance(e, TagError):
        return e
    return TagError(f"{doing} ({type(e).__name__}: {e}); the file was not changed")


def _set_all(tmp: str, values: dict, cls, id3_version: str | None = "2.4") -> None:
    """Set ``values`` in the temporary copy ``tmp``, opened as the original's mutagen class
    ``cls`` (its hidden ``.tmp`` name says nothing about the format).
    """
    try:
        t = Tagged(tmp, cls)
        for k, v in values.items():
            t.set(k, v)
        t.save(id3_version)
    except Exception as e:  # noqa: BLE001 - mutagen raises many types
        raise _failed(e, "cannot write its tags") from None
