r"""Paths as text: file names may hold control characters or bytes that are not UTF-8.

On POSIX, Python decodes such bytes as lone surrogates (``surrogateescape``), which cannot be
printed, stored in SQLite or written to a UTF-8 file. These helpers turn a path into text that
can be shown on one line, and tell whether it can be written as is.

>>> print(display("/music/evil" + chr(10) + "#EXTINF:1,pwned.mp3"))
/music/evil\n#EXTINF:1,pwned.mp3
>>> print(display("/music/caf" + chr(0xDCE9) + ".mp3"))
/music/caf\xe9.mp3
>>> as_text("/music/caf" + chr(0xDCE9) + ".mp3") == "/music/caf" + chr(92) + "xe9.mp3"
True
>>> is_utf8("/music/caf" + chr(0xDCE9)), has_control("/music/a" + chr(13)), has_control("/m/ok.mp3")
(False, True, False)
"""

from __future__ import annotations

import os

_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}


def is_utf8(path: str | os.PathLike) -> bool:
    """``True`` when the name is valid UTF-8 (no undecodable bytes)."""
    try:
        os.fspath(path).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def has_control(path: str | os.PathLike) -> bool:
    """``True`` when the name holds a control character (newline, carriage return, …)."""
    return any(ord(c) < 32 or ord(c) == 127 for c in os.fspath(path))


def display(path: str | os.PathLike) -> str:
    """The path on one printable line: control characters as backslash escapes (``n``, ``r``,
    ``xNN``), bytes that are not UTF-8 as ``xNN`` escapes; an ordinary path is returned unchanged (backslashes are doubled only
    when something else had to be escaped).
    """
    text = os.fspath(path)
    if is_utf8(text) and not has_control(text):
        return text
    out = []
    for c in text:
        n = ord(c)
        if c in _ESCAPES:
            out.append(_ESCAPES[c])
        elif 0xDC80 <= n <= 0xDCFF:  # surrogateescape: one undecodable byte
            out.append(f"\\x{n - 0xDC00:02x}")
        elif n < 32 or n == 127:
            out.append(f"\\x{n:02x}")
        else:
            out.append(c)
    return "".join(out)


def as_text(value):
    r"""``value`` as text that can be stored, put in a table or written to a UTF-8 file: bytes of
    a file name that are not UTF-8 become ``\xNN`` escapes (as :func:`display` shows them);
    control characters are kept (CSV quotes them, JSON escapes them). Anything that is not a
    string (``None``, numbers) is returned unchanged.
    """
    if not isinstance(value, str) or is_utf8(value):
        return value
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
