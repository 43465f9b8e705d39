"""Set-up commands: the database schema, profiles and lists, users and their tokens."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from mailcast.cli._shared import (
    Token,
    acting_user,
    context,
    database_errors,
    err,
    out,
    service_errors,
    unchecked_context,
)
from mailcast.domain import Role
from mailcast.users import service as users

_Email = Annotated[str, typer.Argument(help="The profile's email address.")]
_Reason = Annotated[str, typer.Option("--reason", help="Why: kept with the change.")]

db_app = typer.Typer(help="The database schema.", no_args_is_help=True)
profiles_app = typer.Typer(help="Profiles and lists.", no_args_is_help=True)
users_app = typer.Typer(help="Users, roles and API tokens.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or upgrade the schema to the latest migration."""
    ctx = unchecked_context()
    with database_errors(ctx.db):
        ctx.db.upgrade()
    out.print(f"database at the latest schema: {ctx.db.engine.url.render_as_string()}")


@profiles_app.command("import")
def profiles_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    list_name: Annotated[str, typer.Option("--list", help="List the profiles join.")],
) -> None:
    """Import profiles from a CSV file (header row; an `email` column)."""
    from mailcast.audience.csv_import import ImportFailed, import_profiles

    ctx = context()
    try:
        report = import_profiles(ctx.db, file, list_name, ctx.clock)
    except ImportFailed as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}; nothing was imported")
        raise typer.Exit(1) from None
    for error in report.errors:
        err.print(f"[yellow]line {error.line}:[/yellow] {escape(error.reason)}")
    if report.error_count > len(report.errors):
        err.print(f"(the first {len(report.errors):,} rejected rows are shown)")
    out.print(
        f"{report.rows_read:,} rows read: {report.imported:,} profiles created, "
        f"{report.updated:,} updated, {report.duplicates_in_file:,} duplicates merged, "
        f"{report.error_count:,} rows rejected; list '{list_name}'"
    )


@profiles_app.command("history")
def profiles_history(
    email: Annotated[str, typer.Argument(help="The profile's email address.")],
) -> None:
    """Every delivery that targeted the profile: status, failure, opens, clicks, unsubscribe."""
    from mailcast.stats.history import profile_history
    from mailcast.stats.render import history_table

    with service_errors():
        history = profile_history(context(), email)
    out.print(history_table(history))


@profiles_app.command("unsubscribe")
def profiles_unsubscribe(token: Token, email: _Email, reason: _Reason) -> None:
    """Unsubscribe the profile (role admin); the reason is kept with the change."""
    _subscription(token, email, False, reason)


@profiles_app.command("resubscribe")
def profiles_resubscribe(token: Token, email: _Email, reason: _Reason) -> None:
    """Subscribe the profile again (role admin); the reason is kept with the change."""
    _subscription(token, email, True, reason)


def _subscription(token: str, email: str, subscribed: bool, reason: str) -> None:
    from mailcast.audience.subscriptions import SubscriptionError, set_subscription
    from mailcast.stats.history import UnknownProfile
    from mailcast.store.history import profile_by_address

    ctx = context()
    with service_errors():
        user = acting_user(ctx, token)
        with ctx.db.read() as conn:
            profile = profile_by_address(conn, email)
        if profile is None:
            raise UnknownProfile(email)
        try:
            set_subscription(ctx, user, profile["id"], subscribed, reason)
        except SubscriptionError as exc:
            err.print(f"[red]error:[/red] {escape(str(exc))}")
            raise typer.Exit(1) from None
    out.print(
        f"{escape(email)} {'resubscribed' if subscribed else 'unsubscribed'}: {escape(reason)}"
    )


@users_app.command("add")
def users_add(
    name: str,
    role: Annotated[list[Role], typer.Option("--role", help="A role; repeat for several.")],
    password: Annotated[bool, typer.Option("--password", help="Ask for a password.")] = False,
    token: Annotated[bool, typer.Option("--token/--no-token", help="Issue an API token.")] = True,
) -> None:
    """Add a user with roles; prints an API token for the CLI and the API."""
    ctx = context()
    secret = getpass.getpass("password: ") if password else None
    with service_errors():
        user = users.add_user(ctx.db, name, role, secret, ctx.clock)
    out.print(f"user '{user.name}' with roles: {', '.join(sorted(user.roles))}")
    if token:
        out.print(f"API token (shown once): {users.create_token(ctx.db, user, 'cli', ctx.clock)}")


@users_app.command("token")
def users_token(name: str, label: str = "cli") -> None:
    """Issue a new API token for a user."""
    ctx = context()
    with service_errors():
        user = users.get_user(ctx.db, name)
        if user is None:
            raise users.UnknownUser(name)
        out.print(users.create_token(ctx.db, user, label, ctx.clock))


@users_app.command("list")
def users_list() -> None:
    """Users and their roles."""
    for user in users.list_users(context().db):
        out.print(f"{user.id:>4}  {user.name:<20} {', '.join(sorted(user.roles))}")
