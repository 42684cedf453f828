"""CLI commands for the spotify concern (registered on the main app by :mod:`trackmood.cli`)."""
from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this concern's commands to app."""
