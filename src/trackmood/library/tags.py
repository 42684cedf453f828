"""Write predicted moods into the files' own tags with mutagen, record every change, undo a run.

Where the mood goes, by format (the fields players and servers read):

* MP3 (and other ID3 files): the ID3v2.4 ``TMOO`` frame, saved as ID3v2.4;
* FLAC, Ogg Vorbis, Opus: the Vorbis comment ``MOOD``;
* M4A/MP4: the freeform atom ``----:com.apple.iTunes:MOOD``.

Beside it trackmood keeps its own fields (``TXXX:TRACKMOOD_*`` frames, ``TRACKMOOD_*`` comments,
``----:com.apple.iTunes:TRACKMOOD_*`` atoms): the mood it wrote, the model and the four
probabilities. A ``MOOD`` that trackmood did not write is kept unless ``overwrite``. mutagen only
rewrites tag blocks; the audio frames are never re-encoded.
"""

from __future__ import annotations

import os
import stat
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..moods import PROBA_COLUMNS
from . import catalog

MOOD = "MOOD"
OURS = "TRACKMOOD_MOOD"
MODEL = "TRACKMOOD_MODEL"
PROBA_FIELDS = tuple(f"TRACKMOOD_{c.upper()}" for c in PROBA_COLUMNS)
FIELDS = (MOOD, OURS, MODEL, *PROBA_FIELDS)
#: Pseudo-field: the ID3 version a file had before the first change (``None``: no ID3 tag).
ID3_VERSION = "_ID3_VERSION"
MP4_PREFIX = "----:com.apple.iTunes:"


class TagError(Exception):
    """One file could not be read or written (a per-file error, not a stop)."""


# -- one tag interface over the three tag systems -------------------------------------------
class Tagged:
    """A file opened with mutagen: ``get(field)`` / ``set(field, values or None)`` / ``save()``."""

    def __init__(self, path: str):
        import mutagen
        from mutagen.flac import FLAC
        from mutagen.id3 import ID3FileType
        from mutagen.mp4 import MP4
        from mutagen.ogg import OggFileType

        self.path = path
        try:
            f = mutagen.File(path)
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
        t = self.file.tags
        if self.kind == "id3":
            key = "TMOO" if name == MOOD else f"TXXX:{name}"
            frames = t.getall(key)
            vals = [str(v) for fr in frames for v in fr.text]
        elif self.kind == "vorbis":
            vals = list(t.get(name, []) if name in t else [])
        else:
            vals = [bytes(v).decode("utf-8", "replace") for v in t.get(MP4_PREFIX + name, [])]
        return vals or None

    def other_mood(self) -> list[str] | None:
        """A mood some taggers keep elsewhere (ID3 ``TXXX:MOOD``, e.g. foobar2000's); never written."""
        if self.kind != "id3":
            return None
        return [str(v) for fr in self.file.tags.getall("TXXX:MOOD") for v in fr.text] or None

    def set(self, name: str, values: list[str] | None) -> None:
        t = self.file.tags
        if self.kind == "id3":
            from mutagen.id3 import TMOO, TXXX

            if name == MOOD:
                t.delall("TMOO")
                if values:
                    t.add(TMOO(encoding=3, text=list(values)))
            else:
                t.delall(f"TXXX:{name}")
                if values:
                    t.add(TXXX(encoding=3, desc=name, text=list(values)))
        elif self.kind == "vorbis":
            if name in t:
                del t[name]
            if values:
                t[name] = list(values)
        else:
            from mutagen.mp4 import AtomDataType, MP4FreeForm

            key = MP4_PREFIX + name
            if key in t:
                del t[key]
            if values:
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
        parts = [
            f"{k}: {_show(o)} -> {_show(n)}" for k, (o, n) in self.changes.items() if k == MOOD
        ]
        ours = [k for k in self.changes if k in FIELDS and k != MOOD]
        if ours:
            parts.append(f"{len(ours)} trackmood field(s)")
        tail = f" ({self.message})" if self.message else ""
        return f"{self.status}: {self.path}" + (": " + "; ".join(parts) if parts else "") + tail


def _show(v) -> str:
    return "(none)" if v is None else "/".join(v)


@dataclass
class TagReport:
    run: str
    files: list[FileResult] = field(default_factory=list)

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


def plan(t: Tagged, row: dict, *, overwrite: bool) -> tuple[dict, str]:
    """``({field: (old, new)}, note)``: what writing ``row``'s prediction changes in ``t``."""
    want = desired_values(row)
    current = {k: t.get(k) for k in FIELDS}
    note = ""
    theirs = current[MOOD] or t.other_mood()
    ours = theirs is None or (current[MOOD] is not None and current[MOOD] == current[OURS])
    if not ours and not overwrite:
        note = f"kept its own MOOD {_show(theirs)}"
        del want[MOOD], want[OURS]
    return {k: (current[k], v) for k, v in want.items() if current[k] != v}, note


