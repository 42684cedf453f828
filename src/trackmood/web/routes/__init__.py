"""The API's routers, one per concern: predictions, the library, the model, the page and docs."""
