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
    StatusCounts,
)
from mailcast.recurring.service import Occurrence, Recurring, list_recurring, occurrences_of
from mailcast.stats.deployment import Deployment, deployment, display_state, display_states
from mailcast.stats.report import delivery_report
from mailcast.store import counters as counter_store
from mailcast.store import deliveries as delivery_store
from mailcast.store import logs as log_store
from mailcast.store.deliveries import NotFound
from mailcast.users.service import PermissionDenied, User, authorize
from mailcast.web.api.preview import render_preview
from mailcast.web.dashboard.charts import Chart, funnel_chart, hourly_chart

PAGE_SIZE = 50
TABS = ("sending", "exclusions", "tracking")
TRACKING_KINDS = (
    EventKind.OPENED,
    EventKind.CLICKED,
    EventKind.UNSUBSCRIBED,
    EventKind.COMPLAINED,
)


@dataclass(frozen=True)
class ListedDelivery:
    row: RowMapping
    counts: StatusCounts
    shown: ShownState


@dataclass(frozen=True)
class DeliveryPage:
    delivery: RowMapping
    deployment: Deployment
    shown: ShownState
    hourly: Chart
    funnel: Chart
    sends_later: dt.datetime | None  # the send date, while it is in the future


@dataclass(frozen=True)
class LogTab:
    name: str
    rows: list[RowMapping] = field(default_factory=list)
    next_after: int | None = None  # the keyset of the next page; None on the last one
    counts: dict[ExclusionReason, int] = field(default_factory=dict)
    refused: str | None = None  # the refusal, when the user may not read logs


def recent_deliveries(ctx: Context) -> list[ListedDelivery]:
    with ctx.db.read() as conn:
        rows = delivery_store.list_deliveries(conn)
        counts = [counter_store.read_counts(conn, row["id"]) for row in rows]
    shown = display_states(ctx, rows)
    return [ListedDelivery(row, n, shown[row["id"]]) for row, n in zip(rows, counts, strict=True)]


def delivery_page(ctx: Context, delivery_id: int) -> DeliveryPage:
    """The delivery, its Deployment block, and its charts (from the dynamic report)."""
    with ctx.db.read() as conn:
        delivery = delivery_store.get_delivery(conn, delivery_id)
    report = delivery_report(ctx, delivery_id)
    send_at = delivery["send_at"]
    later = send_at if send_at is not None and send_at > ctx.clock.now() else None
    block = deployment(ctx, delivery_id)
    return DeliveryPage(
        delivery, block, display_state(block), hourly_chart(report), funnel_chart(report), later
    )


def deployment_json(ctx: Context, delivery_id: int) -> dict[str, Any]:
    """The Deployment block as the page's live script reads it."""
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
        "in_flight": block.in_flight,
        "relayed_more_than_once": block.relayed_more_than_once,
        "error_reason": block.error_reason,
        "pause_reason": block.pause_reason,
        "paused_by_relay": block.paused_by is PauseCause.RELAY,
    }


def log_tab(ctx: Context, user: User, delivery_id: int, tab: str, after: int) -> LogTab:
    try:
        authorize(user, Action.READ_LOGS)
    except PermissionDenied as refusal:
        return LogTab(tab, refused=str(refusal))
    with ctx.db.read() as conn:
        if tab == "exclusions":
            rows = log_store.exclusion_page(conn, delivery_id, after=after, limit=PAGE_SIZE)
            counts = delivery_store.exclusion_counts(conn, delivery_id)
            return LogTab(tab, rows, _next_after(rows), counts)
        if tab == "tracking":
            rows = log_store.event_page(
                conn, delivery_id=delivery_id, kinds=TRACKING_KINDS, after=after, limit=PAGE_SIZE
            )
            return LogTab(tab, rows, _next_after(rows))
        rows = log_store.sending_log_page(conn, delivery_id, after=after, limit=PAGE_SIZE)
        return LogTab("sending", rows, _next_after(rows))


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
    views = []
    for recurring in list_recurring(ctx):
        latest = occurrences_of(ctx, recurring.id)[-shown:][::-1]
        with ctx.db.read() as conn:
            states = [_state_of(conn, o.delivery_id) for o in latest]
        views.append(RecurringView(recurring, list(zip(latest, states, strict=True))))
    return views


def _state_of(conn: Connection, delivery_id: int | None) -> DeliveryState | None:
    if delivery_id is None:
        return None
    try:
        return DeliveryState(delivery_store.get_delivery(conn, delivery_id)["state"])
    except NotFound:
        return None
