"""The command line: a thin typer layer over :mod:`trackmood.pipeline` and friends.

Data goes to stdout, progress and messages to stderr; every error a user can cause ends as one
line ``trackmood: error: …`` on stderr and a non-zero exit code (:func:`.common.fail`). Each
concern's commands live in their own module here and are registered on :data:`app`; those modules
import helpers from :mod:`.common` only.
"""

from __future__ import annotations

import typer

from .common import plain_help_types

app = typer.Typer(
    name="trackmood",
    help="Predict the mood of music tracks (Energetic, Calm, Happy, Sad) from audio features.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from .. import __version__

        typer.echo(f"trackmood {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: bool = typer.Option(
        False,
        "--version",
        "-V",
        callback=_version,
        is_eager=True,
        help="Show the version and exit.",
    ),
):
    """Predict the mood of music tracks (Energetic, Calm, Happy, Sad) from audio features."""


def _register() -> None:
    from . import audio, library, model, predict, similar, spotify, web

    # library after spotify: `playlists export` joins the `playlists` group spotify makes
    for module in (predict, model, spotify, audio, web, library, similar):
        module.register(app)


plain_help_types()
_register()


def main() -> None:
    """Console-script entry point."""
    app()
