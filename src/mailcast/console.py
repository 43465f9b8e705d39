"""Rich renderings for the terminal: the Deployment block, exclusions, progress."""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from mailcast.domain import STIBEE_LABELS, DeliveryState, ExclusionReason
from mailcast.stats.deployment import Deployment

FINAL_STATES = frozenset(
    {
        DeliveryState.SENT,
        DeliveryState.FINISHED,
        DeliveryState.STOPPED,
        DeliveryState.ERROR,
        DeliveryState.PAUSED,
    }
)


def state_label(state: DeliveryState) -> str:
    label, colour = STIBEE_LABELS.get(state, ("", "white"))
    suffix = f" [{label}]" if label else ""
    return f"[{colour}]{state.value}{suffix}[/{colour}]"


def deployment_table(d: Deployment) -> Table:
    table = Table(title=f"Deployment — delivery {d.delivery_id} «{d.name}»", show_header=False)
    table.add_column("KPI", style="bold")
    table.add_column("value", justify="right")
    table.add_row("State", state_label(d.state))
    table.add_row("Messages to deliver", f"{d.kpis.to_deliver:,}")
    table.add_row("Messages sent (processed)", f"{d.kpis.processed:,}")
    table.add_row("Delivered", f"{d.kpis.delivered_pct:.2f} %  ({d.counts.sent:,})")
    table.add_row("Bounces + errors", f"{d.kpis.bounces_pct:.2f} %  ({d.counts.failed:,})")
    if d.counts.pending:
        table.add_row("Awaiting feedback", f"{d.counts.pending:,}")
    if d.counts.not_sent:
        table.add_row("Not sent (stopped)", f"{d.counts.not_sent:,}")
    refreshed = _refreshed(d)
    table.add_row("Open rate", f"{d.kpis.open_rate:.2f} %  {refreshed}")
    table.add_row("Click-through rate", f"{d.kpis.click_rate:.2f} %  {refreshed}")
    table.add_row("Excluded at preparation", f"{d.excluded:,}")
    if d.error_reason:
        table.add_row("Error", f"[red]{d.error_reason}[/red]")
    return table


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
