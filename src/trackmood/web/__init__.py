"""The web concern: a FastAPI app (REST API + one page) over the Python API.

>>> from trackmood.web import create_app
>>> app = create_app(store_path=":memory:")
>>> app.title
'trackmood'

Importing this package does not load a model or open the library; the app's lifespan does. It
does not import FastAPI either until ``create_app`` is asked for, so the audio worker processes
(which import :mod:`trackmood.web.workers`) start light.
"""

__all__ = ["create_app"]


def __getattr__(name: str):
    if name == "create_app":
        from .app import create_app

        return create_app
    raise AttributeError(f"module 'trackmood.web' has no attribute {name!r}")
