"""The delivery's report page and the CSV exports of its logs (the `read_logs` role's).

Both call the same service functions as the API (stats/reports.py, stats/exports.py); a
refusal is shown with the role that is missing.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse, Response, StreamingResponse

from mailcast.stats.exports import UnknownExport, export_csv, links_csv
from mailcast.stats.reports import delivery_reports
from mailcast.store.deliveries import NotFound
from mailcast.users.service import PermissionDenied
from mailcast.web.dashboard.auth import Current
from mailcast.web.dashboard.charts import series_chart
from mailcast.web.dashboard.render import NO_STORE, page
from mailcast.web.requests import context_of

router = APIRouter()
Link = Annotated[str | None, Query(max_length=2000)]  # a link's URL, as clicks recorded it


@router.get("/deliveries/{delivery_id}/report")
def report_page(
    request: Request, delivery_id: int, session: Current, link: Link = None
) -> Response:
    """The reports; with `link`, "who clicked" lists who clicked that link."""
    ctx = context_of(request)
    try:
        shown = delivery_reports(ctx, session.user, delivery_id, link)
    except PermissionDenied as refusal:
        return page(request, "error.html", 403, session=session, message=str(refusal))
    except NotFound as exc:
        return page(request, "error.html", 404, session=session, message=str(exc))
    chart = series_chart(shown.series)
    return page(request, "report.html", session=session, r=shown, chart=chart)


@router.get("/deliveries/{delivery_id}/export/{name}.csv")
def export(
    request: Request, delivery_id: int, name: str, session: Current, link: Link = None
) -> Response:
    """A log or report as CSV: sending, exclusions, tracking(-people|-machines), clicked, ..."""
    ctx = context_of(request)
    try:
        if name == "links":
            text = links_csv(delivery_reports(ctx, session.user, delivery_id).links)
            lines = iter([text])
        else:
            lines = export_csv(ctx, session.user, delivery_id, name, link)
    except PermissionDenied as refusal:
        return PlainTextResponse(str(refusal), status_code=403, headers=NO_STORE)
    except (NotFound, UnknownExport) as exc:
        return PlainTextResponse(str(exc), status_code=404, headers=NO_STORE)
    filename = f"delivery-{delivery_id}-{name}.csv"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'} | NO_STORE
    return StreamingResponse(lines, media_type="text/csv; charset=utf-8", headers=headers)
