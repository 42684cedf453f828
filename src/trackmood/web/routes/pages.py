"""The page (``/``, ``/static`` and its mood colours ``/palette.css``) and the API docs (``/docs``, served locally)."""

from __future__ import annotations

from html import escape
from importlib import resources
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles


def swagger_dir() -> Path | None:
    """Swagger UI's files from the ``swagger-ui-bundle-v2`` package, if it is installed."""
    try:
        from swagger_ui_bundle import swagger_ui_path
    except ImportError:
        return None
    path = Path(str(swagger_ui_path))
    return path if (path / "swagger-ui-bundle.js").exists() else None


def plain_docs(spec: dict) -> str:
    """A local, script-free list of the endpoints, for installs without Swagger UI."""
    items = []
    for path, ops in spec.get("paths", {}).items():
        for method, op in ops.items():
            items.append(
                f"<li><code>{escape(method.upper())} {escape(path)}</code> — "
                f"{escape(op.get('summary', ''))}</li>"
            )
    return (
        "<!doctype html><html lang=en><meta charset=utf-8><title>trackmood API</title>"
        "<h1>trackmood API</h1><p>The full schema is at <a href='/openapi.json'>/openapi.json"
        "</a>.</p><ul>" + "".join(items) + "</ul></html>"
    )


def with_token(html: str, token: str) -> str:
    """The page with the server's token in ``<meta name="trackmood-token">`` (for app.js)."""
    meta = f'<meta name="trackmood-token" content="{escape(token, quote=True)}">'
    return html.replace("<head>", "<head>\n" + meta, 1)


def mount(app: FastAPI) -> None:
    """Add the page, its static files and the docs to ``app``."""
    static_dir = Path(str(resources.files("trackmood") / "web" / "static"))
    app.mount("/static", StaticFiles(directory=static_dir), name="static")

    page = with_token((static_dir / "index.html").read_text("utf-8"), app.state.token)

    @app.get("/palette.css", include_in_schema=False)
    def palette():
        # the page's mood colours, from the one palette the plots and timelines use
        from ...moods import palette_css

        return Response(palette_css(), media_type="text/css")

    @app.get("/", include_in_schema=False)
    def index():
        # the token is in the page: never cached, readable only by same-origin scripts
        return HTMLResponse(page, headers={"Cache-Control": "no-store"})

    assets = swagger_dir()
    if assets is not None:
        app.mount("/docs-assets", StaticFiles(directory=assets), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs():
        if assets is not None:
            from fastapi.openapi.docs import get_swagger_ui_html

            return get_swagger_ui_html(
                openapi_url="/openapi.json",
                title="trackmood API",
                swagger_js_url="/docs-assets/swagger-ui-bundle.js",
                swagger_css_url="/docs-assets/swagger-ui.css",
                swagger_favicon_url="/docs-assets/favicon-32x32.png",
            )
        return HTMLResponse(plain_docs(app.openapi()))
