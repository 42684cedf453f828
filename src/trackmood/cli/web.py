"""CLI commands for the web concern (registered by :mod:`trackmood.cli`)."""

from __future__ import annotations

from pathlib import Path

import typer

LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


def register(app: typer.Typer) -> None:
    """Add this concern's commands to app."""
    app.command("serve")(serve)


def serve(
    host: str = typer.Option(
        "127.0.0.1",
        help="Address to bind. Stays on this computer unless "
        "you give another address (e.g. 0.0.0.0 for the whole network).",
    ),
    port: int = typer.Option(8000, min=1, max=65535, help="TCP port."),
    model: str | None = typer.Option(
        None, "--model", "-m", help="Bundled model name or saved model folder (default: 'default')."
    ),
    db: Path | None = typer.Option(
        None, "--db", help="The SQLite library (default: $TRACKMOOD_DB or the user data folder)."
    ),
    max_upload_mb: float = typer.Option(50.0, min=0.001, help="Largest upload per file, in MB."),
    max_rows: int = typer.Option(100_000, min=1, help="Most tracks predicted per request."),
    max_files: int = typer.Option(20, min=1, help="Most files per upload request."),
    log_level: str = typer.Option(
        "info", help="uvicorn log level: critical, error, warning, info, debug."
    ),
):
    """Serve the web page and REST API (OpenAPI docs at /docs) with uvicorn."""
    import socket
    import sqlite3

    from ..errors import DataError, TrackmoodError
    from .common import err, fail

    try:
        from ..model.persistence import resolve_model_path
        from ..store import Store

        resolve_model_path(model)  # a missing model fails here, not inside the server
        try:
            Store(db).close()
        except (sqlite3.Error, OSError) as e:
            raise DataError(f"cannot open the library: {e}", file=db) from None
        family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host.strip("[]"), port))
            except OSError as e:
                raise DataError(
                    f"cannot listen on {host}:{port} ({e.strerror or e}); "
                    "pass another --port or --host"
                ) from None
    except TrackmoodError as e:
        fail(e)
    import uvicorn

    from ..web import create_app

    if host not in LOOPBACK:
        err(
            f"warning: listening on {host}, so other computers can reach this server; it has "
            "no login"
        )
    allowed = ["127.0.0.1", "localhost", "::1"] if host in LOOPBACK else None
    app = create_app(
        model=model,
        store_path=db,
        max_upload_mb=max_upload_mb,
        max_rows=max_rows,
        max_files=max_files,
        allowed_hosts=allowed,
    )
    shown = f"[{host.strip('[]')}]" if ":" in host.strip("[]") else host
    err(f"serving on http://{shown}:{port}/ (API docs at /docs); Ctrl-C stops")
    uvicorn.run(
        app,
        host=host.strip("[]"),
        port=port,
        log_level=log_level,
        server_header=False,
        timeout_graceful_shutdown=5,
    )
