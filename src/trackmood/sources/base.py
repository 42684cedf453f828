"""The source contract: references in, one feature frame row per input item out.

Every way trackmood gets features — a table, the user's audio, Spotify/ReccoBeats ids — is a
*source*. A source never imports the model or prediction code and never writes predictions; it only
turns references into rows of features, says where each value came from, and says why a row has no
features when it could not get them. The pipeline (:mod:`trackmood.pipeline`) does the rest.

A feature frame has these columns (others, e.g. audio descriptors or ``artist``, may follow):

``id``
    A stable track id (Spotify id, the content hash of an audio file, or the table's own id).
``name``, ``path``, ...
    Identity columns when known (:data:`trackmood.features.ID_COLUMNS`).
feature columns
    By their schema names (``energy``, ``tempo``, ...); NaN when unknown.
``provenance``
    Per row, a mapping ``{column: provider}`` for the values it holds (``'file:tracks.csv'``,
    ``'audio:librosa'``, ``'spotify'``, ``'reccobeats'``, ...).
``status``
    :data:`OK` when the row has features, :data:`FAILED` when the source could not get them.
``reason``
    ``None`` for rows that are OK; else one line saying why (the file, the value, the API's answer).

>>> frame_columns_ok(["id", "provenance", "status", "reason", "energy"])
True
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, ClassVar, Protocol

if TYPE_CHECKING:
    import pandas as pd

#: ``progress(stage, done, total)``: ``total`` is ``None`` while unknown.
Progress = Callable[[str, int, "int | None"], None]
#: ``notify(message)``: one line for the user (the CLI prints it on stderr, the web returns it).
Notify = Callable[[str], None]

OK = "ok"
FAILED = "failed"
#: Columns every feature frame has, whatever the source.
CONTRACT_COLUMNS: tuple[str, ...] = ("id", "provenance", "status", "reason")


class Source(Protocol):
    """References in, feature frames out (streamed: one or more frames, each following the contract)."""

    #: ``'table'``, ``'audio'`` or ``'spotify'``.
    kind: ClassVar[str]

    def frames(
        self,
        refs: Sequence[str],
        *,
        progress: Progress | None = None,
        notify: Notify | None = None,
    ) -> Iterator[pd.DataFrame]:
        """Feature frames for ``refs``, in input order, one row per input item."""
        ...


def frame_columns_ok(columns: Sequence[str]) -> bool:
    """Whether ``columns`` hold every contract column."""
    return all(c in columns for c in CONTRACT_COLUMNS)
