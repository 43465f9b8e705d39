"""What every command group shares: the context, the acting user, refusals as exit codes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from mailcast.audience.target import TargetError
from mailcast.config import Settings
from mailcast.context import Context
from mailcast.deliveries.service import DeliveryError
from mailcast.domain import TransitionError
from mailcast.store.deliveries import NotFound
from mailcast.users import service as users
from mailcast.users.service import PermissionDenied, User, UserError

out = Console()
err = Console(stderr=True)

Token = Annotated[
    str,
    typer.Option("--token", envvar="MAILCAST_TOKEN", help="API token of the user acting."),
]

EXIT_REFUSED = 3


def context() -> Context:
    return Context.from_settings(settings())


def settings() -> Settings:
    """The settings; invalid ones (a DKIM key file unreadable...) end the command at its start,
    one line per error and no traceback."""
    try:
        return Settings()
    except ValidationError as exc:
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"])
            message = error["msg"].removeprefix("Value error, ")
            err.print(f"[red]invalid setting[/red] {escape(where)}: {escape(message)}")
        raise typer.Exit(1) from exc


def acting_user(ctx: Context, token: str) -> User:
    user = users.authenticate_token(ctx.db, token)
    if user is None:
        err.print("[red]refused:[/red] the API token is unknown or revoked")
        raise typer.Exit(EXIT_REFUSED)
    return user


@contextmanager
def service_errors() -> Iterator[None]:
    """Turn the service layer's refusals into one clear line and an exit code."""
    try:
        yield
    except PermissionDenied as exc:
        err.print(f"[red]refused:[/red] {exc}")
        raise typer.Exit(EXIT_REFUSED) from exc
    except (DeliveryError, TransitionError, NotFound, UserError, TargetError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