def _writable(path: str) -> None:
    st = os.stat(path)
    if not st.st_mode & stat.S_IWUSR or not os.access(path, os.W_OK):
        raise TagError("the file is read-only")


def _after_write(store, path: str, row: dict | None) -> None:
    """Keep the catalog in step with the new bytes, so the next scan sees the file unchanged (and
    the extraction cache answers for the new content hash).
    """
    from ..audio.parallel import CACHE_NAMESPACE, cache_key, file_hash

    st = os.stat(path)
    sha = file_hash(path)
    if row is not None and row.get("sha") and row["sha"] != sha:
        cached = store.kv_get(CACHE_NAMESPACE, cache_key(row["sha"]))
        if cached is not None:
            store.kv_put(CACHE_NAMESPACE, cache_key(sha), cached)
    if row is not None:
        catalog.update_file(store, path, size=st.st_size, mtime_ns=st.st_mtime_ns, sha=sha)


def tag_files(
    store,
    files: Iterable[str],
    *,
    overwrite: bool = False,
    dry_run: bool = False,
    progress=None,
) -> TagReport:
    """Write the library's prediction of each file into its tags (see the module docstring).

    Files must have been analysed (a scan) and be unchanged since; other files, read-only or
    damaged ones are per-file errors in the report, never a stop.
    """
    catalog.ensure(store)
    rep = TagReport(run=uuid.uuid4().hex[:12])
    files = list(files)
    for i, path in enumerate(files):
        rep.files.append(_tag_one(store, path, rep.run, overwrite=overwrite, dry_run=dry_run))
        if progress:
            progress("tagging", i + 1, len(files))
    return rep


def _tag_one(store, path: str, run: str, *, overwrite: bool, dry_run: bool) -> FileResult:
    row = catalog.get_file(store, path)
    if row is None:
        return FileResult(path, "error", message="not analysed yet")
    if row["status"] != "ok" or row["mood"] is None:
        return FileResult(path, "error", message=row["error"] or "no prediction")
    try:
        st = os.stat(path)
        if (st.st_size, st.st_mtime_ns) != (row["size"], row["mtime_ns"]):
            return FileResult(path, "error", message="changed since it was analysed")
        t = Tagged(path)
        changes, note = plan(t, row, overwrite=overwrite)
        if not changes:
            return FileResult(path, "kept" if note else "unchanged", message=note)
        if dry_run:
            return FileResult(path, "would write", changes, note)
        _writable(path)
        for k, (_old, new) in changes.items():
            t.set(k, new)
        t.save()
        if t.kind == "id3":
            changes[ID3_VERSION] = ([t.had_id3] if t.had_id3 else None, ["2.4"])
        catalog.record_changes(store, run, path, changes)
        _after_write(store, path, row)
        return FileResult(path, "written", changes, note)
    except TagError as e:
        return FileResult(path, "error", message=str(e))
    except Exception as e:  # noqa: BLE001 - one bad file never stops the run
        return FileResult(path, "error", message=f"{type(e).__name__}: {e}")


def undo(store, *, run: str | None = None, dry_run: bool = False) -> TagReport:
    """Restore the values a tagging run replaced (default: the newest run not yet undone).

    A field whose value was changed since that run (by someone else) keeps the file untouched and
    is reported as an error.
    """
    catalog.ensure(store)
    run = run or catalog.last_run(store)
    rep = TagReport(run=run or "")
    if run is None:
        return rep
    for path, changes in catalog.run_changes(store, run).items():
        try:
            t = Tagged(path)
            fields = {k: v for k, v in changes.items() if k != ID3_VERSION}
            moved = [k for k, (_o, new) in fields.items() if t.get(k) != new]
            if moved:
                rep.files.append(
                    FileResult(path, "error", message=f"changed since: {', '.join(moved)}")
                )
                continue
            restore = {k: (new, old) for k, (old, new) in fields.items()}
            if dry_run:
                rep.files.append(FileResult(path, "would restore", restore))
                continue
            _writable(path)
            for k, (_cur, old) in restore.items():
                t.set(k, old)
            version = changes.get(ID3_VERSION, (["2.4"], None))[0]
            t.save(version[0] if version else None)
            catalog.mark_undone(store, run, path)
            _after_write(store, path, catalog.get_file(store, path))
            rep.files.append(FileResult(path, "restored", restore))
        except TagError as e:
            rep.files.append(FileResult(path, "error", message=str(e)))
        except Exception as e:  # noqa: BLE001
            rep.files.append(FileResult(path, "error", message=f"{type(e).__name__}: {e}"))
    return rep
