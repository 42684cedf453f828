"""The unit of work of the audio engine, run in a worker process (or a Dask worker): one file →
descriptors and embedding from one decode (:func:`.read.analyse`). It never raises for a bad
file: it returns ``{"path", "error": "<one line>"}`` instead, so one file never stops a batch.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

#: Files longer than this (seconds) are refused unless ``max_duration`` says otherwise (4 h).
MAX_DURATION = 4 * 3600.0
#: Test hook: a worker analysing a file whose name contains this text dies (``os._exit``, or a
#: real SIGSEGV with the ``segv:`` prefix); with a ``:once=MARKER`` suffix only the first time.
CRASH_HOOK = "TRACKMOOD_TEST_CRASH"
#: Thread pools of native libraries, one thread each in a worker (parallelism is the workers').
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


def crash_hook(path: str, spec: str) -> None:
    """Test hook (``TRACKMOOD_TEST_CRASH``): die if the file name contains ``spec``'s name."""
    name, _, once = spec.partition(":once=")
    segv = name.startswith("segv:")
    name = name.removeprefix("segv:")
    if not name or name not in Path(path).name:
        return
    if once:
        try:
            with open(once, "x"):
                pass
        except FileExistsError:
            return
    if segv:
        import faulthandler

        faulthandler.disable()  # die quietly, like a crash in native code
        os.kill(os.getpid(), signal.SIGSEGV)
    os._exit(70)


def single_threaded() -> None:
    """BLAS/OpenMP pools at one thread in this process (onnxruntime's session is one-threaded)."""
    for var in THREAD_VARS:
        os.environ[var] = "1"
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except Exception:  # noqa: BLE001 - best effort
        pass


def worker_init(batch: bool = True) -> None:
    """A worker: Ctrl-C is the parent's, it dies with its parent (Linux), one thread per native
    pool, and scipy's filters loaded once (the recursive loudness filter, sparse filter banks).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
            if os.getppid() == 1:  # the parent died before prctl
                os._exit(1)
        except (OSError, AttributeError):  # pragma: no cover - best effort
            pass
    single_threaded()
    if batch:
        import scipy.signal  # noqa: F401
        import scipy.sparse  # noqa: F401


def analyse_file(
    path: str,
    *,
    window: float | None = None,
    max_duration: float | None = MAX_DURATION,
    patches: int | None = None,
    analyser=None,
) -> dict:
    """One file's features: descriptors, measured columns and (``patches``) the musicnn
    embedding columns, from one decode. Never raises for a bad file.

    ``analyser(path, window=)`` replaces the descriptor analysis (a test hook of the web app);
    the embedding is then read from the file on its own.

    Returns
    -------
    dict
        ``{"path", "features", "decoder"}`` (+ ``"windows"``); or ``{"path", "error"}``, with
        ``"skip"`` when the file decoded but has no mood to find.
    """
    from ..errors import SourceError

    if os.environ.get(CRASH_HOOK):
        crash_hook(path, os.environ[CRASH_HOOK])
    try:
        if analyser is not None:
            out = analyser(path, window=window)
            if patches and "features" in out:
                from ..audio.decode import decode
                from .read import embed_pieces

                d = decode(path, loudness=False)
                out["features"].update(embed_pieces([(0.0, d.y)], d.sr, d.duration, patches))
            return out
        from .read import analyse

        return analyse(path, window=window, max_duration=max_duration, patches=patches)
    except SourceError as e:
        return {"path": str(path), "error": str(e)}
    except MemoryError:
        return {"path": str(path), "error": f"{path}: out of memory while analysing it"}
    except Exception as e:  # noqa: BLE001 - a bad file must not stop the batch
        first = str(e).splitlines()[0] if str(e) else ""
        return {
            "path": str(path),
            "error": f"{path}: analysis failed ({type(e).__name__}: {first})",
        }
