"""The operators' command line: thin commands over the same service functions as the API.

Each command group lives in its own module; this one assembles them.
"""

from __future__ import annotations

import typer

from mailcast.cli import processes, serve
from mailcast.cli._shared import EXIT_REFUSED
from mailcast.cli.addresses import addresses_app
from mailcast.cli.admin import db_app, profiles_app, users_app
from mailcast.cli.bounces import bounces_app
from mailcast.cli.deliveries import deliveries_app
from mailcast.cli.dkim import dkim_app
from mailcast.cli.feedback import feedback_app
from mailcast.cli.proofs import deliveries_proof as _proof  # noqa: F401  (registers the command)
from mailcast.cli.recurring import recurring_app

__all__ = ["EXIT_REFUSED", "app", "main"]

app = typer.Typer(help="mailcast: email campaign delivery.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(profiles_app, name="profiles")
app.add_typer(users_app, name="users")
app.add_typer(deliveries_app, name="deliveries")
app.add_typer(bounces_app, name="bounces")
app.add_typer(feedback_app, name="feedback")
app.add_typer(addresses_app, name="addresses")
app.add_typer(recurring_app, name="recurring")
app.add_typer(dkim_app, name="dkim")
processes.register(app)
serve.register(app)


def main() -> None:
    app()
