"""Crash-safe replacement of a music file: never a byte of the original is written in place.

:func:`replace_file` builds the new content in a hidden sibling file on the same file system
(``.<name>.trackmood-<pid>-<random>.tmp``), fsyncs it, gives it the original's permissions, owner
and extended attributes, calls ``before_replace`` (the caller's journal: it must be committed
before the file changes), then ``os.replace`` swaps it in atomically and the folder is fsynced.
On any failure (full disk, read-only file or folder, a mutagen error, an interrupt) the
temporary file is removed and the original is untouched. A killed run may leave a temporary file
behind: every temporary file is registered in the library's key-value table before it is created,
and :func:`sweep` (called at the start of every ``tag`` and ``--undo`` run) removes those whose
process is gone. Scans never see them (hidden names, ``.tmp`` suffix).

Containers whose sizes are impossible (a RIFF/FORM size of 0xFFFFFFFF or past the end of the
file, a chunk past the end: streaming recorders write these) are refused by
:func:`check_container`: a tag writer cannot know where such a file ends, and mutagen grows it.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import secrets
import stat
import struct
from collections.abc import Callable, Iterable

from .._fs import file_sha256

#: Part of every temporary file's name (``.<name>.trackmood-<pid>-<hex>.tmp``).
TMP_MARK = ".trackmood-"
#: Key-value namespace of the temporary files being written (key: path, value: pid).
KV_TEMPS = "library-temp"
#: Test hook: ``PHASE[:N]`` kills this process with SIGKILL at the N-th (default first) time a
#: file reaches PHASE (``copied``, ``written``, ``journaled``, ``replaced``).
KILL_HOOK = "TRACKMOOD_TEST_KILL"
CHUNK = 1 << 20


class TagError(Exception):
    """One file could not be read or written (a per-file error, not a stop)."""


_hits: dict[str, int] = {}


def kill_point(phase: str) -> None:
    spec = os.environ.get(KILL_HOOK)
    if not spec:
        return
    name, _, nth = spec.partition(":")
    if name != phase:
        return
    _hits[phase] = _hits.get(phase, 0) + 1
    if _hits[phase] >= int(nth or 1):
        import signal

        os.kill(os.getpid(), signal.SIGKILL)


def temp_path(target: str) -> str:
    d, name = os.path.split(target)
    return os.path.join(d, f".{name}{TMP_MARK}{os.getpid()}-{secrets.token_hex(4)}.tmp")


def is_temp(name: str) -> bool:
    return name.startswith(".") and TMP_MARK in name and name.endswith(".tmp")


def _pid_of(name: str) -> int | None:
    try:
        return int(name.rsplit(TMP_MARK, 1)[1].split("-", 1)[0])
    except (IndexError, ValueError):
        return None


def _alive(pid: int | None) -> bool:
    if pid is None or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _forget(store, path: str) -> None:
    store.kv_delete(KV_TEMPS, path)


def sweep(store, folders: Iterable[str] = ()) -> list[str]:
    """Remove the temporary files of runs that were killed: those registered in the library and
    those in ``folders`` whose process is gone. Returns the paths removed.
    """
    gone = []
    candidates = {p: _pid_of(os.path.basename(p)) for p in store.kv_keys(KV_TEMPS)}
    for d in set(folders):
        with contextlib.suppress(OSError):
            for name in os.listdir(d):
                if is_temp(name):
                    candidates.setdefault(os.path.join(d, name), _pid_of(name))
    for p, pid in candidates.items():
        if _alive(pid):
            continue
        with contextlib.suppress(FileNotFoundError):
            os.unlink(p)
            gone.append(p)
        _forget(store, p)
    return gone


# -- what may be written --------------------------------------------------------------------
def check_writable(target: str, st: os.stat_result) -> None:
    """A file without write permission is refused, even though a rename would replace it."""
    if not stat.S_ISREG(st.st_mode):
        raise TagError("not a regular file")
    if not st.st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) or not os.access(
        target, os.W_OK
    ):
        raise TagError("the file is read-only (no write permission); it was not changed")


def check_container(path: str) -> None:
    """Refuse a RIFF (WAV) or FORM (AIFF) file whose declared sizes do not fit the file."""
    with open(path, "rb") as f:
        head = f.read(12)
        size = os.fstat(f.fileno()).st_size
        if len(head) < 12 or head[:4] not in (b"RIFF", b"FORM", b"RF64"):
            return
        if head[:4] == b"RF64":
            raise TagError("RF64/BW64 files (sizes in a ds64 chunk) are not tagged")
        big = head[:4] == b"FORM"
        declared = struct.unpack(">I" if big else "<I", head[4:8])[0]
        kind = "FORM (AIFF)" if big else "RIFF (WAV)"
        if declared == 0xFFFFFFFF or declared + 8 > size:
            raise TagError(
                f"its {kind} header says {declared} bytes but the file has {size - 8} after it "
                "(a streaming recorder's placeholder?); refused: tagging would grow a file whose "
                "end is unknown. Re-save it with an audio editor (e.g. sox in.wav out.wav) first"
            )
        pos, end = 12, declared + 8
        while pos + 8 <= end:
            f.seek(pos)
            hdr = f.read(8)
            if len(hdr) < 8:
                break
            n = struct.unpack(">I" if big else "<I", hdr[4:8])[0]
            nxt = pos + 8 + n + (n & 1)
            if n == 0xFFFFFFFF or pos + 8 + n > end:
                cid = hdr[:4].decode("latin-1").strip() or "?"
                raise TagError(
                    f"its '{cid}' chunk at byte {pos} says {n} bytes, past the end of the "
                    f"{kind} data ({end} bytes); refused: tagging would grow or damage it. "
                    "Re-save it with an audio editor (e.g. sox in.wav out.wav) first"
                )
            pos = nxt


# -- the replacement ------------------------------------------------------------------------
def _reason(e: OSError, target: str) -> str:
    if e.errno == errno.ENOSPC or e.errno == errno.EDQUOT:
        return (
            f"not enough free space for a new copy of the file ({e.strerror}); it was not changed"
        )
    if e.errno == errno.EROFS:
        return "the file system is read-only; the file was not changed"
    if e.errno in (errno.EACCES, errno.EPERM):
        return (
            f"cannot write a new copy beside it in {os.path.dirname(target)} ({e.strerror}); "
            "the file was not changed"
        )
    return f"{e.strerror or e}; the file was not changed"


def file_sha(path: str) -> str:
    """The one content hash (:func:`trackmood._fs.file_sha256`)."""
    return file_sha256(path, chunk=CHUNK)


def copy_into(src: str, out) -> str:
    """Copy ``src`` into the open file ``out``; returns the SHA-256 of the bytes copied."""
    h = hashlib.sha256()
    with open(src, "rb") as f:
        while block := f.read(CHUNK):
            h.update(block)
            out.write(block)
    return h.hexdigest()


def _keep_attributes(fd: int, st: os.stat_result, target: str) -> None:
    os.fchmod(fd, stat.S_IMODE(st.st_mode))
    now = os.fstat(fd)
    if (now.st_uid, now.st_gid) != (st.st_uid, st.st_gid):
        try:
            os.fchown(fd, st.st_uid, st.st_gid)
        except PermissionError:
            raise TagError(
                f"cannot keep its owner {st.st_uid}:{st.st_gid} on a new copy (run as that user); "
                "the file was not changed"
            ) from None
        os.fchmod(fd, stat.S_IMODE(st.st_mode))  # chown clears set-id bits
    if hasattr(os, "listxattr"):
        with contextlib.suppress(OSError):
            for name in os.listxattr(target):
                with contextlib.suppress(OSError):
                    os.setxattr(fd, name, os.getxattr(target, name))


def replace_file(
    store,
    target: str,
    fill: Callable[[object, str], None],
    *,
    edit: Callable[[str], None] | None = None,
    before_replace: Callable[[str], None] | None = None,
) -> os.stat_result:
    """Replace ``target`` (a real path, no symlink) by new content, atomically.

    ``fill(out, tmp)`` writes the new bytes into the open temporary file ``out``; ``edit(tmp)``
    may then change the closed temporary file (mutagen); ``before_replace(tmp)`` runs once the
    new content is durable, before the swap (a failure there aborts, the original untouched).
    Returns the stat of the new file. Raises :class:`TagError` with a reason for people.
    """
    st = os.stat(target)
    check_writable(target, st)
    tmp = temp_path(target)
    store.kv_put(KV_TEMPS, tmp, str(os.getpid()))
    try:
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        except OSError as e:
            raise TagError(_reason(e, target)) from None
        try:
            with os.fdopen(fd, "wb") as out:
                fill(out, tmp)
            kill_point("copied")
            if edit is not None:
                edit(tmp)
            fd = os.open(tmp, os.O_RDWR | os.O_CLOEXEC)
            try:
                _keep_attributes(fd, st, target)
                os.fsync(fd)
            finally:
                os.close(fd)
            kill_point("written")
            if before_replace is not None:
                before_replace(tmp)
            kill_point("journaled")
            os.replace(tmp, target)
        except OSError as e:
            raise TagError(_reason(e, target)) from None
        finally:
            with contextlib.suppress(FileNotFoundError):  # any failure above, an interrupt
                os.unlink(tmp)
    finally:
        _forget(store, tmp)
    with contextlib.suppress(OSError):  # the swap is done; some file systems cannot fsync a folder
        dfd = os.open(os.path.dirname(target) or ".", os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    kill_point("replaced")
    return os.stat(target)


def common_suffix(a: str, b: str, *, limit: int | None = None) -> int:
    """How many bytes at the end of files ``a`` and ``b`` are equal (read from the end)."""
    sa, sb = os.path.getsize(a), os.path.getsize(b)
    n = min(sa, sb) if limit is None else min(sa, sb, limit)
    same = 0
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while same < n:
            k = min(CHUNK, n - same)
            fa.seek(sa - same - k)
            fb.seek(sb - same - k)
            x, y = fa.read(k), fb.read(k)
            if x == y:
                same += k
                continue
            i = 0
            while i < k and x[k - 1 - i] == y[k - 1 - i]:
                i += 1
            return same + i
    return same
