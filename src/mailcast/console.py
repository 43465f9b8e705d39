"""Rich renderings for the terminal: deliveries, the Deployment block, exclusions, progress."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Mapping, Sequence
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import RowMapping

from mailcast.domain import DeliveryState, ExclusionReason, PauseCause, ShownState, shown_state
from mailcast.stats.deployment import Deployment, display_state

FINAL_STATES = frozenset(
    {
        DeliveryState.SENT,
        DeliveryState.FINISHED,
        DeliveryState.STOPPED,
        DeliveryState.ERROR,
        DeliveryState.PAUSED,
    }
)


def state_label(state: DeliveryState | ShownState) -> str:
    """The state in its colour, with Stibee's word where Stibee has one."""
    shown = state if isinstance(state, ShownState) else shown_state(state)
    suffix = f" [{shown.stibee}]" if shown.stibee else ""
    return f"[{shown.colour}]{shown.label}{suffix}[/{shown.colour}]"


def deliveries_table(rows: Sequence[RowMapping], shown: Mapping[int, ShownState]) -> Table:
    """Deliveries: id, state and Stibee's word in the state's colour, name, send date, relays.

    A delivery in error also says why its send could not go on.
    """
    table = Table(title="Deliveries")
    table.add_column("id", justify="right")
    table.add_column("state")
    table.add_column("Stibee")
    table.add_column("name")
    table.add_column("send date")
    table.add_column("relays")
    table.add_column("error")
    for row in rows:
        state = shown[row["id"]]
        table.add_row(
            str(row["id"]),
            f"[{state.colour}]{state.label}[/{state.colour}]",
            f"[{state.colour}]{state.stibee}[/{state.colour}]" if state.stibee else "",
            escape(row["name"]),
            send_date(row["send_at"] or row["started_at"], row["send_timezone"]),
            relay_names(row["relays"]),
            f"[red]{escape(row['error_reason'])}[/red]" if row["error_reason"] else "",
        )
    return table


def send_date(send_at: dt.datetime | None, zone: str | None) -> str:
    """The send date in the zone it was given in (UTC when none); "" when it has none."""
    if send_at is None:
        return ""
    local = send_at.astimezone(ZoneInfo(zone)) if zone else send_at
    return f"{local:%Y-%m-%d %H:%M} {zone or 'UTC'}"


def relay_names(relays: list[str] | None) -> str:
    """The relays a delivery names, or "all" when it names none."""
    return escape(", ".join(relays)) if relays else "all"


def deployment_table(d: Deployment) -> Table:
    table = Table(title=f"Deployment — delivery {d.delivery_id} «{d.name}»", show_header=False)
    table.add_column("KPI", style="bold")
    table.add_column("value", justify="right")
    table.add_row("State", state_label(display_state(d)))
    table.add_row("Relays", relay_names(d.relays))
    table.add_row("Messages to deliver", f"{d.kpis.to_deliver:,}")
    table.add_row("Messages sent (processed)", f"{d.kpis.processed:,}")
    table.add_row("Delivered", f"{d.kpis.delivered_pct:.2f} %  ({d.counts.sent:,})")
    table.add_row("Bounces + errors", f"{d.kpis.bounces_pct:.2f} %  ({d.counts.failed:,})")
    if d.counts.pending:
        table.add_row("Awaiting feedback", f"{d.counts.pending:,}")
    if d.counts.not_sent:
        table.add_row("Not sent", f"{d.counts.not_sent:,}")
    refreshed = _refreshed(d)
    table.add_row("Open rate", f"{d.kpis.open_rate:.2f} %  {refreshed}")
    table.add_row("Click-through rate", f"{d.kpis.click_rate:.2f} %  {refreshed}")
    table.add_row("Excluded at preparation", f"{d.excluded:,}")
    if d.relayed_more_than_once:
        table.add_row("Relayed more than once", f"[yellow]{d.relayed_more_than_once:,}[/yellow]")
    if d.error_reason:
        table.add_row("Error", f"[red]{escape(d.error_reason)}[/red]")
    if d.pause_reason:
        table.add_row("Paused", f"[dark_orange]{escape(_pause_text(d))}[/dark_orange]")
    return table


def _pause_text(d: Deployment) -> str:
    assert d.pause_reason is not None
    if d.paused_by is PauseCause.RELAY:
        return f"{d.pause_reason} (resumes by itself once the relay takes mail again)"
    return d.pause_reason


def _refreshed(d: Deployment) -> str:
    # The rates are a snapshot (ACS): say how old it is.
    if d.rates_refreshed_at is None:
        return "(not refreshed yet)"
    return f"(refreshed at {d.rates_refreshed_at:%H:%M})"


def exclusions_table(counts: dict[ExclusionReason, int]) -> Table:
    table = Table(title="Exclusions by reason")
    table.add_column("reason")
    table.add_column("recipients", justify="right")
    for reason in ExclusionReason:
        if counts.get(reason):
            table.add_row(reason.value.replace("_", " "), f"{counts[reason]:,}")
    table.add_row("[bold]total[/bold]", f"[bold]{sum(counts.values()):,}[/bold]")
    return table


def watch(
    console: Console,
    read: Callable[[], Deployment],
    interval: float = 0.25,
    until: Callable[[Deployment], bool] = lambda d: d.state in FINAL_STATES,
) -> Deployment:
    """A progress bar over processed / to deliver, until the send ends."""
    current = read()
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[kpis]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("sending", total=max(current.counts.to_deliver, 1), kpis="")
        while True:
            done = current.counts.processed + current.counts.not_sent
            progress.update(
                task,
                completed=done,
                description=current.state.value,
                kpis=f"delivered {current.kpis.delivered_pct:.1f}% · "
                f"bounces {current.kpis.bounces_pct:.1f}%",
            )
            if until(current):
                return current
            time.sleep(interval)
            current = read()
