"""Uploaded files: accepted types, saving under fixed names, sniffing, measured table reads.

No part of a request ever names a file on the server: uploads are written to fixed names in a
fresh temporary folder (removed after the request); the client's file name is only shown.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from fastapi import UploadFile

from ..audio.decode import AUDIO_SUFFIXES as _DECODABLE
from ..errors import DataError
from . import limits
from .errors import ApiError
from .util import MiB

_PARQUET = {
    "application/vnd.apache.parquet",
    "application/x-parquet",
    "application/parquet",
    "application/octet-stream",
    "",
}
TABLE_TYPES = {  # suffix -> accepted content types
    ".csv": {
        "text/csv",
        "application/csv",
        "text/plain",
        "application/vnd.ms-excel",
        "text/x-csv",
        "application/octet-stream",
        "",
    },
    ".tsv": {"text/tab-separated-values", "text/plain", "text/csv", "application/octet-stream", ""},
    ".parquet": _PARQUET,
    ".pq": _PARQUET,
    ".json": {"application/json", "text/json", "text/plain", "application/octet-stream", ""},
    ".jsonl": {
        "application/x-ndjson",
        "application/jsonl",
        "application/x-jsonlines",
        "application/json",
        "text/plain",
        "application/octet-stream",
        "",
    },
    ".ndjson": {
        "application/x-ndjson",
        "application/json",
        "text/plain",
        "application/octet-stream",
        "",
    },
}
AUDIO_SUFFIXES = tuple(sorted(_DECODABLE))  # whatever the decoder reads
AUDIO_OTHER_TYPES = {"application/ogg", "application/octet-stream", "video/mp4", "video/ogg", ""}
AUDIO_MAGIC = (
    b"RIFF",
    b"fLaC",
    b"OggS",
    b"ID3",
    b"FORM",
    b"\xff\xfb",
    b"\xff\xf3",
    b"\xff\xf2",
    b"\xff\xf1",
    b"\xff\xf9",
    b"\xff\xe3",
    b"\xff\xfa",
)


def suffix_of(name: str, allowed) -> str | None:
    """Our own constant for the name's suffix if it is in ``allowed``, else ``None``."""
    suffix = PurePosixPath(name.lower()).suffix
    for s in allowed:  # return our own constant, not the client's string
        if s == suffix:
            return s
    return None


def content_type(upload: UploadFile) -> str:
    return (upload.content_type or "").split(";")[0].strip().lower()


def save(upload: UploadFile, dest: Path, *, limit: int, name: str) -> int:
    """Stream ``upload`` into ``dest``; 413 past ``limit`` bytes, 422 when empty."""
    n = 0
    with open(dest, "wb") as out:
        while True:
            chunk = upload.file.read(MiB)
            if not chunk:
                break
            n += len(chunk)
            if n > limit:
                raise ApiError(
                    413, f"{name}: file is larger than the limit of {limit / MiB:g} MB per file"
                )
            out.write(chunk)
    if n == 0:
        raise DataError("file is empty", file=name)
    return n


def looks_like_audio(path: Path) -> bool:
    """Whether the file starts like one of the audio containers the decoder reads."""
    with open(path, "rb") as fh:
        head = fh.read(16)
    return head.startswith(AUDIO_MAGIC) or head[4:8] == b"ftyp"


def check_table_upload(upload: UploadFile, name: str) -> str:
    """The table's suffix, or 415 for a type that is not a table."""
    suffix = suffix_of(name, TABLE_TYPES)
    if suffix is None:
        raise ApiError(
            415,
            f"{name}: unsupported table type; upload .csv, .tsv, .parquet, "
            ".json or .jsonl (audio goes to /predict/audio)",
        )
    ctype = content_type(upload)
    if ctype not in TABLE_TYPES[suffix]:
        raise ApiError(415, f"{name}: content type {ctype!r} does not fit a {suffix} table")
    return suffix


def check_audio_upload(upload: UploadFile, name: str) -> str:
    """The audio file's suffix, or 415 for a type that is not audio."""
    suffix = suffix_of(name, AUDIO_SUFFIXES)
    if suffix is None:
        raise ApiError(415, f"{name}: unsupported audio type; upload {', '.join(AUDIO_SUFFIXES)}")
    ctype = content_type(upload)
    if not (ctype.startswith("audio/") or ctype in AUDIO_OTHER_TYPES):
        raise ApiError(415, f"{name}: content type {ctype!r} is not audio")
    return suffix


def read_table_upload(path: Path, *, name: str, max_rows: int):
    """Measure a saved table (see :mod:`.limits`), then read it with the library's reader;
    messages name the client's file, never our temporary path.
    """
    from ..tables import read_table

    suffix = path.suffix
    if suffix in (".json", ".jsonl", ".ndjson"):
        limits.check_json_file(path, max_rows=max_rows, name=name)
    elif suffix in (".csv", ".tsv"):
        limits.check_csv_file(
            path, max_rows=max_rows, name=name, sep="\t" if suffix == ".tsv" else ","
        )
    else:
        limits.check_parquet_file(path, max_rows=max_rows, name=name)
    try:
        return read_table(path)
    except DataError as e:  # re-word: the client knows the file by its own name
        raise DataError(str(e).replace(str(path), name)) from None
    except RecursionError:  # a bound the scan missed must still be a client error
        raise ApiError(422, f"{name}: nested too deeply to be a table") from None
