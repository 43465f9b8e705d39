"""What every command group shares: the context, the acting user, refusals as exit codes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from sqlalchemy.exc import SQLAlchemyError

from mailcast.audience.target import TargetError
from mailcast.config import DEFAULT_DATABASE_URL, Settings
from mailcast.context import Context
from mailcast.deliveries.service import DeliveryError
from mailcast.domain import TransitionError
from mailcast.store.db import Database, Schema
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

# What a command says, in one line, when the database is not at this version's schema.
_NOT_READY = {
    Schema.EMPTY: "the database {url} has no mailcast schema yet: run `mailcast db upgrade`",
    Schema.FOREIGN: "the database {url} has tables but no mailcast schema (another "
    "application's database?): point MAILCAST_DATABASE_URL at an empty one and run "
    "`mailcast db upgrade`",
    Schema.BEHIND: "the database {url} has an older mailcast schema: run `mailcast db upgrade`",
    Schema.AHEAD: "the database {url} has a newer schema than this version of mailcast "
    "knows: upgrade mailcast",
}


def context() -> Context:
    """The context of a command that uses the database, which must be at the latest schema.

    The embedded default (SQLite, `mailcast.db` in the working folder) creates its schema on
    first use, so that a first `mailcast serve` in an empty folder just works; any other
    database is the operator's to upgrade, and the command says so in one line.
    """
    ctx = unchecked_context()
    schema = _schema_of(ctx.db)
    if schema is Schema.EMPTY and ctx.settings.database_url == DEFAULT_DATABASE_URL:
        with database_errors(ctx.db):
            ctx.db.upgrade()
        err.print(f"created the database schema: {escape(_where(ctx.db))}", soft_wrap=True)
    elif schema is not Schema.CURRENT:
        problem = _NOT_READY[schema].format(url=_where(ctx.db))
        err.print(f"[red]error:[/red] {escape(problem)}", soft_wrap=True)
        raise typer.Exit(1)
    return ctx


def unchecked_context() -> Context:
    """The context whatever the database's schema (`mailcast db upgrade`)."""
    return Context.from_settings(settings())


@contextmanager
def database_errors(db: Database) -> Iterator[None]:
    """A database that cannot be reached (or refuses the work) ends the command in one line."""
    try:
        yield
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        err.print(
            f"[red]error:[/red] database {escape(_where(db))}: {escape(reason)}", soft_wrap=True
        )
        raise typer.Exit(1) from exc


def _schema_of(db: Database) -> Schema:
    with database_errors(db):
        return db.schema()


def _where(db: Database) -> str:
    """The database's URL, without its password."""
    return db.engine.url.render_as_string()


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
