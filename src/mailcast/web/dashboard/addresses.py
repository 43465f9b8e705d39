"""The dashboard's address page (admin): search, opt-outs, the denylist and the allowlist.

Every address with a state and every profile that unsubscribed or complained is listed; a
search finds any known address. Forms put addresses on the denylist or allowlist and take
them off, or release them (releases.py); the service functions check the admin role.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from mailcast.domain import ADMIN_LISTS, AddressStatus, FailureReason
from mailcast.feedback.address_lists import add_to_list, remove_from_list
from mailcast.feedback.quarantine import QuarantineError, list_addresses
from mailcast.users.service import PermissionDenied
from mailcast.web.dashboard.auth import Current, Post, Posted, Session
from mailcast.web.dashboard.forms import SEPARATORS, refused
from mailcast.web.dashboard.render import PREFIX, page
from mailcast.web.requests import context_of

router = APIRouter()

PAGE_SIZE = 100
# The filters offered above the list: a status, or the people who opted out.
FILTERS = ("denylist", "allowlist", "quarantine", "erroneous", "unsubscribed", "complained")
# What the page says after a change (the redirect names it, the page words it).
DONE = {
    "denylist": "put on the denylist",
    "allowlist": "put on the allowlist",
    "removed": "taken off their list",
    "released": "released: valid again, their error counter at zero",
}


@router.get("/addresses")
def addresses(
    request: Request,
    session: Current,
    search: Annotated[str, Query(max_length=320)] = "",
    show: Annotated[str, Query()] = "",
    after: Annotated[str, Query(max_length=320)] = "",
    done: Annotated[str, Query()] = "",
    count: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    notice = f"{count} address(es) {DONE[done]}." if done in DONE else None
    return address_page(request, session, search, show, after or None, notice=notice)


@router.post("/addresses/denylist")
def deny(request: Request, posted: Post) -> Response:
    return _add(request, posted, AddressStatus.DENYLIST)


@router.post("/addresses/allowlist")
def allow(request: Request, posted: Post) -> Response:
    return _add(request, posted, AddressStatus.ALLOWLIST)


@router.post("/addresses/remove")
def remove(request: Request, posted: Post) -> Response:
    """Take one address off the list it is on (the row's Remove button)."""
    address = str(posted.form.get("address") or "")
    listed = str(posted.form.get("list") or "")
    status = next((s for s in ADMIN_LISTS if s == listed), None)
    if status is None:
        return address_page(request, posted.session, error="Choose the denylist or the allowlist.")
    try:
        change = remove_from_list(context_of(request), posted.session.user, status, [address])
    except (PermissionDenied, QuarantineError) as exc:
        return refused(address_page, request, posted.session, exc)
    return _done("removed", len(change.changed))


# --- Steps ----------------------------------------------------------------------------------


def _add(request: Request, posted: Posted, status: AddressStatus) -> Response:
    """The addresses typed in the form (one a line, or separated by commas) and the reason."""
    typed = SEPARATORS.split(str(posted.form.get("addresses") or "").strip())
    reason = str(posted.form.get("reason") or "")
    try:
        change = add_to_list(
            context_of(request), posted.session.user, status, [a for a in typed if a], reason
        )
    except (PermissionDenied, QuarantineError) as exc:
        return refused(address_page, request, posted.session, exc)
    return _done(status.value, len(change.changed))


def _done(what: str, count: int) -> Response:
    return RedirectResponse(f"{PREFIX}/addresses?done={what}&count={count}", status_code=303)


def address_page(
    request: Request,
    session: Session,
    search: str = "",
    show: str = "",
    after: str | None = None,
    *,
    notice: str | None = None,
    error: str | None = None,
    code: int = 200,
) -> Response:
    entries = []
    try:
        entries = list_addresses(
            context_of(request),
            session.user,
            _statuses(show),
            after,
            PAGE_SIZE,
            search=search or None,
            unsubscribed=show == "unsubscribed",
            complained=show == "complained",
        )
    except PermissionDenied as exc:
        error, code = error or str(exc), 403
    except QuarantineError as exc:
        error, code = error or str(exc), 422
    return page(
        request,
        "addresses.html",
        code,
        session=session,
        entries=entries,
        search=search,
        show=show if show in FILTERS else "",
        filters=FILTERS,
        lists=[s.value for s in ADMIN_LISTS],
        # The row's Release button, and the bulk form's choices (releases.py).
        releasable=[AddressStatus.QUARANTINE.value, AddressStatus.ERRONEOUS.value],
        reasons=[r.value for r in FailureReason],
        next_after=entries[-1].address if len(entries) == PAGE_SIZE else None,
        notice=notice,
        error=error,
        refused=code == 403,
    )


def _statuses(show: str) -> tuple[AddressStatus, ...]:
    return (AddressStatus(show),) if show in {s.value for s in AddressStatus} else ()
