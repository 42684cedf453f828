"""CLI commands for the web concern (registered by :mod:`trackmood.cli`)."""

from __future__ import annotations

from pathlib import Path

import typer


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
    allow_host: list[str] = typer.Option(
        [],
        "--allow-host",
        help="Another name this server answers to (Host header), e.g. the name a reverse proxy "
        "or your LAN uses; repeat for several. Other names are refused (DNS rebinding).",
    ),
    token: str | None = typer.Option(
        None,
        "--token",
        envvar="TRACKMOOD_TOKEN",
        show_envvar=True,
        help="The token requests that change something must send (X-Trackmood-Token header); "
        "default: a new random one, printed at start. Prefer $TRACKMOOD_TOKEN (not shown in ps).",
    ),
):
    """Serve the web page and REST API (OpenAPI docs at /docs) with uvicorn.

    The server answers only to the names it was started for (loopback names, or off loopback
    its address, this machine's names and --allow-host names); requests that change something
    (POST, PUT, DELETE) need its token, which the page sends by itself.
    """
    import socket
    import sqlite3

    from ..errors import DataError, LibraryError, TrackmoodError
    from ..web import access
    from .common import err, fail

    try:
        from ..model.persistence import resolve_model_path
        from ..store import Store, default_path
        from ..web.library import describe

        if token is not None:
            try:
                access.check_token(token)
            except ValueError as e:
                raise DataError(f"--token / $TRACKMOOD_TOKEN: {e}") from None
        for name in allow_host:
            if not access.host_of(name) or any(c.isspace() or c in "/?#@" for c in name):
                raise DataError(f"--allow-host {name!r}: give a host name or address, e.g. box.lan")
        resolve_model_path(model)  # a missing model fails here, not inside the server
        try:
            Store(db).close()
        except LibraryError:
            raise
        except (sqlite3.Error, OSError) as e:
            raise LibraryError(describe(e, db or default_path()), path=db) from None
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

    names = access.served_names(host, allow_host)
    bound = host.strip("[]").lower()
    if not access.is_loopback(host):
        err(
            f"warning: listening on {host}, so other computers can reach this server: anyone "
            "who reaches it can read the library; changes need the token"
        )
    app = create_app(
        model=model,
        store_path=db,
        max_upload_mb=max_upload_mb,
        max_rows=max_rows,
        max_files=max_files,
        allowed_hosts=names,
        any_ip=bound in access.WILDCARD,
        token=token,
    )
    shown = f"[{host.strip('[]')}]" if ":" in host.strip("[]") else host
    err(f"serving on http://{shown}:{port}/ (API docs at /docs); Ctrl-C stops")
    err(
        "answering to: "
        + ", ".join(sorted(names))
        + (" and any IP address" if bound in access.WILDCARD else "")
        + " (more with --allow-host NAME)"
    )
    if token is None:  # printed here only, never logged
        err(f"token for changes (the page sends it by itself): {app.state.token}")
    else:
        err("token for changes: the one given with --token / $TRACKMOOD_TOKEN")
    uvicorn.run(
        app,
        host=host.strip("[]"),
        port=port,
        log_level=log_level,
        server_header=False,
        timeout_graceful_shutdown=5,
    )
