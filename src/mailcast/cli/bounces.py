"""Bounce commands: run the bounce receiver alone, list what it could not read."""

from __future__ import annotations

import contextlib
import sys
import threading
from typing import Annotated

import typer
from rich.table import Table

from mailcast.cli._shared import Token, acting_user, context, err, out, service_errors
from mailcast.context import Context
from mailcast.domain import ReportOutcome
from mailcast.feedback import inbound
from mailcast.feedback.receiver import BounceReceiver

bounces_app = typer.Typer(
    help="The bounce receiver (run alone with no subcommand) and the reports it kept.",
    invoke_without_command=True,
)


@bounces_app.callback()
def bounces(
    command: typer.Context,
    host: Annotated[str | None, typer.Option(help="Listen here (default: bounces.host).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: bounces.port).")] = None,
    consumers: Annotated[
        int | None,
        typer.Option(
            min=0, max=16, help="Processes applying reports (default: bounces.consumer_processes)."
        ),
    ] = None,
) -> None:
    """Run the bounce receiver until Ctrl-C: it keeps bounces, its consumers apply them."""
    if command.invoked_subcommand is not None:
        return
    ctx = context()
    if consumers is not None:
        ctx.settings.bounces.consumer_processes = consumers
    receiver = BounceReceiver(ctx, host, port)
    with receiver:
        out.print(
            f"bounce receiver listening on {receiver.host}:{receiver.port} "
            f"for *@{ctx.settings.bounce_domain}; reports applied by {_consumers(ctx)} "
            "(Ctrl-C stops)"
        )
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    out.print(f"bounce receiver stopped; {receiver.stored:,} messages kept")


def _consumers(ctx: Context) -> str:
    count = ctx.settings.bounces.consumer_processes
    return f"{count} process{'es' if count > 1 else ''}" if count else "a thread"


@bounces_app.command("unparsed")
def bounces_unparsed(
    token: Token,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 100,
) -> None:
    """Messages kept that could not be read as a bounce, complaint or auto-reply."""
    ctx = context()
    with service_errors():
        user = acting_user(ctx, token)
        rows = inbound.list_reports(ctx, user, ReportOutcome.UNPARSED, limit)
        counts = inbound.report_counts(ctx, user)
    table = Table("id", "received", "from", "to", "kind", "size", "subject")
    for row in rows:
        table.add_row(
            str(row["id"]),
            f"{row['received_at']:%Y-%m-%d %H:%M:%S}",
            row["mail_from"] or "<>",
            ", ".join(row["recipients"]),
            row["kind"] or "",
            f"{row['size']:,}",
            row["subject"] or "",
        )
    out.print(table)
    summary = ", ".join(f"{outcome}: {counts[outcome]:,}" for outcome in ReportOutcome)
    out.print(f"{len(rows):,} shown; all reports by outcome: {summary}")


@bounces_app.command("show")
def bounces_show(
    token: Token,
    report_id: Annotated[int, typer.Argument(help="The report's id (see `unparsed`).")],
) -> None:
    """Write a kept report's bytes, exactly as they arrived, to standard output."""
    ctx = context()
    with service_errors():
        user = acting_user(ctx, token)
        try:
            raw = inbound.raw_report(ctx, user, report_id)
        except LookupError as exc:
            err.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(1) from exc
    sys.stdout.buffer.write(raw)
    sys.stdout.flush()
