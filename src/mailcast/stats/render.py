"""Rich renderings of the statistics: Compute stats' drift, the dynamic report, a history."""

from __future__ import annotations

import datetime as dt

from rich.table import Table

from mailcast.domain import AddressStatus, Standing
from mailcast.stats.compute import StatsCheck
from mailcast.stats.history import ProfileHistory
from mailcast.stats.report import SERIES_KINDS, DeliveryReport


def drift_table(check: StatsCheck) -> Table:
    table = Table(title=f"Counters of delivery {check.delivery_id}: live vs recounted")
    for name in ("counter", "live", "recounted", "drift"):
        table.add_column(name, justify="left" if name == "counter" else "right")
    for d in check.drift:
        table.add_row(d.counter, f"{d.live:,}", f"{d.recounted:,}", f"{d.difference:+,}")
    return table


def report_tables(r: DeliveryReport) -> list[Table]:
    return [_totals(r), _series(r), _failures(r), _domains(r)]


def _totals(r: DeliveryReport) -> Table:
    table = Table(title=f"Report — delivery {r.delivery_id} «{r.name}»", show_header=False)
    table.add_column("figure", style="bold")
    table.add_column("value", justify="right")
    c, k = r.counts, r.kpis
    rows = [
        ("Messages to deliver", f"{c.to_deliver:,}"),
        ("Excluded at preparation", f"{r.excluded:,}"),
        ("Processed", f"{k.processed:,}"),
        ("Sent", f"{c.sent:,}  ({k.delivered_pct:.2f} %)"),
        ("Failed", f"{c.failed:,}  ({k.bounces_pct:.2f} %)"),
        ("Pending", f"{c.pending:,}"),
        ("Queued", f"{c.queued:,}"),
        ("Not sent", f"{c.not_sent:,}"),
        ("Unique opens", f"{c.unique_opens:,}  ({k.open_rate:.2f} %)"),
        ("Total opens", f"{r.total_opens:,}  ({r.machine_opens:,} flagged as machines)"),
        ("Unique clicks", f"{c.unique_clicks:,}  ({k.click_rate:.2f} %)"),
        ("Total clicks", f"{r.total_clicks:,}  ({r.machine_clicks:,} flagged as machines)"),
        ("Unsubscribed", f"{r.unsubscribed:,}"),
        ("Relayed more than once", f"{r.relayed_more_than_once:,}"),
    ]
    for label, value in rows:
        table.add_row(label, value)
    return table


def _series(r: DeliveryReport) -> Table:
    table = Table(title="Per hour (UTC)")
    table.add_column("hour")
    kinds = [k for k in SERIES_KINDS if any(h.counts.get(k) for h in r.hours)]
    for kind in kinds:
        table.add_column(kind.value, justify="right")
    for hour in r.hours:
        table.add_row(
            f"{hour.start:%Y-%m-%d %H:00}", *(f"{hour.counts.get(k, 0):,}" for k in kinds)
        )
    return table


def _failures(r: DeliveryReport) -> Table:
    table = Table(title="Failed messages by reason")
    for name in ("type", "reason", "messages"):
        table.add_column(name, justify="right" if name == "messages" else "left")
    for row in r.failures:
        table.add_row(row.failure_type, row.failure_reason.replace("_", " "), f"{row.messages:,}")
    return table


def _domains(r: DeliveryReport) -> Table:
    table = Table(title="By recipient domain")
    for name in ("domain", "messages", "sent", "failed", "pending", "opened", "clicked"):
        table.add_column(name, justify="left" if name == "domain" else "right")
    for d in r.domains:
        by = {s.value: n for s, n in d.statuses.items()}
        figures = (d.messages, by.get("sent", 0), by.get("failed", 0), by.get("pending", 0))
        table.add_row(d.domain, *(f"{n:,}" for n in (*figures, d.opened, d.clicked)))
    return table


def history_table(h: ProfileHistory) -> Table:
    standing = h.standing.value
    if h.standing is Standing.UNSUBSCRIBED:
        standing += " (email denylist)"
    if h.complained_at is not None:
        standing += f" on {_moment(h.complained_at)}"
    if h.address_status is not AddressStatus.VALID:
        standing += f", address: {h.address_status}"
    table = Table(title=f"History of {h.email} (profile {h.profile_id}, {standing})")
    columns = ("when", "delivery", "status", "failure", "opens", "clicks", "unsubscribed")
    for name in (*columns, "complained"):
        table.add_column(name, justify="right" if name in ("opens", "clicks") else "left")
    for e in h.entries:
        table.add_row(
            _moment(e.at),
            f"{e.delivery_id} «{e.delivery_name}»",
            e.status.value if e.status else f"excluded: {e.excluded}",
            " ".join(v for v in (e.failure_type, e.failure_reason) if v),
            f"{e.opens:,}",
            f"{e.clicks:,}",
            _moment(e.unsubscribed_at),
            _moment(e.complained_at),
        )
    return table


def _moment(at: dt.datetime | None) -> str:
    return f"{at:%Y-%m-%d %H:%M}" if at else ""
