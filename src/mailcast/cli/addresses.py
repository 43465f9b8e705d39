"""Address commands (role admin): list address states, release quarantined addresses."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.table import Table

from mailcast.cli._shared import Token, acting_user, context, err, out, service_errors
from mailcast.domain import AddressStatus, FailureReason
from mailcast.feedback import quarantine
from mailcast.feedback.quarantine import AddressEntry, QuarantineError, ReleaseRequest

addresses_app = typer.Typer(
    help="Address states: quarantine, denylist, and releasing them (role admin).",
    no_args_is_help=True,
)

Statuses = Annotated[
    list[AddressStatus] | None,
    typer.Option("--status", help="Only addresses in this status; repeat for several."),
]


@contextmanager
def _request_errors() -> Iterator[None]:
    try:
        yield
    except QuarantineError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc


@addresses_app.command("list")
def addresses_list(
    token: Token,
    status: Statuses = None,
    after: Annotated[str | None, typer.Option(help="Start after this address.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 100,
) -> None:
    """Address states, in address order, with when each is released automatically."""
    ctx = context()
    with service_errors():
        user = acting_user(ctx, token)
        entries = quarantine.list_addresses(ctx, user, status or (), after, limit)
        counts = quarantine.count_addresses(ctx, user)
    out.print(_table(entries))
    summary = ", ".join(f"{s}: {counts.get(s, 0):,}" for s in AddressStatus)
    out.print(f"{len(entries):,} shown; all addresses by status: {summary}")


@addresses_app.command("release")
def addresses_release(
    token: Token,
    addresses: Annotated[
        list[str] | None, typer.Argument(help="Addresses to release, whatever their status.")
    ] = None,
    domain: Annotated[str | None, typer.Option(help="Every address of this domain.")] = None,
    reason: Annotated[
        FailureReason | None, typer.Option(help="Every address quarantined for this reason.")
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(help="Every address in its status since this date (ISO, UTC by default)."),
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every quarantined address.")] = False,
    status: Statuses = None,
) -> None:
    """Release addresses: named ones, or in bulk (quarantine and erroneous unless --status)."""
    ctx = context()
    with _request_errors():
        request = ReleaseRequest(
            addresses=tuple(addresses or ()),
            domain=domain,
            reason=reason,
            since=_moment(since) if since is not None else None,
            everything=all_,
            statuses=frozenset(status or ()),
        )
        with service_errors():
            result = quarantine.release_addresses(ctx, acting_user(ctx, token), request)
    for address in result.released:
        out.print(f"released {address}")
    for address in result.not_held:
        err.print(f"[yellow]not released:[/yellow] {address} is in none of the statuses released")
    out.print(f"{len(result.released):,} address(es) released")


def _moment(text: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise QuarantineError(f"--since needs an ISO date or moment, not {text!r}") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def _table(entries: list[AddressEntry]) -> Table:
    table = Table("address", "status", "errors", "reason", "since", "last error", "released")
    for entry in entries:
        state = entry.state
        table.add_row(
            entry.address,
            state.status,
            str(state.error_count),
            state.failure_reason or "",
            _when(state.status_changed_at),
            _when(state.last_error_at),
            _when(entry.releases_at) if entry.releases_at else _never(state.status),
        )
    return table


def _never(status: AddressStatus) -> str:
    return "" if status in (AddressStatus.VALID, AddressStatus.ALLOWLIST) else "by an admin"


def _when(moment: dt.datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M}" if moment else ""
