"""Process plumbing for :mod:`.parallel`: worker set-up, a file retried alone in a fresh process,
stopping a pool, and the crash test hook.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path


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


def worker_init() -> None:
    """Workers leave Ctrl-C to the main process, and die with it if it is killed (Linux)."""
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


def mp_context():
    import multiprocessing as mp

    # fork: workers start in milliseconds and need no ``if __name__ == "__main__"`` guard in the
    # caller's script (spawn/forkserver re-import it); they only run extract_one.
    return mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")


def _alone_main(conn, fn, path: str, window, max_duration) -> None:
    worker_init()
    conn.send(fn(path, window=window, max_duration=max_duration))
    conn.close()


def run_alone(ctx, fn, path: str, window, max_duration) -> tuple[dict | None, str | None]:
    """``fn(path, ...)`` in a fresh process: ``(result, None)``, or ``(None, how it died)``."""
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_alone_main, args=(send, fn, path, window, max_duration))
    proc.daemon = True
    proc.start()
    send.close()
    out = None
    try:
        out = recv.recv()
    except (EOFError, OSError):
        pass
    except BaseException:  # Ctrl-C: do not wait for the file to finish
        proc.terminate()
        raise
    finally:
        recv.close()
        proc.join()
    if out is not None:
        return out, None
    code = proc.exitcode
    if code is not None and code < 0:
        try:
            how = f"killed by {signal.Signals(-code).name}"
        except ValueError:
            how = f"killed by signal {-code}"
    else:
        how = f"exit code {code}"
    return None, how


def stop_pool(pool) -> None:
    procs = list(getattr(pool, "_processes", {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        if p.is_alive():
            p.terminate()
    for p in procs:
        p.join(timeout=5)
