"""Address commands (role admin): list, search, release, deny, allow and remove addresses."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from mailcast.cli._shared import Token, acting_user, context, err, out, service_errors
from mailcast.domain import AddressStatus, FailureReason
from mailcast.feedback import address_lists, quarantine
from mailcast.feedback.address_lists import ListChange
from mailcast.feedback.quarantine import AddressEntry, QuarantineError, ReleaseRequest

addresses_app = typer.Typer(
    help="Addresses: quarantine, denylist, allowlist, unsubscribes and complaints (role admin).",
    no_args_is_help=True,
)


class AdminList(StrEnum):
    DENYLIST = AddressStatus.DENYLIST.value
    ALLOWLIST = AddressStatus.ALLOWLIST.value


Named = Annotated[list[str], typer.Argument(help="One address or more.")]
Unsubscribed = Annotated[
    bool, typer.Option("--unsubscribed", help="Only addresses whose profile unsubscribed.")
]
Complained = Annotated[bool, typer.Option("--complained", help="Only addresses that complained.")]
After = Annotated[str | None, typer.Option(help="Start after this address.")]
Limit = Annotated[int, typer.Option(min=1, max=10_000)]

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
    unsubscribed: Unsubscribed = False,
    complained: Complained = False,
    after: After = None,
    limit: Limit = 100,
) -> None:
    """Addresses with a state, or whose profile unsubscribed or complained, in address order."""
    _show(token, None, status, unsubscribed, complained, after, limit)


@addresses_app.command("search")
def addresses_search(
    text: Annotated[str, typer.Argument(help="Part of an address, or @domain for a domain.")],
    token: Token,
    status: Statuses = None,
    unsubscribed: Unsubscribed = False,
    complained: Complained = False,
    after: After = None,
    limit: Limit = 100,
) -> None:
    """Every known address holding TEXT (profiles' too), its state, unsubscribe and complaint."""
    _show(token, text, status, unsubscribed, complained, after, limit)


def _show(
    token: str,
    search: str | None,
    status: list[AddressStatus] | None,
    unsubscribed: bool,
    complained: bool,
    after: str | None,
    limit: int,
) -> None:
    ctx = context()
    with _request_errors(), service_errors():
        user = acting_user(ctx, token)
        entries = quarantine.list_addresses(
            ctx,
            user,
            status or (),
            after,
            limit,
            search=search,
            unsubscribed=unsubscribed,
            complained=complained,
        )
        counts = quarantine.count_addresses(ctx, user)
    out.print(_table(entries))
    summary = ", ".join(f"{s}: {counts.get(s, 0):,}" for s in AddressStatus)
    out.print(f"{len(entries):,} shown; all address states by status: {summary}")


@addresses_app.command("deny")
def addresses_deny(
    addresses: Named,
    token: Token,
    reason: Annotated[str | None, typer.Option(help="Why; kept with each address.")] = None,
) -> None:
    """Put addresses on the denylist: no delivery is sent to them until an admin removes them."""
    _add(token, AddressStatus.DENYLIST, addresses, reason)


@addresses_app.command("allow")
def addresses_allow(
    addresses: Named,
    token: Token,
    reason: Annotated[str | None, typer.Option(help="Why; kept with each address.")] = None,
) -> None:
    """Put addresses on the allowlist: sent to whatever their errors (a complaint still denies)."""
    _add(token, AddressStatus.ALLOWLIST, addresses, reason)


@addresses_app.command("remove")
def addresses_remove(
    addresses: Named,
    token: Token,
    from_: Annotated[AdminList, typer.Option("--from", help="The list to take them off.")],
) -> None:
    """Take addresses off the denylist or the allowlist: they are valid again."""
    ctx = context()
    with _request_errors(), service_errors():
        status = AddressStatus(from_.value)
        change = address_lists.remove_from_list(ctx, acting_user(ctx, token), status, addresses)
    _report(change, f"taken off the {status}", f"not on the {status}")


def _add(token: str, status: AddressStatus, addresses: list[str], reason: str | None) -> None:
    ctx = context()
    with _request_errors(), service_errors():
        user = acting_user(ctx, token)
        change = address_lists.add_to_list(ctx, user, status, addresses, reason)
    _report(change, f"put on the {status}", f"already on the {status}")


def _report(change: ListChange, done: str, not_done: str) -> None:
    for address in change.changed:
        out.print(f"{done}: {address}")
    for address in change.unchanged:
        err.print(f"[yellow]{not_done}:[/yellow] {address}")
    out.print(f"{len(change.changed):,} address(es) {done}")


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
    table = Table(
        "address",
        "status",
        "errors",
        "reason",
        "since",
        "last error",
        "released",
        "unsubscribed",
        "complained",
    )
    for entry in entries:
        state = entry.state
        table.add_row(
            entry.address,
            state.status,
            str(state.error_count),
            escape(state.failure_reason or state.detail or ""),
            _when(state.status_changed_at),
            _when(state.last_error_at),
            _when(entry.releases_at) if entry.releases_at else _never(state.status),
            "yes" if entry.unsubscribed else "",
            _when(entry.complained_at),
        )
    return table


def _never(status: AddressStatus) -> str:
    return "" if status in (AddressStatus.VALID, AddressStatus.ALLOWLIST) else "by an admin"


def _when(moment: dt.datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M}" if moment else ""
