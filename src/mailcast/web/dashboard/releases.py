"""The address page's releases (admin): one address from its row, or in bulk by domain or reason.

`release_addresses` is what `mailcast quarantine release` and POST /api/addresses/release call;
it checks the admin role and leaves the denylist alone in bulk unless it is ticked.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from mailcast.domain import AddressStatus, FailureReason
from mailcast.feedback.quarantine import (
    BULK_RELEASE_STATUSES,
    QuarantineError,
    ReleaseRequest,
    release_addresses,
)
from mailcast.users.service import PermissionDenied
from mailcast.web.dashboard.addresses import address_page
from mailcast.web.dashboard.auth import Post
from mailcast.web.dashboard.render import PREFIX
from mailcast.web.requests import context_of

router = APIRouter()

# What the bulk form may release: the automatic states, and the denylist when ticked.
RELEASABLE = (AddressStatus.QUARANTINE, AddressStatus.ERRONEOUS, AddressStatus.DENYLIST)


@router.post("/addresses/release")
def release_one(request: Request, posted: Post) -> Response:
    """The row's Release button: that address is valid again, its error counter at zero."""
    address = str(posted.form.get("address") or "")
    return _release(request, posted, ReleaseRequest(addresses=(address,)))


@router.post("/addresses/release-bulk")
def release_bulk(request: Request, posted: Post) -> Response:
    """Every address of the ticked statuses with the domain and/or failure reason given."""
    form = posted.form
    domain = str(form.get("domain") or "").strip() or None
    typed = str(form.get("reason") or "")
    reason = next((r for r in FailureReason if r == typed), None)
    if typed and reason is None:
        error = f"no failure reason {typed!r}"
        return address_page(request, posted.session, error=error, code=422)
    ticked = {str(s) for s in form.getlist("status")}
    statuses = frozenset(s for s in RELEASABLE if s in ticked) or BULK_RELEASE_STATUSES
    wanted = ReleaseRequest(domain=domain, reason=reason, statuses=statuses)
    return _release(request, posted, wanted)


def _release(request: Request, posted: Post, wanted: ReleaseRequest) -> Response:
    try:
        result = release_addresses(context_of(request), posted.session.user, wanted)
    except PermissionDenied as exc:
        return address_page(request, posted.session, error=str(exc), code=403)
    except QuarantineError as exc:
        return address_page(request, posted.session, error=str(exc), code=422)
    count = len(result.released)
    return RedirectResponse(f"{PREFIX}/addresses?done=released&count={count}", status_code=303)
