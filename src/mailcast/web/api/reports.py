"""A delivery's reports (clicks per link, who clicked, bounces, opt-outs, trend) and CSV exports."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from mailcast.stats.exports import export_csv
from mailcast.stats.reports import delivery_reports
from mailcast.web.api.models import Out
from mailcast.web.api.types import Ctx, PathId
from mailcast.web.auth import CurrentUser

router = APIRouter(tags=["logs"])
Link = Annotated[
    str | None,
    Query(max_length=2000, description="A link's URL: who clicked lists who clicked it."),
]

# The names of stats.exports.EXPORTS (a test checks that they stay the same).
ExportName = Literal[
    "sending",
    "exclusions",
    "tracking",
    "tracking-people",
    "tracking-machines",
    "clicked",
    "opened",
    "bounces",
    "opt-outs",
]


class LinkOut(Out):
    url: str
    unique_clicks: int
    total_clicks: int
    rate: float


class ReasonOut(Out):
    failure_type: str
    failure_reason: str
    messages: int


class DomainOut(Out):
    domain: str
    messages: int
    failed: int
    hard: int
    soft: int


class BucketOut(Out):
    start: dt.datetime
    opens: int
    clicks: int


class ReaderOut(Out):
    id: int
    address: str
    opens: int
    clicks: int
    first_opened_at: dt.datetime | None
    first_clicked_at: dt.datetime | None
    link_clicks: int | None = None  # with `link`: the clicks on that link


class ReportsOut(Out):
    """Every figure from one snapshot of the logs; rates over sent-status messages."""

    delivery_id: int
    people_only: bool
    sent: int
    failed: int
    unique_opens: int
    unique_clicks: int
    open_rate: float
    click_rate: float
    unsubscribed: int
    complained: int
    links: list[LinkOut]
    clicked: list[ReaderOut]
    opened: list[ReaderOut]
    bounce_reasons: list[ReasonOut]
    bounce_domains: list[DomainOut]
    unit: str
    series: list[BucketOut]


@router.get(
    "/deliveries/{delivery_id}/reports",
    summary="Clicks per link, who clicked or opened (the first 100), bounces, opt-outs, trend",
)
def reports(ctx: Ctx, user: CurrentUser, delivery_id: PathId, link: Link = None) -> ReportsOut:
    r = delivery_reports(ctx, user, delivery_id, link)
    return ReportsOut(
        delivery_id=r.delivery_id,
        people_only=r.people_only,
        sent=r.counts.sent,
        failed=r.counts.failed,
        unique_opens=r.counts.unique_opens,
        unique_clicks=r.counts.unique_clicks,
        open_rate=r.kpis.open_rate,
        click_rate=r.kpis.click_rate,
        unsubscribed=r.unsubscribed,
        complained=r.complained,
        links=[LinkOut.model_validate(x) for x in r.links],
        clicked=[ReaderOut.model_validate(dict(x)) for x in r.clicked],
        opened=[ReaderOut.model_validate(dict(x)) for x in r.opened],
        bounce_reasons=[ReasonOut.model_validate(x) for x in r.failures],
        bounce_domains=[DomainOut.model_validate(x) for x in r.domains],
        unit=r.series.unit.value,
        series=[BucketOut.model_validate(b) for b in r.series.buckets],
    )


@router.get(
    "/deliveries/{delivery_id}/exports/{name}",
    summary="A log or report as CSV, streamed: sending, exclusions, tracking, clicked, ...",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "The export as CSV."}},
)
def export(
    ctx: Ctx, user: CurrentUser, delivery_id: PathId, name: ExportName, link: Link = None
) -> StreamingResponse:
    filename = f"delivery-{delivery_id}-{name}.csv"
    return StreamingResponse(
        export_csv(ctx, user, delivery_id, name, link),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
