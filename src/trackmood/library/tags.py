"""Write predicted moods into the files' own tags with mutagen, record every change, undo a run.

Where the mood goes, by format (the fields players and servers read):

* MP3 (and other ID3 files): the ID3v2.4 ``TMOO`` frame, saved as ID3v2.4;
* FLAC, Ogg Vorbis, Opus: the Vorbis comment ``MOOD``;
* M4A/MP4: the freeform atom ``----:com.apple.iTunes:MOOD``.

With ``fields`` beyond the mood (``bpm``, ``key``, ``valence``, ``energy``) the file's analysis
goes there too, where only well-measured values are written (:mod:`.tagvalues`): BPM as ``TBPM`` /
``BPM`` / ``tmpo``, the key as ``TKEY`` / ``INITIALKEY`` / ``----:com.apple.iTunes:initialkey``,
valence and energy as ``TRACKMOOD_VALENCE`` / ``TRACKMOOD_ENERGY``; a BPM or key another tool
wrote is kept unless ``overwrite``, like a ``MOOD``.

Beside it trackmood keeps its own fields (``TXXX:TRACKMOOD_*`` frames, ``TRACKMOOD_*`` comments,
``----:com.apple.iTunes:TRACKMOOD_*`` atoms): the mood it wrote, the model and the four
probabilities. A ``MOOD`` that trackmood did not write is kept unless ``overwrite``. mutagen only
rewrites tag blocks; the audio frames are never re-encoded.

No file is modified in place (:mod:`.safe_write`): the tagged file is a new sibling copy that
atomically replaces the original, after every intended change was journaled in
``lib_tag_changes`` (with what is needed to rebuild the original bytes). So a killed ``tag`` or
``--undo`` leaves every file either as it was or fully written, and ``undo`` puts back every file a
killed run touched: a file that still holds the old values counts as restored. The new file's
mtime is the time of the write (players and servers notice new tags); the analysis caches are
carried to the new content hash before the swap and the library's size/mtime/sha right after it,
so the next scan analyses nothing.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable

from . import catalog
from .safe_write import (
    TagError,
    check_container,
    check_writable,
    copy_into,
    file_sha,
    replace_file,
    sweep,
)
from .tag_undo import undo
from .tagfields import (
    BPM,
    ENERGY,
    FIELD_GROUPS,
    FIELDS,
    ID3_VERSION,
    KEPT,
    KEY,
    MAX_HEAD,
    MODEL,
    MOOD,
    OURS,
    PROBA_FIELDS,
    RESTORE,
    VALENCE,
    FileResult,
    Tagged,
    TagReport,
    _record,
    _restore_info,
    _set_all,
    carry_cache,
    desired_values,
    plan,
    read_info,
)
from .tagvalues import (
    DEFAULT_FIELDS,
    FIELD_NAMES,
    NOTATIONS,
    FieldError,
    check_notation,
    parse_fields,
)

__all__ = [
    "BPM",
    "DEFAULT_FIELDS",
    "ENERGY",
    "FIELDS",
    "FIELD_GROUPS",
    "FIELD_NAMES",
    "KEY",
    "NOTATIONS",
    "VALENCE",
    "FieldError",
    "ID3_VERSION",
    "MAX_HEAD",
    "MODEL",
    "MOOD",
    "OURS",
    "PROBA_FIELDS",
    "RESTORE",
    "FileResult",
    "TagError",
    "TagReport",
    "Tagged",
    "carry_cache",
    "check_notation",
    "desired_values",
    "parse_fields",
    "plan",
    "read_info",
    "tag_files",
    "undo",
]


def tag_files(
    store,
    files: Iterable[str],
    *,
    overwrite: bool = False,
    dry_run: bool = False,
    progress=None,
    fields=DEFAULT_FIELDS,
    notation: str = "standard",
) -> TagReport:
    """Write the library's prediction of each file into its tags (see the module docstring);
    ``fields``: which of :data:`FIELD_NAMES` (default the mood), ``notation`` of the key:
    ``standard``, ``camelot`` or ``openkey``.

    Files must have been analysed (a scan) and be unchanged since; other files, read-only or
    damaged ones, WAV/AIFF with impossible sizes and a full disk are per-file errors in the
    report (the file unchanged), never a stop.
    """
    catalog.ensure(store)
    bad = [f for f in fields if f not in FIELD_NAMES]
    if bad or notation not in NOTATIONS:
        raise FieldError(f"unknown fields {bad} or key notation {notation!r}")
    rep = TagReport(run=uuid.uuid4().hex[:12])
    files = list(files)
    if not dry_run:
        rep.cleaned = sweep(store, {os.path.dirname(os.path.realpath(p)) for p in files})
    for i, path in enumerate(files):
        rep.files.append(
            _tag_one(
                store,
                path,
                rep.run,
                overwrite=overwrite,
                dry_run=dry_run,
                fields=fields,
                notation=notation,
            )
        )
        if progress:
            progress("tagging", i + 1, len(files))
    return rep


def _tag_one(
    store, path: str, run: str, *, overwrite: bool, dry_run: bool, fields, notation: str
) -> FileResult:
    row = catalog.get_file(store, path)
    if row is None:
        return FileResult(path, "error", message="not analysed yet")
    if row["status"] != "ok" or row["mood"] is None:
        return FileResult(path, "error", message=row["error"] or "no prediction")
    try:
        target = os.path.realpath(path)
        st = os.stat(target)
        if (st.st_size, st.st_mtime_ns) != (row["size"], row["mtime_ns"]):
            return FileResult(path, "error", message="changed since it was analysed")
        check_container(target)
        t = Tagged(target)
        measures = None
        if set(fields) - {"mood"}:
            measures = catalog.measures(store, [row["track_id"]]).get(row["track_id"])
        changes, note = plan(
            t, row, overwrite=overwrite, fields=fields, measures=measures, notation=notation
        )
        if not changes:
            return FileResult(path, "kept" if KEPT in note else "unchanged", message=note)
        if dry_run:
            return FileResult(path, "would write", changes, note)
        check_writable(target, st)
        values = {k: new for k, (_old, new) in changes.items()}
        if t.kind == "id3":
            changes[ID3_VERSION] = ([t.had_id3] if t.had_id3 else None, ["2.4"])
        sums: dict[str, str] = {}
        journaled = []

        def fill(out, _tmp):
            sums["old"] = copy_into(target, out)

        def journal(tmp):
            sums["new"] = file_sha(tmp)
            rows = dict(changes)
            info = _restore_info(target, tmp, sums["old"], sums["new"])
            if info is not None:
                rows[RESTORE] = info
            catalog.record_changes(store, run, path, rows)
            journaled.append(True)
            carry_cache(store, sums["old"], sums["new"])

        try:
            new_st = replace_file(
                store,
                target,
                fill,
                edit=lambda tmp: _set_all(tmp, values, type(t.file)),
                before_replace=journal,
            )
        except BaseException:
            if journaled and file_sha(target) == sums["old"]:  # not swapped: nothing to undo
                catalog.forget_changes(store, run, path)
            raise
        _record(store, path, new_st, sums["new"])
        return FileResult(path, "written", changes, note)
    except TagError as e:
        return FileResult(path, "error", message=str(e))
    except Exception as e:  # noqa: BLE001 - one bad file never stops the run
        return FileResult(path, "error", message=f"{type(e).__name__}: {e}")
