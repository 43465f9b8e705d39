"""The operators' command line: thin commands over the same service functions as the API."""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from mailcast import console as render
from mailcast.audience.target import Target, TargetError
from mailcast.config import Settings
from mailcast.context import Context
from mailcast.deliveries import service as deliveries
from mailcast.domain import DeliveryState, FeedbackMode, Role, TransitionError
from mailcast.prepare.preparation import prepare_delivery
from mailcast.send.engine import SendEngine
from mailcast.stats.deployment import deployment
from mailcast.store import deliveries as delivery_store
from mailcast.store.deliveries import NotFound
from mailcast.users import service as users
from mailcast.users.service import PermissionDenied, User, UserError

app = typer.Typer(help="mailcast: email campaign delivery.", no_args_is_help=True)
db_app = typer.Typer(help="The database schema.", no_args_is_help=True)
profiles_app = typer.Typer(help="Profiles and lists.", no_args_is_help=True)
users_app = typer.Typer(help="Users, roles and API tokens.", no_args_is_help=True)
deliveries_app = typer.Typer(
    help="Deliveries: create, prepare, confirm, watch.", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(profiles_app, name="profiles")
app.add_typer(users_app, name="users")
app.add_typer(deliveries_app, name="deliveries")

out = Console()
err = Console(stderr=True)

Token = Annotated[
    str,
    typer.Option("--token", envvar="MAILCAST_TOKEN", help="API token of the user acting."),
]
DeliveryId = Annotated[int, typer.Argument(help="The delivery's id.")]

EXIT_REFUSED = 3


def _context() -> Context:
    return Context.from_settings(Settings())


def _acting_user(ctx: Context, token: str) -> User:
    user = users.authenticate_token(ctx.db, token)
    if user is None:
        err.print("[red]refused:[/red] the API token is unknown or revoked")
        raise typer.Exit(EXIT_REFUSED)
    return user


@contextmanager
def _service_errors() -> Iterator[None]:
    """Turn the service layer's refusals into one clear line and an exit code."""
    try:
        yield
    except PermissionDenied as exc:
        err.print(f"[red]refused:[/red] {exc}")
        raise typer.Exit(EXIT_REFUSED) from exc
    except (deliveries.DeliveryError, TransitionError, NotFound, UserError, TargetError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc


# --- db -----------------------------------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or upgrade the schema to the latest migration."""
    ctx = _context()
    ctx.db.upgrade()
    out.print(f"database at the latest schema: {ctx.db.engine.url.render_as_string()}")


# --- profiles -----------------------------------------------------------------------------


@profiles_app.command("import")
def profiles_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    list_name: Annotated[str, typer.Option("--list", help="List the profiles join.")],
) -> None:
    """Import profiles from a CSV file (header row; an `email` column)."""
    from mailcast.audience.csv_import import import_profiles

    ctx = _context()
    report = import_profiles(ctx.db, file, list_name, ctx.clock)
    for error in report.errors:
        err.print(f"[yellow]line {error.line}:[/yellow] {error.reason}")
    out.print(
        f"{report.rows_read:,} rows read: {report.imported:,} profiles created, "
        f"{report.updated:,} updated, {report.duplicates_in_file:,} duplicates merged, "
        f"{report.error_count:,} rows rejected; list '{list_name}'"
    )


# --- users --------------------------------------------------------------------------------


@users_app.command("add")
def users_add(
    name: str,
    role: Annotated[list[Role], typer.Option("--role", help="A role; repeat for several.")],
    password: Annotated[bool, typer.Option("--password", help="Ask for a password.")] = False,
    token: Annotated[bool, typer.Option("--token/--no-token", help="Issue an API token.")] = True,
) -> None:
    """Add a user with roles; prints an API token for the CLI and the API."""
    ctx = _context()
    secret = getpass.getpass("password: ") if password else None
    with _service_errors():
        user = users.add_user(ctx.db, name, role, secret, ctx.clock)
    out.print(f"user '{user.name}' with roles: {', '.join(sorted(user.roles))}")
    if token:
        out.print(f"API token (shown once): {users.create_token(ctx.db, user, 'cli', ctx.clock)}")


@users_app.command("token")
def users_token(name: str, label: str = "cli") -> None:
    """Issue a new API token for a user."""
    ctx = _context()
    with _service_errors():
        user = users.get_user(ctx.db, name)
        if user is None:
            raise users.UnknownUser(name)
        out.print(users.create_token(ctx.db, user, label, ctx.clock))


@users_app.command("list")
def users_list() -> None:
    """Users and their roles."""
    for user in users.list_users(_context().db):
        out.print(f"{user.id:>4}  {user.name:<20} {', '.join(sorted(user.roles))}")


# --- deliveries ---------------------------------------------------------------------------


@deliveries_app.command("create")
def deliveries_create(
    token: Token,
    name: Annotated[str, typer.Option()],
    subject: Annotated[str, typer.Option()],
    from_addr: Annotated[str, typer.Option("--from")],
    lists: Annotated[list[str], typer.Option("--list", help="Target list; repeat for several.")],
    filter_: Annotated[str | None, typer.Option("--filter", help="Attribute filter.")] = None,
    html_file: Annotated[Path | None, typer.Option(exists=True, dir_okay=False)] = None,
    text_file: Annotated[Path | None, typer.Option(exists=True, dir_okay=False)] = None,
    reply_to: Annotated[str | None, typer.Option()] = None,
    mode: Annotated[FeedbackMode | None, typer.Option(help="Feedback mode.")] = None,
) -> None:
    """Create a delivery in draft."""
    ctx = _context()
    draft = deliveries.DeliveryDraft(
        name=name,
        subject=subject,
        from_addr=from_addr,
        reply_to=reply_to,
        target=Target(tuple(lists), filter_),
        html=html_file.read_text("utf-8") if html_file else "",
        text=text_file.read_text("utf-8") if text_file else "",
        feedback_mode=mode,
    )
    with _service_errors():
        delivery_id = deliveries.create_delivery(ctx, _acting_user(ctx, token), draft)
    out.print(f"delivery {delivery_id} created (draft)")


@deliveries_app.command("prepare")
def deliveries_prepare(token: Token, delivery_id: DeliveryId) -> None:
    """Prepare a delivery: target, exclusions, rendering, control rules. Nothing is sent."""
    ctx = _context()
    with _service_errors():
        result = prepare_delivery(ctx, _acting_user(ctx, token), delivery_id)
    for finding in result.findings:
        colour = "red" if finding.level == "error" else "yellow"
        out.print(f"[{colour}]{finding.level}[/{colour}] {finding.rule}: {finding.message}")
    out.print(render.exclusions_table(result.exclusions))
    out.print(f"state: {render.state_label(result.state)}; to deliver: {result.to_deliver:,}")
    if result.blocked:
        raise typer.Exit(1)


@deliveries_app.command("confirm")
def deliveries_confirm(
    token: Token,
    delivery_id: DeliveryId,
    yes: Annotated[bool, typer.Option("--yes", help="Skip the confirmation question.")] = False,
) -> None:
    """Confirm the send (role start_deliveries)."""
    ctx = _context()
    user = _acting_user(ctx, token)
    with _service_errors():
        users.authorize(user, deliveries.Action.CONFIRM_SEND)
        d = deployment(ctx, delivery_id)
        if not yes:
            typer.confirm(f"Send «{d.name}» to {d.counts.to_deliver:,} recipients?", abort=True)
        state = deliveries.confirm_send(ctx, user, delivery_id)
    out.print(f"delivery {delivery_id}: {render.state_label(state)}")


def _simple_action(verb: str, action: str) -> None:
    def command(token: Token, delivery_id: DeliveryId) -> None:
        ctx = _context()
        with _service_errors():
            getattr(deliveries, f"{action}_delivery")(ctx, _acting_user(ctx, token), delivery_id)
        out.print(f"delivery {delivery_id}: {verb}")

    command.__doc__ = f"{verb.capitalize()} a delivery (role start_deliveries)."
    deliveries_app.command(action)(command)


_simple_action("paused", "pause")
_simple_action("resumed", "resume")
_simple_action("stopped", "stop")


@deliveries_app.command("status")
def deliveries_status(delivery_id: DeliveryId) -> None:
    """Print the Deployment block."""
    with _service_errors():
        out.print(render.deployment_table(deployment(_context(), delivery_id)))


@deliveries_app.command("watch")
def deliveries_watch(delivery_id: DeliveryId) -> None:
    """A progress bar until the send ends, then the Deployment block."""
    ctx = _context()
    with _service_errors():
        final = render.watch(out, lambda: deployment(ctx, delivery_id))
    out.print(render.deployment_table(final))


@deliveries_app.command("list")
def deliveries_list() -> None:
    """Deliveries with their states."""
    ctx = _context()
    with ctx.db.read() as conn:
        rows = delivery_store.list_deliveries(conn)
    for row in rows:
        out.print(
            f"{row['id']:>5}  {render.state_label(DeliveryState(row['state']))}  {row['name']}"
        )


# --- processes ----------------------------------------------------------------------------


@app.command("worker")
def worker(
    until_idle: Annotated[bool, typer.Option(help="Exit once nothing is left to send.")] = False,
) -> None:
    """Run a send worker (any number may run against one PostgreSQL database)."""
    engine = SendEngine(_context())
    with suppress(KeyboardInterrupt):
        asyncio.run(engine.run(until_idle=until_idle))
    out.print(f"relayed {engine.stats.relayed:,}, refused {engine.stats.refused:,}")


@app.command("sandbox")
def sandbox(
    host: str = "127.0.0.1",
    port: int = 2525,
) -> None:
    """Run the built-in sandbox MTA on loopback."""
    from mailcast.sandbox.mta import run_sandbox

    run_sandbox(host, port)


@app.command("demo")
def demo(
    exit_: Annotated[bool, typer.Option("--exit", help="End when the send ends.")] = False,
    mode: Annotated[FeedbackMode, typer.Option(help="Feedback mode.")] = FeedbackMode.LEGACY,
    profiles: Annotated[int, typer.Option(help="Size of the sample audience.")] = 1000,
) -> None:
    """Show a delivery's whole lifecycle on embedded defaults (SQLite, sandbox MTA)."""
    from mailcast.demo import run_demo

    run_demo(out, exit_when_sent=exit_, mode=mode, profiles=profiles)


def main() -> None:
    app()
