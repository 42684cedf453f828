"""The web concern: a FastAPI app (REST API + one page) over the Python API.

>>> from trackmood.web import create_app
>>> app = create_app(store_path=":memory:")
>>> app.title
'trackmood'

Importing this package does not load a model or open the library; the app's lifespan does.
"""

from .app import create_app

__all__ = ["create_app"]
