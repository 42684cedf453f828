"""``trackmood tag --undo``: put back what a tagging run replaced, crash-safely.

The journal is ``lib_tag_changes`` (written before each file was replaced). For every file of
the run, what the file holds now decides:

* the new values (the run's write happened): restore. When the file is byte for byte what the run
  wrote, the original bytes are rebuilt from the journal (its head before the shared audio part,
  checked against the original's SHA-256), so the file is exactly as before; otherwise (the file
  was changed since in other fields) mutagen writes the old values back;
* the old values (the run was killed before this file's swap, or a killed undo already restored
  it): nothing to write, the rows are marked undone;
* anything else (someone changed these fields since): an error, the file untouched.

Every write goes through :func:`trackmood.library.safe_write.replace_file`, and a file's rows are
marked undone only after its swap and its library record, so an undo killed at any point is
finished by running it again.
"""

from __future__ import annotations

import base64
import os

from . import catalog
from .safe_write import CHUNK, TagError, copy_into, file_sha, replace_file, sweep
from .tagfields import (
    ID3_VERSION,
    RESTORE,
    FileResult,
    Tagged,
    TagReport,
    _record,
    _set_all,
    carry_cache,
)


def undo(store, *, run: str | None = None, dry_run: bool = False) -> TagReport:
    """Restore the values a tagging run replaced (default: the newest run not yet undone).

    A field whose value was changed since that run (by someone else) keeps the file untouched and
    is reported as an error.
    """
    catalog.ensure(store)
    run = run or catalog.last_run(store)
    rep = TagReport(run=run or "")
    todo = catalog.run_changes(store, run) if run else {}
    if not dry_run:
        rep.cleaned = sweep(store, {os.path.dirname(os.path.realpath(p)) for p in todo})
    if run is None:
        return rep
    for path, changes in todo.items():
        try:
            rep.files.append(_undo_one(store, run, path, changes, dry_run=dry_run))
        except TagError as e:
            rep.files.append(FileResult(path, "error", message=str(e)))
        except Exception as e:  # noqa: BLE001 - one bad file never stops the run
            rep.files.append(FileResult(path, "error", message=f"{type(e).__name__}: {e}"))
    return rep


def _undo_one(store, run: str, path: str, changes: dict, *, dry_run: bool) -> FileResult:
    target = os.path.realpath(path)
    changes = dict(changes)
    info = changes.pop(RESTORE, None)
    version = changes.pop(ID3_VERSION, (["2.4"], None))[0]
    t = Tagged(target)
    now = {k: t.get(k) for k in changes}
    restore = {k: (new, old) for k, (old, new) in changes.items()}
    if all(now[k] == old for k, (old, _new) in changes.items()):
        if dry_run:
            return FileResult(path, "unchanged", message="already holds the values before the run")
        _settle(store, run, path, target)
        return FileResult(path, "restored", message="already held its old tags (interrupted run)")
    moved = [k for k, (_old, new) in changes.items() if now[k] != new]
    if moved:
        return FileResult(path, "error", message=f"changed since: {', '.join(moved)}")
    if dry_run:
        return FileResult(path, "would restore", restore)
    done = _rebuild(store, target, info) if info is not None else None
    if done is None:
        done = _rewrite(
            store, target, {k: old for k, (_n, old) in restore.items()}, version, type(t.file)
        )
    new_st, sha = done
    _record(store, path, new_st, sha)  # then undone: a kill between them is settled by a rerun
    catalog.mark_undone(store, run, path)
    return FileResult(path, "restored", restore)


def _settle(store, run: str, path: str, target: str) -> None:
    """A file already restored: bring the record up to date if needed, mark its rows."""
    row = catalog.get_file(store, path)
    st = os.stat(target)
    if row is not None and (row["size"], row["mtime_ns"]) != (st.st_size, st.st_mtime_ns):
        _record(store, path, st, file_sha(target))
    catalog.mark_undone(store, run, path)


class _Mismatch(Exception):
    pass


def _rebuild(store, target: str, info: tuple) -> tuple[os.stat_result, str] | None:
    """The original bytes again: its journaled head + the part the tagged file shares with it:
    ``(stat, sha)``; ``None`` when the file is not exactly what the run wrote.
    """
    (head_b64, old_sha), (keep, new_sha) = info
    if file_sha(target) != new_sha:
        return None
    import hashlib

    def fill(out, _tmp):
        h = hashlib.sha256()
        head = base64.b64decode(head_b64)
        h.update(head)
        out.write(head)
        with open(target, "rb") as f:
            f.seek(int(keep))
            while block := f.read(CHUNK):
                h.update(block)
                out.write(block)
        if h.hexdigest() != old_sha:
            raise _Mismatch

    try:
        st = replace_file(store, target, fill)
    except _Mismatch:
        return None
    return st, old_sha


def _rewrite(
    store, target: str, values: dict, version: list | None, cls
) -> tuple[os.stat_result, str]:
    sums: dict[str, str] = {}

    def fill(out, _tmp):
        sums["old"] = copy_into(target, out)

    def carry(tmp):
        sums["new"] = file_sha(tmp)
        carry_cache(store, sums["old"], sums["new"])

    st = replace_file(
        store,
        target,
        fill,
        edit=lambda tmp: _set_all(tmp, values, cls, version[0] if version else None),
        before_replace=carry,
    )
    return st, sums["new"]
