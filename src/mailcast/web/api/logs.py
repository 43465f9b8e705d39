"""The logs of a delivery, a page at a time: sending log (and its CSV), exclusions, events."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from sqlalchemy import Connection, RowMapping

from mailcast.context import Context
from mailcast.domain import EventKind, ExclusionReason, FailureReason, FailureType, MessageStatus
from mailcast.stats.exports import csv_chunk, csv_value
from mailcast.store import deliveries as delivery_store
from mailcast.store import logs as store
from mailcast.store.deliveries import NotFound
from mailcast.web.api.log_models import EventOut, ExclusionOut, ExclusionPage, MessageOut
from mailcast.web.api.models import Page
from mailcast.web.api.types import After, Ctx, Limit, PathId, any_of
from mailcast.web.auth import LogReader

router = APIRouter(tags=["logs"])

M = TypeVar("M", bound=BaseModel)
TRACKING_KINDS = (EventKind.OPENED, EventKind.CLICKED)
CSV_PAGE = 1000


class SendingLogFilter:
    """The sending log's filters, as query parameters (several values: any of them)."""

    def __init__(
        self,
        status: Annotated[list[MessageStatus], any_of()],
        failure_type: Annotated[list[FailureType], any_of()],
        failure_reason: Annotated[list[FailureReason], any_of()],
    ) -> None:
        self.statuses = status
        self.failure_types = failure_type
        self.failure_reasons = failure_reason

    def page(self, conn: Connection, delivery_id: int, after: int, limit: int) -> list[RowMapping]:
        return store.sending_log_page(
            conn,
            delivery_id,
            statuses=self.statuses,
            failure_types=self.failure_types,
            failure_reasons=self.failure_reasons,
            after=after,
            limit=limit,
        )


Filters = Annotated[SendingLogFilter, Depends()]


@router.get(
    "/deliveries/{delivery_id}/messages",
    summary="The sending log, filtered by status, failure type and reason (keyset pages)",
)
def sending_log(
    ctx: Ctx,
    _user: LogReader,
    delivery_id: PathId,
    filters: Filters,
    after: After = 0,
    limit: Limit = 100,
) -> Page[MessageOut]:
    with ctx.db.read() as conn:
        _require_delivery(conn, delivery_id)
        rows = filters.page(conn, delivery_id, after, limit)
    return _page(MessageOut, rows, limit)


@router.get(
    "/deliveries/{delivery_id}/messages.csv",
    summary="The sending log as CSV, streamed (same filters)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "The sending log as CSV."}},
)
def sending_log_csv(
    ctx: Ctx, _user: LogReader, delivery_id: PathId, filters: Filters
) -> StreamingResponse:
    with ctx.db.read() as conn:
        _require_delivery(conn, delivery_id)
    name = f"delivery-{delivery_id}-sending-log.csv"
    return StreamingResponse(
        _csv_lines(ctx, delivery_id, filters),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _csv_lines(ctx: Context, delivery_id: int, filters: SendingLogFilter) -> Iterator[str]:
    """The header, then one chunk per page: each page is read in its own short transaction."""
    yield csv_chunk([store.SENDING_LOG_COLUMNS])
    after = 0
    while True:
        with ctx.db.read() as conn:
            rows = filters.page(conn, delivery_id, after, CSV_PAGE)
        if rows:
            yield csv_chunk([_csv_row(row) for row in rows])
            after = rows[-1]["id"]
        if len(rows) < CSV_PAGE:
            return


def _csv_row(row: RowMapping) -> list[Any]:
    return ["" if row[name] is None else csv_value(row[name]) for name in store.SENDING_LOG_COLUMNS]


@router.get(
    "/deliveries/{delivery_id}/exclusions",
    summary="The exclusion log: who was left out at preparation, and counts per reason",
)
def exclusion_log(
    ctx: Ctx,
    _user: LogReader,
    delivery_id: PathId,
    reason: Annotated[list[ExclusionReason], any_of()],
    after: After = 0,
    limit: Limit = 100,
) -> ExclusionPage:
    with ctx.db.read() as conn:
        _require_delivery(conn, delivery_id)
        counts = delivery_store.exclusion_counts(conn, delivery_id)
        rows = store.exclusion_page(conn, delivery_id, reasons=reason, after=after, limit=limit)
    page = _page(ExclusionOut, rows, limit)
    return ExclusionPage(items=page.items, next=page.next, counts=counts)


@router.get(
    "/deliveries/{delivery_id}/tracking",
    summary="The tracking log: opens and clicks, machine ones flagged",
)
def tracking_log(
    ctx: Ctx,
    _user: LogReader,
    delivery_id: PathId,
    kind: Annotated[list[EventKind], any_of("opened and/or clicked; none: both.")],
    after: After = 0,
    limit: Limit = 100,
) -> Page[EventOut]:
    kinds = [k for k in kind if k in TRACKING_KINDS] if kind else list(TRACKING_KINDS)
    if not kinds:
        return Page(items=[], next=None)
    return _delivery_events(ctx, delivery_id, kinds, after, limit)


@router.get(
    "/deliveries/{delivery_id}/events",
    summary="Everything that happened to the delivery's messages, filtered by kind",
)
def delivery_events(
    ctx: Ctx,
    _user: LogReader,
    delivery_id: PathId,
    kind: Annotated[list[EventKind], any_of()],
    after: After = 0,
    limit: Limit = 100,
) -> Page[EventOut]:
    return _delivery_events(ctx, delivery_id, kind, after, limit)


@router.get("/messages/{message_id}/events", summary="Everything that happened to one message")
def message_events(
    ctx: Ctx,
    _user: LogReader,
    message_id: PathId,
    kind: Annotated[list[EventKind], any_of()],
    after: After = 0,
    limit: Limit = 100,
) -> Page[EventOut]:
    with ctx.db.read() as conn:
        if not store.message_exists(conn, message_id):
            raise NotFound(f"no message {message_id}")
        rows = store.event_page(conn, message_id=message_id, kinds=kind, after=after, limit=limit)
    return _page(EventOut, rows, limit)


def _delivery_events(
    ctx: Context, delivery_id: int, kinds: Sequence[EventKind], after: int, limit: int
) -> Page[EventOut]:
    with ctx.db.read() as conn:
        _require_delivery(conn, delivery_id)
        rows = store.event_page(
            conn, delivery_id=delivery_id, kinds=kinds, after=after, limit=limit
        )
    return _page(EventOut, rows, limit)


def _require_delivery(conn: Connection, delivery_id: int) -> None:
    delivery_store.get_delivery(conn, delivery_id)  # NotFound: 404


def _page(model: type[M], rows: list[RowMapping], limit: int) -> Page[M]:
    items = [model.model_validate(row) for row in rows]
    return Page(items=items, next=rows[-1]["id"] if len(rows) == limit else None)
