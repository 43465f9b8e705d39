"""What the delivery pages show, read through the stores and the stats functions.

Reading logs needs the `read_logs` action's role, checked here by the service layer's
`authorize`: the pages show the refusal instead of the log.
"""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, RowMapping

from mailcast.compose.templates import RenderError
from mailcast.context import Context
from mailcast.domain import (
    Action,
    DeliveryState,
    EventKind,
    ExclusionReason,
    PauseCause,
    ShownState,
)
from mailcast.recurring.service import Occurrence, Recurring, list_recurring, occurrences_of
from mailcast.stats.deployment import Deployment, deployment, deployment_in, display_state
from mailcast.stats.reports import TimeUnit, people_only, series
from mailcast.store import deliveries as delivery_store
from mailcast.store import logs as log_store
from mailcast.store import reports as report_store
from mailcast.store.deliveries import NotFound
from mailcast.store.reports import same_snapshot
from mailcast.users.service import PermissionDenied, User, authorize
from mailcast.web.api.preview import render_preview
from mailcast.web.dashboard.charts import Chart, funnel_chart, series_chart

PAGE_SIZE = 50
TABS = ("sending", "exclusions", "tracking")
TRACKING_KINDS = (
    EventKind.OPENED,
    EventKind.CLICKED,
    EventKind.UNSUBSCRIBED,
    EventKind.COMPLAINED,
)


@dataclass(frozen=True)
class LogTab:
    name: str
    rows: list[RowMapping] = field(default_factory=list)
    next_after: int | None = None  # the keyset of the next page; None on the last one
    counts: dict[ExclusionReason, int] = field(default_factory=dict)
    refused: str | None = None  # the refusal, when the user may not read logs
    who: str = ""  # the tracking log's filter: "", "people" or "machines"
    after: int = 0  # the page shown: the keyset it starts after


@dataclass(frozen=True)
class DeliveryPage:
    delivery: RowMapping
    deployment: Deployment
    shown: ShownState
    trend: Chart
    unit: TimeUnit
    funnel: Chart
    sends_later: dt.datetime | None  # the send date, while it is in the future
    log: LogTab


def delivery_page(
    ctx: Context, user: User, delivery_id: int, tab: str = "sending", after: int = 0, who: str = ""
) -> DeliveryPage:
    """The delivery, its Deployment block, charts and log tab, from one snapshot of the data.

    The funnel is drawn from the block's own counters, so that its figures are the cards'.
    """
    now = ctx.clock.now()
    with ctx.db.read() as conn:
        same_snapshot(conn)
        delivery = delivery_store.get_delivery(conn, delivery_id)
        block = deployment_in(conn, delivery_id)
        trend = series(conn, delivery_id, now, people_only(ctx))
        log = _log_tab(conn, user, delivery_id, tab if tab in TABS else "sending", after, who)
    send_at = delivery["send_at"]
    later = send_at if send_at is not None and send_at > now else None
    return DeliveryPage(
        delivery,
        block,
        display_state(block),
        series_chart(trend),
        trend.unit,
        funnel_chart(block.counts),
        later,
        log,
    )


def deployment_json(ctx: Context, delivery_id: int) -> dict[str, Any]:
    """The Deployment block as JSON (the API's figures, for scripts)."""
    block = deployment(ctx, delivery_id)
    kpis = block.kpis
    return {
        "state": block.state.value,
        "label": display_state(block).label,
        "progress": round(100 * block.progress, 1),
        "to_deliver": kpis.to_deliver,
        "processed": kpis.processed,
        "delivered_pct": kpis.delivered_pct,
        "bounces_pct": kpis.bounces_pct,
        "open_rate": kpis.open_rate,
        "click_rate": kpis.click_rate,
        "live_open_rate": block.live_kpis.open_rate,
        "live_click_rate": block.live_kpis.click_rate,
        "rates_refreshed_at": _iso(block.rates_refreshed_at),
        "in_flight": block.in_flight,
        "relayed_more_than_once": block.relayed_more_than_once,
        "error_reason": block.error_reason,
        "pause_reason": block.pause_reason,
        "paused_by_relay": block.paused_by is PauseCause.RELAY,
    }


def _log_tab(
    conn: Connection, user: User, delivery_id: int, tab: str, after: int, who: str
) -> LogTab:
    try:
        authorize(user, Action.READ_LOGS)
    except PermissionDenied as refusal:
        return LogTab(tab, refused=str(refusal))
    if tab == "exclusions":
        rows = log_store.exclusion_page(conn, delivery_id, after=after, limit=PAGE_SIZE)
        counts = delivery_store.exclusion_counts(conn, delivery_id)
        return LogTab(tab, rows, _next_after(rows), counts, after=after)
    if tab == "tracking":
        machine = {"people": False, "machines": True}.get(who)
        rows = report_store.event_log_page(
            conn, delivery_id, TRACKING_KINDS, machine=machine, after=after, limit=PAGE_SIZE
        )
        return LogTab(
            tab, rows, _next_after(rows), who=who if machine is not None else "", after=after
        )
    rows = log_store.sending_log_page(conn, delivery_id, after=after, limit=PAGE_SIZE)
    return LogTab("sending", rows, _next_after(rows), after=after)


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def preview_html(ctx: Context, delivery_id: int) -> str:
    """The message as the first profile of its target sees it, links as the author wrote them."""
    try:
        rendered = render_preview(ctx, delivery_id)
    except RenderError as exc:
        return _plain_page(f"The message cannot be rendered: {exc}")
    if rendered.html and rendered.html.strip():
        return rendered.html
    return _plain_page(rendered.text or "")


def _plain_page(text: str) -> str:
    return f"<!doctype html><meta charset=utf-8><pre>{html.escape(text)}</pre>"


def _next_after(rows: list[RowMapping]) -> int | None:
    return int(rows[-1]["id"]) if len(rows) == PAGE_SIZE else None


@dataclass(frozen=True)
class RecurringView:
    recurring: Recurring
    occurrences: list[tuple[Occurrence, DeliveryState | None]]  # with its delivery's state


def recurring_overview(ctx: Context, shown: int = 10) -> list[RecurringView]:
    """Every recurring delivery and its latest occurrences, with their deliveries' states."""
    return [
        RecurringView(recurring, occurrences_with_states(ctx, recurring.id, shown))
        for recurring in list_recurring(ctx)
    ]


def occurrences_with_states(
    ctx: Context, recurring_id: int, shown: int = 50
) -> list[tuple[Occurrence, DeliveryState | None]]:
    """The latest occurrences first, each with its delivery's state (None: no delivery)."""
    latest = occurrences_of(ctx, recurring_id)[-shown:][::-1]
    with ctx.db.read() as conn:
        states = [_state_of(conn, o.delivery_id) for o in latest]
    return list(zip(latest, states, strict=True))


def _state_of(conn: Connection, delivery_id: int | None) -> DeliveryState | None:
    if delivery_id is None:
        return None
    try:
        return DeliveryState(delivery_store.get_delivery(conn, delivery_id)["state"])
    except NotFound:
        return None
