r"""The one file finder and the one content hash of the audio engine.

One hidden rule: a file or folder whose name starts with ``.`` is skipped below a folder that
was named (a file named directly is always taken). A name that is not valid UTF-8 (undecodable
bytes, kept by Python as surrogate escapes) cannot be written to the library or printed as is:
it is never analysed and never crashes the walk, it is reported with
:func:`trackmood.paths.display` (bytes as ``\xNN``).

>>> track_id("ab" * 32)
'audio:abababababababab'
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .._fs import file_sha256
from ..errors import SourceError
from ..paths import display, is_utf8


def audio_suffixes() -> frozenset[str]:
    from ..audio.decode import AUDIO_SUFFIXES

    return AUDIO_SUFFIXES


def hidden(name: str) -> bool:
    """The one hidden-file/folder rule."""
    return name.startswith(".")


@dataclass
class Found:
    """What :func:`find_audio` found: ``files`` (``{path: stat}``, in walk order), the absolute
    ``roots`` named, and ``bad``: ``(shown path, one-line error)`` of the files skipped, both
    printable (:func:`trackmood.paths.display`).
    """

    files: dict[str, os.stat_result] = field(default_factory=dict)
    roots: list[str] = field(default_factory=list)
    bad: list[tuple[str, str]] = field(default_factory=list)

    @property
    def paths(self) -> list[str]:
        return list(self.files)


def bad_name(path: str) -> str:
    """The error line of a file whose name is not valid UTF-8."""
    return f"{display(path)}: the file name is not valid UTF-8; rename the file"


def find_audio(
    paths: Iterable[str | Path], *, absolute: bool = False, utf8_only: bool = False
) -> Found:
    """Audio files under the named folders (recursive, sorted, hidden names skipped) and the files
    named directly (any suffix: a bad one gets its own error later), each once.

    ``absolute``: give absolute paths (the library keys files by them). ``utf8_only``: a name
    that is not valid UTF-8 is reported as skipped (the library, which keeps paths as text);
    otherwise it is analysed like any other and shown escaped. Raises
    :class:`SourceError` for a path that does not exist.
    """
    out = Found()
    suffixes = audio_suffixes()
    seen: set[str] = set()

    def add(p: str, st=None) -> None:
        key = os.path.realpath(p)
        if key in seen:
            return
        seen.add(key)
        if utf8_only and not is_utf8(p):
            out.bad.append((display(p), bad_name(p)))
            return
        try:
            out.files[p] = st or os.stat(p)
        except OSError as e:
            out.bad.append((display(p), f"{display(p)}: cannot read ({e.strerror or e})"))

    for raw in paths:
        text = os.path.expanduser(os.fspath(raw))
        root = os.path.abspath(text) if absolute else text
        if os.path.isdir(root):
            out.roots.append(os.path.abspath(root))
            for d, dirs, files in os.walk(root):
                dirs[:] = sorted(x for x in dirs if not hidden(x))
                for name in sorted(files):
                    if hidden(name) or os.path.splitext(name)[1].lower() not in suffixes:
                        continue
                    p = os.path.join(d, name)
                    if os.path.isfile(p):
                        add(p)
        elif os.path.exists(root):
            out.roots.append(os.path.abspath(root))
            add(root)
        else:
            raise SourceError(f"{display(text)}: no such file or folder")
    return out


def has_audio(folder: str | Path) -> bool:
    """Whether ``folder`` holds an audio file (by the same rule as :func:`find_audio`)."""
    suffixes = audio_suffixes()
    for _d, dirs, files in os.walk(folder):
        dirs[:] = [x for x in dirs if not hidden(x)]
        if any(not hidden(n) and os.path.splitext(n)[1].lower() in suffixes for n in files):
            return True
    return False


def file_hash(path: str | Path, *, chunk: int = 1 << 20) -> str:
    """SHA-256 of the file's bytes, hex: the content key of every cache."""
    return file_sha256(path, chunk=chunk)


def track_id(sha: str) -> str:
    """The store id of an audio file: ``audio:`` + the first 16 hex digits of its SHA-256."""
    return f"audio:{sha[:16]}"
