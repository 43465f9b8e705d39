"""The dashboard's other pages: profile history, quarantine (list, release)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from mailcast.domain import Action, AddressStatus
from mailcast.feedback.quarantine import (
    NAMED_RELEASE_STATUSES,
    QuarantineError,
    ReleaseRequest,
    count_addresses,
    list_addresses,
    release_addresses,
)
from mailcast.stats.history import UnknownProfile, profile_history
from mailcast.users.service import PermissionDenied, authorize
from mailcast.web.dashboard.auth import Current, Post, Session
from mailcast.web.dashboard.render import PREFIX, page
from mailcast.web.requests import context_of

router = APIRouter()

_QUARANTINE_PAGE = 100


@router.get("/profiles")
def history(request: Request, session: Current, email: Annotated[str, Query()] = "") -> Response:
    found, error, status = None, None, 200
    if email.strip():
        try:
            authorize(session.user, Action.READ_LOGS)
            found = profile_history(context_of(request), email)
        except PermissionDenied as exc:
            error, status = str(exc), 403
        except UnknownProfile as exc:
            error, status = str(exc), 404
    return page(
        request, "history.html", status, session=session, email=email, history=found, error=error
    )


@router.get("/quarantine")
def quarantine(
    request: Request,
    session: Current,
    status: Annotated[str, Query()] = "",
    after: Annotated[str, Query()] = "",
    released: Annotated[int | None, Query()] = None,
) -> Response:
    return _quarantine_page(request, session, status, after or None, released=released)


@router.post("/quarantine/release")
def release_selected(request: Request, posted: Post) -> Response:
    """Release the addresses ticked on the page."""
    addresses = tuple(str(a) for a in posted.form.getlist("address"))
    return _release(request, posted.session, ReleaseRequest(addresses=addresses))


@router.post("/quarantine/release-bulk")
def release_bulk(request: Request, posted: Post) -> Response:
    """Release every quarantined or erroneous address, or those of one domain (an outage)."""
    domain = str(posted.form.get("domain") or "").strip()
    request_ = ReleaseRequest(domain=domain) if domain else ReleaseRequest(everything=True)
    return _release(request, posted.session, request_)


def _release(request: Request, session: Session, wanted: ReleaseRequest) -> Response:
    try:
        result = release_addresses(context_of(request), session.user, wanted)
    except PermissionDenied as exc:
        return _quarantine_page(request, session, "", None, error=str(exc), code=403)
    except QuarantineError as exc:
        return _quarantine_page(request, session, "", None, error=str(exc), code=422)
    return RedirectResponse(f"{PREFIX}/quarantine?released={len(result.released)}", status_code=303)


def _quarantine_page(
    request: Request,
    session: Session,
    status: str,
    after: str | None,
    *,
    released: int | None = None,
    error: str | None = None,
    code: int = 200,
) -> Response:
    ctx = context_of(request)
    wanted = _statuses(status)
    entries, counts = [], {}
    try:
        entries = list_addresses(ctx, session.user, wanted, after, _QUARANTINE_PAGE)
        counts = count_addresses(ctx, session.user)
    except PermissionDenied as exc:
        error, code = error or str(exc), 403
    return page(
        request,
        "quarantine.html",
        code,
        session=session,
        entries=entries,
        counts=counts,
        status=status if wanted else "",
        statuses=sorted(NAMED_RELEASE_STATUSES),
        next_after=entries[-1].address if len(entries) == _QUARANTINE_PAGE else None,
        released=released,
        error=error,
    )


def _statuses(status: str) -> tuple[AddressStatus, ...]:
    """The statuses listed: the one asked for, or every one an admin can release."""
    if status in {s.value for s in NAMED_RELEASE_STATUSES}:
        return (AddressStatus(status),)
    return tuple(sorted(NAMED_RELEASE_STATUSES))
