"""What the app holds while it runs, handed to the routes as dependencies.

The lifespan (see :mod:`.app`) builds one :class:`WebState`: the settings, the model (loaded
once at start-up, never per request), the library and the audio worker pool. Routes ask for it
with ``state: State`` (or for the model with ``model: Model``).
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Request

from .util import MiB

if TYPE_CHECKING:
    from ..model.persistence import TrainedModel
    from ..store import Store
    from .library import LibraryHealth
    from .workers import AudioPool


@dataclass(frozen=True)
class Settings:
    """The app's configuration (see :func:`trackmood.web.create_app`)."""

    model: Any = None
    store_path: Any = None
    max_upload_bytes: int = 50 * MiB
    max_request_bytes: int = 256 * MiB
    max_rows: int = 100_000
    max_files: int = 20
    audio_workers: int = 1
    audio_analyser: Any = None

    def body_limit(self, path: str) -> int:
        """The largest request body for ``path``: one file for tables, the request cap for
        audio, one JSON document elsewhere.
        """
        if path == "/predict/file":
            return self.max_upload_bytes + MiB  # one file and its multipart envelope
        if path == "/predict/audio":
            return min(self.max_upload_bytes * self.max_files, self.max_request_bytes) + MiB
        return self.max_upload_bytes


class WebState:
    """The running app's state: settings, loaded models, the library (behind a lock) and the
    audio worker pool.
    """

    def __init__(self, settings: Settings):
        self.settings = settings
        self.model: TrainedModel | None = None
        self._store: Store | None = None
        self.library: LibraryHealth | None = None  # once open() has run
        self.pool: AudioPool | None = None
        self.lock = threading.RLock()  # one SQLite connection, shared by the worker threads
        self._audio_model = None
        self._audio_lock = threading.Lock()
        self._alternates: dict[tuple, Any] = {}
        self.regions: dict[tuple, dict] = {}

    # -- lifecycle ------------------------------------------------------------------------
    def open(self) -> None:
        from ..model.persistence import TrainedModel, load_model
        from ..store import Store
        from .library import LibraryHealth, is_library_error
        from .workers import AudioPool

        ref = self.settings.model
        self.model = ref if isinstance(ref, TrainedModel) else load_model(ref)
        path = self.settings.store_path
        if path is None:
            from ..store import default_path

            path = default_path()
        self.library = LibraryHealth(path)
        try:
            self._store = Store(path)
        except Exception as e:  # a broken library: serve, answer 503 where it is needed
            if not (is_library_error(e) or isinstance(e, OSError)):
                raise
            self.library.failed(self.library.explain(e))
        self.pool = AudioPool(
            workers=self.settings.audio_workers, analyser=self.settings.audio_analyser
        )

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown()
            self.pool = None
        if self._store is not None:
            self._store.close()
            self._store = None

    @property
    def store(self):
        """The open library; :class:`~trackmood.errors.LibraryError` (503) if it could not be
        opened.
        """
        if self._store is None:
            from ..errors import LibraryError

            problem = self.library.problem if self.library is not None else None
            raise LibraryError(problem or "the library is not open yet; try again")
        self.library.verify()  # the file's header: damaged or gone while we run
        return self._store

    # -- models -----------------------------------------------------------------------------
    @property
    def max_rows(self) -> int:
        return self.settings.max_rows

    def audio_model(self):
        """The audio model, loaded on the first audio request and kept."""
        with self._audio_lock:
            if self._audio_model is None:
                from ..pipeline import audio_model

                self._audio_model = audio_model("audio")
            return self._audio_model

    def model_for(self, columns, *, file=None, notify=None):
        """The pipeline's choice of model for ``columns`` (:func:`trackmood.pipeline.choose_model`
        with the loaded model), remembered per set of missing features so that a bundled
        alternative is read from disk once; its message is given again on every call.
        """
        from ..pipeline import choose_model

        missing = tuple(f for f in self.model.features if f not in set(columns))
        if not missing:
            return self.model
        if missing not in self._alternates:
            said: list[str] = []
            chosen = choose_model(columns, self.model, file=file, notify=said.append)
            self._alternates[missing] = (chosen, said)
        chosen, said = self._alternates[missing]
        for message in said:
            if notify:
                notify(message)
        return chosen

    def locked_store(self) -> LockedStore:
        """The library for the pipeline: its writes (transactions) hold the app's lock."""
        return LockedStore(self.store, self.lock)


class LockedStore:
    """A :class:`~trackmood.store.Store` whose transactions hold ``lock`` (the app shares one
    SQLite connection between threads); other calls pass through.
    """

    def __init__(self, store, lock):
        self._store, self._lock = store, lock

    @contextmanager
    def transaction(self):
        with self._lock, self._store.transaction() as conn:
            yield conn

    def __getattr__(self, name):
        return getattr(self._store, name)


async def get_state(request: Request) -> WebState:
    return request.app.state.trackmood


async def get_model(request: Request):
    return request.app.state.trackmood.model


State = Annotated[WebState, Depends(get_state)]
Model = Annotated[Any, Depends(get_model)]
